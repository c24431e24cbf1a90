// Package placement decides where the components of XR service graphs run across the
// continuum: a pure, deterministic, explainable engine. Given a Snapshot (a topology
// plus optional measured RTTs and free capacity) and a Request (one or more
// Applications, the current placement, weights), Place returns a Plan: a cluster (and
// node pool) for every replica, each flow's RTT, each chain's latency hop by hop, link
// and uplink utilisation, the objective by term, and an explanation per replica.
//
// # Model
//
// An Application has components (replicas, requests, ports, processing time, allowed
// tiers/owners/regions/clusters and a label selector, preferred selectors,
// tolerations, spread, anti-affinity, co-location, node-pool selector, state size), flows between components or between a component and a user site
// (bandwidth, maximum RTT, protocol), and chains: an ordered path of sites and
// components with one latency budget, counting RTT/2 per hop plus processing times
// (e.g. [geneva, render, geneva] within 15 ms motion-to-photon). Applications are
// written as YAML or JSON (DecodeApplication; see placement/placementtest/xr-collab.yaml,
// the paper's Fig. 1 service), strictly, with every problem reported at once by field
// path.
//
// # Feasibility and objective
//
// A plan is feasible when every replica is placed; cluster, node-pool, link, uplink and
// access-link capacities hold (a flow's bandwidth is charged to every link of its path
// and the uplinks at both ends of each link); every flow's maximum RTT and every chain
// budget hold for every replica; components that face users over UDP run on clusters
// that can expose UDP; and the allowed lists hold. Hard constraints are never traded
// for cost. Among feasible plans the engine minimises
//
//	Weights.Network   x sum over flows of Gbit/s x RTT ms (intra-cluster RTT when co-located)
//	+ Weights.Compute x sum over replicas of CPU cores x the cluster's price per core-hour
//	+ Weights.Migration x GB of state moved away from Request.Current
//	+ the weighted scores of scorer plugins,
//
// every weight 1 by default. Ties are broken by cluster name, so the same input gives
// the same plan byte for byte.
//
// # Strategies
//
// StrategyDefault runs in phases, each with its own budget (Request.MaxNodes sets
// them all; Request.Timeout or the ctx deadline bounds the whole):
//
//  1. greedy construction in constraint-tightness order, each replica on its cheapest
//     feasible cluster;
//  2. when that gets stuck: domains narrowed by propagation (flow RTT bounds between
//     components, co-location, chain lower bounds) with certificates of infeasibility;
//     a bounded branch and bound (fail-first, forward checking, randomised restarts);
//     weighted-violation local search; and a complete search that finds a plan or
//     proves there is none;
//  3. improvement: single, neighbourhood, swap and ejection moves; then, on instances
//     that needed step 2 and whose domains add up to at most 300 clusters, a bounded
//     exact search with that plan as the incumbent (phase "prove", 5,000 nodes; on
//     larger ones it was never seen to end): when it exhausts its tree the plan is optimal
//     (SearchStats.Optimal) and the rest is skipped. On the other instances, first a
//     bounded exact search (phase "prove-near", 200 nodes) on the clusters a cheaper
//     plan could use: each replica's static cost (compute, site flows, migration,
//     scorers) can exceed its least by at most the plan's cost minus a lower bound,
//     which on loose instances leaves a few clusters per replica, so the search
//     proves the plan optimal or finds the optimum in tens of nodes. Else
//     large-neighbourhood search that frees a group of related replicas (joined by
//     flows, sharing clusters, a costly flow pair and the replicas in its way, a whole
//     application) and re-solves it exactly by branch and bound.
//
// StrategyExact then runs branch and bound over every replica, seeded by the default
// plan, with a bound that counts compute, flows to sites and the least RTT each flow
// pair can have over its ends' domains; it has its own node budget and proves
// optimality or says (SearchStats.StoppedEarly, StopReason) that it stopped. The
// engine's quality is graded against optima proven by an outside MILP solver
// (quality_test.go, docs/placement-quality.md).
//
// Verdicts (SearchStats.Verdict): placed; infeasible, only with a proof
// (SearchStats.Proof); undecided, when the budgets ran out first. Undecided is never
// called infeasible and never comes with a shortfall.
//
// # Policy: labels, taints, weights
//
// The cluster policies of Kubernetes and Open Cluster Management, on clusters:
//
//   - Allowed.Selector is a Kubernetes label selector (matchLabels, matchExpressions
//     with In, NotIn, Exists, DoesNotExist) over the clusters' labels: the "labels"
//     filter, whose explanation names the expression not met ("label selector:
//     gpu.vendor in (nvidia) not matched").
//   - Component.Preferred are soft selectors: each term a cluster does not match costs
//     weight/100 per replica (the "preferred" scorer, weight 1).
//   - Clusters carry taints (topology.Taint), components tolerations (Kubernetes'
//     and OCM's matching: key, Equal or Exists, value, effect). The "taints" filter
//     rules out a cluster with a NoExecute taint not tolerated (replicas must leave;
//     a toleration with tolerationSeconds holds until that long after the taint's
//     Added time, measured at Snapshot.Now) and, for new replicas, one with a
//     NoSelect taint. A component that Request.Current already has on a NoSelect
//     cluster may stay there (Repair keeps those replicas): filters see components,
//     not replicas, so while it has replicas there the engine may place more of its
//     replicas there; the "taints" scorer costs 1 per replica on such a cluster and
//     per PreferNoSelect taint not tolerated, so new replicas go elsewhere when they
//     fit elsewhere. topology.Cordon and Drain put the taints; the loop
//     (placement/loop) carries a drain out.
//   - Application.Weights multiply this application's network, compute and migration
//     terms, and (Scorers, by name) the weights of the engine's scorers and of the
//     built-in "preferred" and "taints", for its replicas only. ExampleAppWeights
//     shows a network weight that moves a component.
//
// The "preferred" and "taints" scorers join the engine's scorers only when a
// component has preferred terms or a cluster has taints; Objective.Plugins reports
// them by name.
//
// Re-placement: with Request.Current, Repair keeps every replica whose cluster still
// satisfies everything and re-places the rest; Reoptimize searches afresh with the
// migration term and keeps the current placement unless the objective improves by more
// than Request.Hysteresis. Plan.Moves counts the replicas that change cluster and
// Plan.Changes lists them (from, to, and why: the constraint a replica breaks where it
// is, or its cost there against its new cluster).
//
// # Explanations
//
// Every plan says why per replica at Request.Explain's level: ExplainAuto (the default)
// and ExplainChosen give the chosen cluster, the runner-up and counts of the reasons
// other clusters were ruled out; ExplainFull lists every cluster with its reason;
// ExplainNone nothing. Plan.Explain(app, component, replica) builds one replica's full
// explanation on request, with the same content ExplainFull gives, so a caller pays
// only for what it reads (full explanations cost about as much as the search on small
// requests).
//
// # Prepared problems
//
// A controller calls the engine again and again on inputs that change a little.
// Engine.Prepare compiles a snapshot and applications once; SetRTT, SetFree,
// SetApplication, RemoveApplication and Update change them, and Prepared.Place places
// with the rest of a Request. While they stay the same it keeps the applications'
// validation and request totals, their compiled components, flows and chains with each
// component's active filters, the resource dimensions, the last placement in force it
// checked, and the topology re-routed through the measured link RTTs: a changed
// measurement re-routes only the routes it can change (topology.WithLinkRTTs), and the
// route tables of the last call are kept but for the rows whose routes changed
// (topology.SameRoutesFrom). Its plans are byte for byte those of Place on the same
// inputs (a test replays random update sequences through both). A plan it returns
// shares none of this: Plan.Explain may run during the next call. Package loop keeps
// one across rounds. What it does not keep yet: the filter pass, the kept replicas'
// constraint checks and the plan's flow and chain results are redone on every call
// (BenchmarkReplace: one link event at 100 clusters x 1,000 components).
//
// # Plugins
//
// Filters rule clusters out per component before the search (the built-ins are
// "allowed", "labels", "taints", "resources", "udp", "site-latency"); Scorers add
// weighted costs. Both are
// small interfaces; register a filter by name with Register (and remove it with
// Unregister, e.g. in a test's t.Cleanup), or pass your own to NewEngine in
// Options.Filters, which touches no global state. Constraints between replicas (capacity, bandwidth, RTT between components,
// chains through several components, spread, anti-affinity, co-location, node pools)
// are the engine's own and appear by those names in explanations.
//
// # Ranges and limits
//
// Applications and requests take the numbers of package topology within its ranges
// (topology's package doc): per-replica requests and stateSize like a cluster's
// capacity (cpu and gpu up to 10^6, memory and others up to 1 PiB), processing times up
// to 10 s, flows' maxRTT and chain budgets up to MaxBudget (1 hour: they are only
// compared, never summed), all at least 1 us when set, flow bandwidths up to 1 Pbit/s ("unlimited" is a capacity, not a rate), weights finite in [0, 10^6];
// Snapshot.RTT values 1 us to 10 s, Snapshot.Free like capacities; a component's Scale
// (the loop sets Replicas from demand; the engine places what it is given) needs
// 1 <= min <= max <= MaxReplicas, perReplica > 0, metric users or requests. Sizes: MaxApps
// applications per request; MaxComponents, MaxFlows, MaxChains per application;
// MaxReplicas per component and MaxInstances replicas per request; MaxFlowPairs replica
// pairs per flow (a flow between two 10,000-replica components would be 10^8 pairs) and
// MaxPairs per request; MaxChainPath elements per chain; MaxListEntries in any other list
// or map. Out of range is an ErrorList with the field path, never a panic.
//
// So no sum overflows: a link's, uplink's or access link's load is at most twice the
// request's total bandwidth, which MaxTotalBandwidth bounds (10^18 bit/s); CPU and
// memory loads never exceed a capacity plus one request; the objective is a float64
// sum of bounded terms (at most 10^6 x 10^6 x 10^6 per replica for compute), so it stays
// finite and encodes as JSON.
//
// A component that must run with another (coLocate, directly or through a chain of
// them) and must not (antiAffinity) is invalid input. Request.Current is checked in
// Place: every entry names an application of the request, one of its components, a
// replica in range, a cluster of the topology (or none, for an unplaced replica) and a
// node pool of that cluster (or none), and no replica appears twice (paths like
// current[3].replica). DecodePlan and LoadPlan read a plan back strictly, for use as
// Request.Current. LoadApplication and LoadPlan read at most 64 MiB (the With variants'
// LoadOptions change it).
//
// Bad arguments give errors too: Register(nil), a nil filter or scorer in Options, a
// nil *Engine, a nil ctx or snapshot.
//
// # Errors
//
// Bad input: an ErrorList matching ErrInvalid, each problem with its field path
// ("apps[0].flows[1].to: no component or site \"lyon\""). Nothing fits: an
// *UnplaceableError matching ErrUnplaceable, returned with the partial plan, with a
// histogram of reasons ("0/4 clusters fit xr/render[0]: 2 site-latency, 1 resources,
// 1 udp") and a Shortfall per replica that says what to provision ("4 CPU + 1 GPU +
// 8Gi memory on a cluster within 5.0ms RTT of site milan, able to expose UDP to users")
// and the Proof of infeasibility. Budget ran out first: an *UndecidedError matching
// ErrUndecided (never ErrUnplaceable), with the best partial plan, its reasons and what
// was tried; retry with another Request.Seed or raise the budget, do not provision.
//
// # Concurrency
//
// Place is pure: no I/O, no clocks, no global state (the filter registry is read by
// NewEngine only); it never modifies its arguments and is safe for concurrent use. It
// honours ctx cancellation. A what-if is a Place on a modified snapshot.
//
// One Place may use up to GOMAXPROCS goroutines of its own, and never calls plugins
// from two at once: the components' candidates on large requests when every filter is
// built in and there are no scorers (16,000 cluster-component pairs or more), and the
// independent search phases of a tight request of up to 64 clusters without scorers.
// The plan does not depend on it: it is the same, byte for byte, with GOMAXPROCS=1
// (TestCandidatesSideBySideSameAnswer, TestPhasesSideBySideSameAnswer).
//
// # Testing
//
// Fuzz targets: FuzzDecodeApplication, FuzzDecodePlan, and FuzzPlace, which builds
// small continuums and applications from the fuzz bytes and checks every plan Place
// calls feasible with the tests' independent evaluator (make fuzz runs them all).
//
// Package placementtest has an application builder, a seeded instance generator
// (continuums over a European box; XR chains, DAGs and stars; a planted mode that is
// feasible by construction) and checks for filter and scorer plugins, of conformance
// and of effect (CheckFilter, CheckScorer). The quality tests (quality_test.go) grade
// the engine against optima proven by the MILP solver CBC on tight instances stored in
// testdata/tight and testdata/tight-holdout (docs/placement-quality.md says how to
// regenerate them); they never run a solver.
// The package imports nothing from Kubernetes but api/resource and, for label
// selectors and label syntax, pkg/labels (a test enforces it).
package placement
