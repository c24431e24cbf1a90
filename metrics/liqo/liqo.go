package liqo

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// RemoteClusterIDLabel is the label Liqo puts on a Connection with the peer's cluster
// ID (github.com/liqotech/liqo/pkg/consts.RemoteClusterID).
const RemoteClusterIDLabel = "liqo.io/remote-cluster-id"

// NotApplicable is the latency value Liqo writes when it has none
// (github.com/liqotech/liqo/pkg/consts.NotApplicable).
const NotApplicable = "N/A"

// DefaultMaxAge is the freshness bound when Options.MaxAge is zero: a healthy Liqo
// gateway rewrites the latency at least every 10 s, so a minute without an update
// means the gateway or the tunnel is not working.
const DefaultMaxAge = time.Minute

// RBACYAML is the ClusterRole the Source needs (rbac.yaml): get, list and watch on
// connections.networking.liqo.io, nothing else.
//
//go:embed rbac.yaml
var RBACYAML []byte

// ClusterRole decodes RBACYAML.
func ClusterRole() (*rbacv1.ClusterRole, error) {
	var r rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(RBACYAML, &r); err != nil {
		return nil, fmt.Errorf("liqo: decoding rbac.yaml: %w", err)
	}
	return &r, nil
}

// Cluster is one cluster whose Connections the Source reads.
type Cluster struct {
	// Name is the cluster's topology name.
	Name string
	// Reader reads that cluster's API server; its scheme must have Liqo's
	// networking/v1beta1 types.
	Reader client.Reader
}

