package liqoplay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	liqov1beta1 "github.com/liqotech/liqo/apis/core/v1beta1"
	ipamv1alpha1 "github.com/liqotech/liqo/apis/ipam/v1alpha1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// Defaults of Options.
const (
	// DefaultLatency is the round-trip time reported for a pair SetLatency never set.
	DefaultLatency = 3 * time.Millisecond
	// DefaultInterval is how often Run looks at the clusters.
	DefaultInterval = 100 * time.Millisecond
	// DefaultRefresh is how old a latency write may get before Run rewrites it
	// (Liqo's --ping-update-status-interval).
	DefaultRefresh = 10 * time.Second
)

// Cluster is one cluster the player plays Liqo on.
type Cluster struct {
	// Name is the cluster's name, as the peering backend knows it.
	Name string
	// Client is an admin client whose scheme has Liqo's types and the Kubernetes types.
	Client client.Client
}

// Options configures New. The zero value works.
type Options struct {
	// LiqoNamespace is where Liqo "runs"; empty means liqo.DefaultLiqoNamespace.
	LiqoNamespace string
	// Latency is the RTT of a pair SetLatency did not set; zero means DefaultLatency.
	Latency time.Duration
	// Interval is Run's polling interval; zero means DefaultInterval.
	Interval time.Duration
	// Refresh is how old a latency write may get before Run rewrites it; zero means
	// DefaultRefresh.
	Refresh time.Duration
	// Now stamps latencies and conditions; nil means time.Now.
	Now func() time.Time
	// NetworkingDisabled plays a Liqo run with --networking-enabled=false (see
	// peering/liqo's Options.NetworkingDisabled): no Connections are written and the
	// networking objects are not checked; SetLatency then has no effect.
	NetworkingDisabled bool
	// OnError receives the errors of Run's passes (a write that lost to a concurrent
	// change is retried at the next pass and not reported). Nil drops them. The
	// errors never hold credentials.
	OnError func(error)
}

// generation counts the seedings of the process, so every Seed gives fresh IDs.
var generation atomic.Int64

// Player plays Liqo's controllers on a set of clusters (see the package doc). Make
// it with New, then Seed it.
type Player struct {
	clusters []Cluster
	clients  map[string]client.Client
	opts     Options

	mu      sync.Mutex
	gen     int64
	ids     map[string]peering.ClusterID
	names   map[peering.ClusterID]string
	latency map[[2]string]time.Duration
	// done are the peerings Run completed, by the UID of their ResourceSlice.
	done map[types.UID]*peered
}

// peered is a peering Run completed, and the latency last written on it.
type peered struct {
	consumer, provider string
	pid                peering.ClusterID
	latency            time.Duration
	at                 time.Time
}

// New returns a player for the clusters (their order decides their CIDRs: the i-th
// gets pod CIDR 10.<10(i+1)>.0.0/16 and external CIDR 10.<10(i+1)+1>.0.0/16).
func New(clusters []Cluster, opts Options) (*Player, error) {
	if len(clusters) == 0 || len(clusters) > 24 {
		return nil, fmt.Errorf("liqoplay: need 1 to 24 clusters, got %d", len(clusters))
	}
	p := &Player{clusters: slices.Clone(clusters), clients: map[string]client.Client{}, opts: opts,
		ids: map[string]peering.ClusterID{}, names: map[peering.ClusterID]string{},
		latency: map[[2]string]time.Duration{}, done: map[types.UID]*peered{}}
	for i, c := range clusters {
		if c.Name == "" || c.Client == nil || p.clients[c.Name] != nil {
			return nil, fmt.Errorf("liqoplay: clusters[%d]: need a unique name and a client", i)
		}
		p.clients[c.Name] = c.Client
	}
	if p.opts.LiqoNamespace == "" {
		p.opts.LiqoNamespace = liqo.DefaultLiqoNamespace
	}
	if p.opts.Latency <= 0 {
		p.opts.Latency = DefaultLatency
	}
	if p.opts.Interval <= 0 {
		p.opts.Interval = DefaultInterval
	}
	if p.opts.Refresh <= 0 {
		p.opts.Refresh = DefaultRefresh
	}
	if p.opts.Now == nil {
		p.opts.Now = time.Now
	}
	return p, nil
}

