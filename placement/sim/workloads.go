package sim

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
	"github.com/continuum-xr/continuum/placement/act/actfake"
)

// Workloads is the act.Workloads of one home cluster of the world: an actfake.Fake
// (whose methods it has: AddTemplate, UpdateTemplate, SetNotReady, Writes, Calls)
// wired to the rest of the world:
//
//   - the replicas of an instance are ready only while its cluster can run the
//     namespace's pods: the home cluster itself, or a cluster the home is peered with
//     (ready peering in Peering()) and the namespace is offloaded to (ready remote
//     namespace), and never while the cluster or the home is down (FailCluster) or
//     has left the topology;
//   - EnsureNamespace and AddTemplate, which make the namespace exist on the home
//     cluster, also create it in Peering(), so it can be offloaded.
type Workloads struct {
	*actfake.Fake
	w    *World
	home string
}

var _ act.Workloads = (*Workloads)(nil)

// Home returns the home cluster.
func (x *Workloads) Home() string { return x.home }

// EnsureNamespace creates the namespace on the home cluster unless it exists (see
// act.Workloads), and in Peering().
func (x *Workloads) EnsureNamespace(ctx context.Context, namespace string) error {
	if err := x.Fake.EnsureNamespace(ctx, namespace); err != nil {
		return err
	}
	if err := x.w.peer.CreateNamespace(x.home, namespace); err != nil {
		return fmt.Errorf("sim: namespace %s on %s: %w", namespace, x.home, err)
	}
	return nil
}

// AddTemplate adds the template of component in namespace (see actfake.Fake), and
// the namespace in Peering(). A namespace that is not a DNS label is left for the
// Workloads calls to refuse.
func (x *Workloads) AddTemplate(namespace, component string) {
	x.Fake.AddTemplate(namespace, component)
	if decode.IsDNSLabel(namespace) {
		_ = x.w.peer.CreateNamespace(x.home, namespace) // the home cluster is known
	}
}

// Workloads returns the workloads of the home cluster (one per cluster, made on first
// use). The cluster must be in the topology.
func (w *World) Workloads(home string) (*Workloads, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.workloads(home)
}

func (w *World) workloads(home string) (*Workloads, error) {
	if x := w.homes[home]; x != nil {
		return x, nil
	}
	if _, ok := w.findCluster(home); !ok {
		return nil, fmt.Errorf("sim: workloads of %q: no such cluster in the topology: %w", home, ErrNotFound)
	}
	x := &Workloads{w: w, home: home}
	x.Fake = actfake.New(actfake.Options{Clock: w.clk, StartDelay: w.opts.StartDelay, Runnable: w.runnable(home)})
	w.homes[home] = x
	return x, nil
}

// runnable reports whether pods of the namespace of home, pinned to cluster, run.
func (w *World) runnable(home string) func(namespace, cluster string) bool {
	return func(namespace, cluster string) bool {
		if w.isDown(home) || w.isDown(cluster) || !w.isMember(cluster) || !w.isMember(home) {
			return false
		}
		if cluster == home {
			return true
		}
		ctx := context.Background()
		p, err := w.peer.GetPeering(ctx, peering.Key{Consumer: home, Provider: cluster})
		if err != nil || !peering.IsPeered(p) {
			return false
		}
		o, err := w.peer.GetOffloading(ctx, peering.NamespaceRef{Cluster: home, Namespace: namespace})
		if err != nil || o.Spec.Pods == peering.Local || !slices.Contains(o.Spec.Targets, cluster) {
			return false
		}
		r := o.Remote[cluster]
		return r.Required && r.Ready
	}
}

