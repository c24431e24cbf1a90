// Package capiplay PLAYS THE CLUSTER API CONTROLLERS (core, the control-plane
// provider and the infrastructure provider) on a management kube-apiserver that has
// the Cluster API v1.14 CRDs but runs no reconciler: it writes the status each of
// them writes per the documented v1beta2 contract, so that provision/capi sees
// clusters become Available, scale and go away.
//
//   - Complete makes a cluster Available for its current spec: CAPI core's finalizer;
//     the infrastructure provider's status.initialization.provisioned (status.ready for
//     v1beta1 kinds such as OpenStackCluster); the control-plane provider's
//     initialization (initialized/ready for k3s) and the <cluster>-kubeconfig Secret
//     (type cluster.x-k8s.io/secret, label cluster.x-k8s.io/cluster-name) with what
//     Options.Kubeconfig returns; the worker MachineDeployment's status; and the
//     Cluster's status: initialization, control-plane and worker counts, every
//     milestone condition True for the current generation, with transition times at
//     Options.Offsets from the Cluster's creation (deterministic timelines).
//   - CompleteDeletion plays CAPI's deletion: it deletes what the Cluster owns (the
//     MachineDeployment, the control plane, the infrastructure cluster, the kubeconfig
//     Secret: envtest has no garbage collector) and removes the finalizers.
//   - Run is the background mode for code that waits on Cluster API like a real
//     program (the placement loop, benchmarks, examples): every Options.Interval it
//     lists the Clusters and completes each whose status does not describe its
//     current spec (new, scaled), Options.Delay after it first saw that spec, and
//     completes the deletion of each Cluster being deleted.
//
// The package imports no testing package. It never logs; the kubeconfig it writes is
// never put in errors (errors writing the Secret keep the apiserver's reason, not its
// message).
//
// # Concurrency
//
// A Player is safe for concurrent use; its writes are idempotent.
package capiplay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/provision/capi"
)

// Finalizer is the finalizer Cluster API core puts on every Cluster it reconciles.
const Finalizer = "cluster.cluster.x-k8s.io"

// DefaultInterval is Run's polling interval when Options.Interval is zero.
const DefaultInterval = 100 * time.Millisecond

// DefaultOffsets returns the milestone offsets from a Cluster's creation that
// Complete stamps on its conditions when Options.Offsets is nil: a plausible cloud
// timeline (infrastructure 15 s, control plane 85 s and 95 s, workers 170 s,
// available 176 s).
func DefaultOffsets() map[provision.Milestone]time.Duration {
	return map[provision.Milestone]time.Duration{
		provision.InfrastructureReady:     15 * time.Second,
		provision.ControlPlaneInitialized: 85 * time.Second,
		provision.ControlPlaneAvailable:   95 * time.Second,
		provision.WorkersAvailable:        170 * time.Second,
		provision.Available:               176 * time.Second,
	}
}

// Options configures New. The zero value works (no kubeconfig Secrets).
type Options struct {
	// Offsets are the milestone transition times, from the Cluster's creation; nil
	// means DefaultOffsets.
	Offsets map[provision.Milestone]time.Duration
	// Kubeconfig returns the kubeconfig the control-plane provider writes into the
	// <cluster>-kubeconfig Secret (e.g. an envtest apiserver standing for the
	// workload cluster). Nil writes no Secret. It holds credentials: the player never
	// logs it nor puts it in errors.
	Kubeconfig func(ref provision.Ref) []byte
	// Namespace limits Run to one namespace; empty means all.
	Namespace string
	// Interval is Run's polling interval; zero means DefaultInterval.
	Interval time.Duration
	// Delay is how long Run leaves a cluster's new spec alone before completing it
	// (provisioning or scaling time); zero completes at the next pass.
	Delay time.Duration
	// OnError receives the errors of Run's passes; nil drops them. A write that lost
	// to a concurrent change is retried at the next pass and not reported.
	OnError func(error)
}

// Player plays Cluster API on one management cluster. Make it with New.
type Player struct {
	c    client.Client
	opts Options

	mu   sync.Mutex
	seen map[seenKey]time.Time // when Run first saw a spec, for Delay
}

type seenKey struct {
	uid           types.UID
	gen, mdGen    int64
	wantedWorkers int32
}

