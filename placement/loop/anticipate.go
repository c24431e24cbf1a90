package loop

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/forecast"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// DecideAnticipate: the forecast says a budget or a capacity breaks within the
// horizon; replicas move (make-before-break) before it does.
const DecideAnticipate DecisionKind = "anticipate"

// Defaults of Anticipation.
const (
	// DefaultHorizon is how far ahead the loop looks: a make-before-break migration
	// on the paper's continuum takes about a minute (peering, offloading, start),
	// a confirmed reactive repair two or three watch rounds more; five minutes
	// leaves room for both plus a dwell's worth of Holt's trend.
	DefaultHorizon = 5 * time.Minute
	// DefaultTrust: a forecast is used only when its interval's half-width is at
	// most half the change it predicts (see Anticipation.Trust).
	DefaultTrust = 0.5
	// DefaultHistory bounds each series' kept points: two hours of ten-second
	// rounds.
	DefaultHistory = 720
)

// Anticipation tunes how the loop looks ahead; the zero value anticipates with the
// defaults documented on each field (see the package documentation, "Looking
// ahead").
type Anticipation struct {
	// Reactive turns anticipation off: no forecasts, no spike and shift
	// detection; a violation waits Options.Confirm observations, and scaling
	// follows the demand measured now (the loop before issue 18).
	Reactive bool
	// Horizon is how far ahead forecasts look; zero means DefaultHorizon.
	Horizon time.Duration
	// Trust decides which forecasts the loop acts on: a series' forecast at the
	// horizon counts only when the half-width of its prediction interval is at
	// most Trust times the change it predicts (|forecast - now|); a wider interval
	// means the trend is not told apart from the noise, and the series keeps its
	// value of now. Zero means DefaultTrust; it must lie in (0, 1].
	Trust float64
	// Forecaster makes the forecaster of each series, named "rtt A<->B" (ms),
	// "free cpu C" (cores), "free memory C" (bytes) and "demand app/component"; nil
	// means forecast.Holt, with alpha 0.3 and beta 0.1 for the measured series (RTT,
	// free capacity: noisy, so smoothed more) and its defaults for demand, and a
	// season when Season is set.
	Forecaster forecast.NewFunc
	// Season is the period of the default forecaster's season; zero means 24 h (a
	// daily pattern, used once a series has a day of history: Holt is plain
	// before), negative means none.
	Season time.Duration
	// Detector tunes the spike and shift detector of each RTT series.
	Detector forecast.DetectorOptions
	// History bounds the points kept per series for Loop.History (the forecasters
	// keep a constant state); zero means DefaultHistory.
	History int
	// ReturnAfter is how long re-optimisation leaves a replica away from a cluster
	// it left (a repair or an anticipated move may still go there); zero means three
	// times Options.Dwell. Going back and forth between two clusters as the
	// objective swings (demand shifting between sites, a load that comes and goes)
	// is a flap even when each move waited the dwell.
	ReturnAfter time.Duration
}

func (a *Anticipation) defaults() error {
	switch {
	case a.Horizon < 0:
		return fmt.Errorf("loop: new: options.anticipate.horizon: must be >= 0, got %s: %w", a.Horizon, ErrInvalid)
	case a.Horizon == 0:
		a.Horizon = DefaultHorizon
	}
	if a.Trust == 0 {
		a.Trust = DefaultTrust
	}
	if !(a.Trust > 0 && a.Trust <= 1) {
		return fmt.Errorf("loop: new: options.anticipate.trust: must be in (0, 1], got %g: %w", a.Trust, ErrInvalid)
	}
	switch {
	case a.History < 0:
		return fmt.Errorf("loop: new: options.anticipate.history: must be >= 0, got %d: %w", a.History, ErrInvalid)
	case a.History == 0:
		a.History = DefaultHistory
	}
	if a.ReturnAfter < 0 {
		return fmt.Errorf("loop: new: options.anticipate.returnAfter: must be >= 0, got %s: %w", a.ReturnAfter, ErrInvalid)
	}
	switch {
	case a.Season == 0:
		a.Season = 24 * time.Hour
	case a.Season < 0:
		a.Season = 0
	}
	if a.Forecaster == nil {
		// Measured series (RTTs from probes with jitter, free capacity as pods start
		// and stop) are smoothed more than demand, so that a slow trend under noise
		// gets an interval narrow enough to trust.
		measured, err := forecast.HoltFunc(forecast.HoltOptions{Alpha: 0.3, Beta: 0.1, Season: a.Season})
		if err != nil {
			return fmt.Errorf("loop: new: options.anticipate.season: %w", err)
		}
		demand, err := forecast.HoltFunc(forecast.HoltOptions{Season: a.Season})
		if err != nil {
			return fmt.Errorf("loop: new: options.anticipate.season: %w", err)
		}
		a.Forecaster = func(series string) forecast.Forecaster {
			if strings.HasPrefix(series, "demand ") {
				return demand(series)
			}
			return measured(series)
		}
	}
	if _, err := forecast.NewDetector(a.Detector); err != nil {
		return fmt.Errorf("loop: new: options.anticipate.detector: %w", err)
	}
	return nil
}

