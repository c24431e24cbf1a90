// Command streaming-experiment reproduces experiment 5.2 of "Cross-Cluster Networking
// to Support Extended Reality Services" (shared/papers/cross-cluster-xr.txt, Fig. 4)
// and goes beyond it.
//
// The paper's scenario: a rendering service sends a video stream to a streaming
// service; a client consumes it. Five placements: (1) all in one cluster; (2) two local
// clusters over Liqo, render and client on one, streaming on the other; (3) the same
// over NodePort; (4) two remote clusters, Frankfurt and Geneva, over Liqo; (5) the same
// over NodePort. The paper measured end-to-end frame latency (p50 762-824 ms, dominated
// by the application's buffering).
//
// The program
//
//  1. models the five placements on a continuum described with the topology package:
//     round-trip times from its physical model (Frankfurt-Geneva 473 km), a Liqo
//     tunnel overhead on every peered link, NodePort without the tunnel but with one
//     kube-proxy hop per direction; each placement's per-hop one-way delays are derived
//     from the topology (RTT/2 per hop plus the overheads);
//
//  2. measures for real: synthetic frames (sequence number, generation time on a
//     monotonic clock, padding) go render -> streaming -> client through user-space UDP
//     relays on 127.0.0.1, each holding every frame for its hop's one-way delay in a
//     delay queue; the client records receive time minus generation time. It prints
//     sent/received/lost, p50, p90, mean and standard deviation per scenario next to
//     the injected delays and the paper's p50s, and with -o draws them (SVG or PNG);
//
//  3. gives the same service to the placement engine with a bandwidth demand and a
//     15 ms motion-to-photon chain (users in Geneva): which of the five placements are
//     feasible and why not, what the engine chooses on its own, and the relays'
//     measurement of that choice next to the engine's prediction.
//
// The application's buffering is not network: -buffer adds a fixed buffer at the
// streaming server (default 0) to show the paper's magnitude, and every table keeps
// it apart.
//
// Short run (CI, a few seconds): 60 frames per scenario at 60 fps.
//
//	go run ./examples/streaming-experiment -o streaming.svg
//
// Long run (-full): 10,800 frames (3 minutes) per scenario, more than the paper's
// "over 10000 frames" per scenario (§5.2); about 18 minutes in all.
//
//	go run ./examples/streaming-experiment -full -o streaming.png
//	go run ./examples/streaming-experiment -duration 30s -fps 30 -buffer 750ms -bandwidth 8Gbps
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "streaming-experiment:", err)
		os.Exit(1)
	}
}

// Defaults of the short configuration and of -full.
const (
	defaultFrames = 60
	fullFrames    = 10_800
	defaultFPS    = 60
	defaultSize   = 1200
	drainGrace    = 2 * time.Second // waited only while frames are missing
	maxHeldBytes  = 512 << 20
)

// config is the parsed command line.
type config struct {
	Frames    int
	FPS       float64
	FrameSize int
	Buffer    time.Duration
	Bandwidth topology.Bandwidth
	Budget    time.Duration
	Tunnel    time.Duration
	Out       string
}

