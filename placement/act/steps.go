package act

import (
	"fmt"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
)

// StepKind says what a step does.
type StepKind string

// The kinds of steps, in the order Apply runs them.
const (
	// StepCreateCluster creates a cluster of Request.Provision (Cluster).
	StepCreateCluster StepKind = "create-cluster"
	// StepScaleCluster sets a cluster's workers to Replicas (from From).
	StepScaleCluster StepKind = "scale-cluster"
	// StepWaitCluster waits until the cluster is ready.
	StepWaitCluster StepKind = "wait-cluster"
	// StepNamespace creates the application's namespace on the home cluster unless it
	// exists.
	StepNamespace StepKind = "namespace"
	// StepPeer peers the home cluster (consumer) with Cluster (provider).
	StepPeer StepKind = "peer"
	// StepWaitPeered waits until the peering home -> Cluster is ready.
	StepWaitPeered StepKind = "wait-peered"
	// StepOffload offloads the namespace to Targets (widening: no target is removed
	// while an instance may still run there).
	StepOffload StepKind = "offload"
	// StepWaitOffloaded waits until the namespace is ready on every target.
	StepWaitOffloaded StepKind = "wait-offloaded"
	// StepStart creates or grows the instance of Component on Cluster to Replicas,
	// or rewrites it when its pinning or template changed.
	StepStart StepKind = "start"
	// StepWaitReady waits until every instance of Component in the plan has all its
	// replicas ready: the gate before any of its old instances stops.
	StepWaitReady StepKind = "wait-ready"
	// StepStop shrinks the instance of Component on Cluster to Replicas, or deletes
	// it when Replicas is 0.
	StepStop StepKind = "stop"
	// StepNarrow offloads the namespace to exactly Targets, the plan's clusters.
	StepNarrow StepKind = "narrow"
	// StepUnoffload stops offloading the namespace: everything runs at home.
	StepUnoffload StepKind = "unoffload"
)

// phase groups the kinds: Apply reads the clusters again before each phase that
// follows a step.
func (k StepKind) phase() int {
	switch k {
	case StepCreateCluster, StepScaleCluster, StepWaitCluster:
		return 0
	case StepNamespace, StepPeer, StepWaitPeered:
		return 1
	case StepOffload, StepWaitOffloaded:
		return 2
	case StepStart, StepWaitReady:
		return 3
	case StepStop:
		return 4
	default:
		return 5
	}
}

const numPhases = 6

// Step is one thing Apply does. Plan returns them in order.
type Step struct {
	Kind      StepKind `json:"kind"`
	Cluster   string   `json:"cluster,omitempty"`
	Component string   `json:"component,omitempty"`
	// Replicas is the instance's replicas after a start or stop step (0: deleted), or
	// the workers after a scale-cluster step; From is the number before.
	Replicas int32 `json:"replicas,omitempty"`
	From     int32 `json:"from,omitempty"`
	// Targets are the offloading's targets after an offload or narrow step.
	Targets []string `json:"targets,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason"`
}

// String renders the step on one line, e.g. "start render on gva-edge: 0 -> 2
// replicas (pinned to liqo.io/remote-cluster-id=gva-edge)".
func (s Step) String() string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	switch s.Kind {
	case StepCreateCluster, StepWaitCluster, StepPeer, StepWaitPeered:
		fmt.Fprintf(&b, " %s", s.Cluster)
	case StepScaleCluster:
		fmt.Fprintf(&b, " %s: %d -> %d workers", s.Cluster, s.From, s.Replicas)
	case StepOffload, StepNarrow:
		fmt.Fprintf(&b, " to [%s]", strings.Join(s.Targets, ", "))
	case StepWaitOffloaded:
		fmt.Fprintf(&b, " [%s]", strings.Join(s.Targets, ", "))
	case StepStart, StepStop:
		fmt.Fprintf(&b, " %s on %s: %d -> %d replicas", s.Component, s.Cluster, s.From, s.Replicas)
	case StepWaitReady:
		fmt.Fprintf(&b, " %s", s.Component)
	}
	if s.Reason != "" {
		b.WriteString(" (" + s.Reason + ")")
	}
	return b.String()
}