// series is one observed series: its bounded history, forecaster and (for RTTs)
// detector.
type series struct {
	name string
	hist *forecast.Ring
	fc   forecast.Forecaster
	det  *forecast.Detector
	// last is the verdict on the newest point (RTT series).
	last forecast.Verdict
	// shiftUp is when an upward shift was confirmed and not yet undone by a
	// downward one (zero: none).
	shiftUp time.Time
	from    float64 // the level before that shift
}

// anticipator is the loop's memory for looking ahead. The round lock guards it.
type anticipator struct {
	// hmu guards the maps of series and their histories against History; the
	// round lock guards the rest.
	hmu    sync.Mutex
	o      Anticipation
	fed    time.Time // SampleTime of the newest observation fed
	rtt    map[placement.Pair]*series
	free   map[string]map[topology.ResourceName]*series
	demand map[string]*series // by "app/component"
	// gone is when each replica ("app/comp[i]") left each cluster.
	gone map[string]map[string]time.Time
	m    *anticipationMetrics
}

type anticipationMetrics struct {
	anomalies *prometheus.CounterVec
	ahead     prometheus.Counter
	scale     *prometheus.CounterVec
}

func newAnticipator(o Anticipation, reg prometheus.Registerer) (*anticipator, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	m := &anticipationMetrics{
		anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "continuum_loop_anomalies_total", Help: "Spikes and confirmed level shifts seen on measured RTTs, by kind.",
		}, []string{"kind"}),
		ahead: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "continuum_loop_anticipated_total", Help: "Rounds that moved replicas because a forecast breaks a budget or a capacity within the horizon.",
		}),
		scale: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "continuum_loop_scale_total", Help: "Changes of a scaled component's replicas, by direction (up, down).",
		}, []string{"direction"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.anomalies, m.ahead, m.scale} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("loop: options.registry: %w", err)
			}
		}
	}
	return &anticipator{o: o, rtt: map[placement.Pair]*series{}, free: map[string]map[topology.ResourceName]*series{},
		demand: map[string]*series{}, gone: map[string]map[string]time.Time{}, m: m}, nil
}

func (a *anticipator) newSeries(name string, detect bool) *series {
	s := &series{name: name, hist: forecast.NewRing(a.o.History), fc: a.o.Forecaster(name)}
	if detect {
		s.det, _ = forecast.NewDetector(a.o.Detector) // checked in defaults
	}
	return s
}

// add feeds one point (a spike's baseline in its place) and returns the verdict.
func (s *series) add(p forecast.Point) forecast.Verdict {
	v := forecast.Verdict{Kind: forecast.Normal, Value: p.Value, Baseline: p.Value}
	if s.det != nil {
		if got, err := s.det.Observe(p); err == nil {
			v = got
		}
		switch {
		case v.Kind == forecast.Shift && v.Up:
			s.shiftUp, s.from = p.At, v.Baseline
		case v.Kind == forecast.Shift:
			s.shiftUp = time.Time{}
		}
	}
	s.last = v
	fed := p
	if v.Kind == forecast.Spike {
		fed.Value = v.Baseline // a spike is kept out of the trend
	}
	s.hist.Add(fed)
	_ = s.fc.Observe(fed) // out of order cannot happen: the loop feeds newer samples only
	return v
}

// add feeds a point to a series, with hmu held.
func (a *anticipator) add(s *series, p forecast.Point) forecast.Verdict {
	a.hmu.Lock()
	defer a.hmu.Unlock()
	return s.add(p)
}

// History returns the points the loop keeps of an observed series, oldest first
// (spikes replaced by their level): "rtt gva-edge<->mil-edge" (ms), "free cpu
// mil-edge" (cores), "free memory mil-edge" (bytes), "demand xr-live/render". It is
// nil for a series the loop has not seen (and always when reactive). Safe to call
// from OnRound and from any goroutine; Anticipation.History bounds the length.
func (l *Loop) History(series string) []forecast.Point {
	a := l.ant
	a.hmu.Lock()
	defer a.hmu.Unlock()
	for _, s := range a.rtt {
		if s.name == series {
			return s.hist.Points()
		}
	}
	for _, m := range a.free {
		for _, s := range m {
			if s.name == series {
				return s.hist.Points()
			}
		}
	}
	for _, s := range a.demand {
		if s.name == series {
			return s.hist.Points()
		}
	}
	return nil
}

