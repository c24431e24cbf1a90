package prometheus

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"text/template"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// ErrUnreachable: the Prometheus (or Thanos Query) server did not answer or answered
// with an error. It matches the unreachable kind of the other continuum packages.
var ErrUnreachable = errkind.New(errkind.Unreachable, "prometheus: unreachable")

// Defaults used when an Options field is zero.
const (
	DefaultClusterLabel = "cluster"
	DefaultPeerLabel    = "peer"
	DefaultWindow       = 5 * time.Minute
	DefaultLastSeen     = time.Hour
)

// Default latency queries: the histogram continuum_probe_rtt_seconds that metrics/probe
// exports, labelled with the measuring cluster (ClusterLabel, usually a Thanos external
// label) and the measured peer (PeerLabel). Both directions of a pair are aggregated.
const (
	DefaultLatencyQuantile = `histogram_quantile({{.Quantile}}, sum by (le) (rate(continuum_probe_rtt_seconds_bucket{ {{.Forward}} }[{{.Window}}]) or rate(continuum_probe_rtt_seconds_bucket{ {{.Reverse}} }[{{.Window}}])))`
	DefaultLatencyCount    = `sum(increase(continuum_probe_rtt_seconds_count{ {{.Forward}} }[{{.Window}}]) or increase(continuum_probe_rtt_seconds_count{ {{.Reverse}} }[{{.Window}}]))`
	DefaultLatencySeen     = `max(timestamp(continuum_probe_rtt_seconds_count{ {{.Forward}} }) or timestamp(continuum_probe_rtt_seconds_count{ {{.Reverse}} }))`
	DefaultLatencyLoss     = `(sum(increase(continuum_probe_lost_total{ {{.Forward}} }[{{.Window}}]) or increase(continuum_probe_lost_total{ {{.Reverse}} }[{{.Window}}])) / sum(increase(continuum_probe_sent_total{ {{.Forward}} }[{{.Window}}]) or increase(continuum_probe_sent_total{ {{.Reverse}} }[{{.Window}}])))`
)

// Default resource queries, for kube-state-metrics (node capacity and allocatable,
// pod GPU requests) and cAdvisor (container CPU and working-set memory) series. CPU is
// in cores, memory in bytes, GPUs (resource nvidia.com/gpu) in devices.
// DefaultResourceSeen gives the observation time of a cluster's resources.
var (
	DefaultCapacity = map[topology.ResourceName]string{
		topology.ResourceCPU:    `sum(kube_node_status_capacity{resource="cpu", {{.Match}} })`,
		topology.ResourceMemory: `sum(kube_node_status_capacity{resource="memory", {{.Match}} })`,
		topology.ResourceGPU:    `sum(kube_node_status_capacity{resource="nvidia_com_gpu", {{.Match}} })`,
	}
	DefaultAllocatable = map[topology.ResourceName]string{
		topology.ResourceCPU:    `sum(kube_node_status_allocatable{resource="cpu", {{.Match}} })`,
		topology.ResourceMemory: `sum(kube_node_status_allocatable{resource="memory", {{.Match}} })`,
		topology.ResourceGPU:    `sum(kube_node_status_allocatable{resource="nvidia_com_gpu", {{.Match}} })`,
	}
	DefaultUsed = map[topology.ResourceName]string{
		topology.ResourceCPU:    `sum(rate(container_cpu_usage_seconds_total{container!="", {{.Match}} }[{{.Window}}]))`,
		topology.ResourceMemory: `sum(container_memory_working_set_bytes{container!="", {{.Match}} })`,
		topology.ResourceGPU:    `sum(kube_pod_container_resource_requests{resource="nvidia_com_gpu", {{.Match}} })`,
	}
	DefaultResourceSeen = `max(timestamp(kube_node_status_capacity{ {{.Match}} }))`
)

// Queries are the PromQL templates (Go text/template) the source runs. An empty field
// (or a nil map) means the default; a map replaces the default map as a whole. Every
// query must return at most one series; no series means no data.
//
// Templates see: .Cluster (resources), .A and .B (latency, the pair as asked),
// .ClusterLabel, .PeerLabel, .Match (`<clusterLabel>="<cluster>"`), .Forward
// (`<clusterLabel>="<a>",<peerLabel>="<b>"`), .Reverse (the same for b to a), .Window
// (a PromQL duration such as 5m) and .Quantile (0.5, 0.9, 0.99).
//
// The Seen queries return the Unix time (seconds) of the newest raw sample behind a
// value, with timestamp() over plain selectors; the source evaluates them at now and,
// when empty, as max_over_time((seen)[LastSeen:1m]) to tell stale data from none.
type Queries struct {
	LatencyQuantile string
	LatencyCount    string
	LatencySeen     string
	// LatencyLoss gives the fraction of probes lost; no series means unknown loss.
	LatencyLoss string

	Capacity     map[topology.ResourceName]string
	Allocatable  map[topology.ResourceName]string
	Used         map[topology.ResourceName]string
	ResourceSeen string
}

