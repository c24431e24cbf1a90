package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterfake "open-cluster-management.io/api/client/cluster/clientset/versioned/fake"
	clusterapiv1 "open-cluster-management.io/api/cluster/v1"
	clusterapiv1beta1 "open-cluster-management.io/api/cluster/v1beta1"
	"open-cluster-management.io/ocm/pkg/placement/controllers/scheduling"
	testinghelpers "open-cluster-management.io/ocm/pkg/placement/helpers/testing"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
)

// Labels the managed clusters carry, so that OCM's label predicates can express what
// a component's Allowed lists and UDP ports restrict.
const (
	labelName   = "continuum.xr/name"
	labelTier   = "continuum.xr/tier"
	labelOwner  = "continuum.xr/owner"
	labelRegion = "continuum.xr/region"
	labelUDP    = "continuum.xr/udp"
)

// component is one component of the instance, with the OCM Placement that stands
// for it.
type component struct {
	app, name string
	replicas  int
	cpu, mem  resource.Quantity // per replica
	placement *clusterapiv1beta1.Placement
}

// instance is one generated problem in both worlds: continuum's applications on a
// topology, and the same clusters as OCM ManagedClusters with one Placement per
// component.
type instance struct {
	in         pt.Instance
	clusters   []*clusterapiv1.ManagedCluster
	components []component
	scheduler  scheduling.Scheduler
}

// newInstance generates a problem with placementtest (seed 1, a planted feasible
// placement) and translates it for OCM: a ManagedCluster per cluster with its CPU and
// memory as allocatable and capacity and its tier, owner, region, name and UDP
// exposure as labels; a Placement per component asking for as many clusters as the
// component has replicas, its Allowed lists and UDP ports as a required label
// selector, prioritized by OCM's resource prioritizers (ResourceAllocatableCPU and
// ResourceAllocatableMemory, weight 1) on top of the default ones (Balance, Steady).
func newInstance(clusters, components int) instance {
	in := pt.Generate(1, pt.GenOptions{Clusters: clusters, Components: components, Planted: true})
	inst := instance{in: in}
	for _, c := range in.Topology.Clusters() {
		cpu, mem := c.Capacity[topology.ResourceCPU], c.Capacity[topology.ResourceMemory]
		mc := testinghelpers.NewManagedCluster(c.Name).
			WithLabel(labelName, c.Name).WithLabel(labelTier, string(c.Tier)).
			WithLabel(labelOwner, c.Owner).WithLabel(labelRegion, c.Region).
			WithLabel(labelUDP, fmt.Sprint(c.UDPExposure)).
			WithResource(clusterapiv1.ResourceCPU, cpu.String(), cpu.String()).
			WithResource(clusterapiv1.ResourceMemory, mem.String(), mem.String()).
			Build()
		inst.clusters = append(inst.clusters, mc)
	}
	for _, app := range in.Apps {
		for _, comp := range app.Components {
			inst.components = append(inst.components, translate(app.Metadata.Name, comp))
		}
	}
	handle := testinghelpers.NewFakePluginHandle(nil, clusterfake.NewSimpleClientset())
	inst.scheduler = scheduling.NewPluginScheduler(handle)
	return inst
}

// translate makes the OCM Placement of a component (see newInstance).
func translate(app string, comp placement.Component) component {
	replicas := max(comp.Replicas, 1)
	p := testinghelpers.NewPlacement(app, comp.Name).
		WithNOC(int32(replicas)).
		WithPrioritizerPolicy(clusterapiv1beta1.PrioritizerPolicyModeAdditive).
		WithPrioritizerConfig(scheduling.PrioritizerResourceAllocatableCPU, 1).
		WithPrioritizerConfig(scheduling.PrioritizerResourceAllocatableMemory, 1).
		Build()
	if sel := selector(comp); len(sel) > 0 {
		p.Spec.Predicates = []clusterapiv1beta1.ClusterPredicate{{RequiredClusterSelector: clusterapiv1beta1.ClusterSelector{
			LabelSelector: metav1.LabelSelector{MatchExpressions: sel}}}}
	}
	return component{app: app, name: comp.Name, replicas: replicas, placement: p,
		cpu: comp.Requests[topology.ResourceCPU], mem: comp.Requests[topology.ResourceMemory]}
}

// selector is what OCM can express of where a component may run: its Allowed lists
// and, for a component with a user-facing UDP port, clusters that expose UDP.
func selector(c placement.Component) []metav1.LabelSelectorRequirement {
	var out []metav1.LabelSelectorRequirement
	in := func(key string, values []string) {
		if len(values) > 0 {
			out = append(out, metav1.LabelSelectorRequirement{Key: key, Operator: metav1.LabelSelectorOpIn, Values: values})
		}
	}
	tiers := make([]string, len(c.Allowed.Tiers))
	for i, t := range c.Allowed.Tiers {
		tiers[i] = string(t)
	}
	in(labelTier, tiers)
	in(labelOwner, c.Allowed.Owners)
	in(labelRegion, c.Allowed.Regions)
	in(labelName, c.Allowed.Clusters)
	if slices.ContainsFunc(c.Ports, func(p placement.Port) bool { return p.Expose && p.Protocol == placement.UDP }) {
		in(labelUDP, []string{"true"})
	}
	return out
}

