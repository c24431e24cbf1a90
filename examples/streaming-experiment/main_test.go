package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/topology"
)

// maxEmulationCost is how far above the injected delay the median may be: the relays'
// own cost (loopback UDP, goroutine and thread wake-ups), a few hundred microseconds on
// an idle machine.
const maxEmulationCost = time.Millisecond

// maxAttempts bounds the measurements of one path when its median misses.
const maxAttempts = 5

// TestRun runs the short configuration end to end and checks the report for internal
// consistency.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "streaming.svg")
	var out bytes.Buffer
	r, err := runReport(context.Background(), []string{"-o", svg}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())

	t.Run("plot", func(t *testing.T) {
		checkSVG(t, svg)
		pngFile := filepath.Join(dir, "streaming.png")
		if err := writePlot(pngFile, r); err != nil {
			t.Fatal(err)
		}
		checkPNG(t, pngFile)
	})

	t.Run("frames", func(t *testing.T) {
		all := append(append([]measured(nil), r.Measured...), r.ChoiceMeasured)
		if len(r.Measured) != len(scenarios) {
			t.Fatalf("measured %d scenarios, want %d", len(r.Measured), len(scenarios))
		}
		sc := streamConfig{Frames: r.Config.Frames, FPS: r.Config.FPS, FrameSize: r.Config.FrameSize, Drain: drainGrace}
		for _, m := range all {
			checkAccounting(t, m, defaultFrames)
			checkLatencies(t, m)
			checkMedian(t, m, defaultFrames, func() (measured, error) {
				return measurePath(context.Background(), m.Scenario, m.Stages, sc)
			})
		}
	})

	t.Run("engine", func(t *testing.T) {
		budget := r.Config.Budget
		for _, ev := range r.Evaluations {
			checkEvaluation(t, ev, budget)
		}
		// With the defaults (500 Mbit/s, 15 ms), the local placements fit and the
		// remote ones break the chain budget: Frankfurt-Geneva twice is over 10 ms.
		for i, want := range []bool{true, true, true, false, false} {
			if ev := r.Evaluations[i]; ev.Feasible != want {
				t.Errorf("placement %d: feasible = %v, want %v (%v)", i+1, ev.Feasible, want, ev.Violations)
			}
		}
		for _, i := range []int{3, 4} {
			if ev := r.Evaluations[i]; !hasConstraint(ev.Violations, "chain") {
				t.Errorf("placement %d: violations %q do not name the chain budget", i+1, ev.Violations)
			}
		}
		checkChoice(t, r)
	})

	t.Run("output", func(t *testing.T) {
		got := out.String()
		for _, want := range []string{
			"PAPER P50", "762ms", "794ms", "811ms", "801ms", "824ms",
			"fra -- gva", "473.4",
			"4  remote, Liqo      gva      fra        gva      5.12ms + 0.15ms tunnel",
			"3  local, NodePort   local-a  local-b    local-a  0.25ms + 0.10ms kube-proxy",
			"chain: chain motion-to-photon 16.1ms > 15.0ms",
			"plot written to " + svg,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
}

// checkAccounting: every frame sent is received or lost, and no relay forwards more
// than it got.
func checkAccounting(t *testing.T, m measured, frames int) {
	t.Helper()
	res := m.Run
	name := m.Scenario.Name
	if res.Sent != frames {
		t.Errorf("%s: sent %d frames, want %d", name, res.Sent, frames)
	}
	if res.Received+res.Lost != res.Sent {
		t.Errorf("%s: received %d + lost %d != sent %d", name, res.Received, res.Lost, res.Sent)
	}
	got := 0
	for _, ok := range res.Got {
		if ok {
			got++
		}
	}
	if got != res.Received || len(res.Got) != res.Sent {
		t.Errorf("%s: %d frames marked received of %d slots; report says %d of %d", name, got, len(res.Got), res.Received, res.Sent)
	}
	if res.Duplicates != 0 || res.Stray != 0 {
		t.Errorf("%s: %d duplicate and %d stray datagrams at the client", name, res.Duplicates, res.Stray)
	}
	if len(res.Relays) != len(m.Stages) {
		t.Fatalf("%s: %d relays for %d stages", name, len(res.Relays), len(m.Stages))
	}
	prev := int64(res.Sent)
	for _, rc := range res.Relays {
		if rc.In > prev || rc.Forwarded > rc.In {
			t.Errorf("%s: relay %s got %d, forwarded %d, after %d upstream", name, rc.Name, rc.In, rc.Forwarded, prev)
		}
		prev = rc.Forwarded
	}
	if int64(res.Received) > prev {
		t.Errorf("%s: client received %d, the last relay forwarded %d", name, res.Received, prev)
	}
	// Loopback UDP at these rates loses nothing unless the machine stalls for seconds.
	if res.Lost*20 > res.Sent {
		t.Errorf("%s: lost %d of %d frames", name, res.Lost, res.Sent)
	}
}

// checkLatencies: no frame arrives before the delays injected on its path allow.
func checkLatencies(t *testing.T, m measured) {
	t.Helper()
	injected := m.Injected()
	var sum time.Duration
	for _, s := range m.Stages {
		sum += s.Delay()
	}
	if sum != injected {
		t.Errorf("%s: stages add to %s, the report says %s", m.Scenario.Name, sum, injected)
	}
	for seq, ok := range m.Run.Got {
		if ok && m.Run.Latency[seq] < injected {
			t.Errorf("%s: frame %d took %s, less than the %s injected on its path", m.Scenario.Name, seq, m.Run.Latency[seq], injected)
		}
	}
	if m.Stats.N != m.Run.Received {
		t.Errorf("%s: statistics over %d frames, %d received", m.Scenario.Name, m.Stats.N, m.Run.Received)
	}
}

// checkMedian: the median latency is within maxEmulationCost above the injected delay.
// Other processes share this machine's two cores and can delay the relays' wake-ups
// for a while (a burst of compiles, a test suite starting servers), so a miss is
// measured again after a pause, up to maxAttempts in all; every attempt is logged and
// must pass the other checks too.
func checkMedian(t *testing.T, m measured, frames int, again func() (measured, error)) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		injected := m.Injected()
		over := m.Stats.P50 - injected
		if over >= 0 && over <= maxEmulationCost {
			if attempt > 1 {
				t.Logf("%s: attempt %d: median %s above the injected %s", m.Scenario.Name, attempt, over, injected)
			}
			return
		}
		msg := fmt.Sprintf("%s: median %s is %s above the injected %s (allowed: 0 to %s; %s)",
			m.Scenario.Name, m.Stats.P50, over, injected, maxEmulationCost, loadText())
		if attempt == maxAttempts || over < 0 {
			t.Errorf("%s after %d attempt(s). The relays add more than they should: if this machine is "+
				"heavily loaded they wake up late; re-run when it is quieter.", msg, attempt)
			return
		}
		t.Logf("attempt %d: %s; measuring again", attempt, msg)
		time.Sleep(time.Second)
		var err error
		if m, err = again(); err != nil {
			t.Fatal(err)
		}
		checkAccounting(t, m, frames)
		checkLatencies(t, m)
	}
}

