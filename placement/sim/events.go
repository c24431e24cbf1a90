package sim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/topology"
)

// Event is something that happens to the world: scheduled with At (or Schedule) to
// happen at a time of the script, or applied now with Apply. The constructors below
// make the events; Do wraps any function of the World.
type Event interface {
	// String describes the event, e.g. "degrade link gva-edge<->mil-edge to 20ms".
	String() string
	// check validates what does not depend on the world's state (At calls it).
	check() error
	// apply makes the event happen at now; w.mu is held, except for Do.
	apply(w *World, now time.Time) ([]Change, error)
}

// Scheduled is an event of a Script and its time since the world's start.
type Scheduled struct {
	After time.Duration
	Event Event
}

// Script is a list of events, in any order; World.Schedule schedules them all. Events
// with the same time happen in list order.
type Script []Scheduled

// ChangeKind says what changed.
type ChangeKind string

// The kinds of changes.
const (
	// ClusterAdded: a cluster provisioned through Provisioner() became ready and
	// joined the topology (Cluster).
	ClusterAdded ChangeKind = "cluster-added"
	// ClusterResized: a provisioned cluster was scaled and is ready again with its
	// new capacity.
	ClusterResized ChangeKind = "cluster-resized"
	// ClusterRemoved: a provisioned cluster is being deleted or failed, and left the
	// topology.
	ClusterRemoved ChangeKind = "cluster-removed"
	// ClusterFailed and ClusterRecovered: FailCluster and RecoverCluster.
	ClusterFailed    ChangeKind = "cluster-failed"
	ClusterRecovered ChangeKind = "cluster-recovered"
	// LinkDegraded and LinkRestored: the true RTT of a link (Pair) changed to RTT.
	LinkDegraded ChangeKind = "link-degraded"
	LinkRestored ChangeKind = "link-restored"
	// SiteAdded and SiteMoved: a site (Site) joined or changed its access links or
	// location.
	SiteAdded ChangeKind = "site-added"
	SiteMoved ChangeKind = "site-moved"
	// LoadChanged: the scripted extra load of a cluster (Cluster) changed.
	LoadChanged ChangeKind = "load-changed"
	// Custom: a Do event ran.
	Custom ChangeKind = "custom"
	// EventFailed: an event could not happen (Err says why); the world is unchanged
	// by it.
	EventFailed ChangeKind = "event-failed"
)

// Change is one change of the world, as OnChange reports it and Log records it.
type Change struct {
	Kind ChangeKind
	// At is the clock's time of the change; Elapsed the time since the world's start.
	At      time.Time
	Elapsed time.Duration
	// Cluster, Site and Pair name what changed, as the kind says.
	Cluster string
	Site    string
	Pair    metrics.Pair
	// RTT is a link's new true round-trip time (LinkDegraded, LinkRestored).
	RTT topology.Duration
	// Message is the change in words, as in the log (without the time).
	Message string
	// Err is why an event failed (EventFailed).
	Err error
}

// String returns the log line: "t=+60s link gva-edge<->mil-edge degraded to 20ms
// (declared 5.8ms)".
func (c Change) String() string { return stamp(c.Elapsed) + " " + c.Message }

// stamp formats an elapsed time as "t=+60s", "t=+1.5s", "t=+3600s".
func stamp(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("t=+%ds", d/time.Second)
	}
	return fmt.Sprintf("t=+%gs", d.Seconds())
}

// DegradeLink sets the true round-trip time of the direct link between a and b (two
// clusters, or a site and a cluster) to rtt: latency samples of every pair routed
// over it follow, while the declared topology (Topology) keeps its figure. A later
// DegradeLink of the same link replaces the value; RestoreLink undoes it. The link
// must exist when the event happens, and rtt must not be below its physical floor.
func DegradeLink(a, b string, rtt time.Duration) Event {
	return degrade{pair: metrics.MakePair(a, b), rtt: topology.Duration(rtt)}
}

