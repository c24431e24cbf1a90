package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// SampleWindow is the window latency samples claim to cover; SampleCount the
// observations they claim (one probe a second).
const (
	SampleWindow = 30 * time.Second
	SampleCount  = 30
)

// LatencySource returns the true round-trip times of the world as a measuring source
// would report them (metrics.Measured, stamped with the clock): the topology's RTT
// between two clusters, a site and a cluster, or two sites, over the cheapest path,
// with the links' scripted degradations and without the failed clusters (routes
// avoid them), plus Options.Noise. A failed cluster, or a pair no path joins, gives
// an error wrapping metrics.ErrNoData (and ErrUnreachable for a failed cluster).
func (w *World) LatencySource() metrics.LatencySource { return latencySource{w} }

// ResourceSource returns the resources of each cluster (metrics.Measured, stamped with
// the clock): capacity and allocatable are its declared capacity; used is what the
// ready replicas of the registered applications request there (replicas x the
// component's requests) plus the scripted extra load. A failed cluster gives an error
// wrapping metrics.ErrNoData and ErrUnreachable; an unknown one, metrics.ErrNoData.
func (w *World) ResourceSource() metrics.ResourceSource { return resourceSource{w} }

// Sources returns both as the one metrics.Source "sim", for metrics.Collect and the
// loop.
func (w *World) Sources() []metrics.Source {
	return []metrics.Source{{Name: "sim", Latency: w.LatencySource(), Resources: w.ResourceSource()}}
}

type latencySource struct{ w *World }

func (s latencySource) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("sim: latency %s<->%s: %w", a, b, err)
	}
	for _, f := range [][2]string{{"a", a}, {"b", b}} {
		if err := metrics.CheckName(f[0], f[1]); err != nil {
			return metrics.LatencySample{}, fmt.Errorf("sim: %w", err)
		}
	}
	w := s.w
	p := metrics.MakePair(a, b)
	now := w.clk.Now()
	for _, n := range []string{a, b} {
		if w.isDown(n) {
			return metrics.LatencySample{}, fmt.Errorf("sim: latency %s: cluster %s is down: %w: %w", p, n, ErrUnreachable, metrics.ErrNoData)
		}
	}
	w.mu.Lock()
	truth := w.truth
	w.mu.Unlock()
	if truth == nil {
		return metrics.LatencySample{}, fmt.Errorf("sim: latency %s: every cluster is down: %w", p, metrics.ErrNoData)
	}
	rtt, err := truth.RTT(a, b)
	if err != nil {
		return metrics.LatencySample{}, fmt.Errorf("sim: latency %s: %v: %w", p, err, metrics.ErrNoData)
	}
	if rtt <= 0 {
		return metrics.LatencySample{}, fmt.Errorf("sim: latency %s: an endpoint to itself has no round trip to measure: %w", p, metrics.ErrNoData)
	}
	spread := w.opts.Noise * float64(rtt)
	p50 := rtt + topology.Duration(math.Round(spread*w.noise(p, now)))
	return metrics.LatencySample{
		Pair: p, P50: p50,
		P90:        p50 + topology.Duration(math.Round(1.28*spread)),
		P99:        p50 + topology.Duration(math.Round(2.33*spread)),
		Count:      SampleCount,
		Window:     SampleWindow,
		Loss:       0,
		ObservedAt: now,
		Provenance: metrics.Measured,
	}, nil
}

// noise returns u in [0, 1) from the seed, the pair and the time.
func (w *World) noise(p metrics.Pair, now time.Time) float64 {
	if w.opts.Noise == 0 {
		return 0
	}
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], w.opts.Seed)
	h.Write(b[:])
	h.Write([]byte(p.A + "\x00" + p.B + "\x00"))
	binary.LittleEndian.PutUint64(b[:], uint64(now.UnixNano()))
	h.Write(b[:])
	return float64(h.Sum64()>>11) / (1 << 53)
}

type resourceSource struct{ w *World }

func (s resourceSource) Resources(ctx context.Context, cluster string) (metrics.ResourceSample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("sim: resources of %q: %w", cluster, err)
	}
	if err := metrics.CheckName("cluster", cluster); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("sim: %w", err)
	}
	w := s.w
	now := w.clk.Now()
	if w.isDown(cluster) {
		return metrics.ResourceSample{}, fmt.Errorf("sim: resources of %s: the cluster is down: %w: %w", cluster, ErrUnreachable, metrics.ErrNoData)
	}
	w.mu.Lock()
	c, ok := w.declared.Cluster(cluster)
	extra := w.load[cluster].DeepCopy()
	apps := make([]app, 0, len(w.apps))
	for _, ns := range slices.Sorted(maps.Keys(w.apps)) {
		apps = append(apps, w.apps[ns])
	}
	w.mu.Unlock()
	if !ok {
		return metrics.ResourceSample{}, fmt.Errorf("sim: resources of %s: no such cluster in the topology: %w", cluster, metrics.ErrNoData)
	}
	used := topology.ResourceList{}
	for name, q := range c.Capacity {
		used[name] = resource.Quantity{Format: q.Format}
	}
	add := func(name topology.ResourceName, q resource.Quantity, times int32) {
		sum, ok := used[name]
		if !ok {
			sum = resource.Quantity{Format: q.Format}
		}
		for range times {
			sum.Add(q)
		}
		used[name] = sum
	}
	for _, a := range apps {
		ins, err := w.Instances(ctx, namespaceOf(a.Application))
		if err != nil {
			return metrics.ResourceSample{}, fmt.Errorf("sim: resources of %s: %w", cluster, err)
		}
		for _, in := range ins {
			if in.Cluster != cluster || in.Ready <= 0 {
				continue
			}
			i := slices.IndexFunc(a.Components, func(x placement.Component) bool { return x.Name == in.Component })
			if i < 0 {
				continue
			}
			for name, q := range a.Components[i].Requests {
				add(name, q, min(in.Ready, in.Replicas))
			}
		}
	}
	for name, q := range extra {
		add(name, q, 1)
	}
	return metrics.ResourceSample{
		Cluster: cluster,
		Usage: metrics.Usage{
			Capacity:    c.Capacity.DeepCopy(),
			Allocatable: c.Capacity.DeepCopy(),
			Used:        used,
		},
		ObservedAt: now,
		Provenance: metrics.Measured,
	}, nil
}