// AddApplication registers an application: its namespace (Metadata.Namespace, else
// its name) lives on app.Home, which must be a cluster of the topology. The world
// adds a template for each component to Workloads(app.Home), makes the namespace
// exist there, and from now on counts what its ready replicas request in the used
// resources of ResourceSource and logs their readiness. Registering it again
// replaces it (its components' templates are added; none is removed).
func (w *World) AddApplication(a placement.Application) error {
	ns := a.Metadata.Namespace
	if ns == "" {
		ns = a.Metadata.Name
	}
	if !decode.IsDNSLabel(ns) {
		return fmt.Errorf("sim: add application %q: metadata.namespace (or name): %q is not a DNS label: %w", a.Metadata.Name, ns, ErrInvalid)
	}
	if a.Home == "" {
		return fmt.Errorf("sim: add application %s: home: required (the cluster whose namespace holds it): %w", a.Metadata.Name, ErrInvalid)
	}
	var bad []string
	for i, c := range a.Components {
		if !decode.IsDNSLabel(c.Name) {
			bad = append(bad, fmt.Sprintf("components[%d].name: %q is not a DNS label", i, c.Name))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("sim: add application %s: %s: %w", a.Metadata.Name, strings.Join(bad, "; "), ErrInvalid)
	}
	w.mu.Lock()
	if cur, ok := w.apps[ns]; ok && cur.Metadata.Name != a.Metadata.Name {
		w.mu.Unlock()
		return fmt.Errorf("sim: add application %s: namespace %s holds application %s: %w", a.Metadata.Name, ns, cur.Metadata.Name, ErrInvalid)
	}
	x, err := w.workloads(a.Home)
	if err != nil {
		w.mu.Unlock()
		return fmt.Errorf("sim: add application %s: home: %w", a.Metadata.Name, err)
	}
	cp := a
	cp.Components = slices.Clone(a.Components)
	for i := range cp.Components {
		cp.Components[i].Requests = a.Components[i].Requests.DeepCopy()
	}
	w.apps[ns] = app{Application: cp, home: a.Home}
	w.logf(w.clk.Now(), "application %s registered in namespace %s of %s (%d components)", a.Metadata.Name, ns, a.Home, len(a.Components))
	w.mu.Unlock()
	for _, c := range a.Components {
		x.AddTemplate(ns, c.Name)
	}
	return nil
}

// Instances returns the instances of the namespace on its home cluster (every home
// the world made Workloads for), sorted by component then cluster.
func (w *World) Instances(ctx context.Context, namespace string) ([]act.Instance, error) {
	w.mu.Lock()
	homes := make([]*Workloads, 0, len(w.homes))
	for _, h := range slices.Sorted(maps.Keys(w.homes)) {
		homes = append(homes, w.homes[h])
	}
	w.mu.Unlock()
	var out []act.Instance
	for _, x := range homes {
		ins, err := x.Fake.ListInstances(ctx, namespace)
		if err != nil {
			return nil, fmt.Errorf("sim: instances of %s on %s: %w", namespace, x.home, err)
		}
		out = append(out, ins...)
	}
	act.SortInstances(out)
	return out, nil
}

// ReadyReplicas returns how many replicas of the component in the namespace are ready
// now, across clusters: the invariant of make-before-break is that it never drops
// to zero during a migration.
func (w *World) ReadyReplicas(namespace, component string) int {
	ins, err := w.Instances(context.Background(), namespace)
	if err != nil {
		return 0
	}
	n := 0
	for _, in := range ins {
		if in.Component == component {
			n += int(min(in.Ready, in.Replicas))
		}
	}
	return n
}

// logReadiness logs the readiness of the registered applications' components when it
// changed.
func (w *World) logReadiness(now time.Time) {
	w.mu.Lock()
	apps := make([]app, 0, len(w.apps))
	for _, ns := range slices.Sorted(maps.Keys(w.apps)) {
		apps = append(apps, w.apps[ns])
	}
	w.mu.Unlock()
	lines := map[string]string{}
	for _, a := range apps {
		ns := namespaceOf(a.Application)
		ins, err := w.Instances(context.Background(), ns)
		if err != nil {
			continue
		}
		for _, c := range a.Components {
			var ready, want int32
			var parts []string
			for _, in := range ins {
				if in.Component != c.Name {
					continue
				}
				r := min(in.Ready, in.Replicas)
				ready += r
				want += in.Replicas
				parts = append(parts, fmt.Sprintf("%s %d/%d", in.Cluster, r, in.Replicas))
			}
			key := a.Metadata.Name + "/" + c.Name
			if len(parts) == 0 {
				lines[key] = "no instances"
				continue
			}
			lines[key] = fmt.Sprintf("%d/%d ready (%s)", ready, want, strings.Join(parts, ", "))
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(lines)) {
		line := lines[key]
		last, seen := w.lastReady[key]
		if last == line || (!seen && line == "no instances") {
			continue
		}
		w.lastReady[key] = line
		w.logf(now, "%s: %s", key, line)
	}
}

func namespaceOf(a placement.Application) string {
	if a.Metadata.Namespace != "" {
		return a.Metadata.Namespace
	}
	return a.Metadata.Name
}