// Request is what Plan and Apply carry out.
type Request struct {
	// App is the application; its namespace is Metadata.Namespace, else its name.
	App placement.Application
	// Assignments place every replica of App (a feasible Plan's Assignments; those of
	// other applications are ignored). Empty: remove the application (every instance
	// stops, the namespace is no longer offloaded).
	Assignments []placement.Assignment
	// Home is the cluster whose namespace holds the application. Empty means
	// App.Home, else the cluster of the first component's first replica. Keep it fixed
	// over the life of an application (the loop does).
	Home string
	// Provision lists clusters to create, or scale to the spec's workers, before
	// anything else (a shortfall's answer). They need Options.Provisioner.
	Provision []provision.ClusterSpec
}

// desired is a request resolved: where every component runs, and how much.
type desired struct {
	app, ns, home string
	// inst: component -> cluster -> replicas.
	inst map[string]map[string]int32
	// comps are the application's components, in order.
	comps []string
	// remote are the clusters other than home with an instance, sorted.
	remote []string
	// use: cluster -> what the application's replicas there ask for.
	use map[string]peering.Resources
}

// appNamespace is the namespace of app: Metadata.Namespace, else its name.
func appNamespace(app placement.Application) string {
	if app.Metadata.Namespace != "" {
		return app.Metadata.Namespace
	}
	return app.Metadata.Name
}

func resolve(req Request) (*desired, error) {
	app := req.App
	ns := appNamespace(app)
	d := &desired{app: app.Metadata.Name, ns: ns, inst: map[string]map[string]int32{}, use: map[string]peering.Resources{}}
	var errs []string
	if !validName(d.app) {
		errs = append(errs, fmt.Sprintf("app.metadata.name: %q is not a DNS label", d.app))
	}
	if !validName(ns) {
		errs = append(errs, fmt.Sprintf("app.metadata.namespace: %q is not a DNS label", ns))
	}
	byName := map[string]*placement.Component{}
	for i := range app.Components {
		c := &app.Components[i]
		byName[c.Name] = c
		d.comps = append(d.comps, c.Name)
	}
	count := map[string]int{}
	for i, a := range req.Assignments {
		if a.App != d.app {
			continue
		}
		c, ok := byName[a.Component]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("assignments[%d]: no component %q in application %s", i, a.Component, d.app))
			continue
		case a.Cluster == "":
			errs = append(errs, fmt.Sprintf("assignments[%d]: %s/%s[%d] is not placed (act carries out feasible plans only)", i, d.app, a.Component, a.Replica))
			continue
		case !validName(a.Cluster):
			errs = append(errs, fmt.Sprintf("assignments[%d].cluster: %q is not a DNS label", i, a.Cluster))
			continue
		}
		if d.inst[a.Component] == nil {
			d.inst[a.Component] = map[string]int32{}
		}
		d.inst[a.Component][a.Cluster]++
		count[a.Component]++
		r := d.use[a.Cluster]
		addQty(&r.CPU, c.Requests[topology.ResourceCPU])
		addQty(&r.Memory, c.Requests[topology.ResourceMemory])
		r.Pods++
		d.use[a.Cluster] = r
	}
	if len(count) > 0 {
		for _, name := range d.comps {
			want := max(byName[name].Replicas, 1)
			if count[name] != want {
				errs = append(errs, fmt.Sprintf("assignments: %s/%s has %d of its %d replicas placed", d.app, name, count[name], want))
			}
		}
	}
	d.home = req.Home
	if d.home == "" {
		d.home = app.Home
	}
	if d.home == "" && len(d.comps) > 0 {
		for c := range d.inst[d.comps[0]] {
			if d.home == "" || c < d.home {
				d.home = c
			}
		}
	}
	if !validName(d.home) {
		errs = append(errs, fmt.Sprintf("home: %q is not a DNS label (set Request.Home or App.Home)", d.home))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("act: %s: %w", strings.Join(errs, "; "), ErrInvalid)
	}
	for _, m := range d.inst {
		for c := range m {
			if c != d.home && !slices.Contains(d.remote, c) {
				d.remote = append(d.remote, c)
			}
		}
	}
	slices.Sort(d.remote)
	return d, nil
}

