package decode

import (
	"strings"
	"testing"
)

func TestParseNamesNonFiniteNumbers(t *testing.T) {
	for _, doc := range []string{
		"a: {b: [1, .nan]}\n",
		"a: {b: [1, .inf]}\n",
		"a: {b: [1, -.Inf]}\n",
	} {
		_, problems := Parse([]byte(doc))
		if len(problems) != 1 || problems[0].Field != "a.b[1]" || !strings.Contains(problems[0].Detail, "not a finite number") {
			t.Errorf("%q: problems %+v, want one at a.b[1] saying not a finite number", doc, problems)
		}
	}
}

func TestLongValuesAreCut(t *testing.T) {
	long := strings.Repeat("x", 1<<20) + "END"
	root, problems := Parse([]byte(`{"name": "` + long + `", "big": 1e400}`))
	if problems != nil {
		t.Fatal(problems)
	}
	d := New()
	m, _ := d.Object("", root, "name", "big")
	_ = d.Str("name", m["name"])
	_ = d.Number("big", m["big"])
	d.Fail("x."+long, "unknown field")
	if len(d.Problems) != 3 || d.Problems[1].Field != "big" {
		t.Fatalf("problems: %+v, want 3 (long value, 1e400 at big, long key)", d.Problems)
	}
	var l List[testPkg]
	for _, p := range d.Problems {
		l.Add(p.Field, p.Detail)
	}
	msg := l.Error()
	if len(msg) > 2000 {
		t.Errorf("message is %d bytes long", len(msg))
	}
	for _, want := range []string{"END", "1048579 bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q (the end of the value and its length): %s", want, msg)
		}
	}
	if got := Clip("short"); got != "short" {
		t.Errorf("Clip(short) = %q", got)
	}
}

func TestFormatListCountsPastFifty(t *testing.T) {
	var l List[testPkg]
	for range 10000 {
		l.Add("f", "bad")
	}
	msg := l.Error()
	if strings.Count(msg, "\n") != maxListed+1 || !strings.Contains(msg, "and 9950 more") {
		t.Errorf("message has %d lines:\n%.300s", strings.Count(msg, "\n"), msg)
	}
}

type testPkg struct{}

func (testPkg) PackageName() string { return "test" }

// TestQuantityExponents: exponents that would make ParseQuantity or later arithmetic
// run for minutes are refused up front; ordinary ones and the exa suffix pass.
func TestQuantityExponents(t *testing.T) {
	d := New()
	for _, s := range []string{"1e-999999999", "1e999999999", "1E31", "5e-0000000000000000100"} {
		if _, ok := d.Quantity("q", s); ok {
			t.Errorf("%s accepted", s)
		}
	}
	for _, s := range []string{"1e9", "1E30", "8E", "2e-3", "1e-030", "64Gi"} {
		if _, ok := d.Quantity("q", s); !ok {
			t.Errorf("%s refused: %v", s, d.Problems)
		}
	}
}
