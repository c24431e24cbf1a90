package liqo

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	liqov1beta1 "github.com/liqotech/liqo/apis/core/v1beta1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/peering"
)

// Names of the objects a peering writes besides those named after the peer's ID.
const (
	keySecretName      = "gateway-keys"
	identitySecretName = "liqo-identity-controlplane"
	consumerSAName     = "liqo-consumer"
	controlPlaneRBName = "liqo-remote-controlplane"
)

// side is one end of a peering as Peer needs it.
type side struct {
	name     string
	id       peering.ClusterID
	pod, ext string
}

// gatewayKeys is a WireGuard X25519 key pair: raw 32-byte keys.
type gatewayKeys struct{ private, public []byte }

func newGatewayKeys() (gatewayKeys, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return gatewayKeys{}, fmt.Errorf("liqo: generating a WireGuard key: %w", err)
	}
	return gatewayKeys{private: k.Bytes(), public: k.PublicKey().Bytes()}, nil
}

// peerInputs is everything the objects of a peering are made from.
type peerInputs struct {
	liqoNS             string
	consumer, provider side
	resources          peering.Resources
	consumerKeys       gatewayKeys
	providerKeys       gatewayKeys
	endpoint           Endpoint
	nodePort           int32
	// noNetwork leaves out the networking objects (Options.NetworkingDisabled).
	noNetwork bool
}

func labels(remote peering.ClusterID, extra ...string) map[string]string {
	l := map[string]string{labelRemoteClusterID: string(remote)}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func tenantNamespace(remote peering.ClusterID) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: TenantNamespace(remote),
		Labels: labels(remote, labelTenantNamespace, "true")}}
}

// networkObjects are the objects both sides share: Configuration (the peer's
// CIDRs), the key Secret (own keys) and PublicKey (the peer's key).
func networkObjects(self, peer side, own gatewayKeys, peerPublic []byte) []client.Object {
	ns := TenantNamespace(peer.id)
	return []client.Object{
		&networkingv1beta1.Configuration{
			ObjectMeta: metav1.ObjectMeta{Name: string(peer.id), Namespace: ns, Labels: labels(peer.id)},
			Spec: networkingv1beta1.ConfigurationSpec{Remote: networkingv1beta1.ClusterConfig{CIDR: networkingv1beta1.ClusterConfigCIDR{
				Pod: []networkingv1beta1.CIDR{networkingv1beta1.CIDR(peer.pod)}, External: []networkingv1beta1.CIDR{networkingv1beta1.CIDR(peer.ext)},
			}}},
		},
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: keySecretName, Namespace: ns, Labels: labels(peer.id, labelGatewayResource, "true")},
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{keySecretPrivate: own.private, keySecretPublic: own.public},
		},
		&networkingv1beta1.PublicKey{
			ObjectMeta: metav1.ObjectMeta{Name: string(peer.id), Namespace: ns, Labels: labels(peer.id, labelGatewayResource, "true")},
			Spec:       networkingv1beta1.PublicKeySpec{PublicKey: peerPublic},
		},
	}
}

// providerObjects are written on the provider, in the order they are applied.
func providerObjects(in peerInputs) []client.Object {
	c := in.consumer
	ns := TenantNamespace(c.id)
	policy := authv1beta1.TolerateNoHandshake
	nodePort := in.nodePort
	objs := []client.Object{tenantNamespace(c.id)}
	if !in.noNetwork {
		objs = append(objs, networkObjects(in.provider, c, in.providerKeys, in.consumerKeys.public)...)
		objs = append(objs, &networkingv1beta1.GatewayServer{
			ObjectMeta: metav1.ObjectMeta{Name: string(c.id), Namespace: ns, Labels: labels(c.id)},
			Spec: networkingv1beta1.GatewayServerSpec{
				ServerTemplateRef: corev1.ObjectReference{APIVersion: networkingv1beta1.GroupVersion.String(), Kind: "WgGatewayServerTemplate", Name: ServerTemplate, Namespace: in.liqoNS},
				MTU:               GatewayMTU,
				Endpoint:          networkingv1beta1.Endpoint{Port: GatewayPort, ServiceType: corev1.ServiceTypeNodePort, NodePort: &nodePort},
				SecretRef:         corev1.LocalObjectReference{Name: keySecretName},
			},
		})
	}
	return append(objs,
		&authv1beta1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Name: string(c.id), Namespace: ns, Labels: labels(c.id)},
			Spec:       authv1beta1.TenantSpec{ClusterID: liqov1beta1.ClusterID(c.id), AuthzPolicy: &policy, TenantCondition: authv1beta1.TenantConditionActive},
		},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: consumerSAName, Namespace: ns, Labels: labels(c.id)}},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: controlPlaneRBName, Namespace: ns, Labels: labels(c.id)},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: RemoteControlPlaneClusterRole},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: consumerSAName, Namespace: ns}},
		},
	)
}

