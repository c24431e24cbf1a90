package forecast_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/metrics/forecast"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func holt(t *testing.T, o forecast.HoltOptions) *forecast.Holt {
	t.Helper()
	h, err := forecast.NewHolt(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A straight line is Holt's fixed point: once level and trend are the line's, every
// one-step error is zero, so the forecast is the line and the interval has no width.
func TestHoltLineIsExact(t *testing.T) {
	h := holt(t, forecast.HoltOptions{})
	line := func(s float64) float64 { return 5.8 + 0.01*s } // +0.6 ms a minute
	if _, ok := h.Forecast(at(0)); ok {
		t.Fatal("a forecast from no points")
	}
	for s := 0.0; s <= 300; s += 10 {
		if err := h.Observe(forecast.Point{At: at(s), Value: line(s)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ahead := range []float64{0, 60, 300, 3600} {
		f, ok := h.Forecast(at(300 + ahead))
		if !ok {
			t.Fatal("no forecast after 31 points")
		}
		if want := line(300 + ahead); math.Abs(f.Value-want) > 1e-9 || f.HalfWidth() > 1e-9 {
			t.Errorf("%gs ahead: forecast %g ± %g, want the line's %g ± 0", ahead, f.Value, f.HalfWidth(), want)
		}
		if f.Horizon != time.Duration(ahead)*time.Second {
			t.Errorf("horizon %s, want %gs", f.Horizon, ahead)
		}
	}
}

// Holt needs MinPoints before it forecasts.
func TestHoltMinPoints(t *testing.T) {
	h := holt(t, forecast.HoltOptions{MinPoints: 4})
	for i := range 4 {
		if _, ok := h.Forecast(at(float64(i * 10))); ok {
			t.Fatalf("a forecast after %d points", i)
		}
		if err := h.Observe(forecast.Point{At: at(float64(i * 10)), Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := h.Forecast(at(100)); !ok {
		t.Fatal("no forecast after 4 points with MinPoints 4")
	}
}

// On a line with independent normal noise, about 95 % of the next points fall in
// the 95 % interval of the one-step forecast (the statistics of the model, not of
// the code), and the interval widens with the horizon.
func TestHoltIntervalCoverage(t *testing.T) {
	h := holt(t, forecast.HoltOptions{Alpha: 0.2, Beta: 0.05})
	rng := rand.New(rand.NewPCG(1, 2))
	in, n := 0, 0
	for i := range 3000 {
		s := float64(i * 10)
		x := 10 + 0.001*s + rng.NormFloat64()
		if i > 200 {
			f, _ := h.Forecast(at(s))
			n++
			if x >= f.Lo && x <= f.Hi {
				in++
			}
		}
		if err := h.Observe(forecast.Point{At: at(s), Value: x}); err != nil {
			t.Fatal(err)
		}
	}
	if cov := float64(in) / float64(n); cov < 0.90 || cov > 0.99 {
		t.Errorf("one-step 95%% intervals covered %.3f of %d points, want about 0.95", cov, n)
	}
	last := 0.0
	for _, ahead := range []float64{10, 60, 300, 900} {
		f, _ := h.Forecast(at(29990 + ahead))
		if f.HalfWidth() <= last {
			t.Errorf("%gs ahead: half-width %g, not wider than nearer horizons' %g", ahead, f.HalfWidth(), last)
		}
		last = f.HalfWidth()
	}
}

// A pure season (a value per slot of the hour) is learned after one season and
// forecast slot by slot; before a whole season, the forecaster is plain Holt.
func TestHoltSeason(t *testing.T) {
	h := holt(t, forecast.HoltOptions{Season: time.Hour, Bins: 4})
	pattern := []float64{20, 60, 90, 30} // per quarter hour
	value := func(s float64) float64 { return pattern[int(s/900)%4] }
	for s := 0.0; s < 2*3600; s += 60 {
		if s < 3600 && h.Seasonal() {
			t.Fatalf("season in use after %gs, before a whole season", s)
		}
		if err := h.Observe(forecast.Point{At: at(s), Value: value(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if !h.Seasonal() {
		t.Fatal("season not in use after two seasons")
	}
	for _, s := range []float64{7200, 7200 + 1000, 7200 + 2000, 7200 + 3000, 7200 + 3600 + 1900} {
		f, ok := h.Forecast(at(s))
		if !ok || math.Abs(f.Value-value(s)) > 1e-6 {
			t.Errorf("at +%gs: forecast %g, want the season's %g", s, f.Value, value(s))
		}
	}
}

func TestHoltBadInput(t *testing.T) {
	for _, c := range []struct {
		o     forecast.HoltOptions
		field string
	}{
		{forecast.HoltOptions{Alpha: 1.5}, "alpha"},
		{forecast.HoltOptions{Beta: -0.1}, "beta"},
		{forecast.HoltOptions{Level: 1}, "level"},
		{forecast.HoltOptions{Season: -time.Hour}, "season"},
		{forecast.HoltOptions{Season: time.Nanosecond, Bins: 4}, "bins"},
		{forecast.HoltOptions{MinPoints: 2}, "minPoints"},
	} {
		_, err := forecast.NewHolt(c.o)
		if !errors.Is(err, forecast.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v, want ErrInvalid naming %s", c.o, err, c.field)
		}
	}
	h := holt(t, forecast.HoltOptions{})
	if err := h.Observe(forecast.Point{At: at(10), Value: 1}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []forecast.Point{{At: at(10), Value: 2}, {At: at(5), Value: 2}, {At: at(20), Value: math.NaN()}, {At: at(20), Value: math.Inf(1)}} {
		if err := h.Observe(p); !errors.Is(err, forecast.ErrInvalid) {
			t.Errorf("point %v: error %v, want ErrInvalid", p, err)
		}
	}
}

func TestRingIsBounded(t *testing.T) {
	r := forecast.NewRing(3)
	if _, ok := r.Last(); ok {
		t.Fatal("an empty ring has a last point")
	}
	for i := range 5 {
		r.Add(forecast.Point{At: at(float64(i)), Value: float64(i)})
	}
	if got := r.Values(); r.Len() != 3 || r.Cap() != 3 || len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Fatalf("ring after 5 adds to capacity 3: len %d values %v, want [2 3 4]", r.Len(), got)
	}
	if p, _ := r.Last(); p.Value != 4 {
		t.Errorf("last %v, want 4", p.Value)
	}
	if ps := r.Points(); !ps[0].At.Equal(at(2)) {
		t.Errorf("oldest at %s, want +2s", ps[0].At)
	}
	r.Reset()
	if r.Len() != 0 {
		t.Error("reset ring not empty")
	}
}
