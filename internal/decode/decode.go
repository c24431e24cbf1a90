// Package decode is the strict, path-tracking document decoder shared by continuum's
// file formats (topology, placement applications). A document (YAML or JSON) becomes a
// generic tree; typed decoders walk it with a Decoder that records every problem with its
// field path ("clusters[3].links[0].rtt") instead of stopping at the first one, and
// remembers which paths failed so that later validation does not report them twice.
//
// Problems stay small whatever the input: strings longer than MaxString are refused,
// long values, paths and details are cut in the middle (Clip, Quote), and an error list
// prints at most 50 problems. YAML's .nan and .inf are refused with their path before
// the conversion to JSON (which would fail without one).
package decode

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Problem is one problem with one field.
type Problem struct {
	Field  string
	Detail string
}

// Parse turns a YAML or JSON document into a generic tree (objects are map[string]any,
// numbers json.Number). Duplicate keys, syntax errors and multiple documents are problems.
func Parse(data []byte) (any, []Problem) {
	// sigs.k8s.io/yaml reads the first document of a stream and drops the rest silently;
	// count the documents first so nothing is dropped unseen.
	// The documents are counted without building their values (docCounter), which
	// keeps the memory of this pass to the parser's own.
	docs := yamlv2.NewDecoder(bytes.NewReader(data))
	for n := 0; ; {
		var doc docCounter
		err := docs.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, []Problem{{Detail: err.Error()}}
		}
		if doc.nonNull {
			if n++; n > 1 {
				return nil, []Problem{{Detail: "more than one document: give one per file"}}
			}
		}
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		// YAML's .nan and .inf cannot become JSON, and the conversion says so without
		// a path: find it.
		var v any
		if yamlv2.Unmarshal(data, &v) == nil {
			if path, f, bad := nonFinite(v, ""); bad {
				return nil, []Problem{{Field: clipText(path, maxField), Detail: finiteDetail(f)}}
			}
		}
		return nil, []Problem{{Detail: strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")}}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, []Problem{{Detail: "not a YAML or JSON document: " + err.Error()}}
	}
	if dec.More() {
		return nil, []Problem{{Detail: "more than one document"}}
	}
	return root, nil
}

// docCounter is a YAML document's value that is never built: UnmarshalYAML is called
// for a document that is not null, and reads nothing.
type docCounter struct{ nonNull bool }

func (c *docCounter) UnmarshalYAML(func(any) error) error {
	c.nonNull = true
	return nil
}

// Decoder walks a tree and collects problems.
type Decoder struct {
	Problems []Problem
	// Bad holds the paths that failed to decode.
	Bad map[string]bool
	// Dropped counts the problems past MaxProblems, not kept.
	Dropped int
}

// New returns an empty Decoder.
func New() *Decoder { return &Decoder{Bad: map[string]bool{}} }

// Fail records a problem at path.
// Long paths and details are cut in the middle (see Clip), so that a problem stays
// small whatever the input.
// Past MaxProblems, problems are counted in Dropped, not kept.
func (d *Decoder) Fail(path, format string, args ...any) {
	d.Bad[path] = true
	if len(d.Problems) >= MaxProblems {
		d.Dropped++
		return
	}
	d.Problems = append(d.Problems, Problem{Field: clipText(path, maxField), Detail: clipText(fmt.Sprintf(format, args...), maxDetail)})
}

// Finish returns the problems, with one more that counts those dropped, if any.
func (d *Decoder) Finish() []Problem {
	if d.Dropped == 0 {
		return d.Problems
	}
	return append(d.Problems, Problem{Detail: fmt.Sprintf("... and %d more problems, not listed", d.Dropped)})
}

// Field joins an object path and a field name.
func Field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Index joins a list path and an index.
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// KindOf names the JSON kind of v for messages.
func KindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// Object returns v as an object and reports the fields not in known, in sorted order.
// A missing (nil) v gives false without a problem.
func (d *Decoder) Object(path string, v any, known ...string) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.Fail(path, "must be an object, got %s", KindOf(v))
		return nil, false
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, k) {
			d.Fail(Field(path, k), "unknown field (known: %s)", strings.Join(known, ", "))
		}
	}
	return m, true
}

// Item is Object for a list element, where null is a problem too.
func (d *Decoder) Item(path string, v any, known ...string) (map[string]any, bool) {
	if v == nil {
		d.Fail(path, "must be an object, got null")
		return nil, false
	}
	return d.Object(path, v, known...)
}

// List returns v as a list of at most MaxList elements.
func (d *Decoder) List(path string, v any) []any { return d.ListMax(path, v, MaxList) }

// ListMax returns v as a list of at most limit elements; a longer list is a problem and
// its elements are not looked at.
func (d *Decoder) ListMax(path string, v any, limit int) []any {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		d.Fail(path, "must be a list, got %s", KindOf(v))
		return nil
	}
	if len(l) > limit {
		d.Fail(path, "%d entries, more than the limit of %d", len(l), limit)
		return nil
	}
	return l
}

// Str returns v as a string of at most MaxString bytes.
func (d *Decoder) Str(path string, v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.Fail(path, "must be a string, got %s", KindOf(v))
		return ""
	}
	if len(s) > MaxString {
		d.Fail(path, "%s is longer than %d bytes", Quote(s), MaxString)
		return ""
	}
	return s
}