func parseFlags(args []string, w io.Writer) (config, error) {
	fs := flag.NewFlagSet("streaming-experiment", flag.ContinueOnError)
	fs.SetOutput(w)
	var (
		c        config
		duration time.Duration
		full     bool
		bw       string
	)
	fs.IntVar(&c.Frames, "frames", defaultFrames, "frames per scenario")
	fs.DurationVar(&duration, "duration", 0, "stream duration per scenario (sets the frames from -fps; instead of -frames)")
	fs.BoolVar(&full, "full", false, fmt.Sprintf("the long run: %d frames per scenario (unless -frames or -duration is given)", fullFrames))
	fs.Float64Var(&c.FPS, "fps", defaultFPS, "frame rate")
	fs.IntVar(&c.FrameSize, "frame-size", defaultSize, "frame (UDP payload) size in bytes")
	fs.DurationVar(&c.Buffer, "buffer", 0, "the streaming server's buffering, added to every frame (application, not network)")
	fs.StringVar(&bw, "bandwidth", "500Mbps", "the stream's bandwidth demand for the placement engine (e.g. 300Mbps, 8Gbps)")
	fs.DurationVar(&c.Budget, "budget", 15*time.Millisecond, "motion-to-photon budget of the chain users -> render -> streaming -> users")
	fs.DurationVar(&c.Tunnel, "tunnel", defaultTunnelRTT, "RTT a Liqo tunnel adds to a link (assumed; see model.go)")
	fs.StringVar(&c.Out, "o", "", "write the plot to this file (.svg or .png)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (all options are flags; see -h)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case math.IsNaN(c.FPS) || c.FPS <= 0 || c.FPS > 2000:
		return c, fmt.Errorf("-fps: must be > 0 and <= 2000, got %v", c.FPS)
	case set["frames"] && set["duration"]:
		return c, errors.New("-frames and -duration: give one of them, not both")
	case duration < 0:
		return c, fmt.Errorf("-duration: must be >= 0, got %s", duration)
	case c.FrameSize < frameHeader || c.FrameSize > maxFrameSize:
		return c, fmt.Errorf("-frame-size: must be between %d (the header) and %d bytes (a UDP datagram), got %d", frameHeader, maxFrameSize, c.FrameSize)
	case c.Buffer < 0 || c.Buffer > 10*time.Second:
		return c, fmt.Errorf("-buffer: must be between 0 and 10s, got %s", c.Buffer)
	case c.Budget <= 0:
		return c, fmt.Errorf("-budget: must be > 0, got %s", c.Budget)
	case c.Tunnel < 0 || c.Tunnel > 100*time.Millisecond:
		return c, fmt.Errorf("-tunnel: must be between 0 and 100ms, got %s", c.Tunnel)
	}
	if set["duration"] {
		c.Frames = int(math.Ceil(duration.Seconds() * c.FPS))
	} else if full && !set["frames"] {
		c.Frames = fullFrames
	}
	if c.Frames < 1 || c.Frames > 10_000_000 {
		return c, fmt.Errorf("-frames: must be between 1 and 10000000, got %d", c.Frames)
	}
	// The streaming relay holds -buffer worth of frames in memory.
	if held := float64(c.FrameSize) * c.FPS * (c.Buffer.Seconds() + 1); held > maxHeldBytes {
		return c, fmt.Errorf("-buffer: %s of %d-byte frames at %g fps holds %.0f MiB in the relays; at most %d MiB",
			c.Buffer, c.FrameSize, c.FPS, held/(1<<20), maxHeldBytes>>20)
	}
	var err error
	if c.Bandwidth, err = topology.ParseBandwidth(bw); err != nil {
		return c, fmt.Errorf("-bandwidth: %w", err)
	}
	if c.Bandwidth == topology.Unlimited {
		return c, errors.New("-bandwidth: must be a rate such as 500Mbps, not unlimited")
	}
	if c.Out != "" {
		if ext := strings.ToLower(filepath.Ext(c.Out)); ext != ".svg" && ext != ".png" {
			return c, fmt.Errorf("-o: want a .svg or .png file, got %q", c.Out)
		}
	}
	return c, nil
}

// measured is one path measured with the relays.
type measured struct {
	Scenario scenario
	Stages   []stage
	// Sums over the stages: injected network delay (links + overheads), modelled
	// processing, application buffer.
	Network, Overhead, Processing, Buffer time.Duration
	Run                                   *runResult
	Stats                                 stats
}

// Injected is everything the relays add: network, processing and buffer.
func (m *measured) Injected() time.Duration { return m.Network + m.Overhead + m.Processing + m.Buffer }

