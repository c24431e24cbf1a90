package actfake

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement/act"
)

// DefaultStartDelay is how long added replicas take to become ready when
// Options.StartDelay is zero.
const DefaultStartDelay = 5 * time.Second

// maxName is the longest instance name, as KubeWorkloads allows.
const maxName = 63

// Options configures New. The zero value uses the real clock, a start delay of 5 s
// and runs pods on every cluster.
type Options struct {
	// Clock drives readiness; pass a k8s.io/utils/clock/testing.FakeClock and Step
	// it to make time pass. Nil means the real clock.
	Clock clock.WithDelayedExecution
	// StartDelay is how long after a write the replicas it added become ready; zero
	// means DefaultStartDelay, a negative value ready at once.
	StartDelay time.Duration
	// Runnable reports whether pods of namespace pinned to cluster can run (Liqo:
	// the home cluster, or a cluster that is peered and that the namespace is
	// offloaded to). While it reports false, the instances on cluster have no ready
	// replicas. It is called on every read, without the Fake's lock held. Nil means
	// every cluster can run pods.
	Runnable func(namespace, cluster string) bool
}

// Call is one call recorded in a call log (the Fake's and a Wrapper's).
type Call struct {
	// Op is the method: EnsureNamespace, ListInstances, ApplyInstance or
	// DeleteInstance.
	Op        string
	Namespace string
	// Component and Cluster name the instance of ApplyInstance and DeleteInstance.
	Component string
	Cluster   string
	// Replicas and Pin are ApplyInstance's.
	Replicas int32
	Pin      peering.Pinning
}

// String renders the call for logs, e.g. "ApplyInstance xr/render@edge-1 x2".
func (c Call) String() string {
	switch c.Op {
	case "ApplyInstance":
		return fmt.Sprintf("%s %s/%s@%s x%d", c.Op, c.Namespace, c.Component, c.Cluster, c.Replicas)
	case "DeleteInstance":
		return fmt.Sprintf("%s %s/%s@%s", c.Op, c.Namespace, c.Component, c.Cluster)
	}
	return c.Op + " " + c.Namespace
}

// Fake is an in-memory act.Workloads with the semantics of act.KubeWorkloads on a
// cluster with Liqo (see the package documentation). Make it with New; it is safe
// for concurrent use.
type Fake struct {
	clk      clock.WithDelayedExecution
	delay    time.Duration
	runnable func(namespace, cluster string) bool

	mu         sync.Mutex
	namespaces map[string]*namespace
	notReady   map[instanceKey]bool
	writes     int
	calls      []Call
}

type namespace struct {
	templates map[string]int64 // generation by component
	instances map[instanceKey]*instance
}

type instanceKey struct{ namespace, component, cluster string }

type instance struct {
	replicas    int32
	pin         peering.Pinning // as written, for idempotency
	templateGen int64
	readyAt     []time.Time // one per replica, ascending
}

var _ act.Workloads = (*Fake)(nil)

// New returns an empty fake: no namespaces, no templates.
func New(opts Options) *Fake {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	d := opts.StartDelay
	switch {
	case d == 0:
		d = DefaultStartDelay
	case d < 0:
		d = 0
	}
	return &Fake{
		clk: clk, delay: d, runnable: opts.Runnable,
		namespaces: map[string]*namespace{},
		notReady:   map[instanceKey]bool{},
	}
}

// StartDelay returns how long added replicas take to become ready.
func (f *Fake) StartDelay() time.Duration { return f.delay }

// ns returns the namespace, creating it when create is set; nil if missing.
func (f *Fake) ns(name string, create bool) *namespace {
	n := f.namespaces[name]
	if n == nil && create {
		n = &namespace{templates: map[string]int64{}, instances: map[instanceKey]*instance{}}
		f.namespaces[name] = n
	}
	return n
}

// AddTemplate makes the template of component exist in namespace (creating the
// namespace, as a template cannot exist without one), at generation 1. An existing
// template is left as it is. It is not counted in Writes.
func (f *Fake) AddTemplate(namespace, component string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.ns(namespace, true)
	if _, ok := n.templates[component]; !ok {
		n.templates[component] = 1
	}
}

// UpdateTemplate bumps the generation of the template of component, as a change of
// its spec does: the component's instances become Outdated. A missing template is
// an error wrapping act.ErrNotFound.
func (f *Fake) UpdateTemplate(namespace, component string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.ns(namespace, false)
	if n == nil {
		return fmt.Errorf("actfake: update template %s/%s: no such template: %w", namespace, component, act.ErrNotFound)
	}
	if _, ok := n.templates[component]; !ok {
		return fmt.Errorf("actfake: update template %s/%s: no such template: %w", namespace, component, act.ErrNotFound)
	}
	n.templates[component]++
	return nil
}