// ocm schedules every component with OCM's scheduler, one Placement at a time, and
// returns the replicas' clusters (replica r on the r-th decision, round robin when OCM
// decides fewer clusters than there are replicas; unplaced when it decides none) and
// the time spent in Schedule. OCM is given its best case: after each Placement the
// chosen clusters' allocatable CPU and memory drop by what the component requests, as
// if their agents had reported the new workload at once (in a real hub that takes a
// status update; the bookkeeping is not timed).
func (inst instance) ocm(ctx context.Context) ([]placement.Assignment, time.Duration, error) {
	clusters := make([]*clusterapiv1.ManagedCluster, len(inst.clusters))
	byName := make(map[string]*clusterapiv1.ManagedCluster, len(clusters))
	for i, c := range inst.clusters {
		clusters[i] = c.DeepCopy()
		byName[c.Name] = clusters[i]
	}
	var out []placement.Assignment
	var spent time.Duration
	for _, c := range inst.components {
		start := time.Now()
		res, status := inst.scheduler.Schedule(ctx, c.placement, slices.Clone(clusters))
		spent += time.Since(start)
		if status.IsError() {
			return nil, spent, fmt.Errorf("ocm-bench: OCM's scheduler on %s/%s: %v", c.app, c.name, status.AsError())
		}
		decisions := res.Decisions()
		for r := range c.replicas {
			a := placement.Assignment{App: c.app, Component: c.name, Replica: r}
			if len(decisions) > 0 {
				a.Cluster = decisions[r%len(decisions)].Name
				mc := byName[a.Cluster]
				take(mc.Status.Allocatable, clusterapiv1.ResourceCPU, c.cpu)
				take(mc.Status.Allocatable, clusterapiv1.ResourceMemory, c.mem)
			}
			out = append(out, a)
		}
	}
	return out, spent, nil
}

// take subtracts q from list[name], stopping at zero.
func take(list clusterapiv1.ResourceList, name clusterapiv1.ResourceName, q resource.Quantity) {
	v := list[name]
	v.Sub(q)
	if v.Sign() < 0 {
		v = resource.Quantity{}
	}
	list[name] = v
}

// continuum places the whole request with continuum's engine.
func (inst instance) continuum(ctx context.Context) (*placement.Plan, error) {
	plan, err := placement.Place(ctx, inst.in.Snapshot(), inst.in.Request())
	if err != nil {
		return nil, fmt.Errorf("ocm-bench: continuum: %w", err)
	}
	return plan, nil
}

// verdict is how continuum's checker judges a placement: the replicas left unplaced
// and, per kind of constraint, the replicas that break one.
type verdict struct {
	replicas, unplaced                          int
	latency, bandwidth, chain, capacity, policy int
	// undecided: the Repair's search ran out of budget; the counts are what its
	// partial plan moved, not a complete judgement.
	undecided bool
}

func (v verdict) broken() int { return v.latency + v.bandwidth + v.chain + v.capacity + v.policy }

// judge asks continuum's engine to Repair the given placement: Repair keeps every
// replica that breaks nothing and lists each one that breaks a constraint, with the
// constraint's name (Plan.Changes), so the changes count the broken constraints. Kinds:
// latency (a site's or a flow's RTT bound), bandwidth (link or uplink capacity), chain
// (an end-to-end budget), capacity (cluster or node-pool resources) and policy (the
// rest: allowed tiers/owners/regions, UDP, anti-affinity, spread, ...).
func (inst instance) judge(ctx context.Context, as []placement.Assignment) (verdict, error) {
	v := verdict{replicas: len(as)}
	req := inst.in.Request()
	req.Current, req.Mode = as, placement.Repair
	plan, err := placement.Place(ctx, inst.in.Snapshot(), req)
	var unplaceable *placement.UnplaceableError
	var undecided *placement.UndecidedError
	if err != nil && !errors.As(err, &unplaceable) && !errors.As(err, &undecided) {
		return v, fmt.Errorf("ocm-bench: judging: %w", err)
	}
	v.undecided = errors.As(err, &undecided)
	for _, a := range as {
		if a.Cluster == "" {
			v.unplaced++
		}
	}
	if plan == nil {
		return v, fmt.Errorf("ocm-bench: judging: no plan: %w", err)
	}
	for _, c := range plan.Changes {
		switch {
		case c.From == "":
		case c.Constraint == "site-latency" || c.Constraint == "flow-rtt":
			v.latency++
		case c.Constraint == "bandwidth" || strings.Contains(c.Constraint, "uplink"):
			v.bandwidth++
		case c.Constraint == "chain":
			v.chain++
		case c.Constraint == "capacity" || c.Constraint == "resources" || c.Constraint == "node-pool":
			v.capacity++
		case c.Constraint != "":
			v.policy++
		}
	}
	return v, nil
}