// observed is what the clusters say, read before each phase that follows a step.
type observed struct {
	clusters   map[string]*provision.Cluster // by name, for Request.Provision; nil: missing
	peerings   map[string]*peering.Peering   // home -> provider, by provider; nil: missing
	offloading *peering.Offloading           // nil: not offloaded
	instances  []Instance
}

// steps computes every remaining step from what is observed. Later phases assume the
// earlier ones succeed (a peering that will be ready, an instance that will run).
func (d *desired) steps(req Request, o *observed) []Step {
	// Every cluster is created (or scaled) before any is waited for, and every peering
	// requested before any is waited for: they make progress at the same time.
	var out, waits []Step
	for _, spec := range req.Provision {
		c := o.clusters[spec.Name]
		switch {
		case c == nil:
			out = append(out, Step{Kind: StepCreateCluster, Cluster: spec.Name, Replicas: spec.Workers, Reason: fmt.Sprintf("%s cluster with %d workers", spec.Distribution, spec.Workers)})
		case c.Spec.Workers != spec.Workers:
			out = append(out, Step{Kind: StepScaleCluster, Cluster: spec.Name, From: c.Spec.Workers, Replicas: spec.Workers, Reason: "capacity asked for"})
		}
		if c == nil || !provision.IsReady(c) || c.Spec.Workers != spec.Workers {
			waits = append(waits, Step{Kind: StepWaitCluster, Cluster: spec.Name, Reason: clusterSummary(c)})
		}
	}
	out, waits = append(out, waits...), nil

	if len(o.instances) == 0 && len(d.inst) > 0 {
		out = append(out, Step{Kind: StepNamespace, Cluster: d.home, Reason: "namespace " + d.ns})
	}
	for _, c := range d.remote {
		p := o.peerings[c]
		switch {
		case p == nil:
			out = append(out, Step{Kind: StepPeer, Cluster: c, Reason: fmt.Sprintf("%s runs %s there", d.home, strings.Join(d.componentsOn(c), ", "))})
			waits = append(waits, Step{Kind: StepWaitPeered, Cluster: c, Reason: "new peering"})
		case !peering.IsPeered(p):
			waits = append(waits, Step{Kind: StepWaitPeered, Cluster: c, Reason: peering.Summary(p)})
		}
	}
	out, waits = append(out, waits...), nil

	// Offload to the plan's clusters and to every cluster an instance still runs on
	// (never dropping a target before the narrow step), when the plan runs anything
	// remotely. Wait until the namespace is ready where instances will start (the
	// plan's remote clusters) only: a target that is only being vacated may have
	// failed, and waiting for it would block every later Apply, even the ones that
	// give it up (narrow, Remove).
	var cur []string
	if o.offloading != nil {
		cur = o.offloading.Spec.Targets
	}
	wide := slices.Clone(d.remote)
	for _, in := range o.instances {
		if in.Cluster != d.home {
			wide = append(wide, in.Cluster)
		}
	}
	wide = sortedSet(append(wide, cur...))
	if len(d.remote) > 0 {
		if !slices.Equal(wide, cur) {
			out = append(out, Step{Kind: StepOffload, Targets: wide, Reason: "namespace " + d.ns + " where its instances will run"})
			out = append(out, Step{Kind: StepWaitOffloaded, Targets: d.remote, Reason: "before instances start there"})
		} else if !offloadedTo(o.offloading, d.remote) {
			out = append(out, Step{Kind: StepWaitOffloaded, Targets: d.remote, Reason: peering.OffloadingSummary(o.offloading)})
		}
	}

	have := map[[2]string]Instance{}
	for _, in := range o.instances {
		have[[2]string{in.Component, in.Cluster}] = in
	}
	var starts, stops []Step
	if len(d.inst) == 0 {
		for _, in := range o.instances {
			stops = append(stops, Step{Kind: StepStop, Component: in.Component, Cluster: in.Cluster, From: in.Replicas, Reason: "application removed"})
		}
	}
	for _, comp := range d.comps {
		if d.inst[comp] == nil {
			continue
		}
		gate := false
		for _, cl := range sortedKeys(d.inst[comp]) {
			n := d.inst[comp][cl]
			in, ok := have[[2]string{comp, cl}]
			pin, known := d.pin(cl, o)
			var why string
			switch {
			case !ok:
				why = "placed here by the plan"
			case in.Replicas < n:
				why = "the plan places more replicas here"
			case known && !SamePin(in.Pin, pin):
				why = "pinning changed"
			case in.Outdated:
				why = "template changed"
			}
			if why != "" {
				starts = append(starts, Step{Kind: StepStart, Component: comp, Cluster: cl, From: in.Replicas, Replicas: max(n, in.Replicas), Reason: why})
			}
			if in.Replicas > n {
				stops = append(stops, Step{Kind: StepStop, Component: comp, Cluster: cl, From: in.Replicas, Replicas: n, Reason: "the plan places fewer replicas here"})
			}
			if why != "" || in.Ready < n {
				gate = true
			}
		}
		for _, in := range o.instances {
			if in.Component == comp && d.inst[comp][in.Cluster] == 0 {
				stops = append(stops, Step{Kind: StepStop, Component: comp, Cluster: in.Cluster, From: in.Replicas, Reason: d.moveReason(comp, in.Cluster)})
			}
		}
		if gate {
			why := "every replica ready"
			if slices.ContainsFunc(stops, func(s Step) bool { return s.Component == comp }) {
				why = "before old replicas of " + comp + " stop"
			}
			waits = append(waits, Step{Kind: StepWaitReady, Component: comp, Replicas: d.total(comp), Reason: why})
		}
	}
	if len(d.inst) > 0 {
		// Components no longer in the application stop without a gate.
		for _, in := range o.instances {
			if !slices.Contains(d.comps, in.Component) {
				stops = append(stops, Step{Kind: StepStop, Component: in.Component, Cluster: in.Cluster, From: in.Replicas, Reason: "not in the application"})
			}
		}
	}
	out = append(out, starts...)
	out = append(out, waits...)
	out = append(out, stops...)

	switch {
	case len(d.remote) > 0 && !slices.Equal(d.remote, wide):
		out = append(out, Step{Kind: StepNarrow, Targets: d.remote, Reason: "exactly the plan's clusters"})
	case len(d.remote) == 0 && o.offloading != nil:
		out = append(out, Step{Kind: StepUnoffload, Cluster: d.home, Reason: "every instance runs at home"})
	}
	return out
}

