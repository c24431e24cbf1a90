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
)

// FieldError is one problem with one field of a request, named by its path
// ("apps[0].flows[1].maxRTT"). It matches ErrInvalid.
type FieldError = decode.FieldError

// ErrorList is every problem found in one input, in document order; it matches
// ErrInvalid.
type ErrorList []*FieldError

// Error returns one problem per line after "placement: invalid".
func (l ErrorList) Error() string { return decode.FormatList("placement", l) }

// Unwrap returns the field errors.
func (l ErrorList) Unwrap() []error { return decode.Unwrap(l) }

// Is matches ErrInvalid.
func (l ErrorList) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// Fields returns the field paths of the problems.
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

func (l ErrorList) sorted() error {
	if len(l) == 0 {
		return nil
	}
	decode.SortFields(l)
	return l
}
