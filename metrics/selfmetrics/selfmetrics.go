package selfmetrics

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/continuum-xr/continuum/metrics"
)

// Decision outcomes.
const (
	Feasible   = "feasible"   // a plan that meets every constraint
	Infeasible = "infeasible" // a result explaining why nothing fits
	Failed     = "failed"     // an error (bad input, canceled)
)

// Migration results.
const (
	Started   = "started"
	Succeeded = "succeeded"
	// Failed (shared with decisions) is a migration that was rolled back or gave up.
)

// other is the label value of an unknown outcome or result.
const other = "other"

// DefaultNamespace prefixes every series when Options.Namespace is empty.
const DefaultNamespace = "continuum"

// DefaultDecisionBuckets are the decision latency buckets in seconds: 100 µs to 30 s.
var DefaultDecisionBuckets = []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30}

// Options tunes New; the zero value uses the defaults.
type Options struct {
	// Namespace prefixes the metric names; empty means DefaultNamespace.
	Namespace string
	// ConstLabels are added to every series.
	ConstLabels prometheus.Labels
	// DecisionBuckets are the decision histogram's upper bounds in seconds, positive
	// and strictly increasing; nil means DefaultDecisionBuckets.
	DecisionBuckets []float64
}

// Metrics is the SDK's self-metrics collector. Make it with New.
type Metrics struct {
	decisions  *prometheus.HistogramVec
	migrations *prometheus.CounterVec
	problems   *prometheus.CounterVec
	rtt        *prometheus.GaugeVec
	count      *prometheus.GaugeVec
	missing    *prometheus.GaugeVec
	mu         sync.Mutex // serialises ObserveSnapshot's reset-and-fill
}

var _ prometheus.Collector = (*Metrics)(nil)

var nameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New returns a collector; register it with a prometheus.Registerer.
func New(opts Options) (*Metrics, error) {
	var errs []error
	bad := func(field, detail string) {
		errs = append(errs, fmt.Errorf("selfmetrics: %s: %s: %w", field, detail, metrics.ErrInvalid))
	}
	ns := cmp.Or(opts.Namespace, DefaultNamespace)
	if !nameRE.MatchString(ns) {
		bad("opts.namespace", fmt.Sprintf("%q is not a Prometheus name", ns))
	}
	for _, k := range slices.Sorted(maps.Keys(opts.ConstLabels)) {
		if !nameRE.MatchString(k) {
			bad("opts.constLabels", fmt.Sprintf("%q is not a Prometheus label name", k))
		}
	}
	buckets := opts.DecisionBuckets
	if buckets == nil {
		buckets = DefaultDecisionBuckets
	}
	for i, b := range buckets {
		if b <= 0 || (i > 0 && b <= buckets[i-1]) {
			bad(fmt.Sprintf("opts.decisionBuckets[%d]", i), fmt.Sprintf("%g: buckets must be positive and strictly increasing", b))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cl := opts.ConstLabels
	return &Metrics{
		decisions: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "decision_duration_seconds", ConstLabels: cl, Buckets: slices.Clone(buckets),
			Help: "Time a placement decision took, by outcome (feasible, infeasible, failed).",
		}, []string{"outcome"}),
		migrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "migrations_total", ConstLabels: cl,
			Help: "Component migrations between clusters, by result (started, succeeded, failed).",
		}, []string{"result"}),
		problems: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "snapshot_problems_total", ConstLabels: cl,
			Help: "Failed metrics source calls while collecting snapshots, by source.",
		}, []string{"source"}),
		rtt: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "rtt_seconds", ConstLabels: cl,
			Help: "Median round-trip time of each pair in the last snapshot, with the source and provenance it came from.",
		}, []string{"a", "b", "source", "provenance"}),
		count: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "rtt_sample_count", ConstLabels: cl,
			Help: "Observations behind each pair's RTT in the last snapshot (0 for configured or estimated values).",
		}, []string{"a", "b", "source"}),
		missing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Name: "snapshot_missing", ConstLabels: cl,
			Help: "Pairs (kind latency) and clusters (kind resources) the last snapshot had no value for.",
		}, []string{"kind"}),
	}, nil
}

// ObserveDecision records one decision that took d and ended with outcome (Feasible,
// Infeasible or Failed; anything else is recorded as "other").
func (m *Metrics) ObserveDecision(d time.Duration, outcome string) {
	switch outcome {
	case Feasible, Infeasible, Failed:
	default:
		outcome = other
	}
	m.decisions.WithLabelValues(outcome).Observe(d.Seconds())
}

// Migration counts one migration event: Started, Succeeded or Failed (anything else
// is recorded as "other").
func (m *Metrics) Migration(result string) {
	switch result {
	case Started, Succeeded, Failed:
	default:
		result = other
	}
	m.migrations.WithLabelValues(result).Inc()
}

// ObserveSnapshot replaces the RTT gauges with the pairs of s, sets the missing
// gauges and counts s's problems by source. A nil snapshot is ignored.
func (m *Metrics) ObserveSnapshot(s *metrics.Snapshot) {
	if s == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rtt.Reset()
	m.count.Reset()
	for p, l := range s.Latency {
		m.rtt.WithLabelValues(p.A, p.B, l.Source, string(l.Provenance)).Set(l.P50.Std().Seconds())
		m.count.WithLabelValues(p.A, p.B, l.Source).Set(float64(l.Count))
	}
	m.missing.WithLabelValues("latency").Set(float64(len(s.MissingLatency)))
	m.missing.WithLabelValues("resources").Set(float64(len(s.MissingResources)))
	for _, pr := range s.Problems {
		m.problems.WithLabelValues(pr.Source).Inc()
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock() // a consistent set of RTT gauges
	defer m.mu.Unlock()
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.decisions, m.migrations, m.problems, m.rtt, m.count, m.missing}
}
