package decode

import (
	"slices"
	"strings"
	"testing"
)

func TestSortKeyOrdersIndicesNumerically(t *testing.T) {
	fields := []string{"b", "a[10].x", "a[2].y", "a[2]", "a"}
	slices.SortFunc(fields, func(x, y string) int { return strings.Compare(SortKey(x), SortKey(y)) })
	want := []string{"a", "a[2]", "a[2].y", "a[10].x", "b"}
	if !slices.Equal(fields, want) {
		t.Errorf("sorted = %v, want %v", fields, want)
	}
}

func TestDecoderCollectsEveryProblem(t *testing.T) {
	root, problems := Parse([]byte("a: 1\nb: [x]\nc: {d: true}\nq: {cpu: lots}\n"))
	if problems != nil {
		t.Fatal(problems)
	}
	d := New()
	m, ok := d.Object("", root, "a", "b", "q")
	if !ok {
		t.Fatal("not an object")
	}
	_ = d.Str("a", m["a"])
	_ = d.Int("b", m["b"])
	_ = d.Quantities("q", m["q"])
	n := Scalar(d, "a", "7", "a number string", func(s string) (int, error) { return len(s), nil })
	if n != 1 {
		t.Errorf("Scalar = %d, want 1", n)
	}
	var got []string
	for _, p := range d.Problems {
		got = append(got, p.Field+": "+p.Detail)
	}
	want := []string{
		"c: unknown field (known: a, b, q)",
		"a: must be a string, got a number",
		"b: must be an integer, got a list",
		`q.cpu: "lots" is not a quantity (want e.g. 64, 500m, 256Gi)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%q\nwant\n%q", got, want)
	}
	if !d.Bad["q.cpu"] || d.Bad["q"] {
		t.Errorf("Bad = %v", d.Bad)
	}
}

func TestParseRejectsDuplicatesAndStreams(t *testing.T) {
	for _, doc := range []string{"a: 1\na: 2\n", "{\"a\":1} {\"b\":2}", "a: [\n", "a: 1\n---\nb: 2\n"} {
		if _, problems := Parse([]byte(doc)); len(problems) != 1 {
			t.Errorf("Parse(%q) problems = %v, want one", doc, problems)
		}
	}
}

func TestParseAcceptsOneDocumentWithMarkers(t *testing.T) {
	for _, doc := range []string{"---\na: 1\n", "a: 1\n---\n", "{\"a\": 1}"} {
		if _, problems := Parse([]byte(doc)); problems != nil {
			t.Errorf("Parse(%q) = %v", doc, problems)
		}
	}
}

func TestIsDNSLabel(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "fra-cloud": true, "c0001": true, "0a": true, strings.Repeat("a", 63): true,
		"": false, "-a": false, "a-": false, "A": false, "a_b": false, "a.b": false, strings.Repeat("a", 64): false,
	} {
		if got := IsDNSLabel(s); got != want {
			t.Errorf("IsDNSLabel(%q) = %v, want %v", s, got, want)
		}
	}
}
