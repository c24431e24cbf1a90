package liqo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sync"
	"time"

	ipamv1alpha1 "github.com/liqotech/liqo/apis/ipam/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/peering"
)

// Defaults and names of Liqo v1.0.1 the backend relies on.
const (
	// DefaultLiqoNamespace is the namespace Liqo is installed in when
	// Options.LiqoNamespace is empty.
	DefaultLiqoNamespace = "liqo"
	// DefaultFieldManager is the server-side apply field manager when
	// Options.FieldManager is empty.
	DefaultFieldManager = "continuum-peering"
	// DefaultTokenTTL is the lifetime of the consumer's token when
	// Options.TokenTTL is zero.
	DefaultTokenTTL = 30 * 24 * time.Hour
	// DefaultUnpeerTimeout bounds each of Unpeer's and Unoffload's waits for Liqo (the
	// ResourceSlice, each VirtualNode, the NamespaceOffloading) when
	// Options.UnpeerTimeout is zero.
	DefaultUnpeerTimeout = 2 * time.Minute
	// DefaultLatencyMaxAge bounds the age of Liqo's latency measurement when
	// Options.LatencyMaxAge is zero: Liqo's gateway refreshes it every few seconds.
	DefaultLatencyMaxAge = time.Minute
	// GatewayPort is the port of the WireGuard gateway server (liqoctl's default).
	GatewayPort = 51840
	// GatewayMTU is the MTU of the WireGuard tunnel (liqoctl's default).
	GatewayMTU = 1340
	// OffloadingName is the name Liqo's pod webhook looks a NamespaceOffloading up by.
	OffloadingName = "offloading"
	// RemoteControlPlaneClusterRole is the ClusterRole the consumer's credentials are
	// bound to on the provider, in its tenant namespace.
	RemoteControlPlaneClusterRole = "liqo-remote-controlplane"
	// ServerTemplate and ClientTemplate are the WireGuard gateway templates Liqo
	// installs in its namespace.
	ServerTemplate = "wireguard-server"
	ClientTemplate = "wireguard-client"
)

// Labels, annotations and keys of Liqo (github.com/liqotech/liqo/pkg/consts).
const (
	labelRemoteClusterID  = peering.LabelRemoteClusterID
	labelTenantNamespace  = "liqo.io/tenant-namespace"
	labelGatewayResource  = "networking.liqo.io/gateway-resource"
	labelIdentityType     = "liqo.io/identity-type"
	labelReplication      = "liqo.io/replication"
	labelRemoteID         = "liqo.io/remoteID"
	labelNetworkType      = "ipam.liqo.io/network-type"
	labelClusterIDConfig  = "app.kubernetes.io/name"
	clusterIDConfigValue  = "clusterid-configmap"
	clusterIDKey          = "CLUSTER_ID"
	annotRemoteTenantNS   = "liqo.io/remote-tenant-namespace"
	annotCreateVirtualNod = "liqo.io/create-virtual-node"
	identityControlPlane  = "ControlPlane"
	networkPodCIDR        = "pod-cidr"
	networkExternalCIDR   = "external-cidr"
	keySecretPrivate      = "privateKey"
	keySecretPublic       = "publicKey"
	kubeconfigKey         = "kubeconfig"
)

// Endpoint is how the other clusters reach one cluster: its API server (written into
// the kubeconfig a consumer gets) and the addresses of its nodes (where the
// consumer's WireGuard client dials the provider's NodePort gateway).
type Endpoint struct {
	// APIServer is the URL of the cluster's API server as the other clusters reach it.
	APIServer string
	// CAData is the PEM CA bundle of that API server.
	CAData []byte
	// GatewayAddresses are node addresses of the cluster reachable from the others.
	GatewayAddresses []string
}

