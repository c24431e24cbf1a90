package liqo_test

import (
	"context"
	"testing"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering/peeringtest"
)

// TestConformance runs the peering conformance suite against the Liqo backend on
// three real kube-apiservers with the real Liqo CRDs, liqoplay playing Liqo's
// controllers. Each test gets fresh cluster IDs (see liqoplay.Player.Seed).
func TestConformance(t *testing.T) {
	testenv.Require(t)
	peeringtest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (peeringtest.Harness, error) {
		p, err := seed(ctx)
		if err != nil {
			return nil, err
		}
		return &harness{b: newBackend(t, admin), player: p}, nil
	})
}