// observe feeds the round's observation to the series, once per distinct sample
// time, and reports spikes and shifts (Observation.Anomalies, Events, metrics).
func (l *Loop) anticipateObserve(r *Round, snap *placement.Snapshot, apps []placement.Application) {
	a := l.ant
	if a.o.Reactive || !r.Observed.SampleTime.After(a.fed) {
		return
	}
	a.fed = r.Observed.SampleTime
	at := r.Observed.SampleTime
	for _, p := range slices.SortedFunc(maps.Keys(snap.RTT), comparePairs) {
		s := a.rtt[p]
		if s == nil {
			s = a.newSeries("rtt "+p.A+"<->"+p.B, true)
			a.hmu.Lock()
			a.rtt[p] = s
			a.hmu.Unlock()
		}
		v := a.add(s, forecast.Point{At: at, Value: snap.RTT[p].Ms()})
		if v.Kind == forecast.Normal {
			continue
		}
		if h := l.hist[p]; v.Kind == forecast.Spike && len(h) > 0 {
			// Re-optimisation judges by the worst RTT of the last dwell: not by a spike.
			h[len(h)-1].rtt = topology.Duration(v.Baseline * float64(time.Millisecond))
		}
		line := fmt.Sprintf("%s %s<->%s: %.2fms (level %.2fms, robust z %.1f)", v.Kind, p.A, p.B, v.Value, v.Baseline, v.Z)
		r.Observed.Anomalies = append(r.Observed.Anomalies, line)
		a.m.anomalies.WithLabelValues(string(v.Kind)).Inc()
		reason := "SpikeSeen"
		if v.Kind == forecast.Shift {
			reason = "ShiftConfirmed"
		}
		for _, app := range apps {
			l.event(app, corev1.EventTypeNormal, reason, "Observe", "%s", line)
		}
	}
	for _, c := range slices.Sorted(maps.Keys(snap.Free)) {
		if slices.Contains(r.Observed.Down, c) {
			continue // a cluster that is down says nothing about its trend
		}
		a.hmu.Lock()
		if a.free[c] == nil {
			a.free[c] = map[topology.ResourceName]*series{}
		}
		a.hmu.Unlock()
		for _, res := range []topology.ResourceName{topology.ResourceCPU, topology.ResourceMemory} {
			q, ok := snap.Free[c][res]
			if !ok {
				continue
			}
			s := a.free[c][res]
			if s == nil {
				s = a.newSeries("free "+string(res)+" "+c, false)
				a.hmu.Lock()
				a.free[c][res] = s
				a.hmu.Unlock()
			}
			a.add(s, forecast.Point{At: at, Value: q.AsApproximateFloat64()})
		}
	}
}

func comparePairs(x, y placement.Pair) int {
	if c := strings.Compare(x.A, y.A); c != 0 {
		return c
	}
	return strings.Compare(x.B, y.B)
}

// trusted returns the series' forecast at the horizon when the loop may act on it:
// the forecaster has one, and its interval's half-width is at most Trust times the
// change it predicts.
func (a *anticipator) trusted(s *series, now float64, at time.Time) (forecast.Forecast, bool) {
	f, ok := s.fc.Forecast(at)
	if !ok || math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
		return f, false
	}
	return f, f.HalfWidth() <= a.o.Trust*math.Abs(f.Value-now)
}

