package placement

import (
	"time"

	"github.com/continuum-xr/continuum/topology"
)

// Snapshot is what the engine decides from: the topology and, optionally, measurements
// that override its figures.
type Snapshot struct {
	Topology *topology.Topology
	// RTT holds measured round-trip times between two clusters or a site and a cluster;
	// they replace the topology's for that pair. Keys in either order (use MakePair).
	// A pair joined by a link overrides that link: routes between other endpoints are
	// recomputed through it, so a degraded link re-routes the traffic it carried (a
	// faster path around it is taken) and an improved one draws routes to it.
	// A pair that no link joins (a route) overrides that pair's RTT only.
	RTT map[Pair]topology.Duration
	// Free holds the measured free capacity of clusters; it replaces the topology's
	// capacity for that cluster (listed resources only).
	Free map[string]topology.ResourceList
	// Now is the time toleration periods of NoExecute taints are measured at (the
	// engine reads no clock). Zero: a toleration with tolerationSeconds holds.
	Now time.Time
}

// Pair is an unordered pair of endpoint names.
type Pair struct{ A, B string }

// MakePair returns the pair of a and b in canonical order.
func MakePair(a, b string) Pair {
	if a > b {
		a, b = b, a
	}
	return Pair{a, b}
}

// Strategy selects the search.
type Strategy string

// Strategies.
const (
	// StrategyDefault places constructively in constraint-tightness order, backtracks
	// when that fails, and improves the result by moves until no move helps.
	StrategyDefault Strategy = "default"
	// StrategyExact is branch and bound: it proves the optimum within MaxNodes search
	// nodes, or says in Plan.Search that it stopped early.
	StrategyExact Strategy = "exact"
)

// ReplaceMode says how to treat the current placement.
type ReplaceMode string

// Re-placement modes.
const (
	// Reoptimize searches afresh with the migration term and keeps the current placement
	// unless the new one improves the objective by more than Hysteresis.
	Reoptimize ReplaceMode = "reoptimize"
	// Repair keeps every replica whose current cluster still satisfies every constraint
	// and re-places only the others.
	Repair ReplaceMode = "repair"
)

// Weights scale the terms of the objective (DESIGN.md section 3).
type Weights struct {
	// Network multiplies sum over flows of bandwidth (Gbit/s) x RTT (ms).
	Network float64 `json:"network"`
	// Compute multiplies sum over replicas of CPU cores x the cluster's price per core-hour.
	Compute float64 `json:"compute"`
	// Migration multiplies the state (GB) of replicas that move from the current placement.
	Migration float64 `json:"migration"`
}

// DefaultWeights weighs every term 1.
func DefaultWeights() Weights { return Weights{Network: 1, Compute: 1, Migration: 1} }

// Request is one placement question: applications placed together against shared
// capacity.
type Request struct {
	Apps []Application
	// Current is the placement in force, for re-placement (Plan.Assignments of the last
	// plan). Replicas it does not mention are new.
	Current []Assignment
	// Mode is Reoptimize when empty.
	Mode ReplaceMode
	// Hysteresis is the relative objective improvement (0.05 = 5%) below which
	// Reoptimize keeps a feasible current placement.
	Hysteresis float64
	// Weights: nil means DefaultWeights.
	Weights *Weights
	// Strategy is StrategyDefault when empty.
	Strategy Strategy
	// MaxNodes bounds each phase of the search on its own (a phase never inherits
	// another's spent count): the branch-and-bound dive and the steps of the
	// violation search that look for a feasible plan, the nodes of the complete search,
	// of large-neighbourhood search and of the exact strategy's branch and bound. Zero
	// means each phase's default: 20,000 dive nodes, 20,000 violation steps, 60,000
	// complete-search nodes, 80,000 nodes for each of the (at most two)
	// large-neighbourhood runs, 40,000 for the re-solves of whole applications that
	// end each of them, and 1,000,000 exact nodes. On the stored tight instances
	// (up to 30 clusters x 50 components) the default strategy then answers in about
	// 0.4 ms at the median and about 0.25 s at the most (once 0.29 s on a busy
	// machine), wall time on 2 CPUs (docs/placement-quality.md).
	MaxNodes int
	// Timeout bounds the whole search in wall-clock time (zero: none; the ctx deadline
	// bounds it too). When it passes, Place returns the best plan found so far, or an
	// *UndecidedError when none is complete; results cut by time are no longer
	// reproducible byte for byte, node budgets are.
	Timeout time.Duration
	// Explain sets how much explanation the plan carries; zero is ExplainAuto.
	Explain ExplainLevel
	// Seed varies the search's random choices (the dive's restarts, violation
	// search's picks, the neighbourhood groups); zero gives the default ones. A plan is
	// reproducible, byte for byte, for a given seed (node budgets, not time, cut the
	// search). Whether violation search finds a plan on a tight instance is partly
	// luck: where one seed ends undecided, another often places everything (on the 25
	// stored tight instances that need violation search, seeds 0-5, 19 of the 150 runs
	// ended undecided, spread over 6 instances, and only one of them was undecided
	// under every seed), so retrying an undecided request with another seed can place
	// it within the same budget; the loop does so on its own. A verdict of
	// infeasibility is a proof under any seed.
	Seed uint64
}

