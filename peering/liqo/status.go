package liqo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/peering"
)

func resourceQuantity(n int64) *resource.Quantity { return resource.NewQuantity(n, resource.DecimalSI) }

// ends returns the clients and Liqo cluster IDs of the consumer and provider of k.
func (b *Backend) ends(ctx context.Context, k peering.Key) (cc, pc client.WithWatch, cid, pid peering.ClusterID, err error) {
	if err = k.Validate(); err != nil {
		return
	}
	if cc, err = b.client(k.Consumer); err != nil {
		return
	}
	if pc, err = b.client(k.Provider); err != nil {
		return
	}
	if cid, err = b.ClusterID(ctx, k.Consumer); err != nil {
		return
	}
	pid, err = b.ClusterID(ctx, k.Provider)
	return
}

// GetPeering reads the peering k from Liqo's objects: it exists while its
// ResourceSlice exists on the consumer; the network is established when the
// Connections on both sides are Connected (always, with Options.NetworkingDisabled); authentication and resources are the
// slice's conditions; the virtual node is ready when the VirtualNode exists and a
// Node labelled for the provider is Ready.
func (b *Backend) GetPeering(ctx context.Context, k peering.Key) (*peering.Peering, error) {
	cc, pc, cid, pid, err := b.ends(ctx, k)
	if err != nil {
		return nil, err
	}
	slice, err := b.getSlice(ctx, cc, pid)
	if err != nil {
		return nil, fmt.Errorf("liqo: peering %s: %w", k, err)
	}
	p := &peering.Peering{Key: k, ConsumerID: cid, ProviderID: pid, Deleting: slice.DeletionTimestamp != nil}
	res := slice.Spec.Resources
	p.Resources.CPU, p.Resources.Memory = res[corev1.ResourceCPU], res[corev1.ResourceMemory]
	if pods, ok := res[corev1.ResourcePods]; ok {
		p.Resources.Pods = pods.Value()
	}
	var msgs []string
	for _, c := range slice.Status.Conditions {
		ok := c.Status == authv1beta1.ResourceSliceConditionAccepted
		switch c.Type {
		case authv1beta1.ResourceSliceConditionTypeAuthentication:
			p.AuthenticationAccepted = ok
		case authv1beta1.ResourceSliceConditionTypeResources:
			p.ResourcesAccepted = ok
		}
		if c.Status == authv1beta1.ResourceSliceConditionDenied {
			msgs = append(msgs, fmt.Sprintf("%s denied: %s", c.Type, c.Message))
		}
	}
	if b.opts.NetworkingDisabled {
		// No Liqo network to wait for: this is the backend's rule, not something Liqo
		// reports, so tests of it check the backend only.
		p.NetworkEstablished = true
	} else {
		cOK, lat, cMsg, err := b.connection(ctx, cc, pid)
		if err != nil {
			return nil, fmt.Errorf("liqo: peering %s: consumer side: %w", k, err)
		}
		pOK, _, pMsg, err := b.connection(ctx, pc, cid)
		if err != nil {
			return nil, fmt.Errorf("liqo: peering %s: provider side: %w", k, err)
		}
		p.NetworkEstablished = cOK && pOK
		if cOK {
			p.Latency = lat
		}
		msgs = append(msgs, cMsg, pMsg)
	}
	if p.VirtualNodeReady, err = b.virtualNodeReady(ctx, cc, pid); err != nil {
		return nil, fmt.Errorf("liqo: peering %s: %w", k, err)
	}
	p.Message = strings.Join(slices.DeleteFunc(msgs, func(s string) bool { return s == "" }), "; ")
	return p, nil
}

// connection reads Liqo's Connection to the peer in its tenant namespace: whether
// it is Connected, its fresh latency, and an error message.
func (b *Backend) connection(ctx context.Context, c client.Client, peer peering.ClusterID) (bool, time.Duration, string, error) {
	var conns networkingv1beta1.ConnectionList
	if err := c.List(ctx, &conns, client.InNamespace(TenantNamespace(peer))); err != nil {
		return false, 0, "", fmt.Errorf("listing Connections: %w", err)
	}
	for _, cn := range conns.Items {
		switch cn.Status.Value {
		case networkingv1beta1.Connected:
			var lat time.Duration
			l := cn.Status.Latency
			if d, err := time.ParseDuration(l.Value); err == nil && d > 0 &&
				(l.Timestamp.IsZero() || b.opts.Clock.Since(l.Timestamp.Time) <= b.opts.LatencyMaxAge) {
				lat = d
			}
			return true, lat, "", nil
		case networkingv1beta1.ConnectionError:
			return false, 0, "connection error", nil
		}
	}
	return false, 0, "", nil
}