// Seed gives every cluster fresh Liqo inputs: a new cluster ID "<name>-g<N>" in the
// cluster-ID ConfigMap, and the pod-cidr and external-cidr Networks (kept when they
// exist) with status.cidr.
func (p *Player) Seed(ctx context.Context) error {
	g := generation.Add(1)
	ids := map[string]peering.ClusterID{}
	for i, cl := range p.clusters {
		c := cl.Client
		id := peering.ClusterID(fmt.Sprintf("%s-g%d", cl.Name, g))
		ids[cl.Name] = id
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.opts.LiqoNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("liqoplay: %s: creating namespace %s: %w", cl.Name, p.opts.LiqoNamespace, err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "liqo-clusterid-configmap", Namespace: p.opts.LiqoNamespace,
			Labels: map[string]string{"app.kubernetes.io/name": "clusterid-configmap"}}}
		err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm)
		switch {
		case apierrors.IsNotFound(err):
			cm.Data = map[string]string{"CLUSTER_ID": string(id)}
			err = c.Create(ctx, cm)
		case err == nil:
			cm.Data = map[string]string{"CLUSTER_ID": string(id)}
			err = c.Update(ctx, cm)
		}
		if err != nil {
			return fmt.Errorf("liqoplay: %s: writing the cluster-ID ConfigMap: %w", cl.Name, err)
		}
		for j, kind := range []string{"pod-cidr", "external-cidr"} {
			cidr := networkingv1beta1.CIDR(fmt.Sprintf("10.%d.0.0/16", 10*(i+1)+j))
			n := &ipamv1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Name: kind, Namespace: p.opts.LiqoNamespace,
				Labels: map[string]string{"ipam.liqo.io/network-type": kind}}, Spec: ipamv1alpha1.NetworkSpec{CIDR: cidr}}
			if err := c.Create(ctx, n); apierrors.IsAlreadyExists(err) {
				continue
			} else if err != nil {
				return fmt.Errorf("liqoplay: %s: creating the %s Network: %w", cl.Name, kind, err)
			}
			n.Status.CIDR = cidr
			if err := c.Status().Update(ctx, n); err != nil {
				return fmt.Errorf("liqoplay: %s: writing the %s Network's status: %w", cl.Name, kind, err)
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen, p.ids = g, ids
	p.done = map[types.UID]*peered{} // peerings of earlier IDs are not Run's anymore
	p.names = map[peering.ClusterID]string{}
	for n, id := range ids {
		p.names[id] = n
	}
	return nil
}

// Generation returns the N of the last Seed ("<name>-g<N>"), 0 before any.
func (p *Player) Generation() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// ID returns the cluster ID the last Seed gave the named cluster ("" if none).
func (p *Player) ID(name string) peering.ClusterID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ids[name]
}

// ClusterIDs returns the cluster IDs of the last Seed by cluster name, in the shape
// of metrics/liqo's Options.ClusterIDs.
func (p *Player) ClusterIDs() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]string, len(p.ids))
	for n, id := range p.ids {
		out[n] = string(id)
	}
	return out
}

func pairKey(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}

// SetLatency sets the RTT of the tunnel between two clusters (either order; both
// Connections of the pair report it). Run writes it at its next pass; d <= 0 restores
// Options.Latency.
func (p *Player) SetLatency(consumer, provider string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d <= 0 {
		delete(p.latency, pairKey(consumer, provider))
		return
	}
	p.latency[pairKey(consumer, provider)] = d
}