// report is everything a run found; the test reads it.
type report struct {
	Config      config
	Continuum   *continuum
	Measured    []measured
	Evaluations []evaluation
	// Choice is the engine's free placement; nil, with Unplaceable saying why, when
	// nothing fits.
	Choice      *choice
	Unplaceable *placement.UnplaceableError
	// ChoiceEval is the engine's choice evaluated like the five (forced placement).
	ChoiceEval evaluation
	// ChoiceMeasured is the engine's chain replayed by the relays.
	ChoiceMeasured measured
}

func run(ctx context.Context, args []string, w io.Writer) error {
	_, err := runReport(ctx, args, w)
	return err
}

func runReport(ctx context.Context, args []string, w io.Writer) (*report, error) {
	cfg, err := parseFlags(args, w)
	if errors.Is(err, flag.ErrHelp) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cont, err := buildContinuum(cfg.Tunnel)
	if err != nil {
		return nil, err
	}
	r := &report{Config: cfg, Continuum: cont}
	sc := streamConfig{Frames: cfg.Frames, FPS: cfg.FPS, FrameSize: cfg.FrameSize, Drain: drainGrace}

	printModel(w, cont, cfg)

	// 3. Measure the paper's path for each scenario.
	fmt.Fprintf(w, "\n== 3. Measured on this machine: %d frames per scenario at %g fps, %d-byte frames, UDP relays on 127.0.0.1\n\n",
		cfg.Frames, cfg.FPS, cfg.FrameSize)
	for _, s := range scenarios {
		stages, err := cont.paperPath(s, cfg.Buffer)
		if err != nil {
			return nil, err
		}
		m, err := measurePath(ctx, s, stages, sc)
		if err != nil {
			return nil, fmt.Errorf("scenario %d (%s): %w", s.ID, s.Name, err)
		}
		r.Measured = append(r.Measured, m)
	}
	printMeasured(w, r)
	if load, ok := loadAverage(); ok {
		fmt.Fprintf(w, "  This machine: %d CPUs, load average %s (1, 5, 15 min) after the runs; other processes competing\n", runtime.NumCPU(), load)
		fmt.Fprintln(w, "  for the CPUs delay the relays' wake-ups and widen P90 and STD far more than P50.")
	}

	// 4. The placement engine.
	for _, s := range scenarios {
		ev, err := evaluate(ctx, cont, s, cfg.Bandwidth, cfg.Budget)
		if err != nil {
			return nil, err
		}
		r.Evaluations = append(r.Evaluations, ev)
	}
	r.Choice, err = choose(ctx, cont, cfg.Bandwidth, cfg.Budget)
	switch {
	case errors.As(err, &r.Unplaceable):
		// Nothing fits: a result with reasons, printed below.
	case err != nil:
		return nil, err
	default:
		if r.ChoiceEval, err = evaluate(ctx, cont, r.Choice.asScenario(), cfg.Bandwidth, cfg.Budget); err != nil {
			return nil, err
		}
		if r.ChoiceMeasured, err = measurePath(ctx, r.Choice.asScenario(), chainStages(r.Choice.Chain), sc); err != nil {
			return nil, fmt.Errorf("the engine's choice: %w", err)
		}
	}
	printEngine(w, r)

	if cfg.Out != "" {
		if err := writePlot(cfg.Out, r); err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "\nplot written to %s\n", cfg.Out)
	}
	return r, nil
}

