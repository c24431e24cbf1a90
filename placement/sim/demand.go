package sim

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/loop"
	"github.com/continuum-xr/continuum/topology"
)

// Demand is the demand at the sites of a world (users, or requests per second),
// on the world's clock: a scripted level per site (SetDemand, RampDemand) plus an
// optional daily swing (Diurnal). It is a loop.DemandSource: give it to the loop's
// Options.Demand for components with a placement.Scale. Make it with NewDemand; it is
// safe for concurrent use.
type Demand struct {
	w      *World
	metric placement.ScaleMetric
	mu     sync.Mutex
	level  map[string]ramp
	swing  map[string]swing
}

// ramp is a level going linearly from from to to over [start, start+over].
type ramp struct {
	start    time.Time
	over     time.Duration
	from, to float64
}

func (r ramp) at(t time.Time) float64 {
	if r.over <= 0 || !t.Before(r.start.Add(r.over)) {
		return r.to
	}
	if t.Before(r.start) {
		return r.from
	}
	return r.from + (r.to-r.from)*float64(t.Sub(r.start))/float64(r.over)
}

// swing is a cosine of a period, at its highest at peak (time of day).
type swing struct {
	amplitude float64
	period    time.Duration
	peak      time.Duration
}

func (s swing) at(t time.Time) float64 {
	day := t.Sub(t.Truncate(s.period)) // time since the period's start (midnight for a day)
	return s.amplitude * math.Cos(2*math.Pi*float64(day-s.peak)/float64(s.period))
}

// NewDemand returns the demand of the world's sites, as metric (empty means users);
// every site has no demand until an event sets it.
func NewDemand(w *World, metric placement.ScaleMetric) *Demand {
	if metric == "" {
		metric = placement.ScaleUsers
	}
	return &Demand{w: w, metric: metric, level: map[string]ramp{}, swing: map[string]swing{}}
}

// SetDemand sets the level of a site's demand (the swing, if any, adds to it).
func (d *Demand) SetDemand(site string, level float64) Event {
	return d.RampDemand(site, level, 0)
}

// RampDemand moves a site's level linearly from its value when the event happens
// to level over the given time.
func (d *Demand) RampDemand(site string, level float64, over time.Duration) Event {
	desc := fmt.Sprintf("demand at %s to %g %s", site, level, d.metric)
	if over > 0 {
		desc = fmt.Sprintf("demand at %s ramps to %g %s over %s", site, level, d.metric, over)
	}
	return demandEvent{d: d, site: site, desc: desc, check1: func() error {
		if !(level >= 0) || math.IsInf(level, 0) {
			return fmt.Errorf("sim: %s: level: must be >= 0 and finite, got %g: %w", desc, level, ErrInvalid)
		}
		if over < 0 {
			return fmt.Errorf("sim: %s: over: must be >= 0, got %s: %w", desc, over, ErrInvalid)
		}
		return nil
	}, apply1: func(now time.Time) {
		from := d.levelAt(site, now)
		d.level[site] = ramp{start: now, over: over, from: from, to: level}
	}}
}

// Diurnal adds a daily swing to a site's demand: amplitude x cos(2 pi (t - peak) /
// period), highest at peak after the period's start (midnight for a period of
// 24 h), so the demand goes from level - amplitude to level + amplitude (never
// below zero).
func (d *Demand) Diurnal(site string, amplitude float64, period, peak time.Duration) Event {
	desc := fmt.Sprintf("demand at %s swings by %g %s, peak at %s of every %s", site, amplitude, d.metric, peak, period)
	return demandEvent{d: d, site: site, desc: desc, check1: func() error {
		if !(amplitude >= 0) || math.IsInf(amplitude, 0) {
			return fmt.Errorf("sim: %s: amplitude: must be >= 0 and finite, got %g: %w", desc, amplitude, ErrInvalid)
		}
		if period <= 0 {
			return fmt.Errorf("sim: %s: period: must be > 0, got %s: %w", desc, period, ErrInvalid)
		}
		return nil
	}, apply1: func(time.Time) { d.swing[site] = swing{amplitude: amplitude, period: period, peak: peak} }}
}

func (d *Demand) levelAt(site string, t time.Time) float64 {
	r, ok := d.level[site]
	if !ok {
		return 0
	}
	return r.at(t)
}

// At returns the demand at a site at time t; ok is false when no event set it.
func (d *Demand) At(site string, t time.Time) (v float64, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.at(site, t)
}

func (d *Demand) at(site string, t time.Time) (float64, bool) {
	r, okl := d.level[site]
	s, oks := d.swing[site]
	if !okl && !oks {
		return 0, false
	}
	v := 0.0
	if okl {
		v = r.at(t)
	}
	if oks {
		v += s.at(t)
	}
	return max(v, 0), true
}

// Demand returns the demand of every site with one, now (loop.DemandSource).
func (d *Demand) Demand(ctx context.Context) ([]loop.DemandSample, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sim: demand: %w", err)
	}
	now := d.w.clk.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	sites := slices.Sorted(maps.Keys(d.level))
	for s := range d.swing {
		if !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
	}
	slices.Sort(sites)
	out := make([]loop.DemandSample, 0, len(sites))
	for _, s := range sites {
		v, _ := d.at(s, now)
		out = append(out, loop.DemandSample{Site: s, Metric: d.metric, Value: v, ObservedAt: now})
	}
	return out, nil
}

var _ loop.DemandSource = (*Demand)(nil)

type demandEvent struct {
	d      *Demand
	site   string
	desc   string
	check1 func() error
	apply1 func(now time.Time)
}

func (e demandEvent) String() string { return e.desc }

func (e demandEvent) check() error {
	if err := checkName("site", e.site); err != nil {
		return err
	}
	return e.check1()
}

func (e demandEvent) apply(w *World, now time.Time) ([]Change, error) {
	if e.d.w != w {
		return nil, fmt.Errorf("sim: %s: the demand belongs to another world: %w", e.desc, ErrInvalid)
	}
	if !slices.ContainsFunc(w.base.Sites, func(s topology.Site) bool { return s.Name == e.site }) {
		return nil, fmt.Errorf("sim: %s: no such site: %w", e.desc, ErrNotFound)
	}
	e.d.mu.Lock()
	e.apply1(now)
	e.d.mu.Unlock()
	return []Change{{Kind: DemandChanged, Site: e.site, Message: e.desc}}, nil
}

// DemandChanged: a Demand event set a site's level or swing.
const DemandChanged ChangeKind = "demand-changed"