// New returns a player writing through c, an admin client of the management cluster
// whose scheme has Cluster API's core v1beta2 types.
func New(c client.Client, opts Options) *Player {
	if opts.Offsets == nil {
		opts.Offsets = DefaultOffsets()
	} else {
		opts.Offsets = maps.Clone(opts.Offsets)
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	return &Player{c: c, opts: opts, seen: map[seenKey]time.Time{}}
}

// Complete makes the cluster Available for its current spec (see the package doc).
func (p *Player) Complete(ctx context.Context, ref provision.Ref) error {
	if err := p.complete(ctx, ref); err != nil {
		return fmt.Errorf("capiplay: completing %s: %w", ref, err)
	}
	return nil
}

func (p *Player) complete(ctx context.Context, ref provision.Ref) error {
	var cl clusterv1.Cluster
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &cl); err != nil {
		return err
	}
	// Cluster API core adds its finalizer on the first reconcile.
	if controllerutil.AddFinalizer(&cl, Finalizer) {
		if err := p.c.Update(ctx, &cl); err != nil {
			return err
		}
	}
	// Infrastructure provider: status.initialization.provisioned.
	if r := cl.Spec.InfrastructureRef; r.Kind != "" {
		version, status := "v1beta2", map[string]any{"initialization": map[string]any{"provisioned": true}}
		if r.Kind == "OpenStackCluster" {
			version, status = "v1beta1", map[string]any{"ready": true}
		}
		if err := p.patchStatus(ctx, schema.GroupVersionKind{Group: r.APIGroup, Version: version, Kind: r.Kind}, ref.Namespace, r.Name, status); err != nil {
			return err
		}
	}
	// Control-plane provider: initialized, and the kubeconfig Secret.
	if r := cl.Spec.ControlPlaneRef; r.Kind != "" {
		status := map[string]any{"initialization": map[string]any{"controlPlaneInitialized": true}}
		if r.Kind == capi.K3sControlPlaneKind {
			status = map[string]any{"initialized": true, "ready": true}
		}
		if err := p.patchStatus(ctx, schema.GroupVersionKind{Group: r.APIGroup, Version: "v1beta2", Kind: r.Kind}, ref.Namespace, r.Name, status); err != nil {
			return err
		}
	}
	if p.opts.Kubeconfig != nil {
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: capi.KubeconfigSecretName(ref.Name), Namespace: ref.Namespace,
				Labels: map[string]string{clusterv1.ClusterNameLabel: ref.Name}},
			Type: clusterv1.ClusterSecretType,
			Data: map[string][]byte{"value": p.opts.Kubeconfig(ref)},
		}
		if err := p.c.Create(ctx, sec); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating Secret %s/%s: %s (message withheld: the Secret holds credentials)", sec.Namespace, sec.Name, apierrors.ReasonForError(err))
		}
	}
	// Core: the MachineDeployment's and the Cluster's status.
	workers := int32(0)
	var md clusterv1.MachineDeployment
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: capi.MachineDeploymentName(ref.Name)}, &md); err == nil {
		workers = deref(md.Spec.Replicas)
		md.Status.Replicas, md.Status.ReadyReplicas, md.Status.AvailableReplicas = &workers, &workers, &workers
		md.Status.ObservedGeneration = md.Generation
		if err := p.c.Status().Update(ctx, &md); err != nil {
			return err
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	if t := cl.Spec.Topology; t.IsDefined() {
		workers = topologyWorkers(&cl)
	}
	cp := int32(1)
	t := true
	cl.Status.Initialization = clusterv1.ClusterInitializationStatus{InfrastructureProvisioned: &t, ControlPlaneInitialized: &t}
	cl.Status.ControlPlane = &clusterv1.ClusterControlPlaneStatus{DesiredReplicas: &cp, Replicas: &cp, ReadyReplicas: &cp, AvailableReplicas: &cp, UpToDateReplicas: &cp}
	cl.Status.Workers = &clusterv1.WorkersStatus{DesiredReplicas: &workers, Replicas: &workers, ReadyReplicas: &workers, AvailableReplicas: &workers, UpToDateReplicas: &workers}
	for _, m := range provision.Milestones() {
		meta.SetStatusCondition(&cl.Status.Conditions, metav1.Condition{
			Type: string(m), Status: metav1.ConditionTrue, Reason: string(m), ObservedGeneration: cl.Generation,
			LastTransitionTime: metav1.NewTime(cl.CreationTimestamp.Add(p.opts.Offsets[m])),
		})
	}
	cl.Status.Phase = string(clusterv1.ClusterPhaseProvisioned)
	cl.Status.ObservedGeneration = cl.Generation
	return p.c.Status().Update(ctx, &cl)
}

func topologyWorkers(cl *clusterv1.Cluster) int32 {
	var n int32
	for _, md := range cl.Spec.Topology.Workers.MachineDeployments {
		n += deref(md.Replicas)
	}
	return n
}

func deref(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// CompleteDeletion plays Cluster API's deletion of the cluster: it deletes what the
// Cluster owns and removes the finalizers. A missing Cluster is not an error.
func (p *Player) CompleteDeletion(ctx context.Context, ref provision.Ref) error {
	if err := p.completeDeletion(ctx, ref); err != nil {
		return fmt.Errorf("capiplay: deleting %s: %w", ref, err)
	}
	return nil
}

func (p *Player) completeDeletion(ctx context.Context, ref provision.Ref) error {
	var cl clusterv1.Cluster
	if err := p.c.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, &cl); err != nil {
		return client.IgnoreNotFound(err)
	}
	md := &clusterv1.MachineDeployment{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: capi.MachineDeploymentName(ref.Name)}}
	if err := p.c.Delete(ctx, md); client.IgnoreNotFound(err) != nil {
		return err
	}
	for _, r := range []clusterv1.ContractVersionedObjectReference{cl.Spec.ControlPlaneRef, cl.Spec.InfrastructureRef} {
		if r.Kind == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		version := "v1beta2"
		if r.Kind == "OpenStackCluster" {
			version = "v1beta1"
		}
		u.SetGroupVersionKind(schema.GroupVersionKind{Group: r.APIGroup, Version: version, Kind: r.Kind})
		u.SetNamespace(ref.Namespace)
		u.SetName(r.Name)
		if err := p.c.Delete(ctx, u); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	if err := p.c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ref.Namespace, Name: capi.KubeconfigSecretName(ref.Name)}}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the kubeconfig Secret: %s", apierrors.ReasonForError(err))
	}
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	return client.IgnoreNotFound(p.c.Patch(ctx, &cl, client.RawPatch(types.MergePatchType, patch)))
}

