package metricstest

import (
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// Cluster names of the fixture.
const (
	Alpha = "alpha" // fresh latency to beta; full resources with two node pools
	Beta  = "beta"  // resources without any "used" series
	Gamma = "gamma" // stale latency to alpha; stale resources
	Delta = "delta" // nothing at all
)

// Fixture is the data a harness loads into its source, and what the suite expects
// back. Build it with NewFixture.
type Fixture struct {
	// Now is the time at which the suite queries: the source's clock must read Now.
	Now time.Time
	// MaxAge is the freshness bound the source must be configured with.
	MaxAge time.Duration
	// Window is the span a latency sample covers, ending at Now.
	Window time.Duration

	// Fresh is the alpha<->beta latency over Window. Its percentiles are edges of
	// LatencyBuckets so that a histogram reproduces them exactly; Count is the number
	// of observations in Window; ObservedAt is Now.
	Fresh metrics.LatencySample
	// LatencyBuckets are the upper bounds (seconds) of a histogram that holds Fresh
	// exactly, and LatencyCumulative the fraction of observations at or below each.
	LatencyBuckets    []float64
	LatencyCumulative []float64
	// Stale is the alpha<->gamma pair: the same distribution as Fresh, last observed
	// at StaleAt (older than MaxAge, within an hour).
	Stale   metrics.Pair
	StaleAt time.Time
	// Missing is the alpha<->delta pair: never observed.
	Missing metrics.Pair

	// Resources is alpha's full resources (cluster and two node pools), observed at
	// Now.
	Resources metrics.ResourceSample
	// Partial is beta's: capacity and allocatable only, nothing used.
	Partial metrics.ResourceSample
	// StaleCluster (gamma) has Resources' totals, last observed at StaleAt.
	StaleCluster string
	// MissingCluster (delta) has no resources at all.
	MissingCluster string
}

// NewFixture returns the fixture for a source whose clock reads now.
func NewFixture(now time.Time) Fixture {
	q := resource.MustParse
	usage := func(cCPU, cMem, aCPU, aMem, uCPU, uMem string, gpu, usedGPU int64) metrics.Usage {
		u := metrics.Usage{
			Capacity:    topology.ResourceList{topology.ResourceCPU: q(cCPU), topology.ResourceMemory: q(cMem)},
			Allocatable: topology.ResourceList{topology.ResourceCPU: q(aCPU), topology.ResourceMemory: q(aMem)},
			Used:        topology.ResourceList{topology.ResourceCPU: q(uCPU), topology.ResourceMemory: q(uMem)},
		}
		if gpu > 0 {
			u.Capacity[topology.ResourceGPU] = *resource.NewQuantity(gpu, resource.DecimalSI)
			u.Allocatable[topology.ResourceGPU] = *resource.NewQuantity(gpu, resource.DecimalSI)
			u.Used[topology.ResourceGPU] = *resource.NewQuantity(usedGPU, resource.DecimalSI)
		}
		return u
	}
	full := metrics.ResourceSample{
		Cluster: Alpha,
		Usage:   usage("64", "256Gi", "62", "250Gi", "20500m", "100Gi", 4, 1),
		Pools: map[string]metrics.Usage{
			"general": usage("48", "192Gi", "46", "186Gi", "14", "70Gi", 0, 0),
			"gpu":     usage("16", "64Gi", "16", "64Gi", "6500m", "30Gi", 4, 1),
		},
		ObservedAt: now,
		Provenance: metrics.Measured,
	}
	partial := metrics.ResourceSample{
		Cluster: Beta,
		Usage: metrics.Usage{
			Capacity:    topology.ResourceList{topology.ResourceCPU: q("8"), topology.ResourceMemory: q("32Gi")},
			Allocatable: topology.ResourceList{topology.ResourceCPU: q("7500m"), topology.ResourceMemory: q("30Gi")},
		},
		ObservedAt: now,
		Provenance: metrics.Measured,
	}
	window := 5 * time.Minute
	return Fixture{
		Now:    now,
		MaxAge: 2 * time.Minute,
		Window: window,
		Fresh: metrics.LatencySample{
			Pair: metrics.MakePair(Alpha, Beta),
			P50:  5 * topology.Millisecond, P90: 6 * topology.Millisecond, P99: 8 * topology.Millisecond,
			Count: 200, Window: window, Loss: -1,
			ObservedAt: now, Provenance: metrics.Measured,
		},
		LatencyBuckets:    []float64{0.002, 0.005, 0.006, 0.008, 0.01},
		LatencyCumulative: []float64{0, 0.5, 0.9, 0.99, 1},
		Stale:             metrics.MakePair(Alpha, Gamma),
		StaleAt:           now.Add(-10 * time.Minute),
		Missing:           metrics.MakePair(Alpha, Delta),
		Resources:         full,
		Partial:           partial,
		StaleCluster:      Gamma,
		MissingCluster:    Delta,
	}
}