// Latency returns the RTT the pair reports (SetLatency's, else Options.Latency).
func (p *Player) Latency(a, b string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.latencyLocked(a, b)
}

func (p *Player) latencyLocked(a, b string) time.Duration {
	if d, ok := p.latency[pairKey(a, b)]; ok {
		return d
	}
	return p.opts.Latency
}

// FormatLatency formats d as Liqo's gateway does: whole milliseconds, or whole
// microseconds below 1 ms, "N/A" for zero.
func FormatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return "N/A"
	case d.Milliseconds() > 0:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%dμs", d.Microseconds())
}

// ends resolves the clients and IDs of a peering.
func (p *Player) ends(k peering.Key) (cc, pc client.Client, cid, pid peering.ClusterID, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cc, pc = p.clients[k.Consumer], p.clients[k.Provider]
	cid, pid = p.ids[k.Consumer], p.ids[k.Provider]
	if cc == nil || pc == nil || cid == "" || pid == "" {
		return nil, nil, "", "", fmt.Errorf("liqoplay: peering %s: unknown or unseeded cluster", k)
	}
	return cc, pc, cid, pid, nil
}

// CompletePeering does what Liqo does after Peer until the peering k is ready. It is
// idempotent: what is already as Liqo would leave it is not written again. It fails
// (writing nothing) when Liqo's gateways or authentication would fail on the objects
// the backend wrote.
func (p *Player) CompletePeering(ctx context.Context, k peering.Key) error {
	cc, pc, cid, pid, err := p.ends(k)
	if err != nil {
		return err
	}
	if err := checkWhatLiqoNeeds(ctx, cc, pc, cid, pid, !p.opts.NetworkingDisabled); err != nil {
		return fmt.Errorf("liqoplay: Liqo would fail on the peering %s: %w", k, err)
	}
	lat := p.Latency(k.Consumer, k.Provider)
	now := metav1.NewTime(p.opts.Now())
	cns, pns := liqo.TenantNamespace(pid), liqo.TenantNamespace(cid)
	// Gateways: a Connection on each side, Connected with the pair's latency (none
	// with networking disabled).
	gateways := []struct {
		c    client.Client
		ns   string
		typ  networkingv1beta1.ConnectionType
		kind string
		gw   peering.ClusterID
	}{{cc, cns, networkingv1beta1.ConnectionTypeClient, "WgGatewayClient", pid}, {pc, pns, networkingv1beta1.ConnectionTypeServer, "WgGatewayServer", cid}}
	if p.opts.NetworkingDisabled {
		gateways = nil
	}
	for _, s := range gateways {
		conn := &networkingv1beta1.Connection{
			ObjectMeta: metav1.ObjectMeta{Name: connectionName(s.gw), Namespace: s.ns, Labels: map[string]string{peering.LabelRemoteClusterID: string(s.gw)}},
			Spec: networkingv1beta1.ConnectionSpec{Type: s.typ,
				GatewayRef: corev1.ObjectReference{APIVersion: networkingv1beta1.GroupVersion.String(), Kind: s.kind, Name: string(s.gw), Namespace: s.ns}},
		}
		if err := s.c.Create(ctx, conn); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("liqoplay: peering %s: creating Connection %s/%s: %w", k, s.ns, conn.Name, err)
		}
		if err := writeLatency(ctx, s.c, s.ns, conn.Name, lat, now, false); err != nil {
			return fmt.Errorf("liqoplay: peering %s: %w", k, err)
		}
	}
	// Authentication: the ForeignClusters, then the slice's conditions.
	for _, f := range []struct {
		c  client.Client
		id peering.ClusterID
	}{{cc, pid}, {pc, cid}} {
		fc := &liqov1beta1.ForeignCluster{ObjectMeta: metav1.ObjectMeta{Name: string(f.id)}, Spec: liqov1beta1.ForeignClusterSpec{ClusterID: liqov1beta1.ClusterID(f.id)}}
		if err := f.c.Create(ctx, fc); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("liqoplay: peering %s: creating ForeignCluster %s: %w", k, f.id, err)
		}
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var slice authv1beta1.ResourceSlice
		if err := cc.Get(ctx, client.ObjectKey{Namespace: cns, Name: string(pid)}, &slice); err != nil {
			return err
		}
		if accepted(&slice) && equalResources(slice.Status.Resources, slice.Spec.Resources) {
			return nil
		}
		slice.Status.Conditions = []authv1beta1.ResourceSliceCondition{
			{Type: authv1beta1.ResourceSliceConditionTypeAuthentication, Status: authv1beta1.ResourceSliceConditionAccepted, LastTransitionTime: now},
			{Type: authv1beta1.ResourceSliceConditionTypeResources, Status: authv1beta1.ResourceSliceConditionAccepted, LastTransitionTime: now},
		}
		slice.Status.Resources = slice.Spec.Resources
		return cc.Status().Update(ctx, &slice)
	})
	if err != nil {
		return fmt.Errorf("liqoplay: peering %s: accepting the ResourceSlice: %w", k, err)
	}
	// Virtual node: the VirtualNode named like the slice, then the Node.
	vn := &offloadingv1beta1.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: string(pid), Namespace: cns,
		Labels: map[string]string{peering.LabelRemoteClusterID: string(pid)}}, Spec: offloadingv1beta1.VirtualNodeSpec{ClusterID: liqov1beta1.ClusterID(pid)}}
	if err := cc.Create(ctx, vn); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("liqoplay: peering %s: creating the VirtualNode: %w", k, err)
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: string(pid),
		Labels: map[string]string{peering.LabelNodeType: peering.NodeTypeVirtual, peering.LabelRemoteClusterID: string(pid)}}}
	if err := cc.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("liqoplay: peering %s: creating the virtual Node: %w", k, err)
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := cc.Get(ctx, client.ObjectKeyFromObject(node), node); err != nil {
			return err
		}
		for _, c := range node.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}
		return cc.Status().Update(ctx, node)
	})
	if err != nil {
		return fmt.Errorf("liqoplay: peering %s: making the virtual Node Ready: %w", k, err)
	}
	return nil
}

