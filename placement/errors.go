package placement

import (
	"errors"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/internal/errkind"
)

// Sentinel errors; they match the same kinds of the other continuum packages.
var (
	// ErrInvalid: an application or request breaks a rule; the error is an ErrorList.
	ErrInvalid = errkind.New(errkind.Invalid, "placement: invalid")
	// ErrUnplaceable: no placement satisfies every hard constraint. The error is an
	// *UnplaceableError with the reasons and the shortfall; Place returns the partial
	// plan with it.
	ErrUnplaceable = errkind.New(errkind.Unplaceable, "placement: unplaceable")
	// ErrUndecided: the search ran out of its budget (Request.MaxNodes, Timeout, the ctx
	// deadline) before it found a complete plan, and nothing proves that none exists.
	// The error is an *UndecidedError; Place returns the best partial plan with it. It
	// never matches ErrUnplaceable: do not provision on it; retry with another
	// Request.Seed or raise the budget instead.
	ErrUndecided = errkind.New(errkind.Undecided, "placement: undecided")
)

// FieldError is one problem with one field of a request, named by its path
// ("apps[0].flows[1].maxRTT"). It matches ErrInvalid.
type FieldError = decode.FieldError

// ErrorList is every problem found in one input, in document order; it matches
// ErrInvalid with errors.Is, and errors.As finds each *FieldError.
type ErrorList = decode.List[pkgName]

type pkgName struct{}

func (pkgName) PackageName() string { return "placement" }

// AsErrorList returns the ErrorList inside err, if any.
func AsErrorList(err error) (ErrorList, bool) {
	var l ErrorList
	ok := errors.As(err, &l)
	return l, ok
}