func checkEvaluation(t *testing.T, ev evaluation, budget time.Duration) {
	t.Helper()
	s := ev.Scenario
	if ev.Latency <= 0 {
		t.Errorf("placement %d: chain latency %s", s.ID, ev.Latency)
	}
	if ev.Feasible {
		if ev.Chain == nil || ev.Chain.Used.Std() != ev.Latency {
			t.Errorf("placement %d: feasible, but its chain %v disagrees with the latency %s", s.ID, ev.Chain, ev.Latency)
		}
		if ev.Latency > budget {
			t.Errorf("placement %d: feasible with a chain of %s over the %s budget", s.ID, ev.Latency, budget)
		}
		return
	}
	if len(ev.Violations) == 0 {
		t.Errorf("placement %d: infeasible without a reason", s.ID)
	}
	for _, v := range ev.Violations {
		if c := constraintOf(v); !isKnownConstraint(c) || c == "allowed" {
			t.Errorf("placement %d: violation %q does not name a constraint the placement breaks", s.ID, v)
		}
	}
	if ev.Latency > budget && !hasConstraint(ev.Violations, "chain") && !hasConstraint(ev.Violations, "bandwidth") {
		t.Errorf("placement %d: chain %s over budget %s, but the violations say %q", s.ID, ev.Latency, budget, ev.Violations)
	}
}