func connectionName(peer peering.ClusterID) string { return "gw-" + string(peer) }

func accepted(s *authv1beta1.ResourceSlice) bool {
	auth, res := false, false
	for _, c := range s.Status.Conditions {
		switch c.Type {
		case authv1beta1.ResourceSliceConditionTypeAuthentication:
			auth = c.Status == authv1beta1.ResourceSliceConditionAccepted
		case authv1beta1.ResourceSliceConditionTypeResources:
			res = c.Status == authv1beta1.ResourceSliceConditionAccepted
		}
	}
	return auth && res
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// writeLatency sets the Connection Connected with latency d stamped at; unless force,
// only when its value or latency differs.
func writeLatency(ctx context.Context, c client.Client, ns, name string, d time.Duration, at metav1.Time, force bool) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var conn networkingv1beta1.Connection
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &conn); err != nil {
			return err
		}
		v := FormatLatency(d)
		if !force && conn.Status.Value == networkingv1beta1.Connected && conn.Status.Latency.Value == v {
			return nil
		}
		conn.Status = networkingv1beta1.ConnectionStatus{Value: networkingv1beta1.Connected,
			Latency: networkingv1beta1.ConnectionLatency{Value: v, Timestamp: at}}
		return c.Status().Update(ctx, &conn)
	})
	if err != nil {
		return fmt.Errorf("writing the status of Connection %s/%s: %w", ns, name, err)
	}
	return nil
}