// ahead returns the snapshot of the worst of now and the trusted forecasts at the
// horizon (RTTs that grow, free capacity that shrinks), and the forecasts used, in
// words; nil when no trusted forecast is worse than now.
func (l *Loop) ahead(snap *placement.Snapshot, horizon time.Duration) (*placement.Snapshot, []string) {
	a := l.ant
	if a.o.Reactive || a.fed.IsZero() {
		return nil, nil
	}
	at := a.fed.Add(horizon)
	out := *snap
	var notes []string
	rttCloned := false
	for _, p := range slices.SortedFunc(maps.Keys(snap.RTT), comparePairs) {
		s := a.rtt[p]
		now := snap.RTT[p]
		if s == nil {
			continue
		}
		f, ok := a.trusted(s, now.Ms(), at)
		if !ok || f.Value <= now.Ms() {
			continue
		}
		if !rttCloned {
			out.RTT, rttCloned = maps.Clone(snap.RTT), true
		}
		out.RTT[p] = topology.Duration(f.Value * float64(time.Millisecond))
		notes = append(notes, fmt.Sprintf("%s<->%s RTT forecast %.1fms ±%.1fms in %s (now %.1fms)",
			p.A, p.B, f.Value, f.HalfWidth(), shortDuration(horizon), now.Ms()))
	}
	cloned := false
	topo := snap.Topology
	own := ownUse(l.current, l.appsNow())
	for _, c := range slices.Sorted(maps.Keys(snap.Free)) {
		for _, res := range []topology.ResourceName{topology.ResourceCPU, topology.ResourceMemory} {
			s := a.free[c][res]
			q, ok := snap.Free[c][res]
			if s == nil || !ok {
				continue
			}
			now := q.AsApproximateFloat64()
			f, ok := a.trusted(s, now, at)
			if !ok || f.Value >= now {
				continue
			}
			if !cloned {
				out.Free = make(map[string]topology.ResourceList, len(snap.Free))
				for k, v := range snap.Free {
					out.Free[k] = v.DeepCopy()
				}
				cloned = true
			}
			free := max(f.Value, 0)
			var fq resource.Quantity
			if res == topology.ResourceCPU {
				fq = *resource.NewMilliQuantity(int64(free*1000), resource.DecimalSI)
			} else {
				fq = *resource.NewQuantity(int64(free), resource.BinarySI)
			}
			out.Free[c][res] = fq
			need := ""
			if q, ok := own[c][res]; ok {
				need = fmt.Sprintf(", the replicas there need %s", amount(res, q.AsApproximateFloat64()))
			}
			if cl, ok := topo.Cluster(c); ok {
				if capq, ok := cl.Capacity[res]; ok && capq.Sign() > 0 {
					total := capq.AsApproximateFloat64()
					need += fmt.Sprintf(" (other load %.0f%% -> %.0f%% of %s)", 100*(total-now)/total, 100*(total-free)/total, amount(res, total))
				}
			}
			notes = append(notes, fmt.Sprintf("%s %s left for the applications forecast %s ±%s in %s (now %s%s)", c, res,
				amount(res, free), amount(res, f.HalfWidth()), shortDuration(horizon), amount(res, now), need))
		}
	}
	if len(notes) == 0 {
		return nil, nil
	}
	return &out, notes
}

func amount(res topology.ResourceName, v float64) string {
	if res == topology.ResourceCPU {
		return fmt.Sprintf("%.2f cores", v)
	}
	return fmt.Sprintf("%.1fGiB", v/(1<<30))
}

func shortDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

// decideAhead is the anticipating part of a round whose placement holds now: when
// the forecast snapshot (ahead) breaks it, the repair of that snapshot is carried
// out now, make-before-break, with the forecasts as the reason. A plan found under
// the worst of now and the forecasts holds now too.
func (l *Loop) decideAhead(ctx context.Context, snap *placement.Snapshot, req *placement.Request, current []placement.Assignment, r *Round) *placement.Plan {
	fs, notes := l.ahead(snap, l.ant.o.Horizon)
	if fs == nil {
		return nil
	}
	q := *req
	q.Mode = placement.Repair
	plan, err := l.opts.Engine.Place(ctx, fs, &q)
	if err != nil || plan.Moves == 0 {
		return nil // holds under the forecast too, or nothing would: decide when it happens
	}
	d := &r.Decision
	moved := moves(current, plan.Assignments)
	parts := make([]string, len(moved))
	for i, m := range moved {
		parts[i] = fmt.Sprintf("%s/%s[%d] moved from %s to %s", m.App, m.Component, m.Replica, m.From, m.Cluster)
	}
	d.Kind, d.Moves, d.Changes, d.Objective = DecideAnticipate, plan.Moves, plan.Changes, plan.Objective.Total
	d.Reason = strings.Join(notes, "; ") + "; " + strings.Join(parts, "; ")
	l.ant.m.ahead.Inc()
	return plan
}