// checkChoice: the engine's own choice is feasible, within budget, agrees with the same
// placement forced, and the relays measure what it predicts.
func checkChoice(t *testing.T, r *report) {
	t.Helper()
	ch := r.Choice
	if ch.Render == "" || ch.Streaming == "" {
		t.Fatalf("the engine placed render on %q and streaming on %q", ch.Render, ch.Streaming)
	}
	if ch.Chain.Used > ch.Chain.Budget || ch.Chain.Used.Std() > r.Config.Budget {
		t.Errorf("the engine's chain uses %s of %s", ch.Chain.Used, ch.Chain.Budget)
	}
	if !r.ChoiceEval.Feasible || r.ChoiceEval.Latency != ch.Chain.Used.Std() {
		t.Errorf("the engine's choice forced: feasible %v, latency %s; free: %s", r.ChoiceEval.Feasible, r.ChoiceEval.Latency, ch.Chain.Used)
	}
	if ch.Match > 0 && !r.Evaluations[ch.Match-1].Feasible {
		t.Errorf("the engine chose placement %d, which the evaluation calls infeasible", ch.Match)
	}
	for _, ev := range r.Evaluations {
		if ev.Feasible && ev.Scenario.Net == liqo && ev.Latency < ch.Chain.Used.Std() && ev.Scenario.ID != ch.Match {
			t.Logf("placement %d has a shorter chain (%s) than the engine's choice (%s): the engine minimises cost, not latency",
				ev.Scenario.ID, ev.Latency, ch.Chain.Used)
		}
	}
	var sum time.Duration
	for _, h := range ch.Chain.Hops {
		sum += h.Latency.Std()
	}
	if got := r.ChoiceMeasured.Injected(); got != sum || sum != ch.Chain.Used.Std() {
		t.Errorf("relays inject %s for the engine's chain; its hops add to %s, its latency is %s", got, sum, ch.Chain.Used)
	}
	if len(ch.Explanations) != 2 {
		t.Errorf("%d explanations, want one per component", len(ch.Explanations))
	}
}

func hasConstraint(vs []string, name string) bool {
	for _, v := range vs {
		if constraintOf(v) == name {
			return true
		}
	}
	return false
}

func checkSVG(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", file, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s: root element %q, want svg", file, root)
	}
	for _, want := range []string{"one cluster", "remote", "budget", "Fig. 4"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks the text %q", file, want)
		}
	}
}

func checkPNG(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", file, err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Errorf("%s is %dx%d, too small", file, b.Dx(), b.Dy())
	}
}

// TestHopDelaysFromTopology checks the per-hop delays against the physical model,
// computed independently here.
func TestHopDelaysFromTopology(t *testing.T) {
	c, err := buildContinuum(defaultTunnelRTT)
	if err != nil {
		t.Fatal(err)
	}
	km := topology.DistanceKm(locGeneva, locFrankfurt)
	if km < 470 || km > 476 {
		t.Errorf("Frankfurt-Geneva is %.1f km, want about 473", km)
	}
	rtt := topology.GeoEstimate(km).Std()
	if floor := topology.PhysicalFloor(km).Std(); rtt < floor {
		t.Errorf("estimate %s below the floor %s", rtt, floor)
	}
	intra := topology.DefaultIntraRTT.Std()
	for _, tc := range []struct {
		scenario          int
		network, overhead time.Duration
	}{
		{1, intra / 2, 0},
		{2, topology.EstimateBase.Std() / 2, defaultTunnelRTT / 2},
		{3, topology.EstimateBase.Std() / 2, intra / 2},
		{4, rtt / 2, defaultTunnelRTT / 2},
		{5, rtt / 2, intra / 2},
	} {
		s := scenarios[tc.scenario-1]
		stages, err := c.paperPath(s, 7*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(stages) != 2 {
			t.Fatalf("scenario %d: %d stages", tc.scenario, len(stages))
		}
		for i, st := range stages {
			if d := st.Network - tc.network; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("scenario %d hop %d: network %s, want %s", tc.scenario, i, st.Network, tc.network)
			}
			if st.Overhead != tc.overhead {
				t.Errorf("scenario %d hop %d: overhead %s, want %s", tc.scenario, i, st.Overhead, tc.overhead)
			}
		}
		if stages[0].Buffer != 7*time.Millisecond || stages[1].Buffer != 0 || stages[0].Processing != streamingProcessing {
			t.Errorf("scenario %d: buffer/processing in the wrong stage: %+v", tc.scenario, stages)
		}
	}
}

