package decode

import (
	"slices"
	"strconv"
	"strings"

	"github.com/continuum-xr/continuum/internal/errkind"
)

// FieldError is one problem with one field of an input, named by its path
// ("clusters[3].links[0].rtt"). Packages export it under their own name
// (topology.FieldError, placement.FieldError).
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

// Is matches the invalid kind and every package's invalid sentinel.
func (e *FieldError) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// FromProblems turns decoding problems into field errors.
func FromProblems(ps []Problem) []*FieldError {
	out := make([]*FieldError, len(ps))
	for i, p := range ps {
		out[i] = &FieldError{Field: p.Field, Detail: p.Detail}
	}
	return out
}

// FormatList writes "pkg: invalid: problem" for one problem, else
// "pkg: invalid (n problems):" and one problem per indented line.
// Past 50 problems, the rest are counted, not listed, so a message stays small.
func FormatList(pkg string, errs []*FieldError) string {
	if len(errs) == 1 {
		return pkg + ": invalid: " + errs[0].Error()
	}
	var b strings.Builder
	b.WriteString(pkg + ": invalid (" + strconv.Itoa(len(errs)) + " problems):")
	for i, e := range errs {
		if i == maxListed {
			b.WriteString("\n  ... and " + strconv.Itoa(len(errs)-maxListed) + " more")
			break
		}
		b.WriteString("\n  " + e.Error())
	}
	return b.String()
}

// SortFields orders problems as they read in the document (see SortKey), stably.
func SortFields(errs []*FieldError) {
	slices.SortStableFunc(errs, func(a, b *FieldError) int { return strings.Compare(SortKey(a.Field), SortKey(b.Field)) })
}

// Unwrap returns errs as a []error, for an ErrorList's Unwrap.
func Unwrap(errs []*FieldError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// Fields returns the field paths of errs.
func Fields(errs []*FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	return out
}

// Named gives an error list its package's name ("topology").
type Named interface{ PackageName() string }

// List is every problem found in one input, for the package P: a package exports it as
// its ErrorList (type ErrorList = decode.List[pkg]). It matches the invalid kind with
// errors.Is, and errors.As finds each *FieldError.
type List[P Named] []*FieldError

// Error returns "pkg: invalid: problem", or one problem per line.
func (l List[P]) Error() string {
	var p P
	return FormatList(p.PackageName(), l)
}

// Unwrap returns the field errors.
func (l List[P]) Unwrap() []error { return Unwrap(l) }

// Is matches the invalid kind and every package's invalid sentinel.
func (l List[P]) Is(target error) bool { return errkind.IsKind(target, errkind.Invalid) }

// Fields returns the field paths of the problems, handy in tests.
func (l List[P]) Fields() []string { return Fields(l) }

// Add appends a problem; a long path or detail is cut in the middle (see Clip).
func (l *List[P]) Add(field, detail string) {
	*l = append(*l, &FieldError{Field: clipText(field, maxField), Detail: clipText(detail, maxDetail)})
}

// Sorted orders the problems as they read in the document and returns the list as an
// error, or nil when it is empty.
func (l List[P]) Sorted() error {
	if len(l) == 0 {
		return nil
	}
	SortFields(l)
	return l
}
