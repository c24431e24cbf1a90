package metricstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics/metricsfake"
	"github.com/continuum-xr/continuum/metrics/metricstest"
)

// loadedFake returns a fake source loaded with a fresh fixture.
func loadedFake() (*metricsfake.Source, metricstest.Fixture, error) {
	f := metricstest.NewFixture(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	clock := metricsfake.NewClock(f.Now)
	src, err := metricsfake.New(metricsfake.Options{Now: clock.Now, MaxAge: f.MaxAge})
	if err != nil {
		return nil, f, err
	}
	return src, f, metricstest.LoadFake(f, src.AddLatency, src.AddResources)
}

func TestFakeConforms(t *testing.T) {
	metricstest.RunConformanceTests(t, func(_ context.Context, _ *testing.T) (*metricstest.Harness, error) {
		src, f, err := loadedFake()
		if err != nil {
			return nil, err
		}
		return &metricstest.Harness{Latency: src, Resources: src, Fixture: f, Pools: true}, nil
	})
}

// TestFakeBehindPassThroughWrapperConforms proves the zero Faults change nothing.
func TestFakeBehindPassThroughWrapperConforms(t *testing.T) {
	metricstest.RunConformanceTests(t, func(_ context.Context, _ *testing.T) (*metricstest.Harness, error) {
		src, f, err := loadedFake()
		if err != nil {
			return nil, err
		}
		w, err := metricsfake.Wrap(src, src, metricsfake.Faults{})
		if err != nil {
			return nil, err
		}
		return &metricstest.Harness{Latency: w, Resources: w, Fixture: f, Pools: true}, nil
	})
}
