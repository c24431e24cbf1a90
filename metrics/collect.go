package metrics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

// Defaults used by Collect when a CollectOptions field is zero.
const (
	DefaultCollectTimeout = 10 * time.Second
	DefaultParallelism    = 16
)

// Source is one named source of a Collect call. Either role may be nil. The position
// of a Source in the list given to Collect is its precedence: earlier sources win.
type Source struct {
	// Name is recorded with every value the source provides ("probe", "liqo",
	// "static"). Required and unique within one Collect call.
	Name string
	// Latency answers RTT queries; nil when the source has none.
	Latency LatencySource
	// Resources answers resource queries; nil when the source has none.
	Resources ResourceSource
}

// CollectOptions tunes Collect. The zero value collects the RTT of every pair of the
// given clusters and the resources of each, with a 10 s deadline, 16 calls in flight
// and the 5-minute freshness bound.
type CollectOptions struct {
	// Sites adds the RTT between each site and each cluster.
	Sites []string
	// Pairs, when non-nil, replaces the default latency pairs (all cluster pairs and
	// site-cluster pairs) with exactly these.
	Pairs []Pair
	// Timeout bounds the whole collection; zero means DefaultCollectTimeout. Calls still
	// running at the deadline count as failed with context.DeadlineExceeded.
	Timeout time.Duration
	// MaxAge is the freshness bound applied to every sample, on top of the sources'
	// own; zero means DefaultMaxAge.
	MaxAge time.Duration
	// Parallelism is the number of source calls in flight; zero means
	// DefaultParallelism.
	Parallelism int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Problem is one failed source call: a latency pair (Pair set) or a cluster's
// resources (Cluster set). Err wraps ErrNoData, ErrStale, ErrInvalid or the context's
// error.
type Problem struct {
	Source  string
	Pair    Pair
	Cluster string
	Err     error
}

// Value is one resource quantity of a snapshot with where it came from.
type Value struct {
	Quantity   resource.Quantity
	Provenance Provenance
	Source     string
	ObservedAt time.Time
}

// UsageView is the merged resources of a cluster or node pool: each quantity from the
// highest-precedence source that reported it. A resource no source reported is absent.
type UsageView struct {
	Capacity, Allocatable, Used map[topology.ResourceName]Value
}

// Usage returns the plain quantities, without provenance.
func (v UsageView) Usage() Usage {
	plain := func(m map[topology.ResourceName]Value) topology.ResourceList {
		if m == nil {
			return nil
		}
		out := make(topology.ResourceList, len(m))
		for k, x := range m {
			out[k] = x.Quantity.DeepCopy()
		}
		return out
	}
	return Usage{Capacity: plain(v.Capacity), Allocatable: plain(v.Allocatable), Used: plain(v.Used)}
}

// ResourceView is the merged resources of one cluster and its node pools.
type ResourceView struct {
	Cluster string
	UsageView
	// Pools is nil when no source reported node pools.
	Pools map[string]UsageView
}

// Snapshot is one consistent view of the continuum: for each latency pair and each
// cluster, the value of the highest-precedence source that had a fresh, valid sample,
// and what is missing. Nothing missing is ever represented as zero.
type Snapshot struct {
	// At is the clock's time when the collection started.
	At time.Time
	// Latency holds the merged sample of every pair some source answered.
	Latency map[Pair]LatencySample
	// Resources holds the merged resources of every cluster some source answered.
	Resources map[string]ResourceView
	// MissingLatency and MissingResources list, sorted, what no source answered.
	MissingLatency   []Pair
	MissingResources []string
	// Problems lists every failed source call, also those a lower-precedence source
	// made up for, sorted by pair or cluster, then source precedence.
	Problems []Problem
}

// RTT returns the median RTT of every answered pair (measured, configured or
// estimated; see Latency for which).
func (s *Snapshot) RTT() map[Pair]topology.Duration {
	out := make(map[Pair]topology.Duration, len(s.Latency))
	for p, l := range s.Latency {
		out[p] = l.P50
	}
	return out
}

// Free returns, per cluster, Allocatable minus Used for the resources both are known
// for; clusters with no such resource are left out.
func (s *Snapshot) Free() map[string]topology.ResourceList {
	out := map[string]topology.ResourceList{}
	for c, v := range s.Resources {
		if f := v.Usage().Free(); len(f) > 0 {
			out[c] = f
		}
	}
	return out
}

type latencyJob struct {
	src  int
	pair Pair
}

type resourceJob struct {
	src     int
	cluster string
}

// Collect asks every source, concurrently and within one deadline, for the RTT of
// every pair of clusters (and of each site to each cluster, see CollectOptions) and
// for the resources of every cluster, then merges the answers with precedence: for each
// pair, the sample of the first source in sources that returned a valid sample fresher
// than MaxAge; for each resource quantity, likewise, quantity by quantity. Every value
// records its source and provenance. Failed calls are listed in Problems; pairs and
// clusters no source answered are listed as missing.
//
// Collect returns an error wrapping ErrInvalid for bad arguments (naming the field) and
// the context's error when ctx was already done; source failures and the deadline are
// not errors of Collect but Problems of the snapshot. A source that ignores its context
// keeps one goroutine until it returns; Collect does not wait for it.
func Collect(ctx context.Context, sources []Source, clusters []string, opts CollectOptions) (*Snapshot, error) {
	if err := validateCollect(sources, clusters, opts); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("metrics: collect: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	timeout := cmp.Or(opts.Timeout, DefaultCollectTimeout)
	maxAge := cmp.Or(opts.MaxAge, DefaultMaxAge)
	par := cmp.Or(opts.Parallelism, DefaultParallelism)

	pairs := opts.Pairs
	if pairs == nil {
		pairs = defaultPairs(clusters, opts.Sites)
	} else {
		pairs = canonicalPairs(pairs)
	}

	var lat []latencyJob
	var res []resourceJob
	for i, s := range sources {
		if s.Latency != nil {
			for _, p := range pairs {
				lat = append(lat, latencyJob{i, p})
			}
		}
		if s.Resources != nil {
			for _, c := range clusters {
				res = append(res, resourceJob{i, c})
			}
		}
	}

	snap := &Snapshot{At: now()}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Results are written under mu; after the deadline Collect closes the table and
	// late answers are dropped.
	var (
		mu      sync.Mutex
		closed  bool
		latOut  = make([]latencyResult, len(lat))
		resOut  = make([]resourceResult, len(res))
		jobs    = make(chan int)
		workers sync.WaitGroup
	)
	total := len(lat) + len(res)
	for range min(par, max(total, 1)) {
		workers.Go(func() {
			for j := range jobs {
				if j < len(lat) {
					job := lat[j]
					s, err := sources[job.src].Latency.Latency(cctx, job.pair.A, job.pair.B)
					mu.Lock()
					if !closed {
						latOut[j] = latencyResult{s, err, true}
					}
					mu.Unlock()
				} else {
					job := res[j-len(lat)]
					s, err := sources[job.src].Resources.Resources(cctx, job.cluster)
					mu.Lock()
					if !closed {
						resOut[j-len(lat)] = resourceResult{s, err, true}
					}
					mu.Unlock()
				}
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(jobs)
		for j := range total {
			select {
			case jobs <- j:
			case <-cctx.Done():
				return
			}
		}
	}()
	allDone := make(chan struct{})
	go func() {
		<-done
		workers.Wait()
		close(allDone)
	}()
	select {
	case <-allDone:
	case <-cctx.Done():
	}
	mu.Lock()
	closed = true
	mu.Unlock()
	deadlineErr := cctx.Err()
	if deadlineErr == nil {
		deadlineErr = context.DeadlineExceeded
	}

	// Merge latency: results are in source order per pair.
	t := snap.At
	snap.Latency = map[Pair]LatencySample{}
	for j, job := range lat {
		r := latOut[j]
		name := sources[job.src].Name
		err := r.err
		if !r.done {
			err = fmt.Errorf("metrics: %s: latency %s: no answer before the collect deadline: %w", name, job.pair, deadlineErr)
		}
		if err == nil {
			err = checkLatency(&r.sample, job.pair, t, maxAge)
		}
		if err != nil {
			snap.Problems = append(snap.Problems, Problem{Source: name, Pair: job.pair, Err: err})
			continue
		}
		if _, ok := snap.Latency[job.pair]; ok {
			continue // a higher-precedence source answered
		}
		r.sample.Source = name
		snap.Latency[job.pair] = r.sample
	}
	for _, p := range pairs {
		if _, ok := snap.Latency[p]; !ok {
			snap.MissingLatency = append(snap.MissingLatency, p)
		}
	}

	// Merge resources quantity by quantity.
	var byCluster = map[string][]ResourceSample{}
	for j, job := range res {
		r := resOut[j]
		name := sources[job.src].Name
		err := r.err
		if !r.done {
			err = fmt.Errorf("metrics: %s: resources of %q: no answer before the collect deadline: %w", name, job.cluster, deadlineErr)
		}
		if err == nil {
			err = checkResources(&r.sample, job.cluster, t, maxAge)
		}
		if err != nil {
			snap.Problems = append(snap.Problems, Problem{Source: name, Cluster: job.cluster, Err: err})
			continue
		}
		r.sample.Source = name
		byCluster[job.cluster] = append(byCluster[job.cluster], r.sample)
	}
	snap.Resources = map[string]ResourceView{}
	for _, c := range clusters {
		if samples := byCluster[c]; len(samples) > 0 {
			snap.Resources[c] = MergeResources(samples...)
		} else {
			snap.MissingResources = append(snap.MissingResources, c)
		}
	}
	slices.SortFunc(snap.MissingLatency, comparePairs)
	slices.Sort(snap.MissingResources)
	order := map[string]int{}
	for i, s := range sources {
		order[s.Name] = i
	}
	slices.SortStableFunc(snap.Problems, func(a, b Problem) int {
		return cmp.Or(comparePairs(a.Pair, b.Pair), cmp.Compare(a.Cluster, b.Cluster), cmp.Compare(order[a.Source], order[b.Source]))
	})
	return snap, nil
}

type latencyResult struct {
	sample LatencySample
	err    error
	done   bool
}

type resourceResult struct {
	sample ResourceSample
	err    error
	done   bool
}

func checkLatency(s *LatencySample, want Pair, now time.Time, maxAge time.Duration) error {
	if s.Pair == (Pair{}) {
		s.Pair = want
	}
	s.Pair = MakePair(s.Pair.A, s.Pair.B)
	if s.Pair != want {
		return fmt.Errorf("metrics: asked for %s, the source answered %s: %w", want, s.Pair, ErrInvalid)
	}
	if err := ValidateLatency(*s); err != nil {
		return err
	}
	return CheckFresh("latency "+want.String(), s.ObservedAt, now, maxAge)
}

func checkResources(s *ResourceSample, want string, now time.Time, maxAge time.Duration) error {
	if s.Cluster == "" {
		s.Cluster = want
	}
	if s.Cluster != want {
		return fmt.Errorf("metrics: asked for the resources of %q, the source answered %q: %w", want, s.Cluster, ErrInvalid)
	}
	if err := ValidateResources(*s); err != nil {
		return err
	}
	return CheckFresh("resources of "+want, s.ObservedAt, now, maxAge)
}

// MergeResources merges samples of one cluster, given in precedence order (first
// wins), quantity by quantity: each capacity, allocatable and used quantity, of the
// cluster and of each node pool, comes from the first sample that has it and records
// that sample's Source, Provenance and ObservedAt. A quantity no sample has stays
// absent. The cluster name is the first sample's.
func MergeResources(samples ...ResourceSample) ResourceView {
	var v ResourceView
	if len(samples) == 0 {
		return v
	}
	v.Cluster = samples[0].Cluster
	for _, s := range samples {
		mergeUsage(&v.UsageView, s.Usage, s)
		for _, pool := range slices.Sorted(maps.Keys(s.Pools)) {
			if v.Pools == nil {
				v.Pools = map[string]UsageView{}
			}
			pv := v.Pools[pool]
			mergeUsage(&pv, s.Pools[pool], s)
			v.Pools[pool] = pv
		}
	}
	return v
}

func mergeUsage(dst *UsageView, u Usage, s ResourceSample) {
	add := func(m *map[topology.ResourceName]Value, l topology.ResourceList) {
		for name, q := range l {
			if *m == nil {
				*m = map[topology.ResourceName]Value{}
			}
			if _, ok := (*m)[name]; ok {
				continue
			}
			(*m)[name] = Value{Quantity: q.DeepCopy(), Provenance: s.Provenance, Source: s.Source, ObservedAt: s.ObservedAt}
		}
	}
	add(&dst.Capacity, u.Capacity)
	add(&dst.Allocatable, u.Allocatable)
	add(&dst.Used, u.Used)
}

func comparePairs(a, b Pair) int { return cmp.Or(cmp.Compare(a.A, b.A), cmp.Compare(a.B, b.B)) }

// defaultPairs returns every pair of distinct clusters and every site-cluster pair,
// canonical and sorted.
func defaultPairs(clusters, sites []string) []Pair {
	var out []Pair
	for i, a := range clusters {
		for _, b := range clusters[i+1:] {
			out = append(out, MakePair(a, b))
		}
		for _, s := range sites {
			out = append(out, MakePair(s, a))
		}
	}
	return canonicalPairs(out)
}

func canonicalPairs(in []Pair) []Pair {
	out := make([]Pair, len(in))
	for i, p := range in {
		out[i] = MakePair(p.A, p.B)
	}
	slices.SortFunc(out, comparePairs)
	return slices.Compact(out)
}

func validateCollect(sources []Source, clusters []string, opts CollectOptions) error {
	var errs []error
	bad := func(field, detail string) {
		errs = append(errs, fmt.Errorf("metrics: collect: %s: %s: %w", field, detail, ErrInvalid))
	}
	if len(sources) == 0 {
		bad("sources", "need at least one source")
	}
	names := map[string]int{}
	for i, s := range sources {
		f := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			bad(f+".name", "must not be empty")
		case names[s.Name] > 0:
			bad(f+".name", fmt.Sprintf("%q already names sources[%d]", s.Name, names[s.Name]-1))
		default:
			names[s.Name] = i + 1
		}
		if s.Latency == nil && s.Resources == nil {
			bad(f, "has neither a latency nor a resource source")
		}
	}
	seen := map[string]bool{}
	for i, c := range clusters {
		f := fmt.Sprintf("clusters[%d]", i)
		if c == "" {
			bad(f, "must not be empty")
		} else if seen[c] {
			bad(f, fmt.Sprintf("%q is listed twice", c))
		}
		seen[c] = true
	}
	for i, s := range opts.Sites {
		if s == "" {
			bad(fmt.Sprintf("opts.sites[%d]", i), "must not be empty")
		}
	}
	for i, p := range opts.Pairs {
		if p.A == "" || p.B == "" {
			bad(fmt.Sprintf("opts.pairs[%d]", i), "both endpoints must be named")
		}
	}
	if opts.Timeout < 0 {
		bad("opts.timeout", "must be >= 0")
	}
	if opts.MaxAge < 0 {
		bad("opts.maxAge", "must be >= 0")
	}
	if opts.Parallelism < 0 {
		bad("opts.parallelism", "must be >= 0")
	}
	return errors.Join(errs...)
}
