package peeringfake

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/peering"
)

// Model is how long each step of Liqo takes in the fake, from the call that starts
// it. The zero value means DefaultModel.
type Model struct {
	// Network is the time from Peer until the tunnel is Connected on both sides.
	Network time.Duration
	// Authentication is the time from Peer until the ResourceSlice's Authentication
	// and Resources conditions are Accepted.
	Authentication time.Duration
	// VirtualNode is the time from Peer until the virtual node is Ready; it is at
	// least the later of Network and Authentication.
	VirtualNode time.Duration
	// Offload is the time from Offload (or a change of targets) until the remote
	// namespaces are Ready.
	Offload time.Duration
	// Latency is the round-trip time reported once the network is established,
	// unless Options.Latency names the pair.
	Latency time.Duration
}

// DefaultModel returns the step times of a healthy Liqo peering on a LAN: network
// after 10 s, authentication after 5 s, virtual node after 20 s, remote namespaces
// 3 s after an offload, and 1 ms round trip.
func DefaultModel() Model {
	return Model{Network: 10 * time.Second, Authentication: 5 * time.Second, VirtualNode: 20 * time.Second, Offload: 3 * time.Second, Latency: time.Millisecond}
}

// Options configures New.
type Options struct {
	// Clusters maps the name of every cluster the fake knows to its Liqo cluster ID;
	// an empty ID means the name. At least one cluster.
	Clusters map[string]peering.ClusterID
	// Clock drives the steps; pass a k8s.io/utils/clock/testing.FakeClock and step
	// it. Nil means the real clock.
	Clock clock.WithDelayedExecution
	// Model is the step times; the zero value means DefaultModel.
	Model Model
	// Latency sets the measured round-trip time of a peering (either direction).
	Latency map[peering.Key]time.Duration
}

// PeeringFault is a failure injected into the next Peer of one pair with
// InjectPeeringFault.
type PeeringFault struct {
	// NoNetwork: the tunnel never connects (NetworkEstablished stays false).
	NoNetwork bool
	// RefuseResources: the provider never accepts the ResourceSlice.
	RefuseResources bool
}

// Call is one call recorded in the call log.
type Call struct {
	// Op is the method: Peer, Unpeer, GetPeering, ListPeerings, WatchPeering,
	// Offload, Unoffload, GetOffloading or WatchOffloading.
	Op string
	// Key is the peering the call named (Peer, Unpeer, GetPeering, WatchPeering).
	Key peering.Key
	// Namespace is the namespace the call named (offloading calls).
	Namespace peering.NamespaceRef
	// Targets are Offload's targets.
	Targets []string
}

// Fake is an in-memory peering.Interface with Liqo's semantics. It is safe for
// concurrent use.
type Fake struct {
	clk   clock.WithDelayedExecution
	model Model

	mu          sync.Mutex
	ids         map[string]peering.ClusterID // grows with AddCluster
	latency     map[peering.Key]time.Duration
	peerings    map[peering.Key]*peer
	offloads    map[peering.NamespaceRef]*offload
	namespaces  map[peering.NamespaceRef]bool
	faults      map[peering.Key]PeeringFault
	failRemotes map[string]bool
	calls       []Call

	// subMu guards subs. It is never held while calling the clock: clock callbacks
	// run with the clock's lock held and take subMu only.
	subMu sync.Mutex
	subs  map[chan struct{}]struct{}
}

type peer struct {
	res                 peering.Resources
	netAt, authAt, vnAt time.Time // zero = never
	latency             time.Duration
}

type offload struct {
	spec    peering.OffloadSpec
	readyAt map[string]time.Time // per target
	failed  map[string]bool
}

var _ peering.Interface = (*Fake)(nil)

