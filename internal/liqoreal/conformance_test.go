package liqoreal_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
	"github.com/continuum-xr/continuum/peering/peeringtest"
)

// realHarness adapts the Liqo backend on real Liqo to the conformance suite: Liqo's
// own controllers complete peerings and offloadings, so the Complete steps do
// nothing, and Close waits until Liqo has removed what the test's Unpeers started
// removing (the clusters keep their Liqo cluster IDs from test to test). The suite's
// checks that a peering or offloading is not ready right after it was requested
// hold here only because Liqo takes longer than the next call.
type realHarness struct {
	t testing.TB
	b *liqo.Backend
}

func (h *realHarness) Backend() peering.Interface       { return h.b }
func (h *realHarness) Clusters() (home, a, b string)    { return "home", "w1", "w2" }
func (h *realHarness) WaitOptions() peering.WaitOptions { return peering.WaitOptions{} }
func (h *realHarness) NoLatency() bool                  { return true } // networking disabled: no Connection

func (h *realHarness) Namespace(ctx context.Context, cluster string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xr-"}}
	if err := admin[cluster].Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// CompletePeering: Liqo's controllers do it; the suite's WaitPeered waits for them.
func (h *realHarness) CompletePeering(context.Context, peering.Key) error { return nil }

// CompleteOffloading: Liqo's controllers do it.
func (h *realHarness) CompleteOffloading(context.Context, peering.NamespaceRef) error { return nil }

// Close runs after the suite's unpeerAll: it waits until the tenant namespaces are
// gone on the three clusters.
func (h *realHarness) Close() { waitNoTenants(h.t, "home", "w1", "w2") }

// TestConformance runs the peering conformance suite against the Liqo backend on
// Liqo v1.0.1's real controllers (networking disabled); peering/liqo runs the same
// suite with internal/liqoplay playing Liqo.
func TestConformance(t *testing.T) {
	testenv.Require(t)
	env.KeepLogsOnFailure(t)
	peeringtest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (peeringtest.Harness, error) {
		return &realHarness{t: t, b: newBackend(t, "home", "w1", "w2")}, nil
	})
}
