package loop

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/metrics/forecast"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// DecideScale: a scaled component's replicas follow its demand (placement.Scale):
// replicas are added near the demand, or removed.
const DecideScale DecisionKind = "scale"

// DemandSource reports the demand at the sites of the continuum: the users
// connected, or the requests per second, per site (for components with a
// placement.Scale).
type DemandSource interface {
	// Demand returns the demand now, one sample per site and metric. A site
	// without a sample has no known demand (never read as zero): the components
	// that follow it keep their replicas.
	Demand(ctx context.Context) ([]DemandSample, error)
}

// DemandSample is the demand at one site.
type DemandSample struct {
	Site   string
	Metric placement.ScaleMetric
	Value  float64
	// ObservedAt is when the demand was measured.
	ObservedAt time.Time
}

// scaled is the state of a scaled component.
type scaled struct {
	replicas int
	changed  time.Time // when replicas last changed (zero: never)
}

// scaleApps returns apps with the Replicas of every scaled component set from the
// demand (see placement.Scale), and the flows between such a component and its sites
// weighted by each site's share of the demand, so the engine draws replicas towards
// the sites with the most users. Scaling up is at once (to the forecast's demand at
// the horizon when anticipating); scaling down waits Dwell after the last change and
// a demand below what one replica fewer serves less Hysteresis.
func (l *Loop) scaleApps(ctx context.Context, apps []placement.Application, r *Round) []placement.Application {
	l.scaleNote = ""
	has := false
	for _, a := range apps {
		for _, c := range a.Components {
			has = has || c.Scale != nil
		}
	}
	if !has {
		return apps
	}
	var samples []DemandSample
	known := false
	if l.opts.Demand != nil {
		var err error
		samples, err = l.opts.Demand.Demand(ctx)
		if err != nil {
			r.Observed.Problems = append(r.Observed.Problems, fmt.Sprintf("demand: %v", err))
		} else {
			known = true
		}
	} else {
		r.Observed.Problems = append(r.Observed.Problems, "demand: no demand source (options.demand): scaled components keep their replicas")
	}
	now := l.opts.Clock.Now()
	out := make([]placement.Application, len(apps))
	var notes []string
	for i, a := range apps {
		a.Components = slices.Clone(a.Components)
		a.Flows = slices.Clone(a.Flows)
		for j := range a.Components {
			c := &a.Components[j]
			if c.Scale == nil {
				continue
			}
			key := a.Metadata.Name + "/" + c.Name
			st := l.scaled[key]
			if st == nil {
				st = &scaled{replicas: min(max(c.Replicas, c.Scale.Min), c.Scale.Max)}
				l.scaled[key] = st
			}
			if known {
				if note := l.scaleOne(key, c, a.Flows, samples, st, now, r); note != "" {
					notes = append(notes, note)
				}
				weigh(c, a.Flows, samples)
			}
			c.Replicas = st.replicas
		}
		out[i] = a
	}
	l.scaleNote = strings.Join(notes, "; ")
	return out
}

// sitesOf are the sites whose demand a scaled component follows.
func sitesOf(c *placement.Component, flows []placement.Flow) []string {
	if len(c.Scale.Sites) > 0 {
		return c.Scale.Sites
	}
	var out []string
	for _, f := range flows {
		switch c.Name {
		case f.From:
			out = append(out, f.To)
		case f.To:
			out = append(out, f.From)
		}
	}
	return out
}

// demandOf sums the component's metric over its sites; ok is false when a site has
// no sample.
func demandOf(c *placement.Component, flows []placement.Flow, samples []DemandSample) (total float64, per map[string]float64, ok bool) {
	metric := cmp.Or(c.Scale.Metric, placement.ScaleUsers)
	per = map[string]float64{}
	for _, site := range sitesOf(c, flows) {
		i := slices.IndexFunc(samples, func(s DemandSample) bool { return s.Site == site && cmp.Or(s.Metric, placement.ScaleUsers) == metric })
		if i < 0 {
			continue // a component's other end, or a site without demand data
		}
		per[site] = samples[i].Value
		total += samples[i].Value
	}
	return total, per, len(per) > 0
}

