// Package errkind holds the error kinds shared by every continuum package, so that a
// sentinel of one package matches the same kind from another with errors.Is:
// errors.Is(err, peering.ErrNotFound) holds for an error that wraps topology.ErrNotFound.
//
// Packages never return a Kind itself; they declare sentinels with New and wrap them with
// fmt.Errorf("pkg: ...: %w", ErrX).
package errkind

// Kind is a class of failure: not found, invalid input, stale data, and so on.
type Kind struct{ name string }

// The kinds known to continuum. Add one only when a second package needs it.
var (
	NotFound      = &Kind{"not found"}
	Invalid       = &Kind{"invalid"}
	Unreachable   = &Kind{"unreachable"}
	AlreadyExists = &Kind{"already exists"}
	NotReady      = &Kind{"not ready"}
	Stale         = &Kind{"stale"}
	NoData        = &Kind{"no data"}
	Unplaceable   = &Kind{"unplaceable"}
	// Undecided: a search ran out of its budget before it could either find an answer
	// or prove there is none (placement, and the loop that reports it).
	Undecided = &Kind{"undecided"}
	// NotPeered: two clusters are not (yet) connected by a peering that an operation
	// needs (peering, and the act step that offloads and pins).
	NotPeered = &Kind{"not peered"}
)

// Error returns the kind's name.
func (k *Kind) Error() string { return k.name }

// Sentinel is a package's sentinel error of a given kind.
type Sentinel struct {
	msg  string
	kind *Kind
}

// New returns a sentinel with the message msg ("topology: not found") and the kind k.
func New(k *Kind, msg string) *Sentinel { return &Sentinel{msg: msg, kind: k} }

// Error returns the sentinel's message.
func (s *Sentinel) Error() string { return s.msg }

// Kind returns the sentinel's kind.
func (s *Sentinel) Kind() *Kind { return s.kind }

// Is reports whether target is the sentinel's kind or a sentinel of the same kind, so
// sentinels of different packages with one kind match each other.
func (s *Sentinel) Is(target error) bool {
	switch t := target.(type) {
	case *Kind:
		return t == s.kind
	case *Sentinel:
		return t.kind == s.kind
	}
	return false
}

// IsKind reports whether target is the kind k or a sentinel of kind k. Error types
// that belong to a kind use it in their Is method.
func IsKind(target error, k *Kind) bool {
	switch t := target.(type) {
	case *Kind:
		return t == k
	case *Sentinel:
		return t.kind == k
	}
	return false
}
