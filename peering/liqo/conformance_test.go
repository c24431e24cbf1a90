package liqo_test

import (
	"context"
	"testing"

	"github.com/continuum-xr/continuum/internal/liqoplay"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering/liqo"
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

// TestConformanceNetworkingDisabled runs the suite with the backend's and the
// player's networking disabled, the mode internal/liqoreal runs against Liqo's real
// controllers: the same suite on both keeps the player from drifting.
func TestConformanceNetworkingDisabled(t *testing.T) {
	testenv.Require(t)
	peeringtest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (peeringtest.Harness, error) {
		p, err := seedWith(ctx, liqoplay.Options{NetworkingDisabled: true})
		if err != nil {
			return nil, err
		}
		b, err := liqo.New(admin, liqo.Options{Endpoints: endpoints(), NetworkingDisabled: true})
		if err != nil {
			return nil, err
		}
		return &harness{b: b, player: p, noLatency: true}, nil
	})
}
