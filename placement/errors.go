package placement

import (
	"errors"
	"slices"
	"strconv"
	"strings"

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
// ("apps[0].flows[1].maxRTT").
type FieldError struct {
	Field  string
	Detail string
}

// Error returns "field: detail".
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Detail
	}
	return e.Field + ": " + e.Detail
}

// Is matches ErrInvalid.
func (e *FieldError) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// ErrorList is every problem found in one input, in document order; it matches
// ErrInvalid.
type ErrorList []*FieldError

// Error returns one problem per line after "placement: invalid".
func (l ErrorList) Error() string {
	if len(l) == 1 {
		return "placement: invalid: " + l[0].Error()
	}
	var b strings.Builder
	b.WriteString("placement: invalid (" + strconv.Itoa(len(l)) + " problems):")
	for _, e := range l {
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// Unwrap returns the field errors.
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Is matches ErrInvalid.
func (l ErrorList) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// Fields returns the field paths of the problems.
func (l ErrorList) Fields() []string {
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = e.Field
	}
	return out
}

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
	slices.SortStableFunc(l, func(a, b *FieldError) int {
		return strings.Compare(decode.SortKey(a.Field), decode.SortKey(b.Field))
	})
	return l
}
