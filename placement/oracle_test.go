package placement_test

import (
	"math"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// oracle evaluates a complete assignment straight from the semantics in DESIGN.md,
// independently of the engine: feasibility and the default objective. Tests compare
// the engine against it and against brute force built on it.
type oracle struct {
	topo *topology.Topology
	apps []placement.Application
	w    placement.Weights
}

type replicaKey struct {
	app, comp string
	rep       int
}

func (o oracle) rtt(a, b string) (topology.Duration, bool) {
	d, err := o.topo.RTT(a, b)
	return d, err == nil
}

// evaluate returns whether at (replica -> cluster) is feasible, and its cost.
func (o oracle) evaluate(at map[replicaKey]string) (bool, float64, string) {
	cpuUsed := map[string]float64{}
	memUsed := map[string]float64{}
	gpuUsed := map[string]float64{}
	bwUsed := map[string]float64{}
	cost := 0.0
	for _, a := range o.apps {
		comps := map[string]placement.Component{}
		for _, c := range a.Components {
			comps[c.Name] = c
			n := max(c.Replicas, 1)
			for r := range n {
				cl, ok := at[replicaKey{a.Metadata.Name, c.Name, r}]
				if !ok || cl == "" {
					return false, 0, "unplaced " + c.Name
				}
				cluster, _ := o.topo.Cluster(cl)
				cpu, mem, gpu := c.Requests[topology.ResourceCPU], c.Requests[topology.ResourceMemory], c.Requests[topology.ResourceGPU]
				cpuUsed[cl] += float64(cpu.MilliValue()) / 1000
				memUsed[cl] += float64(mem.Value())
				gpuUsed[cl] += float64(gpu.Value())
				cost += o.w.Compute * float64(cpu.MilliValue()) / 1000 * cluster.CPUPrice
				al := c.Allowed
				if len(al.Tiers) > 0 && !containsT(al.Tiers, cluster.Tier) || len(al.Owners) > 0 && !contains(al.Owners, cluster.Owner) ||
					len(al.Regions) > 0 && !contains(al.Regions, cluster.Region) || len(al.Clusters) > 0 && !contains(al.Clusters, cl) {
					return false, 0, "allowed " + c.Name
				}
				for r2 := range n {
					if c.Spread && r2 != r && at[replicaKey{a.Metadata.Name, c.Name, r2}] == cl {
						return false, 0, "spread"
					}
				}
			}
		}
		for _, c := range a.Components {
			for _, other := range c.AntiAffinity {
				for r := range max(c.Replicas, 1) {
					for r2 := range max(comps[other].Replicas, 1) {
						if at[replicaKey{a.Metadata.Name, c.Name, r}] == at[replicaKey{a.Metadata.Name, other, r2}] {
							return false, 0, "anti-affinity"
						}
					}
				}
			}
			for _, other := range c.CoLocate {
				for r := range max(c.Replicas, 1) {
					if at[replicaKey{a.Metadata.Name, c.Name, r}] != at[replicaKey{a.Metadata.Name, other, r}] {
						return false, 0, "co-locate"
					}
				}
			}
		}
		// where lists the endpoints of a flow or chain element: a site, or the clusters
		// of the component's replicas.
		where := func(name string) []string {
			c, ok := comps[name]
			if !ok {
				return []string{name}
			}
			var out []string
			for r := range max(c.Replicas, 1) {
				out = append(out, at[replicaKey{a.Metadata.Name, name, r}])
			}
			return out
		}
		for _, f := range a.Flows {
			ea, eb := where(f.From), where(f.To)
			_, fromComp := comps[f.From]
			_, toComp := comps[f.To]
			share := float64(f.Bandwidth) / float64(len(ea)*len(eb))
			for _, x := range ea {
				for _, y := range eb {
					d, ok := o.rtt(x, y)
					if !ok || f.MaxRTT > 0 && d > f.MaxRTT {
						return false, 0, "flow rtt"
					}
					if f.Protocol == placement.UDP && (!fromComp || !toComp) {
						cl := x
						if !fromComp {
							cl = y
						}
						if c, _ := o.topo.Cluster(cl); !c.UDPExposure {
							return false, 0, "udp"
						}
					}
					cost += o.w.Network * share / 1e9 * d.Ms()
					if x != y && share > 0 {
						p, _ := o.topo.Path(x, y)
						for _, h := range p.Hops {
							bwUsed[h.From+"|"+h.To] += share
							if !h.Access {
								bwUsed["uplink|"+h.From] += share
								bwUsed["uplink|"+h.To] += share
							}
						}
					}
				}
			}
		}
		for _, c := range a.Components {
			for _, p := range c.Ports {
				if p.Expose && p.Protocol == placement.UDP {
					for _, cl := range where(c.Name) {
						if cc, _ := o.topo.Cluster(cl); !cc.UDPExposure {
							return false, 0, "udp port"
						}
					}
				}
			}
		}
		for _, ch := range a.Chains {
			var lat topology.Duration
			for h, e := range ch.Path {
				if c, ok := comps[e]; ok {
					lat += c.ProcessingTime
				}
				if h == 0 {
					continue
				}
				var worst topology.Duration
				for _, x := range where(ch.Path[h-1]) {
					for _, y := range where(e) {
						d, ok := o.rtt(x, y)
						if !ok {
							return false, 0, "chain route"
						}
						worst = max(worst, d)
					}
				}
				lat += worst / 2
			}
			if lat > ch.Budget {
				return false, 0, "chain " + ch.Name
			}
		}
	}
	for _, c := range o.topo.Clusters() {
		cpu, mem, gpu := c.Capacity[topology.ResourceCPU], c.Capacity[topology.ResourceMemory], c.Capacity[topology.ResourceGPU]
		if cpuUsed[c.Name] > float64(cpu.MilliValue())/1000+1e-9 || memUsed[c.Name] > float64(mem.Value()) || gpuUsed[c.Name] > float64(gpu.Value()) {
			return false, 0, "capacity " + c.Name
		}
		if c.Uplink != topology.Unlimited && bwUsed["uplink|"+c.Name] > float64(c.Uplink) {
			return false, 0, "uplink " + c.Name
		}
	}
	for _, l := range o.topo.Links() {
		used := bwUsed[l.A+"|"+l.B] + bwUsed[l.B+"|"+l.A]
		if l.Capacity != topology.Unlimited && used > float64(l.Capacity) {
			return false, 0, "link"
		}
	}
	for _, s := range o.topo.Sites() {
		for _, acc := range s.Access {
			used := bwUsed[s.Name+"|"+acc.Cluster] + bwUsed[acc.Cluster+"|"+s.Name]
			if acc.Capacity != topology.Unlimited && used > float64(acc.Capacity) {
				return false, 0, "access"
			}
		}
	}
	return true, cost, ""
}

// bruteForce enumerates every assignment and returns the cheapest feasible cost.
func (o oracle) bruteForce() (bool, float64) {
	var keys []replicaKey
	for _, a := range o.apps {
		for _, c := range a.Components {
			for r := range max(c.Replicas, 1) {
				keys = append(keys, replicaKey{a.Metadata.Name, c.Name, r})
			}
		}
	}
	clusters := o.topo.Clusters()
	at := map[replicaKey]string{}
	best, found := math.Inf(1), false
	var rec func(k int)
	rec = func(k int) {
		if k == len(keys) {
			if ok, cost, _ := o.evaluate(at); ok && cost < best {
				best, found = cost, true
			}
			return
		}
		for _, c := range clusters {
			at[keys[k]] = c.Name
			rec(k + 1)
		}
	}
	rec(0)
	return found, best
}

func assignmentOf(plan *placement.Plan) map[replicaKey]string {
	at := map[replicaKey]string{}
	for _, a := range plan.Assignments {
		at[replicaKey{a.App, a.Component, a.Replica}] = a.Cluster
	}
	return at
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containsT(s []topology.Tier, v topology.Tier) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