// TestBandwidthDemand: at 6 Gbit/s both directions of the stream cross the same 10
// Gbit/s link whenever render and streaming are apart, so only the one-cluster
// placement fits, and the engine says which link.
func TestBandwidthDemand(t *testing.T) {
	ctx := context.Background()
	c, err := buildContinuum(defaultTunnelRTT)
	if err != nil {
		t.Fatal(err)
	}
	bw, budget := 6*topology.Gbps, 15*time.Millisecond
	for _, s := range scenarios {
		ev, err := evaluate(ctx, c, s, bw, budget)
		if err != nil {
			t.Fatal(err)
		}
		checkEvaluation(t, ev, budget)
		if want := s.ID == 1; ev.Feasible != want {
			t.Errorf("placement %d at 6Gbps: feasible %v, want %v (%q)", s.ID, ev.Feasible, want, ev.Violations)
		}
		if s.ID > 1 && !hasConstraint(ev.Violations, "bandwidth") {
			t.Errorf("placement %d at 6Gbps: violations %q do not name bandwidth", s.ID, ev.Violations)
		}
	}
	ch, err := choose(ctx, c, bw, budget)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Render != ch.Streaming {
		t.Errorf("at 6Gbps the engine splits render (%s) and streaming (%s)", ch.Render, ch.Streaming)
	}
	// A budget nothing meets: the engine says so instead of placing.
	if _, err := choose(ctx, c, bw, 2*time.Millisecond); err == nil || !strings.Contains(err.Error(), "chain") {
		t.Errorf("choose with a 2ms budget: %v, want an unplaceable error naming the chain", err)
	}
}