// virtualNodeReady reports whether the VirtualNode for the provider exists on the
// consumer and a Node labelled for it is Ready.
func (b *Backend) virtualNodeReady(ctx context.Context, cc client.Client, pid peering.ClusterID) (bool, error) {
	var vn offloadingv1beta1.VirtualNode
	err := cc.Get(ctx, client.ObjectKey{Namespace: TenantNamespace(pid), Name: string(pid)}, &vn)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reading the VirtualNode: %w", err)
	}
	var nodes corev1.NodeList
	if err := cc.List(ctx, &nodes, client.MatchingLabels{peering.LabelNodeType: peering.NodeTypeVirtual, labelRemoteClusterID: string(pid)}); err != nil {
		return false, fmt.Errorf("listing virtual Nodes: %w", err)
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
	}
	return false, nil
}

// ListPeerings reads every ordered pair of known clusters that opts keeps. It needs
// every cluster's ID: a cluster without Liqo's cluster-ID ConfigMap fails it with
// ErrNotReady.
func (b *Backend) ListPeerings(ctx context.Context, opts peering.ListOptions) ([]*peering.Peering, error) {
	names := slices.Sorted(maps.Keys(b.clients))
	var out []*peering.Peering
	for _, c := range names {
		for _, p := range names {
			k := peering.Key{Consumer: c, Provider: p}
			if c == p || !opts.Matches(&peering.Peering{Key: k}) {
				continue
			}
			pr, err := b.GetPeering(ctx, k)
			switch {
			case errors.Is(err, peering.ErrNotFound):
				continue
			case err != nil:
				return nil, fmt.Errorf("liqo: listing peerings: %w", err)
			}
			out = append(out, pr)
		}
	}
	peering.SortPeerings(out)
	return out, nil
}

// WatchPeering watches the objects the peering's status comes from (ResourceSlice,
// Connections, VirtualNode and virtual Nodes on the consumer, Connections on the
// provider) and sends the peering's state after each change that alters it.
func (b *Backend) WatchPeering(ctx context.Context, k peering.Key) (<-chan peering.PeeringChange, error) {
	cc, pc, cid, pid, err := b.ends(ctx, k)
	if err != nil {
		return nil, err
	}
	cns, pns := client.InNamespace(TenantNamespace(pid)), client.InNamespace(TenantNamespace(cid))
	sources := []watchSource{
		{cc, &authv1beta1.ResourceSliceList{}, []client.ListOption{cns}},
		{cc, &networkingv1beta1.ConnectionList{}, []client.ListOption{cns}},
		{cc, &offloadingv1beta1.VirtualNodeList{}, []client.ListOption{cns}},
		{cc, &corev1.NodeList{}, []client.ListOption{client.MatchingLabels{labelRemoteClusterID: string(pid)}}},
		{pc, &networkingv1beta1.ConnectionList{}, []client.ListOption{pns}},
	}
	return watchState(ctx, sources, func(ctx context.Context) (peering.PeeringChange, error) {
		p, err := b.GetPeering(ctx, k)
		switch {
		case errors.Is(err, peering.ErrNotFound):
			return peering.PeeringChange{Gone: true}, nil
		case err != nil:
			return peering.PeeringChange{}, err
		}
		return peering.PeeringChange{Peering: p}, nil
	}, func(err error) peering.PeeringChange { return peering.PeeringChange{Err: err} }, samePeeringChange)
}

func samePeeringChange(a, b peering.PeeringChange) bool {
	if a.Gone != b.Gone || (a.Peering == nil) != (b.Peering == nil) {
		return false
	}
	if a.Peering == nil {
		return true
	}
	x, y := *a.Peering, *b.Peering
	if !x.Resources.Equal(y.Resources) {
		return false
	}
	x.Resources, y.Resources = peering.Resources{}, peering.Resources{}
	return x == y
}
