package liqo_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	liqov1beta1 "github.com/liqotech/liqo/apis/core/v1beta1"
	ipamv1alpha1 "github.com/liqotech/liqo/apis/ipam/v1alpha1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// The clusters: home consumes from a and b.
var clusterNames = []string{"home", "a", "b"}

var (
	env *testenv.Env
	// admin are watching admin clients, by cluster name.
	admin = map[string]client.WithWatch{}
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{Clusters: clusterNames, CRDs: testenv.LiqoCRDs})
		if err != nil {
			return nil, err
		}
		for _, c := range e.Clusters {
			wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: e.Scheme})
			if err != nil {
				return nil, errors.Join(err, e.Stop())
			}
			admin[c.Name] = wc
		}
		env = e
		return e.Stop, nil
	})
}

// endpoints are the clusters' endpoints as the backend needs them.
func endpoints() map[string]liqo.Endpoint {
	out := map[string]liqo.Endpoint{}
	for i, c := range env.Clusters {
		out[c.Name] = liqo.Endpoint{APIServer: c.Config.Host, CAData: c.Config.CAData, GatewayAddresses: []string{fmt.Sprintf("192.0.2.%d", i+1)}}
	}
	return out
}

func newBackend(t *testing.T, clients map[string]client.WithWatch) *liqo.Backend {
	t.Helper()
	b, err := liqo.New(clients, liqo.Options{Endpoints: endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// generation makes every seeding of the clusters use fresh cluster IDs.
var generation atomic.Int64

// testLatency is the round-trip time the player reports on every Connection.
const testLatency = 3200 * time.Microsecond

// liqoPlayer is a test helper that PLAYS LIQO'S CONTROLLERS, which cannot run on a
// bare kube-apiserver (they need WireGuard and a virtual kubelet). It writes what
// Liqo writes, with the admin clients and Status().Update() for statuses:
//
//   - seed: what Liqo's installation and IPAM provide on each cluster, the
//     cluster-ID ConfigMap and the pod-cidr/external-cidr Networks with status.cidr.
//     Every seeding gives each cluster a fresh cluster ID ("<name>-g<N>"): deleted
//     namespaces stay Terminating on envtest (no namespace controller), so reusing
//     an ID would make the next peering of the pair write into a Terminating tenant
//     namespace. Fresh IDs give every test fresh tenant namespaces.
//   - completePeering: first checks what Liqo's gateways and authentication would
//     choke on (keys of 32 bytes, NodePort server, TolerateNoHandshake tenant), then
//     writes the Connections on both sides (Connected, with a latency), the
//     ResourceSlice conditions Authentication and Resources Accepted, the
//     ForeignClusters, the VirtualNode and a Ready virtual Node labelled like Liqo's.
//   - completeOffloading: the NamespaceOffloading status Liqo's controllers write:
//     phase Ready and, per selected cluster, OffloadingRequired and Ready True.
type liqoPlayer struct {
	ids map[string]peering.ClusterID
}

// seed gives every cluster fresh Liqo inputs.
func seed(ctx context.Context) (*liqoPlayer, error) {
	g := generation.Add(1)
	p := &liqoPlayer{ids: map[string]peering.ClusterID{}}
	for i, name := range clusterNames {
		c := admin[name]
		id := peering.ClusterID(fmt.Sprintf("%s-g%d", name, g))
		p.ids[name] = id
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: liqo.DefaultLiqoNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "liqo-clusterid-configmap", Namespace: liqo.DefaultLiqoNamespace,
			Labels: map[string]string{"app.kubernetes.io/name": "clusterid-configmap"}}}
		if err := c.Get(ctx, client.ObjectKeyFromObject(cm), cm); apierrors.IsNotFound(err) {
			cm.Data = map[string]string{"CLUSTER_ID": string(id)}
			if err := c.Create(ctx, cm); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		} else {
			cm.Data = map[string]string{"CLUSTER_ID": string(id)}
			if err := c.Update(ctx, cm); err != nil {
				return nil, err
			}
		}
		for j, kind := range []string{"pod-cidr", "external-cidr"} {
			cidr := networkingv1beta1.CIDR(fmt.Sprintf("10.%d.0.0/16", 10*(i+1)+j))
			n := &ipamv1alpha1.Network{ObjectMeta: metav1.ObjectMeta{Name: kind, Namespace: liqo.DefaultLiqoNamespace,
				Labels: map[string]string{"ipam.liqo.io/network-type": kind}}, Spec: ipamv1alpha1.NetworkSpec{CIDR: cidr}}
			if err := c.Create(ctx, n); apierrors.IsAlreadyExists(err) {
				continue
			} else if err != nil {
				return nil, err
			}
			n.Status.CIDR = cidr
			if err := c.Status().Update(ctx, n); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// completePeering does what Liqo does after Peer until the peering k is ready.
func (p *liqoPlayer) completePeering(ctx context.Context, k peering.Key) error {
	cc, pc := admin[k.Consumer], admin[k.Provider]
	cid, pid := p.ids[k.Consumer], p.ids[k.Provider]
	cns, pns := liqo.TenantNamespace(pid), liqo.TenantNamespace(cid)
	if err := checkWhatLiqoNeeds(ctx, cc, pc, cid, pid); err != nil {
		return fmt.Errorf("Liqo would fail on this peering: %w", err)
	}
	// Gateways: a Connection on each side, Connecting then Connected.
	now := metav1.Now()
	for _, s := range []struct {
		c    client.Client
		ns   string
		typ  networkingv1beta1.ConnectionType
		kind string
		gw   peering.ClusterID
	}{{cc, cns, networkingv1beta1.ConnectionTypeClient, "WgGatewayClient", pid}, {pc, pns, networkingv1beta1.ConnectionTypeServer, "WgGatewayServer", cid}} {
		conn := &networkingv1beta1.Connection{
			ObjectMeta: metav1.ObjectMeta{Name: "gw-" + string(s.gw), Namespace: s.ns, Labels: map[string]string{peering.LabelRemoteClusterID: string(s.gw)}},
			Spec: networkingv1beta1.ConnectionSpec{Type: s.typ,
				GatewayRef: corev1.ObjectReference{APIVersion: networkingv1beta1.GroupVersion.String(), Kind: s.kind, Name: string(s.gw), Namespace: s.ns}},
		}
		if err := s.c.Create(ctx, conn); err != nil {
			return err
		}
		conn.Status = networkingv1beta1.ConnectionStatus{Value: networkingv1beta1.Connected,
			Latency: networkingv1beta1.ConnectionLatency{Value: testLatency.String(), Timestamp: now}}
		if err := s.c.Status().Update(ctx, conn); err != nil {
			return err
		}
	}
	// Authentication: the ForeignClusters, then the slice's conditions.
	for _, f := range []struct {
		c  client.Client
		id peering.ClusterID
	}{{cc, pid}, {pc, cid}} {
		fc := &liqov1beta1.ForeignCluster{ObjectMeta: metav1.ObjectMeta{Name: string(f.id)}, Spec: liqov1beta1.ForeignClusterSpec{ClusterID: liqov1beta1.ClusterID(f.id)}}
		if err := f.c.Create(ctx, fc); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	var slice authv1beta1.ResourceSlice
	if err := cc.Get(ctx, client.ObjectKey{Namespace: cns, Name: string(pid)}, &slice); err != nil {
		return err
	}
	slice.Status.Conditions = []authv1beta1.ResourceSliceCondition{
		{Type: authv1beta1.ResourceSliceConditionTypeAuthentication, Status: authv1beta1.ResourceSliceConditionAccepted, LastTransitionTime: now},
		{Type: authv1beta1.ResourceSliceConditionTypeResources, Status: authv1beta1.ResourceSliceConditionAccepted, LastTransitionTime: now},
	}
	slice.Status.Resources = slice.Spec.Resources
	if err := cc.Status().Update(ctx, &slice); err != nil {
		return err
	}
	// Virtual node: the VirtualNode named like the slice, then the Node.
	vn := &offloadingv1beta1.VirtualNode{ObjectMeta: metav1.ObjectMeta{Name: string(pid), Namespace: cns,
		Labels: map[string]string{peering.LabelRemoteClusterID: string(pid)}}, Spec: offloadingv1beta1.VirtualNodeSpec{ClusterID: liqov1beta1.ClusterID(pid)}}
	if err := cc.Create(ctx, vn); err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: string(pid),
		Labels: map[string]string{peering.LabelNodeType: peering.NodeTypeVirtual, peering.LabelRemoteClusterID: string(pid)}}}
	if err := cc.Create(ctx, node); err != nil {
		return err
	}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: now, LastTransitionTime: now}}
	return cc.Status().Update(ctx, node)
}

// checkWhatLiqoNeeds checks what the CRD schemas accept but Liqo's controllers
// would fail on.
func checkWhatLiqoNeeds(ctx context.Context, cc, pc client.Client, cid, pid peering.ClusterID) error {
	for _, s := range []struct {
		c    client.Client
		peer peering.ClusterID
	}{{cc, pid}, {pc, cid}} {
		ns := liqo.TenantNamespace(s.peer)
		var pk networkingv1beta1.PublicKey
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: string(s.peer)}, &pk); err != nil {
			return err
		}
		if len(pk.Spec.PublicKey) != 32 {
			return fmt.Errorf("PublicKey %s/%s has %d bytes, want 32", ns, pk.Name, len(pk.Spec.PublicKey))
		}
		var secs corev1.SecretList
		if err := s.c.List(ctx, &secs, client.InNamespace(ns), client.MatchingLabels{"networking.liqo.io/gateway-resource": "true", peering.LabelRemoteClusterID: string(s.peer)}); err != nil {
			return err
		}
		if len(secs.Items) != 1 || len(secs.Items[0].Data["privateKey"]) != 32 || len(secs.Items[0].Data["publicKey"]) != 32 {
			return fmt.Errorf("want exactly one key Secret with 32-byte keys in %s, got %d Secrets", ns, len(secs.Items))
		}
	}
	var gs networkingv1beta1.GatewayServer
	if err := pc.Get(ctx, client.ObjectKey{Namespace: liqo.TenantNamespace(cid), Name: string(cid)}, &gs); err != nil {
		return err
	}
	if gs.Spec.Endpoint.ServiceType != corev1.ServiceTypeNodePort {
		return fmt.Errorf("GatewayServer serviceType %q, want NodePort", gs.Spec.Endpoint.ServiceType)
	}
	var tenant authv1beta1.Tenant
	if err := pc.Get(ctx, client.ObjectKey{Namespace: liqo.TenantNamespace(cid), Name: string(cid)}, &tenant); err != nil {
		return err
	}
	if authv1beta1.GetAuthzPolicyValue(tenant.Spec.AuthzPolicy) != authv1beta1.TolerateNoHandshake {
		return fmt.Errorf("Tenant authzPolicy %v, want TolerateNoHandshake", authv1beta1.GetAuthzPolicyValue(tenant.Spec.AuthzPolicy))
	}
	return nil
}