type degrade struct {
	pair metrics.Pair
	rtt  topology.Duration
}

func (e degrade) String() string { return fmt.Sprintf("degrade link %s to %s", e.pair, e.rtt) }

func (e degrade) check() error {
	if err := checkPair(e.pair); err != nil {
		return err
	}
	if e.rtt <= 0 {
		return fmt.Errorf("sim: degrade link %s: rtt: must be > 0, got %s: %w", e.pair, e.rtt, ErrInvalid)
	}
	return nil
}

func (e degrade) apply(w *World, now time.Time) ([]Change, error) {
	declared, err := w.declaredLinkRTT(e.pair)
	if err != nil {
		return nil, err
	}
	prev, had := w.overrides[e.pair]
	w.overrides[e.pair] = e.rtt
	if err := w.rebuild(); err != nil {
		if had {
			w.overrides[e.pair] = prev
		} else {
			delete(w.overrides, e.pair)
		}
		return nil, fmt.Errorf("sim: degrade link %s: %w", e.pair, err)
	}
	return []Change{{Kind: LinkDegraded, Pair: e.pair, RTT: e.rtt,
		Message: fmt.Sprintf("link %s degraded to %s (declared %s)", e.pair, e.rtt, declared)}}, nil
}

// RestoreLink gives the link between a and b its declared round-trip time back.
// Restoring a link that is not degraded changes nothing (and is logged as such).
func RestoreLink(a, b string) Event { return restore{pair: metrics.MakePair(a, b)} }

type restore struct{ pair metrics.Pair }

func (e restore) String() string { return "restore link " + e.pair.String() }
func (e restore) check() error   { return checkPair(e.pair) }

func (e restore) apply(w *World, now time.Time) ([]Change, error) {
	declared, err := w.declaredLinkRTT(e.pair)
	if err != nil {
		return nil, err
	}
	if _, ok := w.overrides[e.pair]; !ok {
		return []Change{{Kind: LinkRestored, Pair: e.pair, RTT: declared,
			Message: fmt.Sprintf("link %s restored (it was not degraded; %s)", e.pair, declared)}}, nil
	}
	delete(w.overrides, e.pair)
	if err := w.rebuild(); err != nil {
		return nil, fmt.Errorf("sim: restore link %s: %w", e.pair, err)
	}
	return []Change{{Kind: LinkRestored, Pair: e.pair, RTT: declared,
		Message: fmt.Sprintf("link %s restored to %s", e.pair, declared)}}, nil
}

// FailCluster takes a cluster down: its instances are not ready (pods of every
// namespace on it, and every instance of the namespaces it is home to), its metrics
// give errors wrapping metrics.ErrNoData and ErrUnreachable, and routes no longer go
// through it. The declared topology keeps it (an inventory does not forget a cluster
// that stops answering) unless Options.HideFailed is set. Peerings and offloadings
// stay as they were.
func FailCluster(name string) Event { return health{name: name, down: true} }

// RecoverCluster brings a failed cluster back.
func RecoverCluster(name string) Event { return health{name: name} }

type health struct {
	name string
	down bool
}

func (e health) String() string {
	if e.down {
		return "fail cluster " + e.name
	}
	return "recover cluster " + e.name
}

func (e health) check() error { return checkName("cluster", e.name) }

func (e health) apply(w *World, now time.Time) ([]Change, error) {
	if _, ok := w.findCluster(e.name); !ok {
		return nil, fmt.Errorf("sim: %s: no cluster %q in the topology: %w", e, e.name, ErrNotFound)
	}
	was := w.isDown(e.name)
	w.setDown(e.name, e.down)
	if err := w.rebuild(); err != nil {
		w.setDown(e.name, was)
		return nil, fmt.Errorf("sim: %s: %w", e, err)
	}
	switch {
	case e.down && was:
		return []Change{{Kind: ClusterFailed, Cluster: e.name, Message: "cluster " + e.name + " failed (it was down already)"}}, nil
	case e.down:
		return []Change{{Kind: ClusterFailed, Cluster: e.name, Message: "cluster " + e.name + " failed"}}, nil
	case !was:
		return []Change{{Kind: ClusterRecovered, Cluster: e.name, Message: "cluster " + e.name + " recovered (it was not down)"}}, nil
	}
	return []Change{{Kind: ClusterRecovered, Cluster: e.name, Message: "cluster " + e.name + " recovered"}}, nil
}

