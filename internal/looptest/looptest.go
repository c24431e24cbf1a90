// Package looptest holds what the end-to-end tests of the placement loop share: the
// xr-collab scenario on four clusters (home, w1, w2, w3), its topology and
// application, the template act copies into instances, the expected states of the
// clusters, and a sampler of the make-before-break invariant. It is used only by
// tests: placement/loop's integration test (Liqo played by internal/liqoplay) and
// internal/liqoreal's (Liqo's own controllers).
package looptest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// Clusters are the scenario's clusters: home offloads to w1, w2 and w3.
var Clusters = []string{"home", "w1", "w2", "w3"}

// Declared are the round-trip times, in milliseconds, of the topology's links
// between clusters; the tests start their latency sources at the same values and
// raise home<->w1.
var Declared = map[[2]string]float64{
	{"home", "w1"}: 8, {"home", "w2"}: 9, {"home", "w3"}: 10,
	{"w1", "w2"}: 2, {"w1", "w3"}: 12, {"w2", "w3"}: 12,
}

// Access are the round-trip times, in milliseconds, of the users' site gva to the
// clusters it reaches.
var Access = map[string]float64{"w1": 2, "w2": 3, "home": 12}

// Topology is the continuum: home is a cheap cloud cluster without UDP exposure, w1
// and w2 are edge clusters near the users' site gva that can expose UDP (w1 cheaper
// and closer), w3 is an edge cluster in region mil.
func Topology(t testing.TB) *topology.Topology {
	b := topologytest.New().
		Cluster("home", topologytest.Tier(topology.TierCloud), topologytest.Price(1)).
		Cluster("w1", topologytest.UDP(), topologytest.Price(2)).
		Cluster("w2", topologytest.UDP(), topologytest.Price(3)).
		Cluster("w3", topologytest.Price(1.5), topologytest.Region("mil"))
	for _, k := range slices.SortedFunc(maps.Keys(Declared), func(a, b [2]string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) }) {
		b.Link(k[0], k[1], topology.Millis(Declared[k]))
	}
	var access []topology.AccessLink
	for _, c := range []string{"w1", "w2", "home"} {
		access = append(access, topologytest.Access(c, topology.Millis(Access[c])))
	}
	b.Site("gva", nil, access...)
	return b.MustBuild(t)
}

// Requests asks for cpu and 1 GiB of memory.
func Requests(cpu string) topology.ResourceList {
	return topology.ResourceList{topology.ResourceCPU: resource.MustParse(cpu), topology.ResourceMemory: resource.MustParse("1Gi")}
}

// App is an xr-collab-like application of four components (not
// placementtest.XRCollab): state (pinned to home by policy), render (free, but its
// 1 Gbit/s flow to state keeps it at home), stream (two replicas serving the users at
// gva over UDP within 6 ms and talking to state within 12 ms: w1, or w2 once
// home<->w1 degrades) and analytics (region mil: w3).
func App(name string) placement.Application {
	return placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind,
		Metadata: placement.Metadata{Name: name}, Home: "home",
		Components: []placement.Component{
			{Name: "state", Requests: Requests("1"), Allowed: placement.Allowed{Clusters: []string{"home"}}},
			{Name: "render", Requests: Requests("2")},
			{Name: "stream", Replicas: 2, Requests: Requests("1"), Ports: []placement.Port{{Name: "media", Port: 7000, Protocol: placement.UDP, Expose: true}}},
			{Name: "analytics", Requests: Requests("1"), Allowed: placement.Allowed{Regions: []string{"mil"}}},
		},
		Flows: []placement.Flow{
			{From: "stream", To: "gva", Protocol: placement.UDP, Bandwidth: 100 * topology.Mbps, MaxRTT: topology.Millis(6)},
			{From: "stream", To: "state", Bandwidth: 50 * topology.Mbps, MaxRTT: topology.Millis(12)},
			{From: "render", To: "state", Bandwidth: topology.Gbps},
			{From: "analytics", To: "state", Bandwidth: 10 * topology.Mbps},
		}}
}

