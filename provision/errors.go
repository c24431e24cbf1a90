package provision

import (
	"errors"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/internal/errkind"
)

// Sentinel errors. They match the same kinds of the other continuum packages with
// errors.Is (errors.Is(err, topology.ErrNotFound) holds for provision.ErrNotFound).
var (
	// ErrNotFound: no cluster with that namespace and name.
	ErrNotFound = errkind.New(errkind.NotFound, "provision: not found")
	// ErrAlreadyExists: Create was called for a cluster that exists.
	ErrAlreadyExists = errkind.New(errkind.AlreadyExists, "provision: already exists")
	// ErrNotReady: the cluster did not become ready (WaitReady ran out of time or the
	// cluster failed), or a kubeconfig was asked for before the control plane was
	// initialized.
	ErrNotReady = errkind.New(errkind.NotReady, "provision: not ready")
	// ErrInvalid: a ClusterSpec or an argument breaks a rule; spec errors are an
	// ErrorList naming every bad field.
	ErrInvalid = errkind.New(errkind.Invalid, "provision: invalid")
)

// FieldError is one problem with one field of a ClusterSpec, named by its path
// ("podCIDRs[1]"). It matches ErrInvalid.
type FieldError = decode.FieldError

// ErrorList is every problem found in one ClusterSpec, in field order. It matches
// ErrInvalid with errors.Is, and errors.As finds each *FieldError.
type ErrorList []*FieldError

// Error returns one problem per line after "provision: invalid".
func (l ErrorList) Error() string { return decode.FormatList("provision", l) }

// Unwrap returns the field errors.
func (l ErrorList) Unwrap() []error { return decode.Unwrap(l) }

// Is matches ErrInvalid.
func (l ErrorList) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// Fields returns the field paths of the problems, handy in tests.
func (l ErrorList) Fields() []string { return decode.Fields(l) }

// AsErrorList returns the ErrorList inside err, if any.
func AsErrorList(err error) (ErrorList, bool) {
	var l ErrorList
	ok := errors.As(err, &l)
	return l, ok
}

func (l *ErrorList) add(field, detail string) {
	*l = append(*l, &FieldError{Field: field, Detail: detail})
}

func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
