package errkind

import (
	"errors"
	"fmt"
	"testing"
)

func TestSentinelsMatchAcrossPackagesByKind(t *testing.T) {
	a := New(NotFound, "a: not found")
	b := New(NotFound, "b: not found")
	c := New(Invalid, "c: invalid")
	wrapped := fmt.Errorf("a: cluster %q: %w", "x", a)
	if !errors.Is(wrapped, b) {
		t.Errorf("errors.Is(wrapped a, b) = false, want true (same kind)")
	}
	if !errors.Is(wrapped, NotFound) {
		t.Errorf("errors.Is(wrapped a, NotFound) = false, want true")
	}
	if errors.Is(wrapped, c) || errors.Is(wrapped, Invalid) {
		t.Errorf("a NotFound error matched the Invalid kind")
	}
	if got := wrapped.Error(); got != `a: cluster "x": a: not found` {
		t.Errorf("message = %q", got)
	}
}