// checkWhatLiqoNeeds checks what the CRD schemas accept but Liqo's controllers
// would fail on. It reports key lengths only, never key material.
func checkWhatLiqoNeeds(ctx context.Context, cc, pc client.Client, cid, pid peering.ClusterID, network bool) error {
	if network {
		if err := checkNetworkObjects(ctx, cc, pc, cid, pid); err != nil {
			return err
		}
	}
	var tenant authv1beta1.Tenant
	if err := pc.Get(ctx, client.ObjectKey{Namespace: liqo.TenantNamespace(cid), Name: string(cid)}, &tenant); err != nil {
		return fmt.Errorf("reading the Tenant: %w", err)
	}
	if authv1beta1.GetAuthzPolicyValue(tenant.Spec.AuthzPolicy) != authv1beta1.TolerateNoHandshake {
		return fmt.Errorf("tenant authzPolicy %v, want TolerateNoHandshake", authv1beta1.GetAuthzPolicyValue(tenant.Spec.AuthzPolicy))
	}
	return nil
}

// checkNetworkObjects checks the keys and the gateway server of a peering.
func checkNetworkObjects(ctx context.Context, cc, pc client.Client, cid, pid peering.ClusterID) error {
	for _, s := range []struct {
		c    client.Client
		peer peering.ClusterID
	}{{cc, pid}, {pc, cid}} {
		ns := liqo.TenantNamespace(s.peer)
		var pk networkingv1beta1.PublicKey
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: string(s.peer)}, &pk); err != nil {
			return fmt.Errorf("reading PublicKey %s/%s: %w", ns, s.peer, err)
		}
		if len(pk.Spec.PublicKey) != 32 {
			return fmt.Errorf("PublicKey %s/%s has %d bytes, want 32", ns, pk.Name, len(pk.Spec.PublicKey))
		}
		var secs corev1.SecretList
		if err := s.c.List(ctx, &secs, client.InNamespace(ns), client.MatchingLabels{"networking.liqo.io/gateway-resource": "true", peering.LabelRemoteClusterID: string(s.peer)}); err != nil {
			return fmt.Errorf("listing the key Secrets of %s: %w", ns, err)
		}
		if len(secs.Items) != 1 || len(secs.Items[0].Data["privateKey"]) != 32 || len(secs.Items[0].Data["publicKey"]) != 32 {
			return fmt.Errorf("want exactly one key Secret with 32-byte keys in %s, got %d Secrets", ns, len(secs.Items))
		}
	}
	var gs networkingv1beta1.GatewayServer
	if err := pc.Get(ctx, client.ObjectKey{Namespace: liqo.TenantNamespace(cid), Name: string(cid)}, &gs); err != nil {
		return fmt.Errorf("reading the GatewayServer: %w", err)
	}
	if gs.Spec.Endpoint.ServiceType != corev1.ServiceTypeNodePort {
		return fmt.Errorf("GatewayServer serviceType %q, want NodePort", gs.Spec.Endpoint.ServiceType)
	}
	return nil
}

// CompleteOffloading writes the NamespaceOffloading status Liqo writes once the
// remote namespaces exist on every selected cluster: phase Ready, and
// OffloadingRequired and Ready True per selected cluster ID.
func (p *Player) CompleteOffloading(ctx context.Context, ref peering.NamespaceRef) error {
	p.mu.Lock()
	c := p.clients[ref.Cluster]
	p.mu.Unlock()
	if c == nil {
		return fmt.Errorf("liqoplay: offloading %s: unknown cluster", ref)
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var o offloadingv1beta1.NamespaceOffloading
		if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: liqo.OffloadingName}, &o); err != nil {
			return err
		}
		st := p.offloadingStatus(&o, func(string) bool { return true })
		if sameOffloadingStatus(&o.Status, &st) {
			return nil
		}
		o.Status = st
		return c.Status().Update(ctx, &o)
	})
	if err != nil {
		return fmt.Errorf("liqoplay: offloading %s: %w", ref, err)
	}
	return nil
}

