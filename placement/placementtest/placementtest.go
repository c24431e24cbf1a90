// Package placementtest builds placement inputs for tests and benchmarks: a fluent
// application builder, a seeded instance generator (continuums over a European geo box,
// applications shaped as XR chains, microservice DAGs and stars), and checks for user
// plugins: CheckFilter and CheckScorer test conformance (deterministic, leaves its
// input alone, Place honours cancellation) and effect (a filter's rejected clusters
// are never chosen and explanations name the filter; a scorer's weight moves the
// choice toward lower scores; a plugin with no visible effect fails), on generated
// instances and on instances you pass where the plugin should bite.
//
// # Quality oracle
//
// GenerateTight makes hard instances (CPU and memory demand at 60 % or 85 % of
// capacity, binding uplinks, links and chain budgets, pinned components) around a
// hidden planted plan, so each is feasible. NewMILP writes an instance as a
// mixed-integer linear program with the engine's model (MILP.WriteLP, CPLEX LP format)
// and decodes a solver's solution back into assignments (MILP.Assignment); MILP.Check
// evaluates the model at a plan without a solver. The command cmd/milpset solves sets
// of instances with CBC and stores them with the proven optima as OracleRecords
// (LoadOracleSet reads them); placement's quality tests grade the engine against them.
// docs/placement-quality.md has the commands.
package placementtest

import (
	_ "embed"
	"fmt"
	"math"
	"math/rand/v2"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

//go:embed xr-collab.yaml
var xrCollab []byte

// XRCollabYAML returns the application file of the seed paper's collaborative XR
// service, for the topologytest.PaperFig1 continuum.
func XRCollabYAML() []byte { return append([]byte(nil), xrCollab...) }

// XRCollab returns the decoded collaborative XR application.
func XRCollab() placement.Application {
	app, err := placement.DecodeApplication(xrCollab)
	if err != nil {
		panic(fmt.Sprintf("placementtest: the embedded xr-collab.yaml is invalid: %v", err))
	}
	return app
}

// App is a fluent builder of an Application.
type App struct{ a placement.Application }

// NewApp starts an application called name.
func NewApp(name string) *App {
	return &App{a: placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind, Metadata: placement.Metadata{Name: name}}}
}

// Option sets a field of a component.
type Option func(*placement.Component)

// Component adds a component requesting cpu cores and memory.
func (b *App) Component(name, cpu, memory string, opts ...Option) *App {
	c := placement.Component{Name: name, Requests: topology.ResourceList{
		topology.ResourceCPU: resource.MustParse(cpu), topology.ResourceMemory: resource.MustParse(memory)}}
	for _, o := range opts {
		o(&c)
	}
	b.a.Components = append(b.a.Components, c)
	return b
}

// Replicas sets the replica count.
func Replicas(n int) Option { return func(c *placement.Component) { c.Replicas = n } }

// GPU requests n GPUs.
func GPU(n string) Option {
	return func(c *placement.Component) { c.Requests[topology.ResourceGPU] = resource.MustParse(n) }
}

// Processing sets the processing time.
func Processing(d topology.Duration) Option {
	return func(c *placement.Component) { c.ProcessingTime = d }
}

// Tiers, Owners, Regions and Clusters restrict where the component may run.
func Tiers(ts ...topology.Tier) Option { return func(c *placement.Component) { c.Allowed.Tiers = ts } }

// Owners restricts the owners.
func Owners(os ...string) Option { return func(c *placement.Component) { c.Allowed.Owners = os } }

// Regions restricts the regions.
func Regions(rs ...string) Option { return func(c *placement.Component) { c.Allowed.Regions = rs } }

// Clusters restricts the clusters.
func Clusters(cs ...string) Option { return func(c *placement.Component) { c.Allowed.Clusters = cs } }

// Spread puts replicas on distinct clusters.
func Spread() Option { return func(c *placement.Component) { c.Spread = true } }

// AntiAffinity keeps the component off the clusters of the named ones.
func AntiAffinity(names ...string) Option {
	return func(c *placement.Component) { c.AntiAffinity = names }
}