// consumerObjects are written on the consumer, in the order they are applied (the
// ResourceSlice last: its presence is what makes the peering exist).
func consumerObjects(in peerInputs, kubeconfig []byte) []client.Object {
	p := in.provider
	ns := TenantNamespace(p.id)
	udp := corev1.ProtocolUDP
	pid := liqov1beta1.ClusterID(p.id)
	objs := []client.Object{tenantNamespace(p.id)}
	if !in.noNetwork {
		objs = append(objs, networkObjects(in.consumer, p, in.consumerKeys, in.providerKeys.public)...)
		objs = append(objs, &networkingv1beta1.GatewayClient{
			ObjectMeta: metav1.ObjectMeta{Name: string(p.id), Namespace: ns, Labels: labels(p.id)},
			Spec: networkingv1beta1.GatewayClientSpec{
				ClientTemplateRef: corev1.ObjectReference{APIVersion: networkingv1beta1.GroupVersion.String(), Kind: "WgGatewayClientTemplate", Name: ClientTemplate, Namespace: in.liqoNS},
				MTU:               GatewayMTU,
				Endpoint:          networkingv1beta1.EndpointStatus{Addresses: in.endpoint.GatewayAddresses, Port: in.nodePort, Protocol: &udp},
				SecretRef:         corev1.LocalObjectReference{Name: keySecretName},
			},
		})
	}
	return append(objs,
		&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: identitySecretName, Namespace: ns,
				Labels:      labels(p.id, labelIdentityType, identityControlPlane),
				Annotations: map[string]string{annotRemoteTenantNS: TenantNamespace(in.consumer.id)}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{kubeconfigKey: kubeconfig},
		},
		&authv1beta1.ResourceSlice{
			ObjectMeta: metav1.ObjectMeta{Name: string(p.id), Namespace: ns,
				Labels:      labels(p.id, labelReplication, "true", labelRemoteID, string(p.id)),
				Annotations: map[string]string{annotCreateVirtualNod: "true"}},
			Spec: authv1beta1.ResourceSliceSpec{Class: authv1beta1.ResourceSliceClassDefault, ProviderClusterID: &pid, Resources: resourceList(in.resources)},
		},
	)
}

func resourceList(r peering.Resources) corev1.ResourceList {
	l := corev1.ResourceList{}
	if !r.CPU.IsZero() {
		l[corev1.ResourceCPU] = r.CPU
	}
	if !r.Memory.IsZero() {
		l[corev1.ResourceMemory] = r.Memory
	}
	if r.Pods != 0 {
		l[corev1.ResourcePods] = *resourceQuantity(r.Pods)
	}
	return l
}

// kubeconfig renders the provider's API with the consumer's token, its context
// namespace the provider's tenant namespace for the consumer.
func kubeconfig(ep Endpoint, providerID, consumerID peering.ClusterID, token string) ([]byte, error) {
	name := string(providerID)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: ep.APIServer, CertificateAuthorityData: ep.CAData}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: TenantNamespace(consumerID)}
	cfg.CurrentContext = name
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, errors.New("liqo: rendering the consumer's kubeconfig failed") // never quote the config
	}
	return out, nil
}

// Peer writes Liqo's declarative peering req.Consumer -> req.Provider on both
// clusters and returns without waiting. Liqo shares one network per pair, so a
// peering the other way round is refused (ErrInvalid).
func (b *Backend) Peer(ctx context.Context, req peering.PeerRequest) error {
	_, _, err := b.peer(ctx, req, false)
	return err
}

// PlanPeer is Peer's dry run: it reads the inputs from both clusters and checks the
// peering could be made, writes nothing, and returns the objects Peer would write on
// the provider and on the consumer, in order. The WireGuard keys and the consumer's
// token are made only when peering, so their Secrets show a placeholder: the output
// is for review, not for applying.
func (b *Backend) PlanPeer(ctx context.Context, req peering.PeerRequest) (provider, consumer []client.Object, err error) {
	return b.peer(ctx, req, true)
}

// dryRunPlaceholder stands for key material and tokens in PlanPeer's objects.
const dryRunPlaceholder = "<generated when peering>"

