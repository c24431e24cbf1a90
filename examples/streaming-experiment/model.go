package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// This file is the model half: the continuum of the paper's experiment 5.2 described
// with the topology package, its five placements, the per-hop delays derived from the
// topology, and the same streaming service given to the placement engine.

// Figures of the model. Those from the paper cite its section; the rest are
// assumptions, all here so that none hides in the code.
const (
	// Cluster size of every cluster of the experiment: "2 vCPUs, 4GB of RAM" (§5.2).
	clusterCPU, clusterMemory = "2", "4Gi"

	// defaultTunnelRTT is what a Liqo (WireGuard) tunnel adds to a link's round trip:
	// the gateway pods at both ends plus encryption. ASSUMPTION: the paper reports no
	// per-packet figure (only end-to-end p50s, §5.2); 0.3 ms is the figure the SDK's
	// own Fig. 1 continuum (topology/topologytest/paper-fig1.yaml) uses, which calls
	// itself plausible, not measured. Override with -tunnel.
	defaultTunnelRTT = 300 * time.Microsecond
	// wireGuardBytes is the tunnel's encapsulation per packet over IPv4: 20 (IP) + 8
	// (UDP) + 16 (WireGuard data header) + 16 (Poly1305 tag).
	wireGuardBytes = 60

	// Link and access capacities. ASSUMPTION: the paper gives none.
	linkCapacity   = 10 * topology.Gbps
	accessCapacity = 10 * topology.Gbps

	// Processing times of the components. ASSUMPTION (the paper measures none): 4 ms to
	// render and encode a frame, 1 ms for the streaming server to repacketise it (it
	// relays, it does not transcode; ffserver in the paper).
	renderProcessing    = 4 * time.Millisecond
	streamingProcessing = 1 * time.Millisecond

	// inputBandwidth is the user's input (pose, controls) to the renderer. ASSUMPTION.
	inputBandwidth = 1 * topology.Mbps
)

// Names in the continuum.
const (
	localA, localB = "local-a", "local-b" // two clusters on one OpenStack (sce.2, sce.3)
	fra, gva       = "fra", "gva"         // the remote OpenStacks in Frankfurt and Geneva (sce.4, sce.5)
	userSite       = "geneva"             // where the users (the clients) are
	appName        = "streaming"
	render         = "render"
	streaming      = "streaming"
)

// Locations. Frankfurt and Geneva are the paper's (§5.2), 473 km apart. ASSUMPTION:
// the paper does not say where its local OpenStack is; we put it on a campus in
// Geneva's suburbs, about 8 km from the users, so that all five placements serve the same
// users.
var (
	locFrankfurt = topology.Location{Lat: 50.1109, Lon: 8.6821}
	locGeneva    = topology.Location{Lat: 46.2044, Lon: 6.1432}
	locLab       = topology.Location{Lat: 46.2333, Lon: 6.0500}
	locUsers     = topology.Location{Lat: 46.2100, Lon: 6.1500}
)

// netMode is how the services of a placement reach each other across clusters.
type netMode string

const (
	liqo     netMode = "Liqo"
	nodePort netMode = "NodePort"
)

// scenario is one of the paper's five placements (§5.2). The client runs with the
// renderer, as in the paper's sce.2 ("one cluster hosts the rendering and client
// components").
type scenario struct {
	ID        int
	Name      string
	Render    string
	Streaming string
	Client    string
	Net       netMode
	// PaperP50 is the paper's 50th percentile for the scenario (§5.2, Fig. 4).
	PaperP50 time.Duration
}

// The paper's p90 was "around the 1-second mark" in all scenarios and sce.1's standard
// deviation 202 ms (§5.2); it quotes no other standard deviation.
const (
	paperP90     = time.Second
	paperStdSce1 = 202 * time.Millisecond
)

// scenarios are the paper's five (§5.2). ASSUMPTION for sce.4/5: the paper does not say
// which remote cluster runs what; by analogy with sce.2 the renderer and the client
// share one (Geneva, near the users) and the streaming server runs on the other.
var scenarios = []scenario{
	{1, "one cluster", localA, localA, localA, liqo, 762 * time.Millisecond},
	{2, "local, Liqo", localA, localB, localA, liqo, 794 * time.Millisecond},
	{3, "local, NodePort", localA, localB, localA, nodePort, 811 * time.Millisecond},
	{4, "remote, Liqo", gva, fra, gva, liqo, 801 * time.Millisecond},
	{5, "remote, NodePort", gva, fra, gva, nodePort, 824 * time.Millisecond},
}