// Options configures a Source. The zero value queries the default series with the
// "cluster" and "peer" labels, a 5-minute window and the 5-minute freshness bound.
type Options struct {
	// Now is the clock: queries are evaluated at Now(); nil means time.Now.
	Now func() time.Time
	// MaxAge is the freshness bound; zero means metrics.DefaultMaxAge.
	MaxAge time.Duration
	// Window is the span of rates and percentiles; zero means DefaultWindow.
	Window time.Duration
	// LastSeen is how far back to look for old data when there is none at now, to
	// answer ErrStale rather than ErrNoData; zero means DefaultLastSeen.
	LastSeen time.Duration
	// ClusterLabel is the label naming the cluster a series comes from (with Thanos,
	// the external label that tells the Prometheus servers apart); zero means
	// DefaultClusterLabel.
	ClusterLabel string
	// PeerLabel is the label naming the other end of a latency series; zero means
	// DefaultPeerLabel.
	PeerLabel string
	// Queries overrides queries; see Queries.
	Queries Queries
}

// Source reads latency and resources from a Prometheus or Thanos Query HTTP API.
type Source struct {
	api  promv1.API
	opts Options

	quantile, count, seen, loss *template.Template
	resources                   [3]map[topology.ResourceName]*template.Template // capacity, allocatable, used
	resourceSeen                *template.Template
}

var (
	_ metrics.LatencySource  = (*Source)(nil)
	_ metrics.ResourceSource = (*Source)(nil)
)