// ExplainLevel sets how much a plan explains.
type ExplainLevel int

// Explanation levels.
const (
	// ExplainAuto gives the summary of ExplainChosen (a Repair explains only the
	// replicas it re-placed); Plan.Explain gives any replica's full explanation on
	// request, so only what is read is paid for.
	ExplainAuto ExplainLevel = iota
	// ExplainFull: every cluster of every replica, with reasons and scores, built
	// eagerly (it costs about as much as the search on small requests).
	ExplainFull
	// ExplainChosen: the chosen cluster and the runner-up, plus counts of the reasons.
	ExplainChosen
	// ExplainNone: no per-replica explanation (chains, flows and utilisation stay).
	ExplainNone
)

// Assignment places one replica.
type Assignment struct {
	App       string `json:"app"`
	Component string `json:"component"`
	Replica   int    `json:"replica"`
	Cluster   string `json:"cluster"`
	NodePool  string `json:"nodePool,omitempty"`
}

// Plan is the engine's answer.
type Plan struct {
	// Feasible is false when some replica could not be placed (Place then also returns
	// an *UnplaceableError); unplaced replicas have an empty Cluster.
	Feasible    bool          `json:"feasible"`
	Assignments []Assignment  `json:"assignments"`
	Objective   Objective     `json:"objective"`
	Flows       []FlowResult  `json:"flows,omitempty"`
	Chains      []ChainResult `json:"chains,omitempty"`
	Links       []Utilisation `json:"links,omitempty"`
	Uplinks     []Utilisation `json:"uplinks,omitempty"`
	Clusters    []ClusterLoad `json:"clusters"`
	// Moves counts replicas placed on another cluster than in Request.Current.
	Moves int `json:"moves"`
	// Changes lists, in assignment order, the replicas of Request.Current whose
	// cluster changes, and why: what Moves counts, plus current replicas the plan
	// leaves unplaced. Empty without Request.Current.
	Changes      []Change      `json:"changes,omitempty"`
	Explanations []Explanation `json:"explanations,omitempty"`
	Search       SearchStats   `json:"search"`

	explainer *explainer // for Explain; nil on a decoded plan
}

// Change is one replica of Request.Current that the plan puts elsewhere.
type Change struct {
	App       string `json:"app"`
	Component string `json:"component"`
	Replica   int    `json:"replica"`
	// From is the replica's cluster in Request.Current; To its cluster in the plan
	// ("" when the plan leaves it unplaced).
	From string `json:"from"`
	To   string `json:"to"`
	// Constraint names what the replica breaks on From with the rest of the plan in
	// place ("site-latency", "flow-rtt", "chain", "capacity", a filter's name, ...);
	// empty when it moves for a lower cost (Reoptimize).
	Constraint string `json:"constraint,omitempty"`
	// Why says it in words: the broken constraint's reason, or the replica's cost
	// on To against From, others as planned.
	Why string `json:"why"`
}

// Objective is the plan's cost, by term, weights applied.
type Objective struct {
	Total     float64 `json:"total"`
	Network   float64 `json:"network"`
	Compute   float64 `json:"compute"`
	Migration float64 `json:"migration"`
	// Plugins holds the weighted totals of scorer plugins, by name.
	Plugins map[string]float64 `json:"plugins,omitempty"`
}

// FlowResult is how one flow fares: its worst replica pair.
type FlowResult struct {
	App         string             `json:"app"`
	Flow        int                `json:"flow"`
	From        string             `json:"from"`
	To          string             `json:"to"`
	FromCluster string             `json:"fromCluster,omitempty"`
	ToCluster   string             `json:"toCluster,omitempty"`
	RTT         topology.Duration  `json:"rtt"`
	MaxRTT      topology.Duration  `json:"maxRTT,omitempty"`
	Bandwidth   topology.Bandwidth `json:"bandwidth"`
}

// ChainResult is a chain's latency against its budget, hop by hop.
type ChainResult struct {
	App    string            `json:"app"`
	Name   string            `json:"name"`
	Budget topology.Duration `json:"budget"`
	Used   topology.Duration `json:"used"`
	Hops   []ChainHop        `json:"hops"`
}

// ChainHop is one term of a chain's latency: half the RTT between two consecutive
// elements (worst replica pair), or a component's processing time.
type ChainHop struct {
	From    string            `json:"from"`
	To      string            `json:"to,omitempty"`
	Where   string            `json:"where"` // "cluster-a -> cluster-b", or the cluster that processes
	Latency topology.Duration `json:"latency"`
}