// continuum is the experiment's continuum in its two networking variants.
type continuum struct {
	// Liqo: every inter-cluster link is a Liqo peering with the tunnel's overhead.
	Liqo *topology.Topology
	// NodePort: the same links without the tunnel (no peering), each direction paying
	// one extra kube-proxy hop instead (see kubeProxy).
	NodePort *topology.Topology
	Tunnel   time.Duration
}

// kubeProxy is what NodePort adds to one direction of a link: the packet reaches a
// node's port, kube-proxy DNATs it and (externalTrafficPolicy: Cluster) may forward it
// to the node that runs the pod: one more hop inside the receiving cluster, half its
// intra-cluster RTT (0.1 ms by default). ASSUMPTION: the paper measures no per-packet
// figure for NodePort either.
func kubeProxy(c topology.Cluster) topology.Duration { return c.IntraRTT / 2 }

// withTunnel sets a Liqo tunnel on a link.
func withTunnel(rtt time.Duration) topologytest.LinkOption {
	return func(l *topology.LinkSpec) {
		l.Tunnel = &topology.TunnelOverhead{RTT: topology.Duration(rtt), BytesPerPacket: wireGuardBytes}
	}
}

// buildContinuum describes the experiment's continuum. Round-trip times come from the
// topology package's physical model (DESIGN.md section 3): the geo estimate 0.5 ms +
// 2 x 2.1 x km x 4.9 us/km, never below the physical floor 2 x km x 4.9 us/km; two
// clusters on one OpenStack are 0 km apart (0.5 ms, sub-millisecond).
func buildContinuum(tunnel time.Duration) (*continuum, error) {
	est := func(a, b topology.Location) topology.Duration {
		return topology.GeoEstimate(topology.DistanceKm(a, b))
	}
	cluster := func(owner string, tier topology.Tier, region string, loc topology.Location) []topologytest.ClusterOption {
		return []topologytest.ClusterOption{topologytest.Owner(owner), topologytest.Tier(tier), topologytest.Region(region),
			topologytest.At(loc.Lat, loc.Lon), topologytest.Capacity(clusterCPU, clusterMemory), topologytest.UDP()}
	}
	peer := []topologytest.LinkOption{topologytest.LinkCapacity(linkCapacity),
		topologytest.Peered(topology.PeeringBidirectional), withTunnel(tunnel)}
	access := func(c string, loc topology.Location) topology.AccessLink {
		a := topologytest.Access(c, est(locUsers, loc))
		a.Capacity = accessCapacity
		return a
	}
	b := topologytest.New().
		Cluster(localA, cluster("lab", topology.TierEdge, "geneva-lab", locLab)...).
		Cluster(localB, cluster("lab", topology.TierEdge, "geneva-lab", locLab)...).
		Cluster(fra, cluster("openstack-fra", topology.TierCloud, "frankfurt", locFrankfurt)...).
		Cluster(gva, cluster("openstack-gva", topology.TierEdge, "geneva", locGeneva)...).
		Link(localA, localB, est(locLab, locLab), peer...).
		Link(localA, gva, est(locLab, locGeneva), peer...).
		Link(gva, fra, est(locGeneva, locFrankfurt), peer...).
		Site(userSite, &locUsers, access(localA, locLab), access(gva, locGeneva))
	spec := b.Spec()
	spec.Metadata.Name = "streaming-experiment"
	liqoTopo, err := topology.New(spec)
	if err != nil {
		return nil, fmt.Errorf("model: the Liqo continuum: %w", err)
	}
	// The NodePort variant: no tunnel, no peering, kube-proxy's hop in each direction.
	for i := range spec.Clusters {
		c := &spec.Clusters[i]
		for j := range c.Links {
			l := &c.Links[j]
			a, _ := liqoTopo.Cluster(c.Name)
			bc, _ := liqoTopo.Cluster(l.To)
			l.RTT += kubeProxy(a) + kubeProxy(bc)
			l.Tunnel, l.Peering = nil, topology.PeeringNone
		}
	}
	spec.Metadata.Name = "streaming-experiment-nodeport"
	npTopo, err := topology.New(spec)
	if err != nil {
		return nil, fmt.Errorf("model: the NodePort continuum: %w", err)
	}
	return &continuum{Liqo: liqoTopo, NodePort: npTopo, Tunnel: tunnel}, nil
}

// topo returns the variant of the continuum a placement uses.
func (c *continuum) topo(m netMode) *topology.Topology {
	if m == nodePort {
		return c.NodePort
	}
	return c.Liqo
}