// offloadedTo reports whether the offloading is current and its namespace ready on
// every one of targets (whatever the state of its other targets).
func offloadedTo(o *peering.Offloading, targets []string) bool {
	if o == nil || !o.Current {
		return false
	}
	for _, t := range targets {
		r, ok := o.Remote[t]
		if !ok || !r.Required || !r.Ready || !slices.Contains(o.Spec.Targets, t) {
			return false
		}
	}
	return true
}

// pin returns the pinning for cluster, and whether it is known (the peering exists).
func (d *desired) pin(cluster string, o *observed) (peering.Pinning, bool) {
	if cluster == d.home {
		return peering.PinLocal(), true
	}
	p := o.peerings[cluster]
	if p == nil || p.ProviderID == "" {
		return peering.Pinning{}, false
	}
	pin, err := peering.Pin(p.ProviderID)
	return pin, err == nil
}

func (d *desired) total(comp string) int32 {
	var n int32
	for _, v := range d.inst[comp] {
		n += v
	}
	return n
}

func (d *desired) componentsOn(cluster string) []string {
	var out []string
	for _, comp := range d.comps {
		if d.inst[comp][cluster] > 0 {
			out = append(out, comp)
		}
	}
	return out
}

func (d *desired) moveReason(comp, from string) string {
	to := sortedKeys(d.inst[comp])
	return fmt.Sprintf("moves %s -> %s", from, strings.Join(to, ", "))
}

func clusterSummary(c *provision.Cluster) string {
	if c == nil {
		return "new cluster"
	}
	return provision.Summary(c)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedSet(s []string) []string { return slices.Compact(slices.Sorted(slices.Values(s))) }
