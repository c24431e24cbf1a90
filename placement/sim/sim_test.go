package sim_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/provisiontest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func newWorld(t *testing.T, opts sim.Options) *sim.World {
	t.Helper()
	if opts.Topology == nil {
		opts.Topology = topologytest.PaperFig1()
	}
	w, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func ms(f float64) topology.Duration { return topology.Millis(f) }

func latency(t *testing.T, w *sim.World, a, b string) (metrics.LatencySample, error) {
	t.Helper()
	return w.LatencySource().Latency(context.Background(), a, b)
}

func mustLatency(t *testing.T, w *sim.World, a, b string) topology.Duration {
	t.Helper()
	s, err := latency(t, w, a, b)
	if err != nil {
		t.Fatalf("Latency(%s, %s): %v", a, b, err)
	}
	if err := metrics.ValidateLatency(s); err != nil {
		t.Fatalf("Latency(%s, %s) gave an invalid sample: %v", a, b, err)
	}
	if !s.ObservedAt.Equal(w.Clock().Now()) || s.Provenance != metrics.Measured {
		t.Errorf("Latency(%s, %s) observed at %s (%s), want the clock's now %s, measured", a, b, s.ObservedAt, s.Provenance, w.Clock().Now())
	}
	return s.P50
}

func used(t *testing.T, w *sim.World, cluster string, name topology.ResourceName) resource.Quantity {
	t.Helper()
	s, err := w.ResourceSource().Resources(context.Background(), cluster)
	if err != nil {
		t.Fatalf("Resources(%s): %v", cluster, err)
	}
	if err := metrics.ValidateResources(s); err != nil {
		t.Fatalf("Resources(%s) gave an invalid sample: %v", cluster, err)
	}
	return s.Used[name]
}

func qty(s string) resource.Quantity { return resource.MustParse(s) }

func TestNewValidatesOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		opts  sim.Options
		field string
	}{
		"no topology":    {sim.Options{}, "topology"},
		"negative tick":  {sim.Options{Topology: topologytest.PaperFig1(), Tick: -time.Second}, "tick"},
		"noise too big":  {sim.Options{Topology: topologytest.PaperFig1(), Noise: 1}, "noise"},
		"negative quota": {sim.Options{Topology: topologytest.PaperFig1(), NodeQuota: -1}, "nodeQuota"},
	} {
		_, err := sim.New(tc.opts)
		if !errors.Is(err, sim.ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: New = %v, want ErrInvalid naming %s", name, err, tc.field)
		}
	}
	w := newWorld(t, sim.Options{})
	if got := w.Clock().Now(); !got.Equal(sim.DefaultStart) {
		t.Errorf("clock starts at %s, want %s", got, sim.DefaultStart)
	}
	if err := w.Step(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := w.At(5*time.Second, sim.FailCluster("gva-edge")); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("At in the past = %v, want ErrInvalid", err)
	}
	for _, e := range []sim.Event{sim.DegradeLink("a", "a", time.Millisecond), sim.DegradeLink("a", "b", 0), sim.FailCluster("Bad_Name"), sim.Do("", nil), sim.MoveSite("geneva", nil, nil), nil} {
		if err := w.At(time.Minute, e); !errors.Is(err, sim.ErrInvalid) {
			t.Errorf("At(%v) = %v, want ErrInvalid", e, err)
		}
	}
}

