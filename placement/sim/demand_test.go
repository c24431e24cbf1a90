package sim_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/sim"
	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

// hourly is the Fig. 1 world ticking every minute (events still happen at their
// exact time): hours of script in a moment.
func hourly(t *testing.T) *sim.World {
	t.Helper()
	w, err := sim.New(sim.Options{Topology: topologytest.PaperFig1(), Tick: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// Demand follows its script: a level, a linear ramp (half-way at half the time), and
// a daily swing that is highest at its peak and lowest twelve hours away.
func TestDemandScript(t *testing.T) {
	w := hourly(t)
	d := sim.NewDemand(w, "")
	if err := w.Schedule(sim.Script{
		{After: 0, Event: d.SetDemand("geneva", 100)},
		{After: 10 * time.Minute, Event: d.RampDemand("geneva", 300, 20*time.Minute)},
		{After: 0, Event: d.Diurnal("milan", 50, 24*time.Hour, 9*time.Hour)}, // the world starts at 09:00
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.At("geneva", w.Clock().Now()); ok {
		t.Fatal("demand before any event")
	}
	check := func(at time.Duration, site string, want float64) {
		t.Helper()
		if err := w.Step(at - w.Elapsed()); err != nil {
			t.Fatal(err)
		}
		got, ok := d.At(site, w.Clock().Now())
		if !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%s at +%s: %g (known %v), want %g", site, at, got, ok, want)
		}
	}
	check(0, "geneva", 100)
	check(0, "milan", 50)               // peak
	check(5*time.Minute, "geneva", 100) // before the ramp
	check(20*time.Minute, "geneva", 200)
	check(30*time.Minute, "geneva", 300)
	check(40*time.Minute, "geneva", 300)
	check(6*time.Hour, "milan", 50*math.Cos(math.Pi/2)) // a quarter day later: zero
	samples, err := d.Demand(context.Background())
	if err != nil || len(samples) != 2 || samples[0].Site != "geneva" || samples[0].Metric != placement.ScaleUsers ||
		samples[0].Value != 300 || !samples[0].ObservedAt.Equal(w.Clock().Now()) {
		t.Errorf("Demand() = %+v, %v; want geneva 300 users and milan, stamped now", samples, err)
	}
	// 21:00: the trough, never below zero.
	if err := w.Step(6 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.At("milan", w.Clock().Now()); got != 0 {
		t.Errorf("milan at the trough: %g, want 0 (clamped)", got)
	}
}

func TestDemandBadEvents(t *testing.T) {
	w := hourly(t)
	d := sim.NewDemand(w, placement.ScaleRequests)
	for _, c := range []struct {
		e     sim.Event
		field string
	}{
		{d.SetDemand("geneva", -1), "level"},
		{d.RampDemand("geneva", 1, -time.Second), "over"},
		{d.Diurnal("geneva", math.NaN(), time.Hour, 0), "amplitude"},
		{d.Diurnal("geneva", 1, 0, 0), "period"},
		{d.SetDemand("Not_A_Site", 1), "site"},
	} {
		if err := w.At(time.Minute, c.e); !errors.Is(err, sim.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want ErrInvalid naming %s", c.e, err, c.field)
		}
	}
	if err := w.Apply(d.SetDemand("atlantis", 5)); !errors.Is(err, sim.ErrNotFound) {
		t.Errorf("demand at an unknown site: %v, want ErrNotFound", err)
	}
}

// The scenario scripts hold the events their documentation promises.
func TestScenarioScripts(t *testing.T) {
	s := sim.DegradeSlowly("gva-edge", "mil-edge", 6*time.Millisecond, 12*time.Millisecond, time.Minute, time.Minute, 10*time.Second)
	if len(s) != 7 || s[0].After != time.Minute || s[6].After != 2*time.Minute ||
		s[3].Event.String() != "degrade link gva-edge<->mil-edge to 9ms" || s[6].Event.String() != "degrade link gva-edge<->mil-edge to 12ms" {
		t.Errorf("DegradeSlowly: %v", s)
	}
	f := sim.Flap("gva-edge", "mil-edge", 20*time.Millisecond, time.Minute, 2*time.Minute, 30*time.Second, 3)
	if len(f) != 6 || f[4].After != 5*time.Minute || f[5].After != 5*time.Minute+30*time.Second || !strings.HasPrefix(f[5].Event.String(), "restore") {
		t.Errorf("Flap: %v", f)
	}
	sp := sim.Spike("geneva", "gva-edge", 30*time.Millisecond, time.Minute, 5*time.Second)
	if len(sp) != 2 || sp[1].After != time.Minute+5*time.Second {
		t.Errorf("Spike: %v", sp)
	}
	w := hourly(t)
	low := topology.ResourceList{topology.ResourceCPU: resource.MustParse("2")}
	high := topology.ResourceList{topology.ResourceCPU: resource.MustParse("30")}
	// The world starts at 09:00; the peak is at 14:00 (+5h), the trough at 02:00.
	dl := sim.DiurnalLoad("mil-edge", low, high, 14*time.Hour, w.Start(), 0, 6*time.Hour, time.Hour)
	if len(dl) != 7 {
		t.Fatalf("DiurnalLoad: %d events, want 7", len(dl))
	}
	if err := w.Schedule(dl); err != nil {
		t.Fatal(err)
	}
	used := func() float64 {
		s, err := w.ResourceSource().Resources(context.Background(), "mil-edge")
		if err != nil {
			t.Fatal(err)
		}
		q := s.Usage.Used[topology.ResourceCPU]
		return q.AsApproximateFloat64()
	}
	if err := w.Step(0); err != nil {
		t.Fatal(err)
	}
	want0 := 2 + 28*(1+math.Cos(2*math.Pi*(-5.0/24)))/2
	if got := used(); math.Abs(got-want0) > 0.001 {
		t.Errorf("load at 09:00: %g cores, want %g", got, want0)
	}
	if err := w.Step(5 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := used(); math.Abs(got-30) > 0.001 {
		t.Errorf("load at the 14:00 peak: %g cores, want 30", got)
	}
}
