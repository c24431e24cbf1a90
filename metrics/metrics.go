package metrics

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/topology"
)

// Sentinel errors. They match the same kinds of the other continuum packages with
// errors.Is, so errors.Is(err, metrics.ErrNoData) holds for every backend's no-data error.
var (
	// ErrNoData: the source has no sample for what was asked (unknown cluster, nothing
	// recorded, the series is absent). Never read it as zero.
	ErrNoData = errkind.New(errkind.NoData, "metrics: no data")
	// ErrStale: the source's newest sample is older than the freshness bound. Never
	// read it as zero either.
	ErrStale = errkind.New(errkind.Stale, "metrics: stale")
	// ErrInvalid: a caller passed bad input (an empty cluster name, a negative option)
	// or a source produced an impossible sample (p90 below p50).
	ErrInvalid = errkind.New(errkind.Invalid, "metrics: invalid")
	// ErrUnreachable: the cluster (or an end of the pair) is down or cannot be
	// reached, as the source knows from health checks; wrapped together with
	// ErrNoData. The OODA loop places nothing on a cluster whose resources every
	// source reports unreachable.
	ErrUnreachable = errkind.New(errkind.Unreachable, "metrics: unreachable")
)

// DefaultMaxAge is the freshness bound used when an Options.MaxAge is zero: a sample
// observed longer ago than this is stale. It matches Prometheus' 5-minute lookback.
const DefaultMaxAge = 5 * time.Minute

// Provenance says where a value comes from: measured by something, configured by a
// person, or estimated from geography.
type Provenance string

// Provenances.
const (
	// Measured values come from an observation of the real system (Prometheus, Liqo's
	// gateway, the UDP prober).
	Measured Provenance = "measured"
	// Configured values come from the topology as written (a link's RTT, a cluster's
	// capacity), or are derived from such values (a path's RTT).
	Configured Provenance = "configured"
	// Estimated values are guesses (the geo estimate from great-circle distance).
	Estimated Provenance = "estimated"
)

// Pair is an unordered pair of endpoints, each a cluster or a site; the RTT between
// them is the same both ways. Use MakePair to build one in canonical order.
type Pair struct{ A, B string }

// MakePair returns the pair of a and b in canonical order (A <= B).
func MakePair(a, b string) Pair {
	if a > b {
		a, b = b, a
	}
	return Pair{a, b}
}

// String returns "a<->b".
func (p Pair) String() string { return p.A + "<->" + p.B }

// LatencySample is the round-trip time between two endpoints over a window.
type LatencySample struct {
	// Pair is the two endpoints, in canonical order.
	Pair Pair
	// P50, P90 and P99 are percentiles of the RTT over Window. P50 > 0 and
	// P50 <= P90 <= P99.
	P50, P90, P99 topology.Duration
	// Count is the number of RTT observations in Window; 0 for configured and estimated
	// values.
	Count int64
	// Window is the span the percentiles cover, ending at ObservedAt; zero for
	// configured and estimated values.
	Window time.Duration
	// Loss is the fraction of probes lost in Window (0..1), when the source measures
	// it; negative means unknown.
	Loss float64
	// ObservedAt is when the newest observation in the sample was made.
	ObservedAt time.Time
	// Provenance says whether the sample is measured, configured or estimated.
	Provenance Provenance
	// Source names the source the sample came from; Collect sets it.
	Source string
}

// Measured reports whether the sample comes from a measurement.
func (s LatencySample) Measured() bool { return s.Provenance == Measured }

// LatencySource reports the round-trip time between two clusters, or between a site and
// a cluster. The order of a and b does not matter.
//
// Latency returns an error wrapping ErrNoData when the source has nothing for the pair,
// ErrStale when its newest sample is older than its freshness bound, ErrInvalid for an
// empty or malformed name, and the context's error when ctx ends first. It never
// returns a zero sample with a nil error.
type LatencySource interface {
	Latency(ctx context.Context, a, b string) (LatencySample, error)
}

// Usage is the resources of a cluster or node pool, each a Kubernetes ResourceList
// (cpu in cores, memory in bytes, gpu in devices). A resource the source does not know
// is absent from the list, never zero.
type Usage struct {
	// Capacity is the nodes' total resources.
	Capacity topology.ResourceList
	// Allocatable is what pods may request (capacity minus system reservations).
	Allocatable topology.ResourceList
	// Used is what is in use now (CPU and memory actually used; GPUs requested).
	Used topology.ResourceList
}

// Free returns Allocatable minus Used, for the resources listed in both (never below
// zero); a resource missing from either is missing from the result.
func (u Usage) Free() topology.ResourceList {
	out := topology.ResourceList{}
	for name, alloc := range u.Allocatable {
		used, ok := u.Used[name]
		if !ok {
			continue
		}
		free := alloc.DeepCopy()
		free.Sub(used)
		if free.Sign() < 0 {
			free = *resource.NewQuantity(0, alloc.Format)
		}
		out[name] = free
	}
	return out
}