// NewForURL returns a source for the server at address (http://host:9090, or a
// Thanos Query address).
func NewForURL(address string, opts Options) (*Source, error) {
	if address == "" {
		return nil, fmt.Errorf("prometheus: address: must not be empty: %w", metrics.ErrInvalid)
	}
	c, err := promapi.NewClient(promapi.Config{Address: address})
	if err != nil {
		return nil, fmt.Errorf("prometheus: address %q: %v: %w", address, err, metrics.ErrInvalid)
	}
	return New(promv1.NewAPI(c), opts)
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// New returns a source over api. It returns an error wrapping metrics.ErrInvalid,
// naming the field, for bad options or a query template that does not parse.
func New(api promv1.API, opts Options) (*Source, error) {
	if api == nil {
		return nil, fmt.Errorf("prometheus: api: must not be nil: %w", metrics.ErrInvalid)
	}
	var errs []error
	bad := func(field, detail string) {
		errs = append(errs, fmt.Errorf("prometheus: %s: %s: %w", field, detail, metrics.ErrInvalid))
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"opts.maxAge", opts.MaxAge}, {"opts.window", opts.Window}, {"opts.lastSeen", opts.LastSeen}} {
		if d.v < 0 {
			bad(d.field, "must be >= 0")
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.MaxAge = cmp.Or(opts.MaxAge, metrics.DefaultMaxAge)
	opts.Window = cmp.Or(opts.Window, DefaultWindow)
	opts.LastSeen = cmp.Or(opts.LastSeen, DefaultLastSeen)
	opts.ClusterLabel = cmp.Or(opts.ClusterLabel, DefaultClusterLabel)
	opts.PeerLabel = cmp.Or(opts.PeerLabel, DefaultPeerLabel)
	if !labelName.MatchString(opts.ClusterLabel) {
		bad("opts.clusterLabel", fmt.Sprintf("%q is not a Prometheus label name", opts.ClusterLabel))
	}
	if !labelName.MatchString(opts.PeerLabel) {
		bad("opts.peerLabel", fmt.Sprintf("%q is not a Prometheus label name", opts.PeerLabel))
	}
	s := &Source{api: api, opts: opts}
	parse := func(field, text, def string) *template.Template {
		t, err := template.New(field).Option("missingkey=error").Parse(cmp.Or(text, def))
		if err != nil {
			bad(field, err.Error())
		}
		return t
	}
	q := opts.Queries
	s.quantile = parse("queries.latencyQuantile", q.LatencyQuantile, DefaultLatencyQuantile)
	s.count = parse("queries.latencyCount", q.LatencyCount, DefaultLatencyCount)
	s.seen = parse("queries.latencySeen", q.LatencySeen, DefaultLatencySeen)
	s.loss = parse("queries.latencyLoss", q.LatencyLoss, DefaultLatencyLoss)
	s.resourceSeen = parse("queries.resourceSeen", q.ResourceSeen, DefaultResourceSeen)
	for i, f := range []struct {
		name      string
		given, df map[topology.ResourceName]string
	}{{"capacity", q.Capacity, DefaultCapacity}, {"allocatable", q.Allocatable, DefaultAllocatable}, {"used", q.Used, DefaultUsed}} {
		m := f.given
		if m == nil {
			m = f.df
		}
		s.resources[i] = map[topology.ResourceName]*template.Template{}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			field := fmt.Sprintf("queries.%s[%s]", f.name, name)
			if m[name] == "" {
				bad(field, "must not be empty")
				continue
			}
			s.resources[i][name] = parse(field, m[name], "")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// name is what Prometheus label values may hold here: no quotes or backslashes, so
// names go into selectors verbatim.
var name = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func checkName(field, v string) error {
	if err := metrics.CheckName(field, v); err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	if !name.MatchString(v) {
		return fmt.Errorf("prometheus: %s: %q is not a cluster or site name: %w", field, v, metrics.ErrInvalid)
	}
	return nil
}

type data struct {
	Cluster, A, B           string
	ClusterLabel, PeerLabel string
	Match, Forward, Reverse string
	Window                  string
	Quantile                string
}

func (s *Source) data() data {
	return data{ClusterLabel: s.opts.ClusterLabel, PeerLabel: s.opts.PeerLabel, Window: model.Duration(s.opts.Window).String()}
}

// Latency returns the RTT percentiles, count and loss of the pair over Window, from
// both directions' series.
func (s *Source) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("prometheus: latency %s<->%s: %w", a, b, err)
	}
	if err := checkName("a", a); err != nil {
		return metrics.LatencySample{}, err
	}
	if err := checkName("b", b); err != nil {
		return metrics.LatencySample{}, err
	}
	pair := metrics.MakePair(a, b)
	d := s.data()
	d.A, d.B = a, b
	d.Forward = fmt.Sprintf(`%s=%q,%s=%q`, d.ClusterLabel, a, d.PeerLabel, b)
	d.Reverse = fmt.Sprintf(`%s=%q,%s=%q`, d.ClusterLabel, b, d.PeerLabel, a)
	now := s.opts.Now()
	what := "latency " + pair.String()

	seen, err := s.observed(ctx, what, s.seen, d, now)
	if err != nil {
		return metrics.LatencySample{}, err
	}
	out := metrics.LatencySample{Pair: pair, Window: s.opts.Window, Loss: -1, ObservedAt: seen, Provenance: metrics.Measured}
	for _, q := range []struct {
		quantile string
		dst      *topology.Duration
	}{{"0.5", &out.P50}, {"0.9", &out.P90}, {"0.99", &out.P99}} {
		d.Quantile = q.quantile
		v, ok, err := s.scalar(ctx, s.quantile, d, now)
		if err != nil {
			return metrics.LatencySample{}, err
		}
		if !ok || v <= 0 {
			return metrics.LatencySample{}, fmt.Errorf("prometheus: %s: no p%s over the last %v: %w", what, q.quantile[2:], s.opts.Window, metrics.ErrNoData)
		}
		*q.dst = topology.Duration(math.Round(v * float64(time.Second)))
	}
	count, ok, err := s.scalar(ctx, s.count, d, now)
	if err != nil {
		return metrics.LatencySample{}, err
	}
	if !ok {
		return metrics.LatencySample{}, fmt.Errorf("prometheus: %s: no sample count over the last %v: %w", what, s.opts.Window, metrics.ErrNoData)
	}
	out.Count = int64(math.Round(count))
	if loss, ok, err := s.scalar(ctx, s.loss, d, now); err != nil {
		return metrics.LatencySample{}, err
	} else if ok && loss >= 0 {
		out.Loss = min(loss, 1)
	}
	if err := metrics.ValidateLatency(out); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("prometheus: the queries gave an impossible sample: %w", err)
	}
	return out, nil
}

// Resources returns the cluster's capacity, allocatable and used resources; a
// resource whose query returns nothing is absent.
func (s *Source) Resources(ctx context.Context, cluster string) (metrics.ResourceSample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("prometheus: resources of %q: %w", cluster, err)
	}
	if err := checkName("cluster", cluster); err != nil {
		return metrics.ResourceSample{}, err
	}
	d := s.data()
	d.Cluster = cluster
	d.Match = fmt.Sprintf(`%s=%q`, d.ClusterLabel, cluster)
	now := s.opts.Now()
	seen, err := s.observed(ctx, fmt.Sprintf("resources of %q", cluster), s.resourceSeen, d, now)
	if err != nil {
		return metrics.ResourceSample{}, err
	}
	out := metrics.ResourceSample{Cluster: cluster, ObservedAt: seen, Provenance: metrics.Measured}
	lists := [3]*topology.ResourceList{&out.Capacity, &out.Allocatable, &out.Used}
	for i, m := range s.resources {
		for _, rn := range slices.Sorted(maps.Keys(m)) {
			v, ok, err := s.scalar(ctx, m[rn], d, now)
			if err != nil {
				return metrics.ResourceSample{}, err
			}
			if !ok {
				continue
			}
			if *lists[i] == nil {
				*lists[i] = topology.ResourceList{}
			}
			(*lists[i])[rn] = quantity(rn, v)
		}
	}
	if err := metrics.ValidateResources(out); err != nil {
		return metrics.ResourceSample{}, fmt.Errorf("prometheus: the queries gave an impossible sample: %w", err)
	}
	return out, nil
}