// DeleteTemplate deletes the template of component and, like the garbage collector
// of a real cluster, its instances. A missing template is not an error. It is not
// counted in Writes.
func (f *Fake) DeleteTemplate(namespace, component string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.ns(namespace, false)
	if n == nil {
		return
	}
	delete(n.templates, component)
	for k := range n.instances {
		if k.component == component {
			delete(n.instances, k)
		}
	}
}

// SetNotReady holds the replicas of the instance of component on cluster not ready
// (pods that crash or never pass their readiness probe), or releases it. It applies
// whether or not the instance exists yet, and lasts until released.
func (f *Fake) SetNotReady(namespace, component, cluster string, notReady bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := instanceKey{namespace, component, cluster}
	if notReady {
		f.notReady[k] = true
	} else {
		delete(f.notReady, k)
	}
}

// Writes returns how many writes the Workloads methods performed (namespaces
// created, instances created, updated or deleted). AddTemplate, UpdateTemplate and
// DeleteTemplate are not counted.
func (f *Fake) Writes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes
}

// Calls returns a copy of the call log, in call order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(c Call) {
	c.Pin = clonePin(c.Pin)
	f.calls = append(f.calls, c)
}

func checkNamespace(op, namespace string) error {
	if !decode.IsDNSLabel(namespace) {
		return fmt.Errorf("actfake: %s: namespace: %q is not a DNS label: %w", op, namespace, act.ErrInvalid)
	}
	return nil
}

func instanceName(component, cluster string) (string, error) {
	name := act.InstanceName(component, cluster)
	if len(name) > maxName {
		return "", fmt.Errorf("actfake: instance of component %q on cluster %q: name %q has %d characters, more than %d: shorten the component or cluster name: %w",
			component, cluster, name, len(name), maxName, act.ErrInvalid)
	}
	return name, nil
}

// EnsureNamespace creates the namespace unless it exists. See act.Workloads.
func (f *Fake) EnsureNamespace(ctx context.Context, namespace string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "EnsureNamespace", Namespace: namespace})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("actfake: ensure namespace %s: %w", namespace, err)
	}
	if err := checkNamespace("ensure namespace", namespace); err != nil {
		return err
	}
	if f.ns(namespace, false) == nil {
		f.ns(namespace, true)
		f.writes++
	}
	return nil
}

// ListInstances returns the instances in the namespace. See act.Workloads.
func (f *Fake) ListInstances(ctx context.Context, namespace string) ([]act.Instance, error) {
	type row struct {
		in       act.Instance
		readyAt  []time.Time
		notReady bool
	}
	f.mu.Lock()
	f.record(Call{Op: "ListInstances", Namespace: namespace})
	if err := ctx.Err(); err != nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("actfake: list instances in %s: %w", namespace, err)
	}
	if err := checkNamespace("list instances", namespace); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	var rows []row
	if n := f.ns(namespace, false); n != nil {
		for k, i := range n.instances {
			gen, ok := n.templates[k.component]
			rows = append(rows, row{
				in: act.Instance{
					Component: k.component, Cluster: k.cluster, Replicas: i.replicas,
					Pin: readBack(i.pin), Outdated: ok && gen != i.templateGen,
				},
				readyAt:  slices.Clone(i.readyAt),
				notReady: f.notReady[k],
			})
		}
	}
	now := f.clk.Now()
	f.mu.Unlock()

	out := make([]act.Instance, 0, len(rows))
	runnable := map[string]bool{}
	for _, r := range rows {
		run, ok := runnable[r.in.Cluster]
		if !ok {
			run = f.runnable == nil || f.runnable(namespace, r.in.Cluster)
			runnable[r.in.Cluster] = run
		}
		if run && !r.notReady {
			for _, t := range r.readyAt {
				if !t.After(now) {
					r.in.Ready++
				}
			}
		}
		out = append(out, r.in)
	}
	act.SortInstances(out)
	return out, nil
}