// hopDelay is the one-way delay from endpoint a to b (clusters or sites) on the
// variant m of the continuum: half the path's RTT, split into the links' own delay and
// what the tunnel or kube-proxy adds on top.
func (c *continuum) hopDelay(m netMode, a, b string) (network, overhead time.Duration, err error) {
	t := c.topo(m)
	p, err := t.Path(a, b)
	if err != nil {
		return 0, 0, fmt.Errorf("model: %s path %s -> %s: %w", m, a, b, err)
	}
	if len(p.Hops) == 0 { // a cluster to itself: the intra-cluster RTT
		return p.RTT.Std() / 2, 0, nil
	}
	var base topology.Duration
	for _, h := range p.Hops {
		if h.Access {
			base += h.RTT
			continue
		}
		l, ok := c.Liqo.Link(h.From, h.To)
		if !ok {
			return 0, 0, fmt.Errorf("model: no link %s -- %s", h.From, h.To)
		}
		base += l.RTT
	}
	return base.Std() / 2, (p.RTT - base).Std() / 2, nil
}

// paperPath returns the stages of the paper's measured path for s: render ->
// streaming -> client, the frame timestamped at generation and read at the client
// (§5.2). The streaming server adds its processing and the application's buffer.
func (c *continuum) paperPath(s scenario, buffer time.Duration) ([]stage, error) {
	n1, o1, err := c.hopDelay(s.Net, s.Render, s.Streaming)
	if err != nil {
		return nil, err
	}
	n2, o2, err := c.hopDelay(s.Net, s.Streaming, s.Client)
	if err != nil {
		return nil, err
	}
	return []stage{
		{Name: fmt.Sprintf("render@%s -> streaming@%s", s.Render, s.Streaming), Network: n1, Overhead: o1,
			Processing: streamingProcessing, Buffer: buffer},
		{Name: fmt.Sprintf("streaming@%s -> client@%s", s.Streaming, s.Client), Network: n2, Overhead: o2},
	}, nil
}

// streamingApp is the paper's service as a placement.Application: the renderer sends
// the stream to the streaming server, which serves it to the users at the site; users
// send their input to the renderer. One chain, user -> render -> streaming -> user,
// carries the motion-to-photon budget.
func streamingApp(bw topology.Bandwidth, budget time.Duration, renderAt, streamingAt []string) placement.Application {
	return placementtest.NewApp(appName).
		Component(render, "1", "1Gi", placementtest.Processing(topology.Duration(renderProcessing)),
			placementtest.Clusters(renderAt...)).
		Component(streaming, "500m", "512Mi", placementtest.Processing(topology.Duration(streamingProcessing)),
			placementtest.UDPPort(8554), placementtest.Clusters(streamingAt...)).
		UDPFlow(userSite, render, inputBandwidth, 0).
		UDPFlow(render, streaming, bw, 0).
		UDPFlow(streaming, userSite, bw, 0).
		Chain("motion-to-photon", topology.Duration(budget), userSite, render, streaming, userSite).
		Build()
}

// evaluation is the engine's verdict on one placement.
type evaluation struct {
	Scenario scenario
	Feasible bool
	// Latency is the chain's latency on this placement whatever the constraints (the
	// engine's own computation, with the budget and the bandwidth lifted).
	Latency time.Duration
	// Violations name the constraint the engine found broken and its reason
	// ("chain: chain motion-to-photon 16.1ms > 15.0ms").
	Violations []string
	// Chain is the engine's chain result when feasible.
	Chain *placement.ChainResult
}

// evaluate forces the engine onto one placement, then reads the plan's chain or the
// unplaceable reasons: each component is allowed only its cluster, so the engine either
// places it there or says which constraint ruled that cluster out.
func evaluate(ctx context.Context, c *continuum, s scenario, bw topology.Bandwidth, budget time.Duration) (evaluation, error) {
	ev := evaluation{Scenario: s}
	snap := &placement.Snapshot{Topology: c.topo(s.Net)}
	place := func(app placement.Application, explain placement.ExplainLevel) (*placement.Plan, error) {
		return placement.Place(ctx, snap, &placement.Request{Apps: []placement.Application{app}, Explain: explain})
	}

	// The latency the placement has, constraints lifted.
	rp, err := place(streamingApp(0, time.Hour, []string{s.Render}, []string{s.Streaming}), placement.ExplainNone)
	if err != nil {
		return ev, fmt.Errorf("engine: latency of placement %d: %w", s.ID, err)
	}
	ev.Latency = rp.Chains[0].Used.Std()

	plan, err := place(streamingApp(bw, budget, []string{s.Render}, []string{s.Streaming}), placement.ExplainFull)
	var ue *placement.UnplaceableError
	switch {
	case err == nil:
		ev.Feasible = true
		ch := plan.Chains[0]
		ev.Chain = &ch
		return ev, nil
	case errors.As(err, &ue):
		ev.Violations = violations(plan, s)
		if len(ev.Violations) == 0 { // fall back on the error's histogram
			ev.Violations = append(ev.Violations, ue.Details...)
		}
		return ev, nil
	default:
		return ev, fmt.Errorf("engine: placement %d: %w", s.ID, err)
	}
}