// scaleOne decides the replicas of one scaled component; it returns the change in
// words ("" when none).
func (l *Loop) scaleOne(key string, c *placement.Component, flows []placement.Flow, samples []DemandSample, st *scaled, now time.Time, r *Round) string {
	sc := c.Scale
	demand, _, ok := demandOf(c, flows, samples)
	if !ok {
		return ""
	}
	unit := string(cmp.Or(sc.Metric, placement.ScaleUsers))
	if unit == string(placement.ScaleRequests) {
		unit = "requests/s"
	}
	target, why := demand, fmt.Sprintf("demand %.0f %s", demand, unit)
	if a := l.ant; !a.o.Reactive {
		s := a.demand[key]
		if s == nil {
			s = a.newSeries("demand "+key, false)
			a.hmu.Lock()
			a.demand[key] = s
			a.hmu.Unlock()
		}
		at := r.Observed.SampleTime
		if last, ok := s.hist.Last(); !ok || at.After(last.At) {
			a.add(s, forecast.Point{At: at, Value: demand})
		}
		if f, ok := a.trusted(s, demand, at.Add(a.o.Horizon)); ok && f.Value > demand {
			target = f.Value
			why += fmt.Sprintf(" (forecast %.0f ±%.0f in %s)", f.Value, f.HalfWidth(), shortDuration(a.o.Horizon))
		}
	}
	want := min(max(int(math.Ceil(target/sc.PerReplica-1e-9)), sc.Min), sc.Max)
	have := st.replicas
	switch {
	case want > have:
		st.replicas, st.changed = want, now
		l.ant.m.scale.WithLabelValues("up").Inc()
		return fmt.Sprintf("%s: %d -> %d replicas: %s needs %d at %g per replica", key, have, want, why, want, sc.PerReplica)
	case want < have:
		if !st.changed.IsZero() && now.Sub(st.changed) < l.opts.Dwell {
			return ""
		}
		// What the replicas left serve, less the hysteresis, must cover the demand.
		down := min(max(int(math.Ceil(target/(sc.PerReplica*(1-l.opts.Hysteresis))-1e-9)), sc.Min), sc.Max)
		if down >= have {
			return ""
		}
		st.replicas, st.changed = down, now
		l.ant.m.scale.WithLabelValues("down").Inc()
		return fmt.Sprintf("%s: %d -> %d replicas: %s fits in %d at %g per replica less %.0f%% hysteresis", key, have, down, why, down, sc.PerReplica, 100*l.opts.Hysteresis)
	}
	return ""
}

// weigh gives the flows between a scaled component and its sites bandwidth in
// proportion to each site's share of the demand (total unchanged; a site without
// demand keeps a hundredth of its share), so the engine's network term (bandwidth x
// RTT) draws replicas towards the demand.
func weigh(c *placement.Component, flows []placement.Flow, samples []DemandSample) {
	total, per, ok := demandOf(c, flows, samples)
	if !ok || total <= 0 || len(per) < 2 {
		return
	}
	for i := range flows {
		f := &flows[i]
		site := ""
		switch c.Name {
		case f.From:
			site = f.To
		case f.To:
			site = f.From
		}
		d, ok := per[site]
		if !ok {
			continue
		}
		share := max(d/total*float64(len(per)), 0.01)
		f.Bandwidth = topology.Bandwidth(math.Round(float64(f.Bandwidth) * share))
	}
}

// surplus reports whether the placement in force runs more replicas of a scaled
// component than it has now.
func surplus(current []placement.Assignment, apps []placement.Application) bool {
	for _, a := range apps {
		for _, c := range a.Components {
			if c.Scale == nil {
				continue
			}
			n := max(c.Replicas, 1)
			if slices.ContainsFunc(current, func(x placement.Assignment) bool {
				return x.App == a.Metadata.Name && x.Component == c.Name && x.Replica >= n
			}) {
				return true
			}
		}
	}
	return false
}