func (p *Player) patchStatus(ctx context.Context, gvk schema.GroupVersionKind, ns, name string, status map[string]any) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	data, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	if err := p.c.Status().Patch(ctx, u, client.RawPatch(types.MergePatchType, data)); err != nil {
		return fmt.Errorf("status of %s %s: %w", gvk.Kind, name, err)
	}
	return nil
}

// Run plays Cluster API in the background until ctx ends, then returns nil (see the
// package doc). Errors of a pass go to Options.OnError and the pass is retried.
func (p *Player) Run(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		if err := p.Step(ctx, time.Now()); err != nil && ctx.Err() == nil && p.opts.OnError != nil {
			p.opts.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step is one pass of Run at now: it completes every Cluster whose status does not
// describe its spec (once Options.Delay has passed since the pass that first saw that
// spec) and the deletion of every Cluster being deleted. It returns the errors met
// after trying every Cluster; conflicting writes are not reported.
func (p *Player) Step(ctx context.Context, now time.Time) error {
	var inNS []client.ListOption
	if p.opts.Namespace != "" {
		inNS = append(inNS, client.InNamespace(p.opts.Namespace))
	}
	var clusters clusterv1.ClusterList
	if err := p.c.List(ctx, &clusters, inNS...); err != nil {
		return fmt.Errorf("capiplay: listing Clusters: %w", err)
	}
	var mds clusterv1.MachineDeploymentList
	if err := p.c.List(ctx, &mds, inNS...); err != nil {
		return fmt.Errorf("capiplay: listing MachineDeployments: %w", err)
	}
	byName := map[types.NamespacedName]*clusterv1.MachineDeployment{}
	for i := range mds.Items {
		byName[client.ObjectKeyFromObject(&mds.Items[i])] = &mds.Items[i]
	}
	var errs []error
	live := map[seenKey]bool{}
	for i := range clusters.Items {
		cl := &clusters.Items[i]
		ref := provision.Ref{Namespace: cl.Namespace, Name: cl.Name}
		var err error
		if cl.DeletionTimestamp != nil {
			err = p.CompleteDeletion(ctx, ref)
		} else {
			md := byName[types.NamespacedName{Namespace: cl.Namespace, Name: capi.MachineDeploymentName(cl.Name)}]
			if done(cl, md) {
				continue
			}
			k := seenKey{uid: cl.UID, gen: cl.Generation, wantedWorkers: wanted(cl, md)}
			if md != nil {
				k.mdGen = md.Generation
			}
			live[k] = true
			p.mu.Lock()
			first, ok := p.seen[k]
			if !ok {
				first = now
				p.seen[k] = now
			}
			p.mu.Unlock()
			if now.Sub(first) < p.opts.Delay {
				continue
			}
			err = p.Complete(ctx, ref)
		}
		if err != nil && !apierrors.IsConflict(err) && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	p.mu.Lock()
	for k := range p.seen {
		if !live[k] {
			delete(p.seen, k)
		}
	}
	p.mu.Unlock()
	return errors.Join(errs...)
}

// wanted is the number of workers the cluster's spec asks for.
func wanted(cl *clusterv1.Cluster, md *clusterv1.MachineDeployment) int32 {
	if cl.Spec.Topology.IsDefined() {
		return topologyWorkers(cl)
	}
	if md == nil {
		return 0
	}
	return deref(md.Spec.Replicas)
}

// done reports whether the cluster's status describes its current spec: Complete
// would change nothing that matters.
func done(cl *clusterv1.Cluster, md *clusterv1.MachineDeployment) bool {
	if !controllerutil.ContainsFinalizer(cl, Finalizer) || cl.Status.ObservedGeneration != cl.Generation {
		return false
	}
	c := meta.FindStatusCondition(cl.Status.Conditions, string(provision.Available))
	if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != cl.Generation {
		return false
	}
	w := wanted(cl, md)
	if cl.Status.Workers == nil || deref(cl.Status.Workers.AvailableReplicas) != w || deref(cl.Status.Workers.DesiredReplicas) != w {
		return false
	}
	if md != nil && (md.Status.ObservedGeneration != md.Generation || deref(md.Status.AvailableReplicas) != deref(md.Spec.Replicas)) {
		return false
	}
	return true
}