// AddSite adds a site of users: its access links must name clusters of the topology.
func AddSite(site topology.Site) Event { return addSite{site: cloneSite(site)} }

type addSite struct{ site topology.Site }

func (e addSite) String() string { return "add site " + e.site.Name }
func (e addSite) check() error   { return checkName("site.name", e.site.Name) }

func (e addSite) apply(w *World, now time.Time) ([]Change, error) {
	if slices.ContainsFunc(w.base.Sites, func(s topology.Site) bool { return s.Name == e.site.Name }) {
		return nil, fmt.Errorf("sim: add site %s: the site exists (use MoveSite): %w", e.site.Name, ErrInvalid)
	}
	old := w.base.Sites
	w.base.Sites = append(slices.Clone(old), cloneSite(e.site))
	if err := w.rebuild(); err != nil {
		w.base.Sites = old
		return nil, fmt.Errorf("sim: add site %s: %w", e.site.Name, err)
	}
	return []Change{{Kind: SiteAdded, Site: e.site.Name,
		Message: fmt.Sprintf("site %s added (access %s)", e.site.Name, accessString(e.site.Access))}}, nil
}

// MoveSite changes where a site's users are: access, when not nil, replaces its access
// links; location, when not nil, its location.
func MoveSite(name string, access []topology.AccessLink, location *topology.Location) Event {
	e := moveSite{name: name, access: slices.Clone(access)}
	if location != nil {
		l := *location
		e.location = &l
	}
	return e
}

type moveSite struct {
	name     string
	access   []topology.AccessLink
	location *topology.Location
}

func (e moveSite) String() string { return "move site " + e.name }

func (e moveSite) check() error {
	if err := checkName("site", e.name); err != nil {
		return err
	}
	if e.access == nil && e.location == nil {
		return fmt.Errorf("sim: move site %s: give new access links, a location or both: %w", e.name, ErrInvalid)
	}
	return nil
}

func (e moveSite) apply(w *World, now time.Time) ([]Change, error) {
	i := slices.IndexFunc(w.base.Sites, func(s topology.Site) bool { return s.Name == e.name })
	if i < 0 {
		return nil, fmt.Errorf("sim: move site %s: no such site: %w", e.name, ErrNotFound)
	}
	old := w.base.Sites
	w.base.Sites = slices.Clone(old)
	s := cloneSite(old[i])
	if e.access != nil {
		s.Access = slices.Clone(e.access)
	}
	if e.location != nil {
		l := *e.location
		s.Location = &l
	}
	w.base.Sites[i] = s
	// Degraded access links that no longer exist are forgotten.
	saved := maps.Clone(w.overrides)
	for p := range w.overrides {
		if (p.A == e.name || p.B == e.name) && !slices.ContainsFunc(s.Access, func(a topology.AccessLink) bool { return metrics.MakePair(e.name, a.Cluster) == p }) {
			delete(w.overrides, p)
		}
	}
	if err := w.rebuild(); err != nil {
		w.base.Sites, w.overrides = old, saved
		return nil, fmt.Errorf("sim: move site %s: %w", e.name, err)
	}
	msg := "site " + e.name + " moved:"
	if e.access != nil {
		msg += " access " + accessString(s.Access)
	}
	if e.location != nil {
		msg += " location " + s.Location.String()
	}
	return []Change{{Kind: SiteMoved, Site: e.name, Message: msg}}, nil
}

