package liqo

import (
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestRedactKeepsStatusDropsMessage: an apiserver error about a Secret may quote its
// data; the redacted error keeps the reason (IsForbidden, IsInvalid still work) and
// drops the message.
func TestRedactKeepsStatusDropsMessage(t *testing.T) {
	const secret = "token-s3cr3t"
	for _, err := range []error{
		apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "identity", fmt.Errorf("data %s", secret)),
		apierrors.NewBadRequest("kubeconfig: " + secret),
	} {
		r := fmt.Errorf("liqo: applying Secret: %w", redact(err))
		if strings.Contains(r.Error(), secret) {
			t.Errorf("redacted error %q quotes the secret", r)
		}
		if apierrors.ReasonForError(r) != apierrors.ReasonForError(err) {
			t.Errorf("redacted reason = %s, want %s", apierrors.ReasonForError(r), apierrors.ReasonForError(err))
		}
	}
	if !apierrors.IsForbidden(redact(apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "x", fmt.Errorf("y")))) {
		t.Error("a redacted Forbidden is not Forbidden")
	}
}