// violations returns, for every unplaced replica, why the engine ruled out the one
// cluster the placement allows it, as "constraint: reason".
func violations(plan *placement.Plan, s scenario) []string {
	want := map[string]string{render: s.Render, streaming: s.Streaming}
	var out []string
	for _, e := range plan.Explanations {
		if e.Chosen != "" {
			continue
		}
		for _, r := range e.RuledOut {
			if r.Cluster == want[e.Component] {
				out = append(out, fmt.Sprintf("%s: %s (%s on %s)", r.Constraint, r.Reason, e.Component, r.Cluster))
			}
		}
	}
	return out
}

// choice is the engine's free placement.
type choice struct {
	Render    string
	Streaming string
	Chain     placement.ChainResult
	// Match is the paper's scenario with the same placement (and Liqo), 0 when the
	// engine chose a placement the paper did not test.
	Match        int
	Explanations []placement.Explanation
	Objective    placement.Objective
}

// choose lets the engine place the service freely on the Liqo continuum (the SDK's
// model: clusters reach each other through Liqo peerings; NodePort is the paper's
// benchmark, not an option it recommends, §5.2).
func choose(ctx context.Context, c *continuum, bw topology.Bandwidth, budget time.Duration) (*choice, error) {
	app := streamingApp(bw, budget, nil, nil)
	plan, err := placement.Place(ctx, &placement.Snapshot{Topology: c.Liqo},
		&placement.Request{Apps: []placement.Application{app}, Explain: placement.ExplainFull})
	if err != nil {
		var ue *placement.UnplaceableError
		if errors.As(err, &ue) {
			return nil, ue
		}
		return nil, fmt.Errorf("engine: free placement: %w", err)
	}
	ch := &choice{Chain: plan.Chains[0], Explanations: plan.Explanations, Objective: plan.Objective}
	for _, a := range plan.Assignments {
		switch a.Component {
		case render:
			ch.Render = a.Cluster
		case streaming:
			ch.Streaming = a.Cluster
		}
	}
	for _, s := range scenarios {
		if s.Net == liqo && s.Render == ch.Render && s.Streaming == ch.Streaming {
			ch.Match = s.ID
			break
		}
	}
	return ch, nil
}

// asScenario describes the engine's choice like a scenario, to evaluate and measure it.
func (ch *choice) asScenario() scenario {
	name := fmt.Sprintf("engine: render@%s, streaming@%s", ch.Render, ch.Streaming)
	return scenario{ID: 0, Name: name, Render: ch.Render, Streaming: ch.Streaming, Client: userSite, Net: liqo}
}

// chainStages turns an engine chain into relay stages: one per network hop, each with
// the processing of the component it reaches, so the relays replay the engine's model
// term by term.
func chainStages(ch placement.ChainResult) []stage {
	var out []stage
	for _, h := range ch.Hops {
		if h.To == "" { // processing at h.From
			if len(out) == 0 {
				out = append(out, stage{Name: h.From + " (processing)"})
			}
			out[len(out)-1].Processing += h.Latency.Std()
			continue
		}
		out = append(out, stage{Name: fmt.Sprintf("%s -> %s (%s)", h.From, h.To, h.Where), Network: h.Latency.Std()})
	}
	return out
}

// describeChain formats a chain's terms: "0.3 + 4.0 + 0.4 + 1.0 + 0.7 ms".
func describeChain(ch placement.ChainResult) string {
	parts := make([]string, len(ch.Hops))
	for i, h := range ch.Hops {
		parts[i] = fmt.Sprintf("%.2f", h.Latency.Ms())
	}
	return strings.Join(parts, " + ") + " ms"
}

// constraintOf returns the constraint name a violation starts with.
func constraintOf(v string) string {
	name, _, _ := strings.Cut(v, ":")
	return name
}

// knownConstraints are the engine's constraint names (placement package docs).
var knownConstraints = []string{"allowed", "resources", "udp", "site-latency", "capacity", "node-pool", "spread",
	"anti-affinity", "co-locate", "flow-rtt", "bandwidth", "chain"}

func isKnownConstraint(name string) bool { return slices.Contains(knownConstraints, name) }