// classifyViolation is the anticipating loop's confirmation of a violation seen now:
// hold when it is due to lone spikes only (the placement holds with each spiking
// RTT at its level), act at once when an RTT's level shift upward is confirmed
// (within the last Dwell), else "" (count Confirm observations as usual).
func (l *Loop) classifyViolation(ctx context.Context, snap *placement.Snapshot, req *placement.Request) (verdict, why string) {
	a := l.ant
	if a.o.Reactive {
		return "", ""
	}
	var spikes []string
	var despiked *placement.Snapshot
	for _, p := range slices.SortedFunc(maps.Keys(a.rtt), comparePairs) {
		s := a.rtt[p]
		if s.last.Kind != forecast.Spike || !s.last.Up {
			continue
		}
		if _, ok := snap.RTT[p]; !ok {
			continue
		}
		if despiked == nil {
			c := *snap
			c.RTT = maps.Clone(snap.RTT)
			despiked = &c
		}
		despiked.RTT[p] = topology.Duration(s.last.Baseline * float64(time.Millisecond))
		spikes = append(spikes, fmt.Sprintf("%s<->%s %.2fms (level %.2fms, robust z %.1f)", p.A, p.B, s.last.Value, s.last.Baseline, s.last.Z))
	}
	if despiked != nil {
		q := *req
		q.Mode = placement.Repair
		if plan, err := l.opts.Engine.Place(ctx, despiked, &q); err == nil && plan.Moves == 0 {
			return "spike", "lone spike on " + strings.Join(spikes, ", ") + " (or a shift's first point: the next sample tells): the placement holds at the level, nothing moves"
		}
	}
	now := l.opts.Clock.Now()
	var shifts []string
	for _, p := range slices.SortedFunc(maps.Keys(a.rtt), comparePairs) {
		s := a.rtt[p]
		if s.shiftUp.IsZero() || now.Sub(s.shiftUp) > l.opts.Dwell {
			continue
		}
		if lvl, ok := s.det.Level(); ok {
			shifts = append(shifts, fmt.Sprintf("%s<->%s %.2fms -> %.2fms at %s", p.A, p.B, s.from, lvl, s.shiftUp.UTC().Format(time.TimeOnly)))
		}
	}
	if len(shifts) > 0 {
		return "shift", "level shift confirmed on " + strings.Join(shifts, ", ")
	}
	return "", ""
}

// pessimistic is the snapshot re-optimisation judges by when anticipating: the
// worst of the last dwell (worst) and of the trusted forecasts up to the longer of
// the horizon and the dwell (a component re-optimisation moves stays at least the
// dwell), so that a component is not drawn to where the forecast says it will break.
func (l *Loop) pessimistic(snap *placement.Snapshot) *placement.Snapshot {
	if fs, _ := l.ahead(snap, max(l.ant.o.Horizon, l.opts.Dwell)); fs != nil {
		return fs
	}
	return snap
}

// freeOf is the capacity the applications may use on each cluster: allocatable less
// used plus what their own replicas use there (the give-back), clamped at zero only
// after the give-back, so that a cluster whose other tenants' load went beyond its
// capacity shows less room than the replicas running there need (clamping first
// would show exactly their need, and the over-commitment would never be seen).
func freeOf(ms *metrics.Snapshot, own map[string]topology.ResourceList) map[string]topology.ResourceList {
	out := map[string]topology.ResourceList{}
	for c, v := range ms.Resources {
		u := v.Usage()
		free := topology.ResourceList{}
		for name, alloc := range u.Allocatable {
			used, ok := u.Used[name]
			if !ok {
				continue
			}
			f := alloc.DeepCopy()
			f.Sub(used)
			if q, ok := own[c][name]; ok {
				f.Add(q)
			}
			if f.Sign() < 0 {
				f = *resource.NewQuantity(0, alloc.Format)
			}
			free[name] = f
		}
		if len(free) > 0 {
			out[c] = free
		}
	}
	return out
}

func replicaKey(a placement.Assignment) string {
	return fmt.Sprintf("%s/%s[%d]", a.App, a.Component, a.Replica)
}

// left records that a replica left a cluster.
func (l *Loop) left(m move, now time.Time) {
	k := replicaKey(m.Assignment)
	if l.ant.gone[k] == nil {
		l.ant.gone[k] = map[string]time.Time{}
	}
	l.ant.gone[k][m.From] = now
}

// returning names a replica that re-optimisation would move back to a cluster it
// left within Anticipation.ReturnAfter ("" when none, or when reactive).
func (l *Loop) returning(current []placement.Assignment, plan *placement.Plan, now time.Time) string {
	if l.ant.o.Reactive {
		return ""
	}
	window := l.ant.o.ReturnAfter
	if window == 0 {
		window = 3 * l.opts.Dwell
	}
	for _, m := range moves(current, plan.Assignments) {
		if t, ok := l.ant.gone[replicaKey(m.Assignment)][m.Cluster]; ok && now.Sub(t) < window {
			return fmt.Sprintf("a better placement moves %s back to %s, which it left %s ago (return after %s)",
				replicaKey(m.Assignment), m.Cluster, now.Sub(t).Round(time.Second), window)
		}
	}
	return ""
}