// ApplyInstance creates the instance or updates its replicas and pinning. See
// act.Workloads.
func (f *Fake) ApplyInstance(ctx context.Context, namespace string, spec act.InstanceSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "ApplyInstance", Namespace: namespace, Component: spec.Component, Cluster: spec.Cluster, Replicas: spec.Replicas, Pin: spec.Pin})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("actfake: apply instance %s on %s: %w", spec.Component, spec.Cluster, err)
	}
	if err := checkNamespace("apply instance", namespace); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	name, err := instanceName(spec.Component, spec.Cluster)
	if err != nil {
		return err
	}
	n := f.ns(namespace, false)
	var gen int64
	var ok bool
	if n != nil {
		gen, ok = n.templates[spec.Component]
	}
	if !ok {
		return fmt.Errorf("actfake: no template for component %s/%s: add one with AddTemplate: %w", namespace, spec.Component, act.ErrNotFound)
	}
	// The name must not be taken by a template or by another instance.
	if _, ok := n.templates[name]; ok {
		return fmt.Errorf("actfake: %s/%s exists and is not the instance of %s on %s (it is a template): %w", namespace, name, spec.Component, spec.Cluster, act.ErrInvalid)
	}
	k := instanceKey{namespace, spec.Component, spec.Cluster}
	for other := range n.instances {
		if other != k && act.InstanceName(other.component, other.cluster) == name {
			return fmt.Errorf("actfake: %s/%s exists and is not the instance of %s on %s (it is the instance of %s on %s): %w",
				namespace, name, spec.Component, spec.Cluster, other.component, other.cluster, act.ErrInvalid)
		}
	}
	now := f.clk.Now()
	readyAt := now.Add(f.delay)
	i := n.instances[k]
	if i == nil {
		i = &instance{replicas: spec.Replicas, pin: clonePin(spec.Pin), templateGen: gen}
		for range spec.Replicas {
			i.readyAt = append(i.readyAt, readyAt)
		}
		n.instances[k] = i
		f.writes++
		return nil
	}
	samePods := samePinning(i.pin, spec.Pin) && i.templateGen == gen
	if samePods && i.replicas == spec.Replicas {
		return nil // nothing to write
	}
	switch {
	case !samePods: // a new pod template: every replica restarts
		i.readyAt = i.readyAt[:0]
		for range spec.Replicas {
			i.readyAt = append(i.readyAt, readyAt)
		}
	case spec.Replicas > i.replicas:
		for range spec.Replicas - i.replicas {
			i.readyAt = append(i.readyAt, readyAt)
		}
	default: // scale down: the replicas not ready go first
		i.readyAt = i.readyAt[:spec.Replicas]
	}
	i.replicas, i.pin, i.templateGen = spec.Replicas, clonePin(spec.Pin), gen
	f.writes++
	return nil
}

// DeleteInstance removes the instance; a missing one is not an error. See
// act.Workloads.
func (f *Fake) DeleteInstance(ctx context.Context, namespace, component, cluster string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "DeleteInstance", Namespace: namespace, Component: component, Cluster: cluster})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("actfake: delete instance %s on %s: %w", component, cluster, err)
	}
	if err := checkNamespace("delete instance", namespace); err != nil {
		return err
	}
	var bad []string
	if !decode.IsDNSLabel(component) {
		bad = append(bad, fmt.Sprintf("component: %q is not a DNS label", component))
	}
	if !decode.IsDNSLabel(cluster) {
		bad = append(bad, fmt.Sprintf("cluster: %q is not a DNS label", cluster))
	}
	if len(bad) > 0 {
		return fmt.Errorf("actfake: delete instance %s on %s: %s: %w", component, cluster, strings.Join(bad, "; "), act.ErrInvalid)
	}
	if _, err := instanceName(component, cluster); err != nil {
		return err
	}
	n := f.ns(namespace, false)
	if n == nil {
		return nil
	}
	k := instanceKey{namespace, component, cluster}
	if _, ok := n.instances[k]; ok {
		delete(n.instances, k)
		f.writes++
	}
	return nil
}

// samePinning compares pinnings as KubeWorkloads compares pod templates: the whole
// node selector and the local-only rule.
func samePinning(a, b peering.Pinning) bool {
	return maps.Equal(a.NodeSelector, b.NodeSelector) && a.NotOnVirtualNodes == b.NotOnVirtualNodes
}

// readBack is the pinning as KubeWorkloads reads it back: only the remote cluster ID
// of the node selector.
func readBack(p peering.Pinning) peering.Pinning {
	out := peering.Pinning{NotOnVirtualNodes: p.NotOnVirtualNodes}
	if id := p.NodeSelector[peering.LabelRemoteClusterID]; id != "" {
		out.NodeSelector = map[string]string{peering.LabelRemoteClusterID: id}
	}
	return out
}

func clonePin(p peering.Pinning) peering.Pinning {
	p.NodeSelector = maps.Clone(p.NodeSelector)
	return p
}