// CoLocate keeps the component with the named ones.
func CoLocate(names ...string) Option { return func(c *placement.Component) { c.CoLocate = names } }

// NodePool selects node pools by labels (key, value pairs).
func NodePool(kv ...string) Option {
	return func(c *placement.Component) {
		c.NodePool = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			c.NodePool[kv[i]] = kv[i+1]
		}
	}
}

// Selector restricts the component to clusters whose labels match the selector
// (Allowed.Selector).
func Selector(s placement.LabelSelector) Option {
	return func(c *placement.Component) { c.Allowed.Selector = &s }
}

// In is a selector requiring the label key to have one of the values.
func In(key string, values ...string) placement.LabelSelector {
	return placement.LabelSelector{MatchExpressions: []placement.LabelSelectorRequirement{{Key: key, Operator: placement.SelectorIn, Values: values}}}
}

// Prefer adds a preferred term of the given weight (1 to 100).
func Prefer(weight int, s placement.LabelSelector) Option {
	return func(c *placement.Component) {
		c.Preferred = append(c.Preferred, placement.PreferredTerm{Weight: weight, Selector: s})
	}
}

// Tolerate adds a toleration of the taint key (operator Exists) with the effect (""
// for all); seconds, when given, is the NoExecute toleration period.
func Tolerate(key string, effect topology.TaintEffect, seconds ...int64) Option {
	return func(c *placement.Component) {
		t := placement.Toleration{Key: key, Operator: placement.TolerationExists, Effect: effect}
		if len(seconds) > 0 {
			t.TolerationSeconds = &seconds[0]
		}
		c.Tolerations = append(c.Tolerations, t)
	}
}

// Weights sets the application's weights.
func (b *App) Weights(w placement.AppWeights) *App { b.a.Weights = &w; return b }

// UDPPort exposes a UDP port to users.
func UDPPort(port int) Option {
	return func(c *placement.Component) {
		c.Ports = append(c.Ports, placement.Port{Port: port, Protocol: placement.UDP, Expose: true})
	}
}

// State sets the state size.
func State(q string) Option {
	return func(c *placement.Component) { c.StateSize = resource.MustParse(q) }
}

// Flow adds a flow.
func (b *App) Flow(from, to string, bw topology.Bandwidth, maxRTT topology.Duration) *App {
	b.a.Flows = append(b.a.Flows, placement.Flow{From: from, To: to, Bandwidth: bw, MaxRTT: maxRTT})
	return b
}

// UDPFlow adds a UDP flow.
func (b *App) UDPFlow(from, to string, bw topology.Bandwidth, maxRTT topology.Duration) *App {
	b.a.Flows = append(b.a.Flows, placement.Flow{From: from, To: to, Bandwidth: bw, MaxRTT: maxRTT, Protocol: placement.UDP})
	return b
}

// Chain adds a chain.
func (b *App) Chain(name string, budget topology.Duration, path ...string) *App {
	b.a.Chains = append(b.a.Chains, placement.Chain{Name: name, Path: path, Budget: budget})
	return b
}

// Home sets the home cluster.
func (b *App) Home(cluster string) *App { b.a.Home = cluster; return b }

// Build returns the application.
func (b *App) Build() placement.Application { return b.a }

// Instance is a generated placement problem.
type Instance struct {
	Name     string
	Topology *topology.Topology
	Apps     []placement.Application
}

// Request returns a request for the instance's applications.
func (in Instance) Request() *placement.Request { return &placement.Request{Apps: in.Apps} }

// Snapshot returns a snapshot of the instance's topology.
func (in Instance) Snapshot() *placement.Snapshot { return &placement.Snapshot{Topology: in.Topology} }

// Shape is the form of a generated application.
type Shape string

// Shapes.
const (
	// XRChain: per-site renderers near users, a shared session service, a store.
	XRChain Shape = "xr"
	// DAG: a layered microservice graph.
	DAG Shape = "dag"
	// Star: a hub with leaves.
	Star Shape = "star"
)