// Utilisation is the load on a link or uplink.
type Utilisation struct {
	Name     string             `json:"name"`
	Used     topology.Bandwidth `json:"used"`
	Capacity topology.Bandwidth `json:"capacity"`
	Fraction float64            `json:"fraction"`
}

// ClusterLoad is what the plan puts on a cluster, per resource, in the quantities'
// units (CPU cores, memory bytes, GPUs).
type ClusterLoad struct {
	Cluster  string             `json:"cluster"`
	Replicas int                `json:"replicas"`
	Used     map[string]float64 `json:"used"`
	Capacity map[string]float64 `json:"capacity"`
}

// Explanation says why a replica went where it did.
type Explanation struct {
	App       string `json:"app"`
	Component string `json:"component"`
	Replica   int    `json:"replica"`
	Chosen    string `json:"chosen,omitempty"`
	// ChosenScore and RunnerUp break the cost down for the chosen cluster and the best
	// feasible alternative.
	ChosenScore *Score `json:"chosenScore,omitempty"`
	RunnerUp    *Score `json:"runnerUp,omitempty"`
	// RuledOut lists each cluster that could not take the replica and why (with
	// ExplainFull), in cluster order.
	RuledOut []Rejection `json:"ruledOut,omitempty"`
	// Reasons counts the ruled-out clusters by constraint.
	Reasons map[string]int `json:"reasons,omitempty"`
}

// Score is the cost of one replica on one cluster, others fixed, by term.
type Score struct {
	Cluster   string             `json:"cluster"`
	Total     float64            `json:"total"`
	Network   float64            `json:"network"`
	Compute   float64            `json:"compute"`
	Migration float64            `json:"migration"`
	Plugins   map[string]float64 `json:"plugins,omitempty"`
}

// Rejection is one cluster ruled out for one replica.
type Rejection struct {
	Cluster    string `json:"cluster"`
	Constraint string `json:"constraint"`
	Reason     string `json:"reason"`
}

// SearchStats says how the plan was found.
type SearchStats struct {
	Strategy Strategy `json:"strategy"`
	// Verdict is placed, infeasible (proven: see Proof) or undecided (the budget ran out
	// before a complete plan was found; nothing was proven).
	Verdict Verdict `json:"verdict"`
	// Proof is the certificate of an infeasible verdict: a replica no cluster passes the
	// filters for, a demand above the capacity of every cluster its components may use,
	// spread replicas outnumbering their clusters, or a complete search that ended
	// without a plan.
	Proof string `json:"proof,omitempty"`
	// Nodes counts the search steps of every phase together.
	Nodes int `json:"nodes"`
	// Optimal is true when a search that exhausted its tree proved the plan optimal:
	// the exact strategy, or one of the default's bounded proofs: phase "prove" on
	// small and medium instances, phase "prove-near" (over the clusters a cheaper plan
	// could use) on instances the greedy construction placed outright.
	Optimal bool `json:"optimal"`
	// StoppedEarly is true when a node budget or the deadline cut a phase short that
	// would have gone on: the exact search, the complete search, or the search for a
	// feasible plan.
	StoppedEarly bool `json:"stoppedEarly,omitempty"`
	// StopReason says which budget ran out, when the verdict is undecided or the exact
	// search stopped early.
	StopReason string `json:"stopReason,omitempty"`
	// Improvements counts the moves local search made.
	Improvements int `json:"improvements"`
	// KeptCurrent is true when Reoptimize kept the current placement (hysteresis).
	KeptCurrent bool `json:"keptCurrent,omitempty"`
	// Phases lists the phases that ran beyond the greedy construction, in order.
	Phases []PhaseStats `json:"phases,omitempty"`
}

// PhaseStats is one phase of the search: its name (repair-violations, complete-search,
// improve, exact), its steps and whether its budget cut it short.
type PhaseStats struct {
	Name         string `json:"name"`
	Nodes        int    `json:"nodes"`
	StoppedEarly bool   `json:"stoppedEarly,omitempty"`
}

// Verdict is the outcome of a placement.
type Verdict string

// Verdicts.
const (
	// VerdictPlaced: every replica has a cluster and every constraint holds.
	VerdictPlaced Verdict = "placed"
	// VerdictInfeasible: no plan exists, proven (SearchStats.Proof says how). Place
	// returns an *UnplaceableError (ErrUnplaceable) with a shortfall.
	VerdictInfeasible Verdict = "infeasible"
	// VerdictUndecided: no complete plan was found within the budgets, and none was
	// proven impossible. Place returns an *UndecidedError (ErrUndecided).
	VerdictUndecided Verdict = "undecided"
)
