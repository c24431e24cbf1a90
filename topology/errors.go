package topology

import (
	"errors"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/internal/errkind"
)

// Sentinel errors. They match the same kinds from other continuum packages with errors.Is.
var (
	// ErrInvalid: a topology (file or Spec) breaks a rule; the error is an ErrorList.
	ErrInvalid = errkind.New(errkind.Invalid, "topology: invalid")
	// ErrNotFound: a query named a cluster or site the topology does not have.
	ErrNotFound = errkind.New(errkind.NotFound, "topology: not found")
	// ErrUnreachable: no chain of links joins the two ends of a query.
	ErrUnreachable = errkind.New(errkind.Unreachable, "topology: unreachable")
)

// FieldError is one problem with one field, named by its path in the file
// ("clusters[3].links[0].rtt"). It matches ErrInvalid.
type FieldError = decode.FieldError

// ErrorList is every problem found in one topology, in document order. It matches
// ErrInvalid with errors.Is, and errors.As finds each *FieldError.
type ErrorList = decode.List[pkgName]

type pkgName struct{}

func (pkgName) PackageName() string { return "topology" }

// AsErrorList returns the ErrorList inside err, if any.
func AsErrorList(err error) (ErrorList, bool) {
	var l ErrorList
	ok := errors.As(err, &l)
	return l, ok
}