// A cluster created through Provisioner() joins the topology once ready, can be
// peered with, and leaves when deleted.
func TestProvisionedClusterJoinsTheTopology(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, sim.Options{Regions: map[string]topology.Location{"eu-west": {Lat: 46.19, Lon: 6.14}}})
		var mu sync.Mutex
		var changes []sim.Change
		w.OnChange(func(c sim.Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() })
		spec := provision.ClusterSpec{
			Name: "gva-edge-2", Distribution: provision.K3s, KubernetesVersion: "v1.33.1", Workers: 2,
			PodCIDRs: []string{"10.70.0.0/16"}, ServiceCIDRs: []string{"10.71.0.0/16"},
			Labels: provision.Labels{Owner: "operator-b", Tier: "edge", Region: "eu-west"},
		}
		ctx := t.Context()
		if err := w.Provisioner().Create(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if err := w.Step(30 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.Topology().Cluster("gva-edge-2"); ok {
			t.Fatal("the cluster is in the topology 30 s after its creation, before it is ready")
		}
		var ready *provision.Cluster
		err := w.Run(ctx, time.Hour, func(ctx context.Context) error {
			var err error
			ready, err = provision.WaitReady(ctx, w.Provisioner(), spec.Ref(), provision.WaitOptions{Clock: w.Clock()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		took, _ := ready.Timeline.After(provision.Available)
		if took < time.Minute || took > 10*time.Minute {
			t.Errorf("the cluster took %s to be ready, want the model's few minutes", took)
		}
		topo := w.Topology()
		c, ok := topo.Cluster("gva-edge-2")
		if !ok {
			t.Fatalf("the ready cluster is not in the topology; log:\n%s", strings.Join(w.Log(), "\n"))
		}
		if cpu := c.Capacity[topology.ResourceCPU]; cpu.Cmp(qty("8")) != 0 || c.Tier != topology.TierEdge || c.Owner != "operator-b" ||
			!c.UDPExposure || c.Distribution != topology.K3s || c.Location == nil {
			t.Errorf("described cluster = %+v, want 2 x 4 CPUs, edge, operator-b, UDP, k3s, located", c)
		}
		// Links follow the geo estimate; the site nearby has an access link.
		l, ok := topo.Link("gva-edge", "gva-edge-2")
		if !ok || l.RTT <= 0 || l.RTT > ms(1) {
			t.Errorf("link gva-edge<->gva-edge-2 = %+v, %v; want the geo estimate of a few km (< 1 ms)", l, ok)
		}
		if rtt, err := topo.RTT("geneva", "gva-edge-2"); err != nil || rtt > ms(1) {
			t.Errorf("RTT geneva->gva-edge-2 = %s, %v; want an access link", rtt, err)
		}
		if rtt := mustLatency(t, w, "fra-cloud", "gva-edge-2"); rtt <= 0 {
			t.Errorf("latency to the new cluster = %s", rtt)
		}
		if i := slices.IndexFunc(changes, func(c sim.Change) bool { return c.Kind == sim.ClusterAdded }); i < 0 || changes[i].Cluster != "gva-edge-2" {
			t.Errorf("changes = %+v, want cluster-added gva-edge-2", changes)
		}

		// It can be peered with.
		k := peering.Key{Consumer: "fra-cloud", Provider: "gva-edge-2"}
		err = w.Run(ctx, time.Hour, func(ctx context.Context) error {
			_, err := peering.EnsurePeered(ctx, w.Peering(), peering.PeerRequest{Key: k, Resources: peering.Resources{Pods: 10}}, peering.WaitOptions{Clock: w.Clock()})
			return err
		})
		if err != nil {
			t.Fatalf("peering the provisioned cluster: %v", err)
		}

		// Scaled, it is described again once ready.
		must(t, provision.Scale(ctx, w.Provisioner(), spec.Ref(), 3))
		err = w.Run(ctx, time.Hour, func(ctx context.Context) error {
			_, err := provision.WaitReady(ctx, w.Provisioner(), spec.Ref(), provision.WaitOptions{Clock: w.Clock()})
			return err
		})
		must(t, err)
		if c, _ := w.Topology().Cluster("gva-edge-2"); c.Capacity.MilliCPU() != 12000 {
			t.Errorf("capacity after scaling to 3 workers = %d mCPU, want 12000", c.Capacity.MilliCPU())
		}
		if i := slices.IndexFunc(changes, func(c sim.Change) bool { return c.Kind == sim.ClusterResized }); i < 0 {
			t.Errorf("changes = %+v, want cluster-resized", changes)
		}

		// Deleted, it leaves.
		if err := w.Provisioner().Delete(ctx, spec.Ref()); err != nil {
			t.Fatal(err)
		}
		if err := w.Step(2 * time.Second); err != nil {
			t.Fatal(err)
		}
		if _, ok := w.Topology().Cluster("gva-edge-2"); ok {
			t.Error("the deleted cluster is still in the topology")
		}
		if site, _ := w.Topology().Site("geneva"); slices.ContainsFunc(site.Access, func(a topology.AccessLink) bool { return a.Cluster == "gva-edge-2" }) {
			t.Error("geneva still has an access link to the deleted cluster")
		}
		log := strings.Join(w.Log(), "\n")
		for _, want := range []string{"cluster gva-edge-2 joined: k3s edge, eu-west, 2 workers", "cluster gva-edge-2 left"} {
			if !strings.Contains(log, want) {
				t.Errorf("log does not say %q:\n%s", want, log)
			}
		}
	})
}

// Latency follows a scripted degradation and restoration at the scripted times; the
// declared topology does not.
func TestLatencyFollowsTheScript(t *testing.T) {
	w := newWorld(t, sim.Options{})
	var changes []sim.Change
	w.OnChange(func(c sim.Change) { changes = append(changes, c) })
	err := w.Schedule(sim.Script{
		{After: 2 * time.Minute, Event: sim.RestoreLink("gva-edge", "mil-edge")},
		{After: time.Minute, Event: sim.DegradeLink("mil-edge", "gva-edge", 20*time.Millisecond)},
		{After: 90 * time.Second, Event: sim.DegradeLink("gva-edge", "mil-edge", 40*time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	declared := ms(5.8 + 0.3) // the link plus its tunnel
	check := func(when string, want topology.Duration) {
		t.Helper()
		if got := mustLatency(t, w, "gva-edge", "mil-edge"); got != want {
			t.Errorf("%s: latency gva-edge<->mil-edge = %s, want %s", when, got, want)
		}
		if got, _ := w.Topology().RTT("gva-edge", "mil-edge"); got != declared {
			t.Errorf("%s: declared RTT = %s, want %s unchanged", when, got, declared)
		}
	}
	check("at the start", declared)
	must(t, w.Step(59*time.Second))
	check("at +59s", declared)
	must(t, w.Step(time.Second))
	check("at +60s", ms(20.3))
	// A later degradation replaces the value (two directly linked clusters talk over
	// their link, however slow: DESIGN.md section 3).
	must(t, w.Step(30*time.Second))
	check("at +90s", ms(40.3))
	must(t, w.Step(30*time.Second))
	check("at +120s", declared)
	if len(changes) != 3 || changes[0].Kind != sim.LinkDegraded || changes[0].Elapsed != time.Minute || changes[0].RTT != ms(20) ||
		changes[2].Kind != sim.LinkRestored || changes[2].Elapsed != 2*time.Minute {
		t.Errorf("changes = %+v", changes)
	}
	log := w.Log()
	for _, want := range []string{
		"t=+60s link gva-edge<->mil-edge degraded to 20ms (declared 5.8ms)",
		"t=+90s link gva-edge<->mil-edge degraded to 40ms (declared 5.8ms)",
		"t=+120s link gva-edge<->mil-edge restored to 5.8ms",
	} {
		if !slices.Contains(log, want) {
			t.Errorf("log has no line %q:\n%s", want, strings.Join(log, "\n"))
		}
	}
	// Access links degrade too; the site reaches gva-edge through the venue instead.
	must(t, w.Apply(sim.DegradeLink("geneva", "gva-edge", 4*time.Millisecond)))
	if got := mustLatency(t, w, "geneva", "gva-edge"); got != ms(0.6+0.9) {
		t.Errorf("latency geneva->gva-edge = %s, want 1.5ms through gva-venue", got)
	}
	// A link that does not exist, or a value below the physical floor, fails and
	// changes nothing.
	if err := w.Apply(sim.DegradeLink("gva-venue", "mil-edge", 30*time.Millisecond)); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("degrading a missing link = %v, want ErrNotFound", err)
	}
	if err := w.Apply(sim.DegradeLink("fra-cloud", "gva-edge", time.Millisecond)); err == nil || !strings.Contains(err.Error(), "floor") {
		t.Errorf("degrading below the physical floor = %v, want an error about the floor", err)
	}
	if got := mustLatency(t, w, "fra-cloud", "gva-edge"); got != ms(10) {
		t.Errorf("latency after a failed degradation = %s, want 10ms", got)
	}
	if last := changes[len(changes)-1]; last.Kind != sim.EventFailed || last.Err == nil {
		t.Errorf("last change = %+v, want event-failed", last)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// peerAndOffload makes home run pods of ns on provider, in fake time.
func peerAndOffload(t *testing.T, w *sim.World, home, ns string, providers ...string) {
	t.Helper()
	err := w.Run(t.Context(), time.Hour, func(ctx context.Context) error {
		for _, p := range providers {
			req := peering.PeerRequest{Key: peering.Key{Consumer: home, Provider: p}, Resources: peering.Resources{Pods: 110}}
			if _, err := peering.EnsurePeered(ctx, w.Peering(), req, peering.WaitOptions{Clock: w.Clock()}); err != nil {
				return err
			}
		}
		ref := peering.NamespaceRef{Cluster: home, Namespace: ns}
		if err := w.Peering().Offload(ctx, peering.OffloadSpec{NamespaceRef: ref, Targets: providers}); err != nil {
			return err
		}
		_, err := peering.WaitOffloaded(ctx, w.Peering(), ref, peering.WaitOptions{Clock: w.Clock()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Used resources follow the ready replicas of registered applications, and the
// scripted extra load; pods pinned to a cluster run only once it is peered and the
// namespace offloaded there.
func TestLoadFollowsWorkloads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, sim.Options{StartDelay: 10 * time.Second})
		app := placementtest.XRCollab()
		must(t, w.AddApplication(app))
		home, err := w.Workloads("fra-cloud")
		must(t, err)
		ctx := t.Context()
		must(t, home.ApplyInstance(ctx, "xr-collab", act.InstanceSpec{Component: "render-geneva", Cluster: "fra-cloud", Replicas: 2, Pin: peering.PinLocal()}))
		if got := used(t, w, "fra-cloud", topology.ResourceCPU); !got.IsZero() {
			t.Errorf("used CPU before the replicas are ready = %s, want 0", got.String())
		}
		must(t, w.Step(10*time.Second))
		if got := used(t, w, "fra-cloud", topology.ResourceCPU); got.Cmp(qty("8")) != 0 {
			t.Errorf("used CPU with 2 ready render-geneva (4 CPUs each) = %s, want 8", got.String())
		}
		if got := used(t, w, "fra-cloud", topology.ResourceMemory); got.Cmp(qty("16Gi")) != 0 {
			t.Errorf("used memory = %s, want 16Gi", got.String())
		}
		if got := used(t, w, "fra-cloud", topology.ResourceGPU); got.Cmp(qty("2")) != 0 {
			t.Errorf("used GPUs = %s, want 2", got.String())
		}
		must(t, w.Apply(sim.LoadStep("fra-cloud", topology.ResourceList{topology.ResourceCPU: qty("10")})))
		if got := used(t, w, "fra-cloud", topology.ResourceCPU); got.Cmp(qty("18")) != 0 {
			t.Errorf("used CPU with 10 extra = %s, want 18", got.String())
		}
		must(t, w.Apply(sim.LoadStep("fra-cloud", nil)))

		// Pinned to gva-edge without a peering, the pods stay pending.
		pin, err := peering.Pin("gva-edge")
		must(t, err)
		must(t, home.ApplyInstance(ctx, "xr-collab", act.InstanceSpec{Component: "session-sync", Cluster: "gva-edge", Replicas: 1, Pin: pin}))
		must(t, w.Step(time.Minute))
		if n := w.ReadyReplicas("xr-collab", "session-sync"); n != 0 {
			t.Errorf("session-sync ready on an unpeered cluster: %d", n)
		}
		if got := used(t, w, "gva-edge", topology.ResourceCPU); !got.IsZero() {
			t.Errorf("used CPU on gva-edge = %s, want 0", got.String())
		}
		peerAndOffload(t, w, "fra-cloud", "xr-collab", "gva-edge")
		if n := w.ReadyReplicas("xr-collab", "session-sync"); n != 1 {
			t.Errorf("session-sync ready once peered and offloaded = %d, want 1", n)
		}
		if got := used(t, w, "gva-edge", topology.ResourceCPU); got.Cmp(qty("2")) != 0 {
			t.Errorf("used CPU on gva-edge = %s, want 2", got.String())
		}
		if got := used(t, w, "fra-cloud", topology.ResourceCPU); got.Cmp(qty("8")) != 0 {
			t.Errorf("used CPU on fra-cloud = %s, want 8", got.String())
		}
		log := strings.Join(w.Log(), "\n")
		for _, want := range []string{"xr-collab/render-geneva: 2/2 ready (fra-cloud 2/2)", "xr-collab/session-sync: 1/1 ready (gva-edge 1/1)", "extra load on fra-cloud set to cpu=10"} {
			if !strings.Contains(log, want) {
				t.Errorf("log does not say %q:\n%s", want, log)
			}
		}
	})
}

// A failed cluster runs nothing and has no metrics; routes avoid it.
func TestFailedCluster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, sim.Options{})
		must(t, w.AddApplication(placementtest.XRCollab()))
		home, err := w.Workloads("fra-cloud")
		must(t, err)
		peerAndOffload(t, w, "fra-cloud", "xr-collab", "gva-edge")
		pin, err := peering.Pin("gva-edge")
		must(t, err)
		must(t, home.ApplyInstance(t.Context(), "xr-collab", act.InstanceSpec{Component: "render-geneva", Cluster: "gva-edge", Replicas: 1, Pin: pin}))
		must(t, w.Step(time.Minute))
		if n := w.ReadyReplicas("xr-collab", "render-geneva"); n != 1 {
			t.Fatalf("render-geneva ready = %d, want 1", n)
		}
		must(t, w.At(w.Elapsed()+time.Second, sim.FailCluster("gva-edge")))
		must(t, w.Step(time.Second))
		if !w.IsDown("gva-edge") {
			t.Error("IsDown(gva-edge) = false")
		}
		if n := w.ReadyReplicas("xr-collab", "render-geneva"); n != 0 {
			t.Errorf("render-geneva ready on a failed cluster = %d", n)
		}
		_, err = w.ResourceSource().Resources(t.Context(), "gva-edge")
		if !errors.Is(err, metrics.ErrNoData) || !errors.Is(err, sim.ErrUnreachable) {
			t.Errorf("Resources(failed) = %v, want ErrNoData and ErrUnreachable", err)
		}
		for _, p := range [][2]string{{"gva-edge", "fra-cloud"}, {"gva-venue", "fra-cloud"}, {"geneva", "mil-edge"}} {
			if _, err := latency(t, w, p[0], p[1]); !errors.Is(err, metrics.ErrNoData) {
				t.Errorf("Latency(%s, %s) with gva-edge down = %v, want ErrNoData", p[0], p[1], err)
			}
		}
		if got := mustLatency(t, w, "milan", "fra-cloud"); got != ms(1.5+10.4+0.3) {
			t.Errorf("latency milan->fra-cloud = %s, unaffected", got)
		}
		if _, ok := w.Topology().Cluster("gva-edge"); !ok {
			t.Error("the failed cluster left the declared topology (HideFailed is off)")
		}
		snap, err := metrics.Collect(t.Context(), w.Sources(), []string{"fra-cloud", "gva-edge"}, metrics.CollectOptions{Now: w.Clock().Now})
		must(t, err)
		if !slices.Contains(snap.MissingResources, "gva-edge") || len(snap.MissingLatency) != 1 {
			t.Errorf("snapshot missing %v / %v, want gva-edge's resources and its latency", snap.MissingResources, snap.MissingLatency)
		}

		must(t, w.Apply(sim.RecoverCluster("gva-edge")))
		if n := w.ReadyReplicas("xr-collab", "render-geneva"); n != 1 {
			t.Errorf("render-geneva ready after recovery = %d, want 1", n)
		}
		if _, err := latency(t, w, "geneva", "mil-edge"); err != nil {
			t.Errorf("latency after recovery: %v", err)
		}
	})
}

func TestHideFailedAndSites(t *testing.T) {
	w := newWorld(t, sim.Options{HideFailed: true})
	must(t, w.Apply(sim.FailCluster("mil-edge")))
	if _, ok := w.Topology().Cluster("mil-edge"); ok {
		t.Error("HideFailed: the failed cluster is in the topology")
	}
	if _, ok := w.Topology().Site("milan"); ok {
		t.Error("HideFailed: milan, whose only access is mil-edge, is in the topology")
	}
	must(t, w.Apply(sim.RecoverCluster("mil-edge")))
	if _, ok := w.Topology().Cluster("mil-edge"); !ok {
		t.Error("the recovered cluster is not back")
	}
	lyon := topology.Site{Name: "lyon", Location: &topology.Location{Lat: 45.76, Lon: 4.84},
		Access: []topology.AccessLink{{Cluster: "gva-edge", RTT: ms(4)}}}
	before := w.Topology()
	must(t, w.Apply(sim.AddSite(lyon)))
	if _, ok := w.Topology().Site("lyon"); !ok || w.Topology() == before {
		t.Error("AddSite: lyon is not in a new topology")
	}
	if _, ok := before.Site("lyon"); ok {
		t.Error("AddSite changed an old topology value")
	}
	if got := mustLatency(t, w, "lyon", "gva-edge"); got != ms(4) {
		t.Errorf("latency lyon->gva-edge = %s, want 4ms", got)
	}
	must(t, w.Apply(sim.MoveSite("lyon", []topology.AccessLink{{Cluster: "mil-edge", RTT: ms(5)}}, nil)))
	if got := mustLatency(t, w, "lyon", "mil-edge"); got != ms(5) {
		t.Errorf("latency lyon->mil-edge after the move = %s, want 5ms", got)
	}
	if err := w.Apply(sim.AddSite(lyon)); !errors.Is(err, sim.ErrInvalid) {
		t.Errorf("adding lyon twice = %v, want ErrInvalid", err)
	}
	if err := w.Apply(sim.MoveSite("paris", nil, &topology.Location{})); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("moving an unknown site = %v, want ErrNotFound", err)
	}
}

// script runs the same scenario on a world: a provisioned cluster, a degradation,
// a failure, load; it returns the log and a few latency samples.
func script(t *testing.T, seed uint64) ([]string, []metrics.LatencySample) {
	t.Helper()
	w := newWorld(t, sim.Options{Seed: seed, Noise: 0.2})
	spec := provision.ClusterSpec{Name: "mil-edge-2", Distribution: provision.K3s, KubernetesVersion: "v1.33.1", Workers: 3,
		Labels: provision.Labels{Tier: "edge", Region: "eu-south"}}
	must(t, w.Schedule(sim.Script{
		{After: 10 * time.Second, Event: sim.Do("create mil-edge-2", func(w *sim.World) error {
			return w.Provisioner().Create(context.Background(), spec)
		})},
		{After: time.Minute, Event: sim.DegradeLink("gva-edge", "mil-edge", 25*time.Millisecond)},
		{After: 2 * time.Minute, Event: sim.FailCluster("gva-venue")},
		{After: 3 * time.Minute, Event: sim.LoadStep("mil-edge", topology.ResourceList{topology.ResourceCPU: qty("12")})},
		{After: 4 * time.Minute, Event: sim.RecoverCluster("gva-venue")},
		{After: 5 * time.Minute, Event: sim.RestoreLink("gva-edge", "mil-edge")},
	}))
	var samples []metrics.LatencySample
	for range 12 {
		must(t, w.Step(30*time.Second))
		s, err := latency(t, w, "geneva", "mil-edge")
		must(t, err)
		samples = append(samples, s)
	}
	return w.Log(), samples
}

func TestDeterminism(t *testing.T) {
	log1, s1 := script(t, 7)
	log2, s2 := script(t, 7)
	if !slices.Equal(log1, log2) {
		t.Errorf("two worlds with seed 7 logged differently:\n%s\n---\n%s", strings.Join(log1, "\n"), strings.Join(log2, "\n"))
	}
	if !slices.Equal(s1, s2) {
		t.Errorf("two worlds with seed 7 measured differently:\n%v\n%v", s1, s2)
	}
	if !slices.ContainsFunc(log1, func(l string) bool { return strings.Contains(l, "cluster mil-edge-2 joined") }) {
		t.Errorf("the scenario's cluster never joined:\n%s", strings.Join(log1, "\n"))
	}
	_, s3 := script(t, 8)
	if slices.Equal(s1, s3) {
		t.Error("seeds 7 and 8 gave the same noise")
	}
	t.Logf("log of seed 7:\n%s", strings.Join(log1, "\n"))
}

func TestRunLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, sim.Options{})
		start := w.Elapsed()
		err := w.Run(t.Context(), 10*time.Second, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		if !errors.Is(err, sim.ErrNotReady) || !errors.Is(err, act.ErrNotReady) {
			t.Errorf("Run past its limit = %v, want ErrNotReady", err)
		}
		if got := w.Elapsed() - start; got != 10*time.Second {
			t.Errorf("Run stepped %s, want its limit of 10s", got)
		}
		// A failing event is reported by Run along with fn's result.
		must(t, w.At(w.Elapsed()+time.Second, sim.FailCluster("nowhere")))
		err = w.Run(t.Context(), time.Minute, func(ctx context.Context) error {
			select {
			case <-w.Clock().After(5 * time.Second):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if !errors.Is(err, sim.ErrNotFound) || !strings.Contains(err.Error(), "nowhere") {
			t.Errorf("Run with a failing event = %v, want the event's ErrNotFound", err)
		}
		if got := w.Elapsed() - start; got != 15*time.Second {
			t.Errorf("Run stepped to %s, want 15s: until fn returned", got)
		}
	})
}

// The world's Provisioner, which brings ready clusters into the topology, still
// behaves as a provision.Provisioner.
type provisionHarness struct{ w *sim.World }

func (h provisionHarness) Provisioner() provision.Provisioner { return h.w.Provisioner() }
func (h provisionHarness) Spec(name string, workers int32) provision.ClusterSpec {
	return provision.ClusterSpec{Name: name, Namespace: "conformance", KubernetesVersion: "v1.33.1", Workers: workers}
}
func (h provisionHarness) Complete(context.Context, provision.Ref) error { return h.w.Step(time.Hour) }
func (h provisionHarness) CompleteDeletion(context.Context, provision.Ref) error {
	return h.w.Step(time.Hour)
}
func (h provisionHarness) WaitOptions() provision.WaitOptions {
	return provision.WaitOptions{Clock: h.w.Clock()}
}
func (h provisionHarness) Close() {}

func TestProvisionerConformance(t *testing.T) {
	provisiontest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (provisiontest.Harness, error) {
		w, err := sim.New(sim.Options{Topology: topologytest.PaperFig1(), Seed: 1, Tick: time.Minute, Settle: -1})
		return provisionHarness{w}, err
	})
}