// Options tunes New. The zero value reads every namespace, maps topology names to
// identical cluster IDs, uses DefaultMaxAge and time.Now.
type Options struct {
	// ClusterIDs maps topology cluster names to Liqo cluster IDs; a name not in the map
	// is its own cluster ID.
	ClusterIDs map[string]string
	// Namespace restricts the reads to one namespace (a RoleBinding there then
	// suffices); empty means all namespaces.
	Namespace string
	// MaxAge is the freshness bound; zero means DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Source is a metrics.LatencySource over Liqo Connection objects. Make it with New.
type Source struct {
	readers map[string]client.Reader
	ids     map[string]string
	ns      string
	maxAge  time.Duration
	now     func() time.Time
}

var _ metrics.LatencySource = (*Source)(nil)

// New returns a Source reading the Connections of clusters. Errors wrap
// metrics.ErrInvalid and name the field.
func New(clusters []Cluster, opts Options) (*Source, error) {
	var errs []error
	bad := func(field, detail string) {
		errs = append(errs, fmt.Errorf("liqo: %s: %s: %w", field, detail, metrics.ErrInvalid))
	}
	if len(clusters) == 0 {
		bad("clusters", "need at least one cluster to read")
	}
	s := &Source{readers: map[string]client.Reader{}, ids: map[string]string{}, ns: opts.Namespace,
		maxAge: cmp.Or(opts.MaxAge, DefaultMaxAge), now: opts.Now}
	for i, c := range clusters {
		f := fmt.Sprintf("clusters[%d]", i)
		switch {
		case c.Name == "":
			bad(f+".name", "must not be empty")
		case s.readers[c.Name] != nil:
			bad(f+".name", fmt.Sprintf("%q is listed twice", c.Name))
		case c.Reader == nil:
			bad(f+".reader", "must not be nil")
		default:
			s.readers[c.Name] = c.Reader
		}
	}
	for _, name := range slices.Sorted(maps.Keys(opts.ClusterIDs)) {
		id := opts.ClusterIDs[name]
		switch {
		case name == "":
			bad("opts.clusterIDs", "has an empty cluster name")
		case id == "":
			bad(fmt.Sprintf("opts.clusterIDs[%s]", name), "must not be empty")
		default:
			s.ids[name] = id
		}
	}
	if opts.MaxAge < 0 {
		bad("opts.maxAge", fmt.Sprintf("must be >= 0, got %v", opts.MaxAge))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func (s *Source) id(name string) string {
	if id, ok := s.ids[name]; ok {
		return id
	}
	return name
}

// candidate is one Connection with a usable latency.
type candidate struct {
	rtt time.Duration
	at  time.Time
	ref string
}

// Latency returns the RTT Liqo measured between a and b (see the package doc).
func (s *Source) Latency(ctx context.Context, a, b string) (metrics.LatencySample, error) {
	if err := ctx.Err(); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s<->%s: %w", a, b, err)
	}
	if err := errors.Join(metrics.CheckName("a", a), metrics.CheckName("b", b)); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("liqo: %w", err)
	}
	pair := metrics.MakePair(a, b)
	if a == b {
		return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s: Liqo measures between two clusters only: %w", pair, metrics.ErrNoData)
	}
	var (
		best    *candidate
		reasons []string
		read    bool
	)
	for _, side := range [][2]string{{pair.A, pair.B}, {pair.B, pair.A}} {
		r, ok := s.readers[side[0]]
		if !ok {
			continue
		}
		read = true
		var list networkingv1beta1.ConnectionList
		opts := []client.ListOption{client.MatchingLabels{RemoteClusterIDLabel: s.id(side[1])}}
		if s.ns != "" {
			opts = append(opts, client.InNamespace(s.ns))
		}
		if err := r.List(ctx, &list, opts...); err != nil {
			return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s: listing the Connections of %q to %q: %w", pair, side[0], s.id(side[1]), err)
		}
		for i := range list.Items {
			c, why := usable(&list.Items[i])
			ref := side[0] + ":" + list.Items[i].Namespace + "/" + list.Items[i].Name
			if why != "" {
				reasons = append(reasons, ref+": "+why)
				continue
			}
			c.ref = ref
			if best == nil || c.at.After(best.at) {
				best = &c
			}
		}
	}
	switch {
	case !read:
		return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s: the source reads neither cluster: %w", pair, metrics.ErrNoData)
	case best == nil && len(reasons) == 0:
		return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s: no Connection labelled %s for the pair: %w", pair, RemoteClusterIDLabel, metrics.ErrNoData)
	case best == nil:
		return metrics.LatencySample{}, fmt.Errorf("liqo: latency %s: no usable latency (%s): %w", pair, strings.Join(reasons, "; "), metrics.ErrNoData)
	}
	if err := metrics.CheckFresh("latency "+pair.String()+" ("+best.ref+")", best.at, s.now(), s.maxAge); err != nil {
		return metrics.LatencySample{}, fmt.Errorf("liqo: %w", err)
	}
	d := topology.Duration(best.rtt)
	return metrics.LatencySample{
		Pair: pair, P50: d, P90: d, P99: d, Count: 1, Loss: -1,
		ObservedAt: best.at, Provenance: metrics.Measured,
	}, nil
}

// usable returns the latency and observation time of c, or why it has none.
func usable(c *networkingv1beta1.Connection) (candidate, string) {
	st := c.Status
	if st.Value == networkingv1beta1.ConnectionError {
		return candidate{}, "status Error"
	}
	v := strings.TrimSpace(st.Latency.Value)
	if v == "" || v == NotApplicable {
		return candidate{}, fmt.Sprintf("status %q, no latency", cmp.Or(string(st.Value), "empty"))
	}
	rtt, err := time.ParseDuration(v)
	if err != nil {
		return candidate{}, fmt.Sprintf("latency %q is not a duration", v)
	}
	if rtt <= 0 {
		return candidate{}, fmt.Sprintf("latency %q is not positive", v)
	}
	at := st.Latency.Timestamp.Time
	if at.IsZero() {
		at = statusWriteTime(c.ManagedFields)
	}
	if at.IsZero() {
		return candidate{}, "no latency timestamp and no record of a status write"
	}
	return candidate{rtt: rtt, at: at}, ""
}

// statusWriteTime returns the newest time a manager wrote the status subresource.
func statusWriteTime(fields []metav1.ManagedFieldsEntry) time.Time {
	var t time.Time
	for _, f := range fields {
		if f.Subresource == "status" && f.Time != nil && f.Time.After(t) {
			t = f.Time.Time
		}
	}
	return t
}