// completeOffloading writes the NamespaceOffloading status Liqo writes once the
// remote namespaces exist.
func (p *liqoPlayer) completeOffloading(ctx context.Context, ref peering.NamespaceRef) error {
	c := admin[ref.Cluster]
	var o offloadingv1beta1.NamespaceOffloading
	if err := c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: liqo.OffloadingName}, &o); err != nil {
		return err
	}
	now := metav1.Now()
	o.Status = offloadingv1beta1.NamespaceOffloadingStatus{
		RemoteNamespaceName:        ref.Namespace,
		OffloadingPhase:            offloadingv1beta1.ReadyOffloadingPhaseType,
		ObservedGeneration:         o.Generation,
		RemoteNamespacesConditions: map[string]offloadingv1beta1.RemoteNamespaceConditions{},
	}
	for _, term := range o.Spec.ClusterSelector.NodeSelectorTerms {
		for _, r := range term.MatchExpressions {
			for _, id := range r.Values {
				o.Status.RemoteNamespacesConditions[id] = offloadingv1beta1.RemoteNamespaceConditions{
					{Type: offloadingv1beta1.NamespaceOffloadingRequired, Status: corev1.ConditionTrue, LastTransitionTime: now},
					{Type: offloadingv1beta1.NamespaceReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
				}
			}
		}
	}
	return c.Status().Update(ctx, &o)
}

// harness adapts the backend to peeringtest, on freshly seeded cluster IDs.
type harness struct {
	b      *liqo.Backend
	player *liqoPlayer
}

func (h *harness) Backend() peering.Interface       { return h.b }
func (h *harness) Clusters() (home, a, b string)    { return "home", "a", "b" }
func (h *harness) WaitOptions() peering.WaitOptions { return peering.WaitOptions{} }
func (h *harness) Close()                           {}

func (h *harness) Namespace(ctx context.Context, cluster string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xr-"}}
	if err := admin[cluster].Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

func (h *harness) CompletePeering(ctx context.Context, k peering.Key) error {
	return h.player.completePeering(ctx, k)
}

func (h *harness) CompleteOffloading(ctx context.Context, ref peering.NamespaceRef) error {
	return h.player.completeOffloading(ctx, ref)
}

func request(consumer, provider string) peering.PeerRequest {
	return peering.PeerRequest{Key: peering.Key{Consumer: consumer, Provider: provider},
		Resources: peering.Resources{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), Pods: 110}}
}