func (b *Backend) peer(ctx context.Context, req peering.PeerRequest, dryRun bool) (provider, consumer []client.Object, err error) {
	if err := req.Validate(); err != nil {
		return nil, nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cc, err := b.client(req.Consumer)
	if err != nil {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
	}
	pc, err := b.client(req.Provider)
	if err != nil {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
	}
	ep, ok := b.opts.Endpoints[req.Provider]
	if !ok || ep.APIServer == "" || (len(ep.GatewayAddresses) == 0 && !b.opts.NetworkingDisabled) {
		return nil, nil, fmt.Errorf("liqo: peer %s: Options.Endpoints[%s]: need the provider's API server and gateway addresses: %w", req.Key, req.Provider, peering.ErrInvalid)
	}
	in := peerInputs{liqoNS: b.opts.LiqoNamespace, resources: req.Resources, endpoint: ep, noNetwork: b.opts.NetworkingDisabled}
	for _, s := range []struct {
		name string
		to   *side
	}{{req.Consumer, &in.consumer}, {req.Provider, &in.provider}} {
		s.to.name = s.name
		if s.to.id, err = b.ClusterID(ctx, s.name); err != nil {
			return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
		}
		if in.noNetwork {
			continue
		}
		if s.to.pod, s.to.ext, err = b.cidrs(ctx, s.name); err != nil {
			return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
		}
	}
	if _, err := b.getSlice(ctx, cc, in.provider.id); err == nil {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, peering.ErrAlreadyPeered)
	} else if !errors.Is(err, peering.ErrNotFound) {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
	}
	if _, err := b.getSlice(ctx, pc, in.consumer.id); err == nil {
		return nil, nil, fmt.Errorf("liqo: peer %s: the reverse peering exists; Liqo shares one network per pair, which this backend does not manage: %w", req.Key, peering.ErrInvalid)
	} else if !errors.Is(err, peering.ErrNotFound) {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
	}
	in.nodePort = b.opts.GatewayNodePort(in.consumer.id, in.provider.id)
	if dryRun {
		ph := []byte(dryRunPlaceholder)
		in.consumerKeys, in.providerKeys = gatewayKeys{ph, ph}, gatewayKeys{ph, ph}
		kc, err := kubeconfig(ep, in.provider.id, in.consumer.id, dryRunPlaceholder)
		if err != nil {
			return nil, nil, err
		}
		return providerObjects(in), consumerObjects(in, kc), nil
	}
	if !in.noNetwork {
		if in.consumerKeys, err = newGatewayKeys(); err != nil {
			return nil, nil, err
		}
		if in.providerKeys, err = newGatewayKeys(); err != nil {
			return nil, nil, err
		}
	}
	for _, o := range providerObjects(in) {
		if err := b.apply(ctx, pc, o); err != nil {
			return nil, nil, fmt.Errorf("liqo: peer %s: provider side: %w", req.Key, err)
		}
	}
	token, err := b.consumerToken(ctx, pc, in.consumer.id)
	if err != nil {
		return nil, nil, fmt.Errorf("liqo: peer %s: %w", req.Key, err)
	}
	kc, err := kubeconfig(ep, in.provider.id, in.consumer.id, token)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range consumerObjects(in, kc) {
		if err := b.apply(ctx, cc, o); err != nil {
			return nil, nil, fmt.Errorf("liqo: peer %s: consumer side: %w", req.Key, err)
		}
	}
	return nil, nil, nil
}

// consumerToken issues a token of the consumer's ServiceAccount on the provider.
func (b *Backend) consumerToken(ctx context.Context, pc client.Client, consumer peering.ClusterID) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: consumerSAName, Namespace: TenantNamespace(consumer)}}
	secs := int64(b.opts.TokenTTL.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}
	if err := pc.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("liqo: requesting the consumer's token on the provider: %w", redact(err))
	}
	if tr.Status.Token == "" {
		return "", fmt.Errorf("liqo: the provider issued an empty token: %w", peering.ErrNotReady)
	}
	return tr.Status.Token, nil
}