// LoadStep sets the extra load of a cluster: resources used by something other than
// the registered applications (other tenants, a batch job), added to the used figures
// of ResourceSource from now on. A later LoadStep replaces it; an empty list clears
// it.
func LoadStep(cluster string, extra topology.ResourceList) Event {
	return load{cluster: cluster, extra: extra.DeepCopy()}
}

type load struct {
	cluster string
	extra   topology.ResourceList
}

func (e load) String() string { return "load step on " + e.cluster }

func (e load) check() error {
	if err := checkName("cluster", e.cluster); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(e.extra)) {
		if q := e.extra[name]; q.Sign() < 0 {
			return fmt.Errorf("sim: load step on %s: extra.%s: must not be negative, got %s: %w", e.cluster, name, q.String(), ErrInvalid)
		}
	}
	return nil
}

func (e load) apply(w *World, now time.Time) ([]Change, error) {
	if _, ok := w.findCluster(e.cluster); !ok {
		return nil, fmt.Errorf("sim: load step on %s: no such cluster: %w", e.cluster, ErrNotFound)
	}
	if len(e.extra) == 0 {
		delete(w.load, e.cluster)
		return []Change{{Kind: LoadChanged, Cluster: e.cluster, Message: "extra load on " + e.cluster + " cleared"}}, nil
	}
	w.load[e.cluster] = e.extra.DeepCopy()
	return []Change{{Kind: LoadChanged, Cluster: e.cluster,
		Message: fmt.Sprintf("extra load on %s set to %s", e.cluster, resourceString(e.extra))}}, nil
}

// Do makes an event of any function of the world (create a cluster through
// Provisioner, inject a fault into a fake, ...). fn runs from the stepping goroutine
// with no lock held; it must not call Step or Run. An error it returns is reported
// like that of any event.
func Do(description string, fn func(w *World) error) Event { return do{desc: description, fn: fn} }

type do struct {
	desc string
	fn   func(w *World) error
}

func (e do) String() string { return e.desc }

func (e do) check() error {
	if e.fn == nil {
		return fmt.Errorf("sim: do %q: fn: must not be nil: %w", e.desc, ErrInvalid)
	}
	if e.desc == "" {
		return fmt.Errorf("sim: do: description: must not be empty: %w", ErrInvalid)
	}
	return nil
}

func (e do) apply(w *World, now time.Time) ([]Change, error) {
	if err := e.fn(w); err != nil {
		return nil, err
	}
	return []Change{{Kind: Custom, Message: e.desc}}, nil
}

func checkName(field, name string) error {
	if !decode.IsDNSLabel(name) {
		return fmt.Errorf("sim: %s: %q is not a DNS label: %w", field, name, ErrInvalid)
	}
	return nil
}

func checkPair(p metrics.Pair) error {
	if err := checkName("link", p.A); err != nil {
		return err
	}
	if err := checkName("link", p.B); err != nil {
		return err
	}
	if p.A == p.B {
		return fmt.Errorf("sim: link %s: the two ends must differ: %w", p, ErrInvalid)
	}
	return nil
}

func cloneSite(s topology.Site) topology.Site {
	s.Access = slices.Clone(s.Access)
	if s.Location != nil {
		l := *s.Location
		s.Location = &l
	}
	return s
}

func accessString(as []topology.AccessLink) string {
	parts := make([]string, 0, len(as))
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%s %s", a.Cluster, a.RTT))
	}
	slices.Sort(parts)
	return "[" + strings.Join(parts, ", ") + "]"
}

func resourceString(r topology.ResourceList) string {
	names := slices.SortedFunc(maps.Keys(r), func(a, b topology.ResourceName) int { return cmp.Compare(a, b) })
	parts := make([]string, 0, len(names))
	for _, n := range names {
		q := r[n]
		parts = append(parts, fmt.Sprintf("%s=%s", n, q.String()))
	}
	return strings.Join(parts, " ")
}