// Strings returns v as a list of strings.
func (d *Decoder) Strings(path string, v any) []string { return d.StringsMax(path, v, MaxList) }

// StringsMax returns v as a list of at most limit strings.
func (d *Decoder) StringsMax(path string, v any, limit int) []string {
	var out []string
	for i, x := range d.ListMax(path, v, limit) {
		out = append(out, d.Str(Index(path, i), x))
	}
	return out
}

// Bool returns v as a boolean.
func (d *Decoder) Bool(path string, v any) bool {
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.Fail(path, "must be true or false, got %s", KindOf(v))
		return false
	}
	return b
}

// Number returns v as a finite float64.
func (d *Decoder) Number(path string, v any) float64 {
	if v == nil {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		d.Fail(path, "must be a number, got %s", KindOf(v))
		return 0
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		d.Fail(path, "%s is not a finite number", Clip(n.String()))
		return 0
	}
	return f
}

// Int returns v as a 32-bit integer.
func (d *Decoder) Int(path string, v any) int {
	if v == nil {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		d.Fail(path, "must be an integer, got %s", KindOf(v))
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 32)
	if err != nil {
		d.Fail(path, "%s is not an integer (or outside [-2^31, 2^31))", Clip(n.String()))
		return 0
	}
	return int(i)
}

// Scalar reads a string value and parses it; example shows the expected form in the
// problem for a value that is not a string ("a duration string like \"9.7ms\"").
func Scalar[T any](d *Decoder, path string, v any, example string, parse func(string) (T, error)) T {
	var zero T
	if v == nil {
		return zero
	}
	s, ok := v.(string)
	if !ok {
		d.Fail(path, "must be %s, got %s", example, KindOf(v))
		return zero
	}
	if len(s) > MaxString {
		d.Fail(path, "%s is longer than %d bytes", Quote(s), MaxString)
		return zero
	}
	out, err := parse(s)
	if err != nil {
		d.Fail(path, "%v", err)
		return zero
	}
	return out
}

// StringMap returns v as an object of strings.
func (d *Decoder) StringMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.Fail(path, "must be an object of strings, got %s", KindOf(v))
		return nil
	}
	if len(m) > MaxMap {
		d.Fail(path, "%d entries, more than the limit of %d", len(m), MaxMap)
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[k] = d.Str(Field(path, k), m[k])
	}
	return out
}

// exponentRE finds the decimal exponent of a quantity ("1e9", "5E-3"); its digits,
// leading zeros dropped, are the submatch.
var exponentRE = regexp.MustCompile(`[eE][+-]?0*([0-9]+)$`)

// Quantity reads a Kubernetes quantity, written as a string or a number, with a decimal
// exponent (if any) within [-30, 30].
func (d *Decoder) Quantity(path string, v any) (resource.Quantity, bool) {
	var s string
	switch val := v.(type) {
	case nil:
		return resource.Quantity{}, false
	case string:
		s = val
	case json.Number:
		s = val.String()
	default:
		d.Fail(path, "must be a quantity like \"64\" or \"256Gi\", got %s", KindOf(val))
		return resource.Quantity{}, false
	}
	if len(s) > 64 {
		d.Fail(path, "%s is not a quantity: longer than 64 bytes", Quote(s))
		return resource.Quantity{}, false
	}
	if m := exponentRE.FindStringSubmatch(s); m != nil && (len(m[1]) > 2 || m[1] > "30" && len(m[1]) == 2) {
		// ParseQuantity takes minutes on 1e-999999999, and arithmetic on 1e999999999.
		d.Fail(path, "%q is not a quantity: the exponent is outside [-30, 30]", s)
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		d.Fail(path, "%q is not a quantity (want e.g. 64, 500m, 256Gi)", s)
		return resource.Quantity{}, false
	}
	return q, true
}

// Quantities reads an object of quantities (a resource list).
func (d *Decoder) Quantities(path string, v any) map[string]resource.Quantity {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.Fail(path, "must be an object of quantities, got %s", KindOf(v))
		return nil
	}
	if len(m) > MaxMap {
		d.Fail(path, "%d entries, more than the limit of %d", len(m), MaxMap)
		return nil
	}
	out := make(map[string]resource.Quantity, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if q, ok := d.Quantity(Field(path, k), m[k]); ok {
			out[k] = q
		}
	}
	return out
}

// SortKey returns a key that orders field paths as they read in a document: list
// indices compare numerically ("a[2]" before "a[10]").
func SortKey(field string) string {
	var b strings.Builder
	for i := 0; i < len(field); i++ {
		if field[i] != '[' {
			b.WriteByte(field[i])
			continue
		}
		j := strings.IndexByte(field[i:], ']')
		if j < 0 {
			b.WriteString(field[i:])
			break
		}
		num := field[i+1 : i+j]
		b.WriteByte('[')
		b.WriteString(strings.Repeat("0", max(0, 10-len(num))))
		b.WriteString(num)
		i += j - 1
	}
	return b.String()
}

// IsDNSLabel reports whether s is a DNS-1123 label: 1 to 63 lower-case letters, digits
// and '-', starting and ending with a letter or digit.
func IsDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}