// selectedIDs are the cluster IDs the offloading's cluster selector names.
func selectedIDs(o *offloadingv1beta1.NamespaceOffloading) []string {
	var ids []string
	for _, term := range o.Spec.ClusterSelector.NodeSelectorTerms {
		for _, r := range term.MatchExpressions {
			if r.Key == peering.LabelRemoteClusterID && r.Operator == corev1.NodeSelectorOpIn {
				ids = append(ids, r.Values...)
			}
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// offloadingStatus is the status Liqo writes for o, with a remote namespace on every
// selected cluster ID that has a virtual node (matched reports it).
func (p *Player) offloadingStatus(o *offloadingv1beta1.NamespaceOffloading, matched func(id string) bool) offloadingv1beta1.NamespaceOffloadingStatus {
	now := metav1.NewTime(p.opts.Now())
	st := offloadingv1beta1.NamespaceOffloadingStatus{
		RemoteNamespaceName:        o.Namespace,
		OffloadingPhase:            offloadingv1beta1.NoClusterSelectedOffloadingPhaseType,
		ObservedGeneration:         o.Generation,
		RemoteNamespacesConditions: map[string]offloadingv1beta1.RemoteNamespaceConditions{},
	}
	if o.Spec.NamespaceMappingStrategy == offloadingv1beta1.SelectedNameMappingStrategyType && o.Spec.RemoteNamespaceName != "" {
		st.RemoteNamespaceName = o.Spec.RemoteNamespaceName
	}
	for _, id := range selectedIDs(o) {
		if !matched(id) {
			continue
		}
		st.RemoteNamespacesConditions[id] = offloadingv1beta1.RemoteNamespaceConditions{
			{Type: offloadingv1beta1.NamespaceOffloadingRequired, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: offloadingv1beta1.NamespaceReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		}
		st.OffloadingPhase = offloadingv1beta1.ReadyOffloadingPhaseType
	}
	return st
}

// sameOffloadingStatus compares what Liqo's status says, not its timestamps.
func sameOffloadingStatus(a, b *offloadingv1beta1.NamespaceOffloadingStatus) bool {
	if a.RemoteNamespaceName != b.RemoteNamespaceName || a.OffloadingPhase != b.OffloadingPhase ||
		a.ObservedGeneration != b.ObservedGeneration || len(a.RemoteNamespacesConditions) != len(b.RemoteNamespacesConditions) {
		return false
	}
	for id, ca := range a.RemoteNamespacesConditions {
		cb, ok := b.RemoteNamespacesConditions[id]
		if !ok || len(ca) != len(cb) {
			return false
		}
		for i := range ca {
			if ca[i].Type != cb[i].Type || ca[i].Status != cb[i].Status {
				return false
			}
		}
	}
	return true
}

// Run plays Liqo in the background until ctx ends, then returns nil: every
// Options.Interval it completes new peerings and offloadings and refreshes
// latencies (see the package doc). Errors of a pass go to Options.OnError and the
// pass is retried.
func (p *Player) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if err := p.Step(ctx); err != nil && ctx.Err() == nil && p.opts.OnError != nil {
			p.opts.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step is one pass of Run: it completes every peering and offloading that is not
// complete and refreshes latencies, and returns the errors met (after trying
// everything). Conflicting writes are left for the next pass and not reported.
func (p *Player) Step(ctx context.Context) error {
	var errs []error
	report := func(err error) {
		if err != nil && !apierrors.IsConflict(err) && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	// RV "0" lists are served from the apiserver's watch cache: cheap, and at worst
	// a pass behind.
	cached := &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}}
	seen := map[types.UID]bool{}
	for _, cl := range p.clusters {
		var list authv1beta1.ResourceSliceList
		if err := cl.Client.List(ctx, &list, cached); err != nil {
			report(fmt.Errorf("liqoplay: %s: listing ResourceSlices: %w", cl.Name, err))
			continue
		}
		for i := range list.Items {
			s := &list.Items[i]
			if s.DeletionTimestamp != nil {
				continue
			}
			seen[s.UID] = true
			report(p.playPeering(ctx, cl.Name, s))
		}
	}
	p.mu.Lock()
	for uid := range p.done {
		if !seen[uid] {
			delete(p.done, uid)
		}
	}
	p.mu.Unlock()
	for _, cl := range p.clusters {
		var offs offloadingv1beta1.NamespaceOffloadingList
		if err := cl.Client.List(ctx, &offs, cached); err != nil {
			report(fmt.Errorf("liqoplay: %s: listing NamespaceOffloadings: %w", cl.Name, err))
			continue
		}
		for i := range offs.Items {
			o := &offs.Items[i]
			if o.DeletionTimestamp != nil {
				continue
			}
			report(p.playOffloading(ctx, cl.Name, cl.Client, o))
		}
	}
	return errors.Join(errs...)
}

// playPeering completes the peering of slice on consumer, or refreshes its latency.
func (p *Player) playPeering(ctx context.Context, consumer string, slice *authv1beta1.ResourceSlice) error {
	pid := slice.Name
	if slice.Spec.ProviderClusterID != nil {
		pid = string(*slice.Spec.ProviderClusterID)
	}
	p.mu.Lock()
	provider, known := p.names[peering.ClusterID(pid)]
	st := p.done[slice.UID]
	p.mu.Unlock()
	if !known || p.ID(consumer) == "" || liqo.TenantNamespace(peering.ClusterID(pid)) != slice.Namespace {
		return nil // a slice of an earlier seeding, or not one the backend wrote
	}
	k := peering.Key{Consumer: consumer, Provider: provider}
	now := p.opts.Now()
	if st == nil {
		if err := p.CompletePeering(ctx, k); err != nil {
			return err
		}
		p.mu.Lock()
		p.done[slice.UID] = &peered{consumer: consumer, provider: provider, pid: peering.ClusterID(pid), latency: p.latencyLocked(consumer, provider), at: now}
		p.mu.Unlock()
		return nil
	}
	want := p.Latency(consumer, provider)
	if p.opts.NetworkingDisabled || (want == st.latency && now.Sub(st.at) < p.opts.Refresh) {
		return nil
	}
	cc, pc, cid, pid2, err := p.ends(k)
	if err != nil {
		return err
	}
	at := metav1.NewTime(now)
	if err := writeLatency(ctx, cc, liqo.TenantNamespace(pid2), connectionName(pid2), want, at, true); err != nil {
		return fmt.Errorf("liqoplay: peering %s: %w", k, err)
	}
	if err := writeLatency(ctx, pc, liqo.TenantNamespace(cid), connectionName(cid), want, at, true); err != nil {
		return fmt.Errorf("liqoplay: peering %s: %w", k, err)
	}
	p.mu.Lock()
	st.latency, st.at = want, now
	p.mu.Unlock()
	return nil
}

// playOffloading writes o's status when it does not describe o's spec, with a remote
// namespace on each selected cluster the namespace's cluster has a complete peering
// with.
func (p *Player) playOffloading(ctx context.Context, cluster string, c client.Client, o *offloadingv1beta1.NamespaceOffloading) error {
	p.mu.Lock()
	peeredWith := map[string]bool{}
	for _, st := range p.done {
		if st.consumer == cluster {
			peeredWith[string(st.pid)] = true
		}
	}
	p.mu.Unlock()
	st := p.offloadingStatus(o, func(id string) bool { return peeredWith[id] })
	if sameOffloadingStatus(&o.Status, &st) {
		return nil
	}
	o.Status = st
	if err := c.Status().Update(ctx, o); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("liqoplay: %s: writing the status of NamespaceOffloading %s/%s: %w", cluster, o.Namespace, o.Name, err)
	}
	return nil
}

// Peered returns the peerings Run completed and still sees, as "consumer->provider",
// sorted.
func (p *Player) Peered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, st := range p.done {
		out = append(out, st.consumer+"->"+st.provider)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
