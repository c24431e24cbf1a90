package static

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// Options configures a Source. The zero value uses time.Now and includes the geo
// estimate.
type Options struct {
	// Now is the clock that stamps samples; nil means time.Now.
	Now func() time.Time
	// NoEstimate leaves out the geo estimate: pairs without a path are ErrNoData.
	NoEstimate bool
}

// Source answers from a topology.
type Source struct {
	topo *topology.Topology
	opts Options
}

var (
	_ metrics.LatencySource  = (*Source)(nil)
	_ metrics.ResourceSource = (*Source)(nil)
)

// New returns a source over t. It returns an error wrapping metrics.ErrInvalid when t
// is nil.
func New(t *topology.Topology, opts Options) (*Source, error) {
	if t == nil {
		return nil, fmt.Errorf("static: topology: must not be nil: %w", metrics.ErrInvalid)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Source{topo: t, opts: opts}, nil
}

// Latency returns the topology's RTT between a and b (clusters or sites) as a
// Configured sample: P50 is the route's RTT; P90 and P99 are the link's configured P99
// (tunnel included) for a direct link that has one, else the RTT. Without a route it
// returns the geo estimate as an Estimated sample, when both ends are located.
func (s *Source) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("static: latency %s<->%s: %w", a, b, err)
	}
	for _, n := range []struct{ field, v string }{{"a", a}, {"b", b}} {
		if err := metrics.CheckName(n.field, n.v); err != nil {
			return metrics.LatencySample{}, fmt.Errorf("static: %w", err)
		}
	}
	pair := metrics.MakePair(a, b)
	out := metrics.LatencySample{Pair: pair, Loss: -1, ObservedAt: s.opts.Now()}
	rtt, err := s.topo.RTT(a, b)
	switch {
	case err == nil:
		out.P50, out.P90, out.P99 = rtt, rtt, rtt
		if p99 := s.directP99(a, b); p99 > rtt {
			out.P90, out.P99 = p99, p99
		}
		out.Provenance = metrics.Configured
		return out, nil
	case errors.Is(err, topology.ErrUnreachable) && !s.opts.NoEstimate:
		est, ok, eerr := s.topo.Estimate(a, b)
		if eerr == nil && ok && est > 0 {
			out.P50, out.P90, out.P99 = est, est, est
			out.Provenance = metrics.Estimated
			return out, nil
		}
	}
	return metrics.LatencySample{}, fmt.Errorf("static: latency %s: %w: %w", pair, metrics.ErrNoData, err)
}

// directP99 returns the configured p99 of a direct cluster link or site access link
// between a and b (tunnel RTT included), or 0.
func (s *Source) directP99(a, b string) topology.Duration {
	if l, ok := s.topo.Link(a, b); ok && l.P99 > 0 {
		return l.P99 + (l.EffectiveRTT() - l.RTT)
	}
	for _, o := range [][2]string{{a, b}, {b, a}} {
		if site, ok := s.topo.Site(o[0]); ok {
			for _, acc := range site.Access {
				if acc.Cluster == o[1] && acc.P99 > 0 {
					return acc.P99
				}
			}
		}
	}
	return 0
}

// Resources returns the cluster's configured capacity (and each node pool's) as a
// Configured sample; allocatable and used are unknown and left empty.
func (s *Source) Resources(ctx context.Context, cluster string) (metrics.ResourceSample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("static: resources of %q: %w", cluster, err)
	}
	if err := metrics.CheckName("cluster", cluster); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("static: %w", err)
	}
	c, ok := s.topo.Cluster(cluster)
	if !ok {
		return metrics.ResourceSample{}, fmt.Errorf("static: resources of %q: not in the topology: %w", cluster, metrics.ErrNoData)
	}
	out := metrics.ResourceSample{
		Cluster:    cluster,
		Usage:      metrics.Usage{Capacity: c.Capacity.DeepCopy()},
		ObservedAt: s.opts.Now(),
		Provenance: metrics.Configured,
	}
	if len(c.NodePools) > 0 {
		out.Pools = make(map[string]metrics.Usage, len(c.NodePools))
		for _, p := range c.NodePools {
			out.Pools[p.Name] = metrics.Usage{Capacity: p.Capacity.DeepCopy()}
		}
	}
	if len(out.Capacity) == 0 && len(out.Pools) == 0 {
		return metrics.ResourceSample{}, fmt.Errorf("static: resources of %q: no capacity configured: %w", cluster, metrics.ErrNoData)
	}
	return out, nil
}