// Template is the workload act copies into the instances of component: a Deployment
// with replicas 0 whose pods carry the label app.kubernetes.io/name=component.
func Template(ns, component string) *appsv1.Deployment {
	zero := int32(0)
	labels := map[string]string{"app.kubernetes.io/name": component}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: component, Namespace: ns, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: component, Image: "registry.example/xr/" + component + ":1"}}}}},
	}
}

// State is what the clusters say about the application: its instances
// ("component@cluster ready/replicas") and the clusters its namespace is offloaded to
// (nil: not offloaded).
type State struct {
	Instances []string
	Offload   []string
}

func (s State) String() string {
	return fmt.Sprintf("instances %v, offloaded to %v", s.Instances, s.Offload)
}

// Equal reports whether both states list the same instances and targets.
func (s State) Equal(o State) bool {
	return slices.Equal(s.Instances, o.Instances) && slices.Equal(s.Offload, o.Offload)
}

// The expected states, by phase: placed (stream on w1), migrated (stream on w2 once
// home<->w1 degraded), removed.
var (
	WantPlaced = State{
		Instances: []string{"analytics@w3 1/1", "render@home 1/1", "state@home 1/1", "stream@w1 2/2"},
		Offload:   []string{"w1", "w3"},
	}
	WantMigrated = State{
		Instances: []string{"analytics@w3 1/1", "render@home 1/1", "state@home 1/1", "stream@w2 2/2"},
		Offload:   []string{"w2", "w3"},
	}
	WantRemoved = State{}
)

// Sampler checks, at every act step (Check, from act's Observe) and every 25 ms,
// that every component of the application has at least one ready replica as the
// workloads on the home cluster say, while armed.
type Sampler struct {
	view *act.KubeWorkloads
	ns   string
	app  placement.Application

	armed   atomic.Bool
	mu      sync.Mutex
	samples int
	bad     []string
	cancel  context.CancelFunc
	done    chan struct{}
}

// NewSampler starts a disarmed sampler of app's instances in namespace ns read
// through view; stop it with Stop.
func NewSampler(view *act.KubeWorkloads, ns string, app placement.Application) *Sampler {
	ctx, cancel := context.WithCancel(context.Background())
	sm := &Sampler{view: view, ns: ns, app: app, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sm.done)
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sm.Check("poll")
			}
		}
	}()
	return sm
}

// Arm starts (true) or stops (false) the sampling.
func (sm *Sampler) Arm(on bool) { sm.armed.Store(on) }

// Stop ends the periodic sampling.
func (sm *Sampler) Stop() { sm.cancel(); <-sm.done }

// Check takes a sample now, when armed; when names the moment in violations.
func (sm *Sampler) Check(when string) {
	if !sm.armed.Load() {
		return
	}
	ins, err := sm.view.ListInstances(context.Background(), sm.ns)
	if err != nil {
		return
	}
	ready := map[string]int32{}
	for _, in := range ins {
		ready[in.Component] += in.Ready
	}
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if !sm.armed.Load() {
		return
	}
	sm.samples++
	for _, c := range sm.app.Components {
		if ready[c.Name] < 1 && len(sm.bad) < 20 {
			sm.bad = append(sm.bad, fmt.Sprintf("%s: %s has no ready replica (instances %+v)", when, c.Name, ins))
		}
	}
}

// Verdict returns the number of samples and the violations so far (at most 20).
func (sm *Sampler) Verdict() (int, []string) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.samples, slices.Clone(sm.bad)
}

// Assert fails t when a sample found a component without a ready replica, or when
// fewer than 10 samples were taken, and returns the number of samples.
func (sm *Sampler) Assert(t testing.TB) int {
	t.Helper()
	n, bad := sm.Verdict()
	if len(bad) > 0 {
		t.Errorf("make-before-break broken in %d of %d samples:\n%s", len(bad), n, strings.Join(bad, "\n"))
	}
	if n < 10 {
		t.Errorf("only %d samples of the instances were taken", n)
	}
	return n
}