// GenOptions shape a generated instance. Zero values take the defaults shown.
type GenOptions struct {
	Clusters   int     // 20
	Components int     // 10 (approximately, per instance)
	Shape      Shape   // XRChain
	Load       float64 // fraction of total CPU requested, 0.3
	MaxCPU     float64 // cores per replica at most, 16
	// Planted, when true, makes sure a feasible placement exists by sizing every
	// constraint around a placement drawn first.
	Planted bool
	// Infeasible, when true, adds to the first application a component that fits
	// nowhere by construction (more GPUs than any cluster has, and a chain budget below
	// the round trip to the nearest cluster), so Place must report ErrUnplaceable.
	Infeasible bool
}

// Generate builds a seeded instance: the same seed and options give the same instance.
// Latency budgets fall in 5–50 ms, bandwidths in 10 Mbit/s – 40 Gbit/s.
func Generate(seed uint64, o GenOptions) Instance {
	if o.Clusters <= 0 {
		o.Clusters = 20
	}
	if o.Components <= 0 {
		o.Components = 10
	}
	if o.Shape == "" {
		o.Shape = XRChain
	}
	if o.Load <= 0 {
		o.Load = 0.3
	}
	if o.MaxCPU <= 0 {
		o.MaxCPU = 16
	}
	spec := topologytest.Random(seed, topologytest.RandomOptions{Clusters: o.Clusters, Sites: max(2, o.Clusters/10)})
	topo, err := topology.New(spec)
	if err != nil {
		panic(fmt.Sprintf("placementtest: generated topology is invalid: %v", err))
	}
	rng := rand.New(rand.NewPCG(seed*7919+1, seed))
	totalCPU := 0.0
	for _, c := range topo.Clusters() {
		q := c.Capacity[topology.ResourceCPU]
		totalCPU += float64(q.MilliValue()) / 1000
	}
	// Requests fill Load of the continuum's CPU, within 0.25–MaxCPU cores per replica
	// (XR services are many modest pods, not a few giant ones).
	cpuPer := min(o.MaxCPU, max(0.25, o.Load*totalCPU/float64(o.Components)))
	cpu := func() string {
		v := cpuPer * (0.5 + rng.Float64())
		return resource.NewMilliQuantity(int64(v*1000), resource.DecimalSI).String()
	}
	bw := func() topology.Bandwidth {
		// Log-uniform between 10 Mbit/s and 40 Gbit/s.
		return topology.Bandwidth(math.Pow(10, 7+rng.Float64()*math.Log10(4000)))
	}
	budget := func() topology.Duration { return topology.Millis(5 + rng.Float64()*45) }
	sites := topo.Sites()
	var apps []placement.Application
	for a := 0; len(apps) == 0 || countComponents(apps) < o.Components; a++ {
		name := fmt.Sprintf("app-%d", a)
		b := NewApp(name)
		switch o.Shape {
		case XRChain:
			s1, s2 := sites[rng.IntN(len(sites))].Name, sites[rng.IntN(len(sites))].Name
			b.Component("render-a", cpu(), "4Gi", Processing(topology.Millis(2+rng.Float64()*4)))
			b.Component("render-b", cpu(), "4Gi", Processing(topology.Millis(2+rng.Float64()*4)))
			b.Component("session", cpu(), "2Gi", Processing(topology.Millis(1)))
			b.Component("store", cpu(), "8Gi", State("10Gi"))
			b.Flow(s1, "render-a", bw()/10, 0).Flow(s2, "render-b", bw()/10, 0)
			b.Flow("render-a", "session", bw()/100, 0).Flow("render-b", "session", bw()/100, 0)
			b.Flow("session", "store", bw()/100, 0)
			b.Chain("mtp-a", budget()+topology.Millis(10), s1, "render-a", s1)
			b.Chain("mtp-b", budget()+topology.Millis(10), s2, "render-b", s2)
		case Star:
			n := 2 + rng.IntN(5)
			b.Component("hub", cpu(), "4Gi")
			for l := range n {
				leaf := fmt.Sprintf("leaf-%d", l)
				b.Component(leaf, cpu(), "1Gi")
				b.Flow("hub", leaf, bw()/100, 0)
			}
			s := sites[rng.IntN(len(sites))].Name
			b.Flow(s, "hub", bw()/100, 0).Chain("user", budget()+topology.Millis(10), s, "hub", s)
		case DAG:
			layers := 2 + rng.IntN(3)
			prev := []string{}
			for l := range layers {
				var cur []string
				for w := range 1 + rng.IntN(3) {
					name := fmt.Sprintf("svc-%d-%d", l, w)
					b.Component(name, cpu(), "2Gi")
					cur = append(cur, name)
					for _, p := range prev {
						if rng.IntN(2) == 0 {
							b.Flow(p, name, bw()/100, 0)
						}
					}
				}
				prev = cur
			}
		}
		apps = append(apps, b.Build())
	}
	in := Instance{Name: fmt.Sprintf("%s-c%d-n%d-s%d", o.Shape, o.Clusters, o.Components, seed), Topology: topo, Apps: apps}
	if o.Planted {
		plant(rng, &in)
	}
	if o.Infeasible {
		impossible(&in)
	}
	return in
}