// ResourceSample is the resources of one cluster, optionally per node pool.
type ResourceSample struct {
	// Cluster names the cluster.
	Cluster string
	// Usage is the whole cluster.
	Usage
	// Pools holds the cluster's node pools by name, when the source knows them; nil
	// otherwise.
	Pools map[string]Usage
	// ObservedAt is when the newest observation in the sample was made.
	ObservedAt time.Time
	// Provenance says whether the sample is measured, configured or estimated.
	Provenance Provenance
	// Source names the source the sample came from; Collect sets it.
	Source string
}

// ResourceSource reports the resources of a cluster (capacity, allocatable and used
// CPU, memory and GPU), optionally per node pool.
//
// Resources returns an error wrapping ErrNoData when the source knows nothing about the
// cluster, ErrStale when its newest sample is older than its freshness bound,
// ErrInvalid for an empty or malformed name, and the context's error when ctx ends
// first. Resources it does not know are absent from the lists, never zero.
type ResourceSource interface {
	Resources(ctx context.Context, cluster string) (ResourceSample, error)
}

// CheckName returns an error wrapping ErrInvalid, naming field, when name is empty.
// Sources call it on their arguments.
func CheckName(field, name string) error {
	if name == "" {
		return fmt.Errorf("metrics: %s: must not be empty: %w", field, ErrInvalid)
	}
	return nil
}

// CheckFresh returns an error wrapping ErrStale when observedAt is more than maxAge
// before now (maxAge <= 0 means DefaultMaxAge), and one wrapping ErrNoData when
// observedAt is the zero time. what names the value in the message.
func CheckFresh(what string, observedAt, now time.Time, maxAge time.Duration) error {
	if maxAge <= 0 {
		maxAge = DefaultMaxAge
	}
	if observedAt.IsZero() {
		return fmt.Errorf("metrics: %s: sample has no observation time: %w", what, ErrNoData)
	}
	if age := now.Sub(observedAt); age > maxAge {
		return fmt.Errorf("metrics: %s: newest sample is %v old, more than the %v freshness bound: %w",
			what, age.Round(time.Millisecond), maxAge, ErrStale)
	}
	return nil
}

// ValidateLatency checks a sample a source produced: P50 > 0, P50 <= P90 <= P99,
// Count >= 0, Loss <= 1, an observation time and a provenance. The error wraps
// ErrInvalid and names the field.
func ValidateLatency(s LatencySample) error {
	bad := func(field, detail string) error {
		return fmt.Errorf("metrics: latency sample %s: %s: %s: %w", s.Pair, field, detail, ErrInvalid)
	}
	switch {
	case s.Pair.A == "" || s.Pair.B == "":
		return bad("pair", "both endpoints must be named")
	case s.P50 <= 0:
		return bad("p50", fmt.Sprintf("must be > 0, got %v", s.P50))
	case s.P90 < s.P50:
		return bad("p90", fmt.Sprintf("%v is below p50 %v", s.P90, s.P50))
	case s.P99 < s.P90:
		return bad("p99", fmt.Sprintf("%v is below p90 %v", s.P99, s.P90))
	case s.Count < 0:
		return bad("count", fmt.Sprintf("must be >= 0, got %d", s.Count))
	case s.Loss > 1:
		return bad("loss", fmt.Sprintf("must be <= 1, got %g", s.Loss))
	case s.ObservedAt.IsZero():
		return bad("observedAt", "must be set")
	case s.Provenance == "":
		return bad("provenance", "must be set")
	}
	return nil
}

// ValidateResources checks a sample a source produced: a cluster name, an observation
// time, a provenance and no negative quantity. The error wraps ErrInvalid and names the
// field.
func ValidateResources(s ResourceSample) error {
	bad := func(field, detail string) error {
		return fmt.Errorf("metrics: resource sample of %q: %s: %s: %w", s.Cluster, field, detail, ErrInvalid)
	}
	if s.Cluster == "" {
		return bad("cluster", "must be set")
	}
	if s.ObservedAt.IsZero() {
		return bad("observedAt", "must be set")
	}
	if s.Provenance == "" {
		return bad("provenance", "must be set")
	}
	check := func(prefix string, u Usage) error {
		for _, f := range u.fields() {
			for _, name := range sortedNames(f.list) {
				if q := f.list[name]; q.Sign() < 0 {
					return bad(prefix+f.name+"."+string(name), "must not be negative, got "+q.String())
				}
			}
		}
		return nil
	}
	if err := check("", s.Usage); err != nil {
		return err
	}
	for _, pool := range slices.Sorted(maps.Keys(s.Pools)) {
		if err := check("pools["+pool+"].", s.Pools[pool]); err != nil {
			return err
		}
	}
	return nil
}

type namedList struct {
	name string
	list topology.ResourceList
}

// fields returns the three lists with their field names, in a fixed order.
func (u Usage) fields() [3]namedList {
	return [3]namedList{{"capacity", u.Capacity}, {"allocatable", u.Allocatable}, {"used", u.Used}}
}

func sortedNames[V any](m map[topology.ResourceName]V) []topology.ResourceName {
	return slices.Sorted(maps.Keys(m))
}