func measurePath(ctx context.Context, s scenario, stages []stage, sc streamConfig) (measured, error) {
	m := measured{Scenario: s, Stages: stages}
	for _, st := range stages {
		m.Network += st.Network
		m.Overhead += st.Overhead
		m.Processing += st.Processing
		m.Buffer += st.Buffer
	}
	res, err := measure(ctx, stages, sc)
	if err != nil {
		return m, err
	}
	m.Run, m.Stats = res, summarise(res.Latencies())
	return m, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func printModel(w io.Writer, c *continuum, cfg config) {
	fmt.Fprintf(w, "== 1. The continuum of the paper's experiment 5.2 (topology %q)\n\n", c.Liqo.Name())
	fmt.Fprintln(w, "  Each cluster: 2 vCPUs, 4 GiB (paper §5.2). RTTs from the topology's physical model:")
	fmt.Fprintln(w, "  estimate 0.5ms + 2 x 2.1 x km x 4.9us/km, above the floor 2 x km x 4.9us/km.")
	fmt.Fprintf(w, "  Liqo adds its tunnel (%s RTT, %d B/packet: assumed); NodePort drops the tunnel and adds one\n", ms(c.Tunnel), wireGuardBytes)
	fmt.Fprintln(w, "  kube-proxy hop per direction (half the receiving cluster's intra-cluster RTT: assumed).")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  LINK\tKM\tFLOOR\tRTT (ESTIMATE)\tLIQO RTT\tNODEPORT RTT\tCAPACITY")
	for _, l := range c.Liqo.Links() {
		km, _, _ := c.Liqo.Distance(l.A, l.B)
		np, _ := c.NodePort.Link(l.A, l.B)
		fmt.Fprintf(tw, "  %s -- %s\t%.1f\t%s\t%s\t%s\t%s\t%s\n", l.A, l.B, km, ms(topology.PhysicalFloor(km).Std()),
			ms(l.RTT.Std()), ms(l.EffectiveRTT().Std()), ms(np.EffectiveRTT().Std()), l.Capacity)
	}
	for _, s := range c.Liqo.Sites() {
		for _, a := range s.Access {
			km, _, _ := c.Liqo.Distance(s.Name, a.Cluster)
			fmt.Fprintf(tw, "  %s (users) -- %s\t%.1f\t%s\t%s\t-\t-\t%s\n", s.Name, a.Cluster, km,
				ms(topology.PhysicalFloor(km).Std()), ms(a.RTT.Std()), a.Capacity)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "  (The tunnel's %d B per packet are %.1f%% of a %d-byte frame; the relays do not add them.)\n",
		wireGuardBytes, 100*float64(wireGuardBytes)/float64(cfg.FrameSize), cfg.FrameSize)

	fmt.Fprintf(w, "\n== 2. The five placements (paper §5.2) and their one-way hop delays, derived from the topology\n\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tSCENARIO\tRENDER\tSTREAMING\tCLIENT\tRENDER -> STREAMING\tSTREAMING -> CLIENT")
	for _, s := range scenarios {
		hop := func(a, b string) string {
			n, o, err := c.hopDelay(s.Net, a, b)
			if err != nil {
				return err.Error()
			}
			switch {
			case a == b:
				return ms(n) + " (intra-cluster)"
			case s.Net == liqo:
				return fmt.Sprintf("%s + %s tunnel", ms(n), ms(o))
			default:
				return fmt.Sprintf("%s + %s kube-proxy", ms(n), ms(o))
			}
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.Render, s.Streaming, s.Client,
			hop(s.Render, s.Streaming), hop(s.Streaming, s.Client))
	}
	tw.Flush()
	fmt.Fprintf(w, "  The streaming server adds %s of processing (assumed) and the -buffer (%s).\n", ms(streamingProcessing), ms(cfg.Buffer))
}

func printMeasured(w io.Writer, r *report) {
	rows := r.Measured
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "#\tSCENARIO\tSENT\tRECV\tLOST\tNETWORK\tPROC\tBUFFER\tP50\tP90\tMEAN\tSTD\tP50-INJECTED\tPAPER P50\t")
	for _, m := range rows {
		st := m.Stats
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%+.3fms\t%dms\t\n", m.Scenario.ID, m.Scenario.Name,
			m.Run.Sent, m.Run.Received, m.Run.Lost, ms(m.Network+m.Overhead), ms(m.Processing), ms(m.Buffer),
			ms(st.P50), ms(st.P90), ms(st.Mean), ms(st.Std), float64(st.P50-m.Injected())/float64(time.Millisecond),
			m.Scenario.PaperP50.Milliseconds())
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  NETWORK is the injected one-way delay of both hops (links + tunnel or kube-proxy), PROC the")
	fmt.Fprintln(w, "  streaming server's modelled processing, BUFFER the application's buffering (-buffer); P50-INJECTED")
	fmt.Fprintln(w, "  is what the emulation itself costs (loopback UDP, wake-up latency), not part of the model.")
	var maxNet time.Duration
	for _, m := range rows {
		maxNet = max(maxNet, m.Network+m.Overhead)
	}
	// The model's Liqo-minus-NodePort difference per hop, on the local link.
	var perHop time.Duration
	if _, lo, err := r.Continuum.hopDelay(liqo, localA, localB); err == nil {
		if _, no, err := r.Continuum.hopDelay(nodePort, localA, localB); err == nil {
			perHop = lo - no
		}
	}
	p := func(id int) time.Duration { return scenarios[id-1].PaperP50 }
	fmt.Fprintf(w, "  The paper's p50s (§5.2: %d, %d, %d, %d, %d ms; p90 about %s in every scenario; std dev %dms\n",
		p(1).Milliseconds(), p(2).Milliseconds(), p(3).Milliseconds(), p(4).Milliseconds(), p(5).Milliseconds(), paperP90, paperStdSce1.Milliseconds())
	fmt.Fprintf(w, "  in sce.1) are mostly the application's own latency (ffmpeg/ffserver buffering; the paper notes they\n")
	fmt.Fprintf(w, "  \"are also dependent on the application itself\"): the network accounts for at most %s of them in\n", ms(maxNet))
	fmt.Fprintf(w, "  this model. The model puts Liqo %s per hop above NodePort (tunnel vs kube-proxy), while\n", ms(perHop))
	fmt.Fprintf(w, "  the paper measured Liqo %d-%d ms faster at the p50: differences that size cannot come from per-packet\n",
		(p(3) - p(2)).Milliseconds(), (p(5) - p(4)).Milliseconds())
	fmt.Fprintf(w, "  network cost, and they are small next to the paper's %dms spread.", paperStdSce1.Milliseconds())
	if r.Config.Buffer == 0 {
		fmt.Fprint(w, " Add -buffer 750ms to see the paper's magnitude.")
	}
	fmt.Fprintln(w)
}

func printEngine(w io.Writer, r *report) {
	cfg := r.Config
	fmt.Fprintf(w, "\n== 4. The placement engine: the same service, %s stream, users at %s,\n", cfg.Bandwidth, userSite)
	fmt.Fprintf(w, "   chain %s -> render -> streaming -> %s within %s (render %s, streaming %s processing: assumed)\n\n",
		userSite, userSite, ms(cfg.Budget), ms(renderProcessing), ms(streamingProcessing))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPLACEMENT\tNET\tCHAIN LATENCY\tFEASIBLE\tVIOLATED CONSTRAINT")
	for _, ev := range r.Evaluations {
		s := ev.Scenario
		why := "-"
		if !ev.Feasible {
			why = strings.Join(ev.Violations, "; ")
		}
		fmt.Fprintf(tw, "  %d\trender@%s, streaming@%s\t%s\t%s\t%v\t%s\n", s.ID, s.Render, s.Streaming, s.Net, ms(ev.Latency), ev.Feasible, why)
	}
	tw.Flush()

	ch := r.Choice
	if ch == nil {
		fmt.Fprintln(w, "\n  The engine, free to choose (on the Liqo continuum), finds no feasible placement:")
		for _, d := range r.Unplaceable.Details {
			fmt.Fprintln(w, "    "+d)
		}
		for _, sf := range r.Unplaceable.Shortfall {
			fmt.Fprintln(w, "    to fit, provision "+sf.Text)
		}
		return
	}
	fmt.Fprintf(w, "\n  The engine, free to choose (on the Liqo continuum), places render on %s and streaming on %s:\n", ch.Render, ch.Streaming)
	if ch.Match > 0 {
		fmt.Fprintf(w, "  the paper's placement %d (%s).\n", ch.Match, scenarios[ch.Match-1].Name)
	} else {
		fmt.Fprintln(w, "  a placement the paper did not test.")
	}
	fmt.Fprintf(w, "  Chain %s: %s of %s budget = %s.\n", ch.Chain.Name, ms(ch.Chain.Used.Std()), ms(ch.Chain.Budget.Std()), describeChain(ch.Chain))
	fmt.Fprintf(w, "  Objective %.4f (network %.4f Gbit/s x ms, compute %.4f: the paper gives no prices).\n",
		ch.Objective.Total, ch.Objective.Network, ch.Objective.Compute)
	for _, e := range ch.Explanations {
		fmt.Fprintf(w, "  Why %s on %s:", e.Component, e.Chosen)
		if e.ChosenScore != nil {
			fmt.Fprintf(w, " cost %.4f there", e.ChosenScore.Total)
		}
		if e.RunnerUp != nil {
			fmt.Fprintf(w, "; runner-up %s at %.4f", e.RunnerUp.Cluster, e.RunnerUp.Total)
		}
		fmt.Fprintln(w)
		for _, rj := range e.RuledOut {
			fmt.Fprintf(w, "    %-8s ruled out by %s: %s\n", rj.Cluster, rj.Constraint, rj.Reason)
		}
	}
	m := r.ChoiceMeasured
	fmt.Fprintf(w, "\n  The engine's chain replayed by the relays (%d stages, %d frames): p50 %s, p90 %s, std %s, lost %d\n",
		len(m.Stages), m.Run.Sent, ms(m.Stats.P50), ms(m.Stats.P90), ms(m.Stats.Std), m.Run.Lost)
	fmt.Fprintf(w, "  vs the engine's prediction %s: the measurement is %+.3fms off (the emulation's own cost).\n",
		ms(ch.Chain.Used.Std()), float64(m.Stats.P50-ch.Chain.Used.Std())/float64(time.Millisecond))
	feasible := []string{}
	for _, ev := range r.Evaluations {
		if ev.Feasible {
			feasible = append(feasible, fmt.Sprint(ev.Scenario.ID))
		}
	}
	fmt.Fprintf(w, "  Feasible among the paper's placements at %s within %s: %s.\n", cfg.Bandwidth, ms(cfg.Budget), orNone(feasible))
}

// loadAverage returns the system's load averages, where the OS publishes them.
func loadAverage() (string, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "", false
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "", false
	}
	return strings.Join(f[:3], " "), true
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// stats summarises latencies.
type stats struct {
	N                        int
	Min, Max, P50, P90, Mean time.Duration
	Std                      time.Duration // sample standard deviation
}

// summarise returns the statistics of ds; percentiles interpolate linearly between
// order statistics.
func summarise(ds []time.Duration) stats {
	s := stats{N: len(ds)}
	if len(ds) == 0 {
		return s
	}
	v := slices.Clone(ds)
	slices.Sort(v)
	s.Min, s.Max = v[0], v[len(v)-1]
	s.P50, s.P90 = percentile(v, 0.5), percentile(v, 0.9)
	var sum float64
	for _, d := range v {
		sum += float64(d)
	}
	mean := sum / float64(len(v))
	s.Mean = time.Duration(math.Round(mean))
	if len(v) > 1 {
		var sq float64
		for _, d := range v {
			sq += (float64(d) - mean) * (float64(d) - mean)
		}
		s.Std = time.Duration(math.Round(math.Sqrt(sq / float64(len(v)-1))))
	}
	return s
}

// percentile of sorted values, q in [0, 1].
func percentile(sorted []time.Duration, q float64) time.Duration {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	frac := pos - float64(lo)
	return sorted[lo] + time.Duration(math.Round(frac*float64(sorted[hi]-sorted[lo])))
}