// Unpeer deletes what Peer wrote, on both clusters, in Liqo's order (liqoctl
// unpeer): first the offloading part, the ResourceSlice on the consumer, waiting
// until Liqo has removed it (Liqo's CRD replicator deletes the slice's replica on the
// provider with the consumer's credentials there, so those must outlive it), and
// the VirtualNodes for the provider, waiting until Liqo has removed them (after the
// virtual Node and the virtual kubelet); then
// the authentication and networking objects on both sides; last the tenant
// namespaces. Each wait is bounded by ctx and Options.UnpeerTimeout; when one ends
// first the error wraps ErrNotReady. Calling Unpeer again resumes only while the
// ResourceSlice still exists (it is what makes the peering exist): once it is gone, a
// second call reports ErrNotPeered and leaves what the first did not delete
// (VirtualNodes, credentials, tenant namespaces). It refuses
// while a namespace of the consumer is offloaded to the provider (ErrInvalid naming
// the namespaces).
func (b *Backend) Unpeer(ctx context.Context, k peering.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, err := b.GetPeering(ctx, k)
	switch {
	case errors.Is(err, peering.ErrNotFound):
		return fmt.Errorf("liqo: unpeer %s: %w", k, peering.ErrNotPeered)
	case err != nil:
		return fmt.Errorf("liqo: unpeer %s: %w", k, err)
	}
	cc, pc := b.clients[k.Consumer], b.clients[k.Provider]
	var offs offloadingv1beta1.NamespaceOffloadingList
	if err := cc.List(ctx, &offs); err != nil {
		return fmt.Errorf("liqo: unpeer %s: listing offloadings: %w", k, err)
	}
	var using []string
	for _, o := range offs.Items {
		if o.DeletionTimestamp == nil && targetsOf(&o)[p.ProviderID] {
			using = append(using, o.Namespace)
		}
	}
	if len(using) > 0 {
		return fmt.Errorf("liqo: unpeer %s: namespaces %s are offloaded to %s; unoffload them first: %w", k, strings.Join(using, ", "), k.Provider, peering.ErrInvalid)
	}
	in := peerInputs{liqoNS: b.opts.LiqoNamespace, consumer: side{id: p.ConsumerID}, provider: side{id: p.ProviderID}}
	cons := consumerObjects(in, nil)
	slice := cons[len(cons)-1]
	if err := deleteIgnoringMissing(ctx, cc, slice); err != nil {
		return fmt.Errorf("liqo: unpeer %s: consumer side: %w", k, err)
	}
	if err := b.waitGone(ctx, cc, slice); err != nil {
		return fmt.Errorf("liqo: unpeer %s: %w", k, err)
	}
	// Then the VirtualNodes, as liqoctl does: Liqo drains and deletes the virtual
	// Node and the virtual kubelet before it lets a VirtualNode go; a Node left behind
	// makes Liqo's webhook refuse the VirtualNode of the next peering of the pair.
	var vns offloadingv1beta1.VirtualNodeList
	if err := cc.List(ctx, &vns, client.InNamespace(TenantNamespace(p.ProviderID)), client.MatchingLabels{labelRemoteClusterID: string(p.ProviderID)}); err != nil {
		return fmt.Errorf("liqo: unpeer %s: listing VirtualNodes: %w", k, err)
	}
	for i := range vns.Items {
		vn := &vns.Items[i]
		if err := deleteIgnoringMissing(ctx, cc, vn); err != nil {
			return fmt.Errorf("liqo: unpeer %s: consumer side: %w", k, err)
		}
		if err := b.waitGone(ctx, cc, vn); err != nil {
			return fmt.Errorf("liqo: unpeer %s: %w", k, err)
		}
	}
	for _, o := range providerObjects(in)[1:] {
		if err := deleteIgnoringMissing(ctx, pc, o); err != nil {
			return fmt.Errorf("liqo: unpeer %s: provider side: %w", k, err)
		}
	}
	for _, o := range cons[1 : len(cons)-1] {
		if err := deleteIgnoringMissing(ctx, cc, o); err != nil {
			return fmt.Errorf("liqo: unpeer %s: consumer side: %w", k, err)
		}
	}
	if err := deleteIgnoringMissing(ctx, pc, tenantNamespace(p.ConsumerID)); err != nil {
		return fmt.Errorf("liqo: unpeer %s: provider side: %w", k, err)
	}
	if err := deleteIgnoringMissing(ctx, cc, cons[0]); err != nil {
		return fmt.Errorf("liqo: unpeer %s: consumer side: %w", k, err)
	}
	return nil
}

// unpeerPoll is how often Unpeer and Unoffload look whether Liqo has removed an
// object.
const unpeerPoll = 100 * time.Millisecond

// waitGone waits until obj no longer exists (Liqo's finalizers are done), bounded by
// ctx and Options.UnpeerTimeout.
func (b *Backend) waitGone(ctx context.Context, c client.Client, obj client.Object) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.UnpeerTimeout)
	defer cancel()
	key := client.ObjectKeyFromObject(obj)
	probe := obj.DeepCopyObject().(client.Object)
	tick := time.NewTicker(unpeerPoll)
	defer tick.Stop()
	for {
		err := c.Get(ctx, key, probe)
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("waiting for Liqo to remove %T %s: %w", obj, key, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%T %s not yet removed by Liqo (finalizers %v); call again: %w (%w)", obj, key, probe.GetFinalizers(), peering.ErrNotReady, ctx.Err())
		case <-tick.C:
		}
	}
}

// getSlice reads the ResourceSlice of the peering consumer -> provider on the
// consumer; ErrNotFound when there is none.
func (b *Backend) getSlice(ctx context.Context, cc client.Client, provider peering.ClusterID) (*authv1beta1.ResourceSlice, error) {
	var s authv1beta1.ResourceSlice
	err := cc.Get(ctx, client.ObjectKey{Namespace: TenantNamespace(provider), Name: string(provider)}, &s)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("liqo: no ResourceSlice %s/%s: %w", TenantNamespace(provider), provider, peering.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("liqo: reading ResourceSlice %s/%s: %w", TenantNamespace(provider), provider, err)
	}
	return &s, nil
}