// TestBufferIsSeparate: the application's buffer delays every frame but is reported
// apart from the network.
func TestBufferIsSeparate(t *testing.T) {
	c, err := buildContinuum(defaultTunnelRTT)
	if err != nil {
		t.Fatal(err)
	}
	s := scenarios[1]
	stages, err := c.paperPath(s, 40*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	sc := streamConfig{Frames: 60, FPS: 60, FrameSize: 9000, Drain: drainGrace}
	m, err := measurePath(context.Background(), s, stages, sc)
	if err != nil {
		t.Fatal(err)
	}
	if m.Buffer != 40*time.Millisecond || m.Network+m.Overhead > 2*time.Millisecond {
		t.Errorf("buffer %s, network %s: the buffer leaked into the network", m.Buffer, m.Network+m.Overhead)
	}
	checkAccounting(t, m, 60)
	checkLatencies(t, m)
	checkMedian(t, m, 60, func() (measured, error) { return measurePath(context.Background(), s, stages, sc) })
	if m.Stats.P50 < 40*time.Millisecond {
		t.Errorf("median %s below the 40ms buffer", m.Stats.P50)
	}
}

func TestDelayQueueOrder(t *testing.T) {
	q := newDelayQueue()
	base := time.Now()
	for _, ms := range []int{30, 10, 20, 10, 0} {
		q.push(base.Add(time.Duration(ms)*time.Millisecond), []byte{byte(ms)})
	}
	var got []byte
	var last time.Time
	for range 5 {
		due, data := q.pop()
		if due.Before(last) {
			t.Errorf("popped %s after %s", due.Sub(base), last.Sub(base))
		}
		last = due
		got = append(got, data...)
	}
	if want := []byte{0, 10, 10, 20, 30}; !bytes.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if _, ok := q.peek(); ok {
		t.Error("queue not empty")
	}
}

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 10; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	s := summarise(ds)
	if s.P50 != 5500*time.Microsecond || s.P90 != 9100*time.Microsecond || s.Mean != 5500*time.Microsecond {
		t.Errorf("p50 %s p90 %s mean %s, want 5.5ms 9.1ms 5.5ms", s.P50, s.P90, s.Mean)
	}
	// Sample standard deviation of 1..10 ms: sqrt(55/6) ms = 3.0277 ms.
	if d := s.Std - 3027650*time.Nanosecond; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("std %s, want 3.0277ms", s.Std)
	}
	if s.Min != time.Millisecond || s.Max != 10*time.Millisecond || s.N != 10 {
		t.Errorf("min %s max %s n %d", s.Min, s.Max, s.N)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-fps", "0"}, "-fps"},
		{[]string{"-frames", "0"}, "-frames"},
		{[]string{"-frames", "10", "-duration", "1s"}, "-frames and -duration"},
		{[]string{"-duration", "-1s"}, "-duration"},
		{[]string{"-frame-size", "10"}, "-frame-size"},
		{[]string{"-frame-size", "70000"}, "-frame-size"},
		{[]string{"-buffer", "-5ms"}, "-buffer"},
		{[]string{"-buffer", "10s", "-fps", "2000", "-frame-size", "60000"}, "-buffer"},
		{[]string{"-bandwidth", "5GBps"}, "-bandwidth"},
		{[]string{"-bandwidth", "unlimited"}, "-bandwidth"},
		{[]string{"-budget", "0s"}, "-budget"},
		{[]string{"-tunnel", "1s"}, "-tunnel"},
		{[]string{"-o", "plot.pdf"}, "-o"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		err := run(context.Background(), tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run(%q) = %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
	// -full and -duration set the frames.
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, defaultFrames},
		{[]string{"-full"}, fullFrames},
		{[]string{"-full", "-frames", "7"}, 7},
		{[]string{"-duration", "2s", "-fps", "30"}, 60},
	} {
		c, err := parseFlags(tc.args, io.Discard)
		if err != nil || c.Frames != tc.want {
			t.Errorf("parseFlags(%q): %d frames, %v; want %d", tc.args, c.Frames, err, tc.want)
		}
	}
}

// TestNothingFits: a budget no placement meets is a result with reasons, not a failure:
// every placement names the chain, the engine says what to provision, and the plot is
// still drawn.
func TestNothingFits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nothing.png")
	var out bytes.Buffer
	r, err := runReport(context.Background(), []string{"-budget", "2ms", "-frames", "5", "-fps", "200", "-o", file}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if r.Choice != nil || r.Unplaceable == nil {
		t.Fatalf("choice %+v, unplaceable %v: want no choice and the reasons", r.Choice, r.Unplaceable)
	}
	for _, ev := range r.Evaluations {
		checkEvaluation(t, ev, 2*time.Millisecond)
		if ev.Feasible || !hasConstraint(ev.Violations, "chain") {
			t.Errorf("placement %d within 2ms: feasible %v, violations %q", ev.Scenario.ID, ev.Feasible, ev.Violations)
		}
	}
	for _, want := range []string{"finds no feasible placement", "0/4 clusters fit streaming/render[0]: 4 chain", "to fit, provision"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	checkPNG(t, file)
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out); err != nil {
		t.Errorf("run -h: %v", err)
	}
	if !strings.Contains(out.String(), "-bandwidth") {
		t.Errorf("usage lacks -bandwidth:\n%s", out.String())
	}
}

func loadText() string {
	if load, ok := loadAverage(); ok {
		return "load average " + load
	}
	return "load unknown"
}