func quantity(rn topology.ResourceName, v float64) resource.Quantity {
	if rn == topology.ResourceMemory {
		return *resource.NewQuantity(int64(math.Round(v)), resource.BinarySI)
	}
	return *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI)
}

// observed runs a Seen query at now and returns the newest sample time; without one it
// looks back LastSeen to tell ErrStale from ErrNoData.
func (s *Source) observed(ctx context.Context, what string, seen *template.Template, d data, now time.Time) (time.Time, error) {
	v, ok, err := s.scalar(ctx, seen, d, now)
	if err != nil {
		return time.Time{}, err
	}
	past := !ok
	if past {
		q, err := render(seen, d)
		if err != nil {
			return time.Time{}, err
		}
		last := fmt.Sprintf("max_over_time((%s)[%s:1m])", q, model.Duration(s.opts.LastSeen))
		v, ok, err = s.query(ctx, last, now)
		if err != nil {
			return time.Time{}, err
		}
		if !ok {
			return time.Time{}, fmt.Errorf("prometheus: %s: no series in the last %v: %w", what, s.opts.LastSeen, metrics.ErrNoData)
		}
	}
	at := time.UnixMilli(int64(math.Round(v * 1000))).In(now.Location())
	if err := metrics.CheckFresh(what, at, now, s.opts.MaxAge); err != nil {
		return time.Time{}, fmt.Errorf("prometheus: %w", err)
	}
	if past {
		return time.Time{}, fmt.Errorf("prometheus: %s: newest sample at %v is beyond the query lookback: %w", what, at, metrics.ErrNoData)
	}
	return at, nil
}

func render(t *template.Template, d data) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("prometheus: query template %s: %v: %w", t.Name(), err, metrics.ErrInvalid)
	}
	return b.String(), nil
}

func (s *Source) scalar(ctx context.Context, t *template.Template, d data, now time.Time) (float64, bool, error) {
	q, err := render(t, d)
	if err != nil {
		return 0, false, err
	}
	return s.query(ctx, q, now)
}

// query runs an instant query at now and returns its single value; ok is false when
// the result is empty or NaN.
func (s *Source) query(ctx context.Context, q string, now time.Time) (float64, bool, error) {
	v, _, _, err := s.api.Query(ctx, q, now)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return 0, false, fmt.Errorf("prometheus: query %s: %w", q, cerr)
		}
		var perr *promv1.Error
		if errors.As(err, &perr) && (perr.Type == promv1.ErrBadData) {
			return 0, false, fmt.Errorf("prometheus: query %s: %v: %w", q, err, metrics.ErrInvalid)
		}
		return 0, false, fmt.Errorf("prometheus: query %s: %v: %w", q, err, ErrUnreachable)
	}
	var x float64
	switch r := v.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, false, nil
		case 1:
			x = float64(r[0].Value)
		default:
			return 0, false, fmt.Errorf("prometheus: query %s: %d series, want at most one (aggregate with sum or max): %w", q, len(r), metrics.ErrInvalid)
		}
	case *model.Scalar:
		x = float64(r.Value)
	default:
		return 0, false, fmt.Errorf("prometheus: query %s: result type %s, want an instant vector: %w", q, v.Type(), metrics.ErrInvalid)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false, nil
	}
	return x, true, nil
}