// New returns a fake knowing the clusters of opts.
func New(opts Options) (*Fake, error) {
	if len(opts.Clusters) == 0 {
		return nil, fmt.Errorf("peeringfake: Options.Clusters: name at least one cluster")
	}
	ids := map[string]peering.ClusterID{}
	seen := map[peering.ClusterID]string{}
	for _, name := range slices.Sorted(maps.Keys(opts.Clusters)) {
		id := opts.Clusters[name]
		if id == "" {
			id = peering.ClusterID(name)
		}
		if !decode.IsDNSLabel(name) {
			return nil, fmt.Errorf("peeringfake: Options.Clusters: name %q is not a DNS label", name)
		}
		if !decode.IsDNSLabel(string(id)) {
			return nil, fmt.Errorf("peeringfake: Options.Clusters[%s]: cluster ID %q is not a DNS label", name, id)
		}
		if other, ok := seen[id]; ok {
			return nil, fmt.Errorf("peeringfake: Options.Clusters: %s and %s share the cluster ID %q", other, name, id)
		}
		seen[id] = name
		ids[name] = id
	}
	m := opts.Model
	if m == (Model{}) {
		m = DefaultModel()
	}
	if m.Network < 0 || m.Authentication < 0 || m.VirtualNode < 0 || m.Offload < 0 || m.Latency < 0 {
		return nil, fmt.Errorf("peeringfake: Options.Model: durations must be >= 0: %+v", m)
	}
	m.VirtualNode = max(m.VirtualNode, m.Network, m.Authentication)
	for k, d := range opts.Latency {
		if d <= 0 {
			return nil, fmt.Errorf("peeringfake: Options.Latency[%s]: %s must be > 0", k, d)
		}
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Fake{
		clk: clk, model: m, ids: ids,
		latency:     maps.Clone(opts.Latency),
		peerings:    map[peering.Key]*peer{},
		offloads:    map[peering.NamespaceRef]*offload{},
		namespaces:  map[peering.NamespaceRef]bool{},
		faults:      map[peering.Key]PeeringFault{},
		failRemotes: map[string]bool{},
		subs:        map[chan struct{}]struct{}{},
	}, nil
}

// ClusterID returns the Liqo cluster ID of a known cluster.
func (f *Fake) ClusterID(name string) (peering.ClusterID, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.ids[name]
	return id, ok
}

// AddCluster makes a cluster known after New, as when a cluster provisioned later
// installs Liqo: it can then peer, provide and offload like the clusters of
// Options.Clusters. An empty id means the name. Adding a known cluster again with
// the same ID does nothing; a name or ID that is not a DNS label, another ID for a
// known name, or an ID another cluster has, gives an error wrapping
// peering.ErrInvalid. It is not recorded in the call log (it stands for installing
// Liqo, not for a call of the peering API).
func (f *Fake) AddCluster(name string, id peering.ClusterID) error {
	if id == "" {
		id = peering.ClusterID(name)
	}
	if !decode.IsDNSLabel(name) {
		return fmt.Errorf("peeringfake: add cluster: name %q is not a DNS label: %w", name, peering.ErrInvalid)
	}
	if !decode.IsDNSLabel(string(id)) {
		return fmt.Errorf("peeringfake: add cluster %s: cluster ID %q is not a DNS label: %w", name, id, peering.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.ids[name]; ok {
		if cur == id {
			return nil
		}
		return fmt.Errorf("peeringfake: add cluster %s: it is known with cluster ID %q, not %q: %w", name, cur, id, peering.ErrInvalid)
	}
	for other, oid := range f.ids {
		if oid == id {
			return fmt.Errorf("peeringfake: add cluster %s: cluster ID %q belongs to %s: %w", name, id, other, peering.ErrInvalid)
		}
	}
	f.ids[name] = id
	return nil
}

// CreateNamespace creates a namespace on a known cluster (Offload needs one).
func (f *Fake) CreateNamespace(cluster, namespace string) error {
	if !decode.IsDNSLabel(namespace) {
		return fmt.Errorf("peeringfake: create namespace: %q is not a DNS label: %w", namespace, peering.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.ids[cluster]; !ok {
		return fmt.Errorf("peeringfake: create namespace %s: unknown cluster %q: %w", namespace, cluster, peering.ErrNotFound)
	}
	f.namespaces[peering.NamespaceRef{Cluster: cluster, Namespace: namespace}] = true
	return nil
}

// InjectPeeringFault sets the fault of the next Peer of k; a zero fault clears it.
func (f *Fake) InjectPeeringFault(k peering.Key, fault PeeringFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fault == (PeeringFault{}) {
		delete(f.faults, k)
		return
	}
	f.faults[k] = fault
}

// FailRemoteNamespaces makes the creation of remote namespaces on the provider fail
// (for offloads started after the call) when fail is true, as when a namespace of
// that name already exists there.
func (f *Fake) FailRemoteNamespaces(provider string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failRemotes[provider] = fail
}

// Calls returns a copy of the call log, in call order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(c Call) { f.calls = append(f.calls, c) }

// known checks that every name is a known cluster. f.mu is held.
func (f *Fake) known(op string, names ...string) error {
	for _, n := range names {
		if _, ok := f.ids[n]; !ok {
			return fmt.Errorf("peeringfake: %s: unknown cluster %q: %w", op, n, peering.ErrNotFound)
		}
	}
	return nil
}

// Peer starts a peering. See peering.Peerer.
func (f *Fake) Peer(ctx context.Context, req peering.PeerRequest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("peeringfake: peer: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Peer", Key: req.Key})
	if err := req.Validate(); err != nil {
		return err
	}
	if err := f.known("peer "+req.Key.String(), req.Consumer, req.Provider); err != nil {
		return err
	}
	if _, ok := f.peerings[req.Key]; ok {
		return fmt.Errorf("peeringfake: peer %s: %w", req.Key, peering.ErrAlreadyPeered)
	}
	now := f.clk.Now()
	fault := f.faults[req.Key]
	delete(f.faults, req.Key)
	p := &peer{res: req.Resources, latency: f.model.Latency}
	if d, ok := f.latency[req.Key]; ok {
		p.latency = d
	} else if d, ok := f.latency[peering.Key{Consumer: req.Provider, Provider: req.Consumer}]; ok {
		p.latency = d
	}
	if !fault.NoNetwork {
		p.netAt = now.Add(f.model.Network)
	}
	if !fault.RefuseResources {
		p.authAt = now.Add(f.model.Authentication)
	}
	if !fault.NoNetwork && !fault.RefuseResources {
		p.vnAt = now.Add(f.model.VirtualNode)
	}
	f.peerings[req.Key] = p
	f.schedule(p.netAt, p.authAt, p.vnAt)
	f.notify()
	return nil
}

// Unpeer removes a peering at once. See peering.Peerer.
func (f *Fake) Unpeer(ctx context.Context, k peering.Key) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("peeringfake: unpeer: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Unpeer", Key: k})
	if err := k.Validate(); err != nil {
		return err
	}
	if _, ok := f.peerings[k]; !ok {
		return fmt.Errorf("peeringfake: unpeer %s: %w", k, peering.ErrNotPeered)
	}
	var users []string
	for ref, o := range f.offloads {
		if ref.Cluster == k.Consumer && slices.Contains(o.spec.Targets, k.Provider) {
			users = append(users, ref.Namespace)
		}
	}
	if len(users) > 0 {
		slices.Sort(users)
		return fmt.Errorf("peeringfake: unpeer %s: namespaces %s are offloaded to %s; unoffload them or drop the target first: %w",
			k, strings.Join(users, ", "), k.Provider, peering.ErrInvalid)
	}
	delete(f.peerings, k)
	f.notify()
	return nil
}

// GetPeering returns a peering. See peering.PeeringReader.
func (f *Fake) GetPeering(ctx context.Context, k peering.Key) (*peering.Peering, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("peeringfake: get peering: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "GetPeering", Key: k})
	if err := k.Validate(); err != nil {
		return nil, err
	}
	p := f.peeringState(k, f.clk.Now())
	if p == nil {
		return nil, fmt.Errorf("peeringfake: get peering %s: %w", k, peering.ErrNotFound)
	}
	return p, nil
}

// ListPeerings lists peerings. See peering.PeeringReader.
func (f *Fake) ListPeerings(ctx context.Context, opts peering.ListOptions) ([]*peering.Peering, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("peeringfake: list peerings: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "ListPeerings"})
	now := f.clk.Now()
	out := []*peering.Peering{}
	for k := range f.peerings {
		if p := f.peeringState(k, now); opts.Matches(p) {
			out = append(out, p)
		}
	}
	peering.SortPeerings(out)
	return out, nil
}

func (f *Fake) peeringState(k peering.Key, now time.Time) *peering.Peering {
	p, ok := f.peerings[k]
	if !ok {
		return nil
	}
	reached := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	out := &peering.Peering{
		Key: k, ConsumerID: f.ids[k.Consumer], ProviderID: f.ids[k.Provider], Resources: p.res,
		NetworkEstablished:     reached(p.netAt),
		AuthenticationAccepted: reached(p.authAt),
		ResourcesAccepted:      reached(p.authAt),
		VirtualNodeReady:       reached(p.vnAt),
	}
	if out.NetworkEstablished {
		out.Latency = p.latency
	}
	switch {
	case p.netAt.IsZero():
		out.Message = "the gateway connection is in error"
	case p.authAt.IsZero():
		out.Message = "the provider refused the resource slice"
	}
	return out
}

// WatchPeering watches a peering. See peering.PeeringReader.
func (f *Fake) WatchPeering(ctx context.Context, k peering.Key) (<-chan peering.PeeringChange, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.record(Call{Op: "WatchPeering", Key: k})
	f.mu.Unlock()
	return watch(ctx, f, clonePeering, func() peering.PeeringChange {
		f.mu.Lock()
		defer f.mu.Unlock()
		if p := f.peeringState(k, f.clk.Now()); p != nil {
			return peering.PeeringChange{Peering: p}
		}
		return peering.PeeringChange{Gone: true}
	}), nil
}

// Offload offloads a namespace. See peering.Offloader.
func (f *Fake) Offload(ctx context.Context, spec peering.OffloadSpec) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("peeringfake: offload: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Offload", Namespace: spec.NamespaceRef, Targets: slices.Clone(spec.Targets)})
	if err := spec.Validate(); err != nil {
		return err
	}
	spec = spec.WithDefaults()
	if err := f.known("offload "+spec.NamespaceRef.String(), append([]string{spec.Cluster}, spec.Targets...)...); err != nil {
		return err
	}
	if !f.namespaces[spec.NamespaceRef] {
		return fmt.Errorf("peeringfake: offload %s: namespace not found: %w", spec.NamespaceRef, peering.ErrNotFound)
	}
	now := f.clk.Now()
	for _, t := range spec.Targets {
		k := peering.Key{Consumer: spec.Cluster, Provider: t}
		if !peering.IsPeered(f.peeringState(k, now)) {
			return fmt.Errorf("peeringfake: offload %s: target %s: peering %s is missing or not ready: %w", spec.NamespaceRef, t, k, peering.ErrNotPeered)
		}
	}
	cur, ok := f.offloads[spec.NamespaceRef]
	if ok {
		if cur.spec.Mapping != spec.Mapping || cur.spec.RemoteNamespace != spec.RemoteNamespace || cur.spec.Pods != spec.Pods {
			return fmt.Errorf("peeringfake: offload %s: mapping, remoteNamespace and pods cannot change (Liqo forbids it); unoffload first: %w", spec.NamespaceRef, peering.ErrInvalid)
		}
		if slices.Equal(cur.spec.Targets, spec.Targets) {
			return nil
		}
	} else {
		cur = &offload{readyAt: map[string]time.Time{}, failed: map[string]bool{}}
		f.offloads[spec.NamespaceRef] = cur
	}
	cur.spec = spec
	at := now.Add(f.model.Offload)
	for _, t := range spec.Targets {
		if _, ok := cur.readyAt[t]; !ok {
			cur.readyAt[t] = at
			cur.failed[t] = f.failRemotes[t]
		}
	}
	for t := range cur.readyAt {
		if !slices.Contains(spec.Targets, t) {
			delete(cur.readyAt, t)
			delete(cur.failed, t)
		}
	}
	f.schedule(at)
	f.notify()
	return nil
}

// Unoffload stops offloading a namespace. See peering.Offloader.
func (f *Fake) Unoffload(ctx context.Context, ref peering.NamespaceRef) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("peeringfake: unoffload: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "Unoffload", Namespace: ref})
	if _, ok := f.offloads[ref]; !ok {
		return fmt.Errorf("peeringfake: unoffload %s: %w", ref, peering.ErrNotFound)
	}
	delete(f.offloads, ref)
	f.notify()
	return nil
}

// GetOffloading returns an offloading. See peering.OffloadingReader.
func (f *Fake) GetOffloading(ctx context.Context, ref peering.NamespaceRef) (*peering.Offloading, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("peeringfake: get offloading: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(Call{Op: "GetOffloading", Namespace: ref})
	o := f.offloadingState(ref, f.clk.Now())
	if o == nil {
		return nil, fmt.Errorf("peeringfake: get offloading %s: %w", ref, peering.ErrNotFound)
	}
	return o, nil
}

func (f *Fake) offloadingState(ref peering.NamespaceRef, now time.Time) *peering.Offloading {
	o, ok := f.offloads[ref]
	if !ok {
		return nil
	}
	out := &peering.Offloading{Spec: o.spec, Remote: map[string]peering.RemoteNamespace{}, Current: true}
	out.Spec.Targets = slices.Clone(o.spec.Targets)
	remote := ref.Namespace
	switch o.spec.Mapping {
	case peering.DefaultName:
		remote = ref.Namespace + "-" + string(f.ids[ref.Cluster])
	case peering.SelectedName:
		remote = o.spec.RemoteNamespace
	}
	ready, failed := 0, 0
	for _, t := range o.spec.Targets {
		r := peering.RemoteNamespace{Name: remote, Required: true}
		switch {
		case now.Before(o.readyAt[t]):
			r.Message = "creating the remote namespace"
		case o.failed[t]:
			failed++
			r.Message = fmt.Sprintf("namespace %s cannot be created on %s", remote, t)
		default:
			ready++
			r.Ready = true
		}
		out.Remote[t] = r
	}
	switch n := len(o.spec.Targets); {
	case failed == n:
		out.Phase = peering.PhaseAllFailed
	case ready == n:
		out.Phase = peering.PhaseReady
	case ready+failed == n:
		out.Phase = peering.PhaseSomeFailed
	default:
		out.Phase = peering.PhaseInProgress
	}
	return out
}

// WatchOffloading watches an offloading. See peering.OffloadingReader.
func (f *Fake) WatchOffloading(ctx context.Context, ref peering.NamespaceRef) (<-chan peering.OffloadingChange, error) {
	f.mu.Lock()
	f.record(Call{Op: "WatchOffloading", Namespace: ref})
	f.mu.Unlock()
	return watch(ctx, f, cloneOffloading, func() peering.OffloadingChange {
		f.mu.Lock()
		defer f.mu.Unlock()
		if o := f.offloadingState(ref, f.clk.Now()); o != nil {
			return peering.OffloadingChange{Offloading: o}
		}
		return peering.OffloadingChange{Gone: true}
	}), nil
}

// schedule wakes the watchers at each non-zero time t (f.mu held).
func (f *Fake) schedule(ts ...time.Time) {
	now := f.clk.Now()
	for _, t := range ts {
		if t.IsZero() {
			continue
		}
		f.clk.AfterFunc(max(t.Sub(now), 0), f.notify)
	}
}

// notify pokes every watcher; it never blocks.
func (f *Fake) notify() {
	f.subMu.Lock()
	defer f.subMu.Unlock()
	for c := range f.subs {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func clonePeering(c peering.PeeringChange) peering.PeeringChange {
	if c.Peering != nil {
		p := *c.Peering
		c.Peering = &p
	}
	return c
}

func cloneOffloading(c peering.OffloadingChange) peering.OffloadingChange {
	if c.Offloading != nil {
		o := *c.Offloading
		o.Spec.Targets = slices.Clone(o.Spec.Targets)
		o.Remote = maps.Clone(o.Remote)
		c.Offloading = &o
	}
	return c
}

// watch sends state() at first and after every poke when it changed, until ctx ends.
// The receiver gets a clone, so the copy kept for comparison is never shared.
func watch[C any](ctx context.Context, f *Fake, clone func(C) C, state func() C) <-chan C {
	poke := make(chan struct{}, 1)
	f.subMu.Lock()
	f.subs[poke] = struct{}{}
	f.subMu.Unlock()
	out := make(chan C)
	go func() {
		defer close(out)
		defer func() {
			f.subMu.Lock()
			delete(f.subs, poke)
			f.subMu.Unlock()
		}()
		var last *C
		for {
			ch := state()
			if last == nil || !reflect.DeepEqual(*last, ch) {
				select {
				case out <- clone(ch):
					last = &ch
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-poke:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