// Options configures New.
type Options struct {
	// LiqoNamespace is where Liqo runs on every cluster; empty means "liqo".
	LiqoNamespace string
	// Endpoints maps every cluster that may be a provider to its Endpoint. Peer
	// refuses a provider without one (ErrInvalid).
	Endpoints map[string]Endpoint
	// GatewayNodePort picks the NodePort of the gateway server of the peering
	// consumer -> provider (both cluster IDs); nil means a hash of the pair in
	// 30000-32767, which two pairs of one provider may share (then Liqo's gateway
	// Service fails for the second).
	GatewayNodePort func(consumer, provider peering.ClusterID) int32
	// FieldManager is the server-side apply field manager; empty means
	// DefaultFieldManager.
	FieldManager string
	// TokenTTL is the lifetime of the consumer's ServiceAccount token on the
	// provider; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	// LatencyMaxAge ignores a latency Liqo measured longer ago; zero means
	// DefaultLatencyMaxAge.
	LatencyMaxAge time.Duration
	// UnpeerTimeout bounds Unpeer's wait for Liqo to remove the ResourceSlice before
	// the credentials go, and Unoffload's wait for Liqo to remove the
	// NamespaceOffloading (after the remote namespaces); zero means
	// DefaultUnpeerTimeout.
	UnpeerTimeout time.Duration
	// Clock tells the age of latency measurements; nil means the real clock.
	Clock clock.PassiveClock
	// NetworkingDisabled peers without Liqo's network fabric, as `liqoctl peer
	// --networking-disabled` does and as Liqo runs with --networking-enabled=false:
	// authentication and offloading only, for clusters joined by another
	// interconnect (Submariner, a routed underlay). Peer then writes no
	// Configuration, key Secret, PublicKey, GatewayServer or GatewayClient, reads no
	// CIDRs and needs no GatewayAddresses. Liqo makes no Connection: a peering reports
	// NetworkEstablished (there is no Liqo network to wait for) and no Latency, so the
	// loop must take latency from another metrics source (the prober, a static one).
	NetworkingDisabled bool
}

// Backend is the Liqo v1 peering.Interface over one controller-runtime client per
// cluster. Make it with New; it is safe for concurrent use.
type Backend struct {
	clients map[string]client.WithWatch
	opts    Options
	// mu serialises Peer and Unpeer, so that two peerings of one pair from this
	// Backend cannot interleave their keys.
	mu sync.Mutex
}

var _ peering.Interface = (*Backend)(nil)

// New returns a backend over clients (cluster name -> client whose scheme has
// Liqo's v1beta1 types, ipam/v1alpha1 and the Kubernetes types).
func New(clients map[string]client.WithWatch, opts Options) (*Backend, error) {
	if len(clients) == 0 {
		return nil, fmt.Errorf("liqo: New: name at least one cluster: %w", peering.ErrInvalid)
	}
	for _, name := range slices.Sorted(maps.Keys(clients)) {
		if !decode.IsDNSLabel(name) || clients[name] == nil {
			return nil, fmt.Errorf("liqo: New: cluster %q: need a DNS label name and a client: %w", name, peering.ErrInvalid)
		}
	}
	if opts.LiqoNamespace == "" {
		opts.LiqoNamespace = DefaultLiqoNamespace
	}
	if opts.FieldManager == "" {
		opts.FieldManager = DefaultFieldManager
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.LatencyMaxAge <= 0 {
		opts.LatencyMaxAge = DefaultLatencyMaxAge
	}
	if opts.UnpeerTimeout <= 0 {
		opts.UnpeerTimeout = DefaultUnpeerTimeout
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.GatewayNodePort == nil {
		opts.GatewayNodePort = hashNodePort
	}
	return &Backend{clients: maps.Clone(clients), opts: opts}, nil
}

func hashNodePort(consumer, provider peering.ClusterID) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(string(consumer) + "/" + string(provider)))
	return 30000 + int32(h.Sum32()%2768)
}

// TenantNamespace is the name of the tenant namespace for the peer cluster id.
func TenantNamespace(id peering.ClusterID) string { return "liqo-tenant-" + string(id) }

func (b *Backend) client(name string) (client.WithWatch, error) {
	c, ok := b.clients[name]
	if !ok {
		return nil, fmt.Errorf("liqo: unknown cluster %q: %w", name, peering.ErrNotFound)
	}
	return c, nil
}