func countComponents(apps []placement.Application) int {
	n := 0
	for _, a := range apps {
		n += len(a.Components)
	}
	return n
}

// plant draws a random placement on clusters with room and relaxes every latency bound
// to hold under it, so the instance is feasible.
func plant(rng *rand.Rand, in *Instance) {
	topo := in.Topology
	free := map[string]int64{}
	for _, c := range topo.Clusters() {
		q := c.Capacity[topology.ResourceCPU]
		free[c.Name] = q.MilliValue()
	}
	at := map[string]string{} // app/component -> cluster
	for ai := range in.Apps {
		a := &in.Apps[ai]
		for ci := range a.Components {
			c := &a.Components[ci]
			q := c.Requests[topology.ResourceCPU]
			need := q.MilliValue()
			start := rng.IntN(topo.NumClusters())
			for k := range topo.NumClusters() {
				cl := topo.ClusterAt((start + k) % topo.NumClusters())
				if free[cl.Name] >= need {
					free[cl.Name] -= need
					at[a.Metadata.Name+"/"+c.Name] = cl.Name
					c.Ports = nil // no UDP exposure demands
					break
				}
			}
		}
		rtt := func(x string) string {
			if cl, ok := at[a.Metadata.Name+"/"+x]; ok {
				return cl
			}
			return x // a site
		}
		for fi := range a.Flows {
			f := &a.Flows[fi]
			f.Bandwidth = min(f.Bandwidth, 10*topology.Mbps)
			if f.MaxRTT > 0 {
				d, _ := topo.RTT(rtt(f.From), rtt(f.To))
				f.MaxRTT = max(f.MaxRTT, d)
			}
		}
		for ci := range a.Chains {
			ch := &a.Chains[ci]
			var lat topology.Duration
			for h := range ch.Path {
				if h > 0 {
					d, _ := topo.RTT(rtt(ch.Path[h-1]), rtt(ch.Path[h]))
					lat += d / 2
				}
				for _, c := range a.Components {
					if c.Name == ch.Path[h] {
						lat += c.ProcessingTime
					}
				}
			}
			ch.Budget = max(ch.Budget, lat+topology.Microsecond)
		}
	}
}

// impossible adds a component that fits nowhere to the first application.
func impossible(in *Instance) {
	var gpus int64
	for _, c := range in.Topology.Clusters() {
		gpus = max(gpus, c.Capacity.GPU())
	}
	a := &in.Apps[0]
	site := in.Topology.Sites()[0].Name
	a.Components = append(a.Components, placement.Component{Name: "impossible", Requests: topology.ResourceList{
		topology.ResourceCPU: resource.MustParse("1"), topology.ResourceGPU: *resource.NewQuantity(gpus+1, resource.DecimalSI)}})
	a.Chains = append(a.Chains, placement.Chain{Name: "impossible", Path: []string{site, "impossible", site}, Budget: topology.Microsecond})
}
