package topology

import (
	"errors"
	"slices"
	"strconv"
	"strings"

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
// ("clusters[3].links[0].rtt").
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

// Is makes every FieldError match ErrInvalid and the invalid sentinels of the other
// continuum packages.
func (e *FieldError) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// ErrorList is every problem found in one topology, in file order. It matches
// ErrInvalid with errors.Is, and errors.As finds each *FieldError.
type ErrorList []*FieldError

// Error returns one problem per line, prefixed with "topology: invalid".
func (l ErrorList) Error() string {
	var b strings.Builder
	b.WriteString("topology: invalid")
	if len(l) == 1 {
		b.WriteString(": ")
		b.WriteString(l[0].Error())
		return b.String()
	}
	b.WriteString(" (")
	b.WriteString(strconv.Itoa(len(l)))
	b.WriteString(" problems):")
	for _, e := range l {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
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

// Is matches ErrInvalid (also for an empty list, which New never returns).
func (l ErrorList) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

func (l *ErrorList) add(field, detail string) {
	*l = append(*l, &FieldError{Field: field, Detail: detail})
}

func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Fields returns the field paths of the problems, handy in tests.
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

// sortByField orders problems by field path, list indices numerically, so a file's
// problems read top to bottom. The sort is stable: problems of one field keep their order.
func (l ErrorList) sortByField() {
	slices.SortStableFunc(l, func(a, b *FieldError) int {
		return strings.Compare(decode.SortKey(a.Field), decode.SortKey(b.Field))
	})
}