// ClusterID reads the Liqo cluster ID of the named cluster from the ConfigMap Liqo
// keeps in its namespace (label app.kubernetes.io/name=clusterid-configmap, key
// CLUSTER_ID). A missing or invalid ID gives an error wrapping ErrNotReady.
func (b *Backend) ClusterID(ctx context.Context, name string) (peering.ClusterID, error) {
	c, err := b.client(name)
	if err != nil {
		return "", err
	}
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms, client.InNamespace(b.opts.LiqoNamespace), client.MatchingLabels{labelClusterIDConfig: clusterIDConfigValue}); err != nil {
		return "", fmt.Errorf("liqo: cluster %s: reading the cluster ID: %w", name, err)
	}
	if len(cms.Items) != 1 {
		return "", fmt.Errorf("liqo: cluster %s: %d cluster-ID ConfigMaps in %s, want 1 (is Liqo installed?): %w", name, len(cms.Items), b.opts.LiqoNamespace, peering.ErrNotReady)
	}
	id := cms.Items[0].Data[clusterIDKey]
	if !decode.IsDNSLabel(id) {
		return "", fmt.Errorf("liqo: cluster %s: cluster ID %q is not a DNS label: %w", name, id, peering.ErrNotReady)
	}
	return peering.ClusterID(id), nil
}

// cidrs reads the pod and external CIDRs Liqo's IPAM allocated on the cluster.
func (b *Backend) cidrs(ctx context.Context, name string) (pod, external string, err error) {
	c, err := b.client(name)
	if err != nil {
		return "", "", err
	}
	read := func(kind string) (string, error) {
		var nets ipamv1alpha1.NetworkList
		if err := c.List(ctx, &nets, client.InNamespace(b.opts.LiqoNamespace), client.MatchingLabels{labelNetworkType: kind}); err != nil {
			return "", fmt.Errorf("liqo: cluster %s: reading the %s network: %w", name, kind, err)
		}
		if len(nets.Items) != 1 || nets.Items[0].Status.CIDR == "" {
			return "", fmt.Errorf("liqo: cluster %s: no %s network with status.cidr in %s (Liqo's IPAM has not allocated it): %w", name, kind, b.opts.LiqoNamespace, peering.ErrNotReady)
		}
		return string(nets.Items[0].Status.CIDR), nil
	}
	if pod, err = read(networkPodCIDR); err != nil {
		return "", "", err
	}
	external, err = read(networkExternalCIDR)
	return pod, external, err
}

// ids reads the cluster ID of every cluster, by name.
func (b *Backend) ids(ctx context.Context) (map[string]peering.ClusterID, error) {
	out := make(map[string]peering.ClusterID, len(b.clients))
	for name := range b.clients {
		id, err := b.ClusterID(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = id
	}
	return out, nil
}

// apply writes obj with server-side apply (the field manager owns what it sets).
// Secrets' errors are redacted: an apiserver message may quote the object.
func (b *Backend) apply(ctx context.Context, c client.Client, obj client.Object) error {
	gvk, err := c.GroupVersionKindFor(obj)
	if err != nil {
		return fmt.Errorf("liqo: %T: %w", obj, err)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("liqo: encoding %s: %w", gvk.Kind, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("liqo: encoding %s: %w", gvk.Kind, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(b.opts.FieldManager), client.ForceOwnership); err != nil {
		if gvk.Kind == "Secret" {
			err = redact(err)
		}
		return fmt.Errorf("liqo: applying %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// redactedError is an apiserver error without its message and details, which may
// quote a Secret's data. It keeps the status, so apierrors.IsForbidden and the like
// still work.
type redactedError struct{ status metav1.Status }

func (e *redactedError) Error() string {
	return fmt.Sprintf("%s (HTTP %d; message withheld: the object holds credentials)", e.status.Reason, e.status.Code)
}

// Status returns the status without message and details.
func (e *redactedError) Status() metav1.Status { return e.status }

func redact(err error) error {
	var s apierrors.APIStatus
	if !errors.As(err, &s) {
		return err
	}
	st := s.Status()
	return &redactedError{status: metav1.Status{Status: st.Status, Code: st.Code, Reason: st.Reason}}
}

// deleteIgnoringMissing deletes obj, treating "already gone" as success.
func deleteIgnoringMissing(ctx context.Context, c client.Client, obj client.Object) error {
	if err := c.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("liqo: deleting %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}
