package forecast_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/metrics/forecast"
)

func detector(t *testing.T, o forecast.DetectorOptions) *forecast.Detector {
	t.Helper()
	d, err := forecast.NewDetector(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// feed gives the detector one point every 10 s and returns the verdicts.
func feed(t *testing.T, d *forecast.Detector, from int, xs ...float64) []forecast.Verdict {
	t.Helper()
	var out []forecast.Verdict
	for i, x := range xs {
		v, err := d.Observe(forecast.Point{At: at(float64((from + i) * 10)), Value: x})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func kinds(vs []forecast.Verdict) string {
	var s []string
	for _, v := range vs {
		s = append(s, string(v.Kind))
	}
	return strings.Join(s, " ")
}

// noisy returns n points around level with 1 % noise, seeded.
func noisy(seed uint64, n int, level float64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]float64, n)
	for i := range out {
		out[i] = level * (1 + 0.01*rng.Float64())
	}
	return out
}

// A lone spike is a spike, then the series is normal again: no shift, and the spike
// stays out of the level.
func TestDetectorLoneSpike(t *testing.T) {
	d := detector(t, forecast.DetectorOptions{})
	feed(t, d, 0, noisy(1, 20, 5.8)...)
	vs := feed(t, d, 20, 20, 5.85, 5.82, 5.81)
	if got := kinds(vs); got != "spike normal normal normal" {
		t.Fatalf("verdicts %q, want a spike then normal points", got)
	}
	if v := vs[0]; !v.Up || math.Abs(v.Baseline-5.8) > 0.06 || v.Z < 4 {
		t.Errorf("spike verdict %v: want up, baseline near 5.8, z > 4", v)
	}
	if lvl, _ := d.Level(); math.Abs(lvl-5.8) > 0.06 {
		t.Errorf("level %g after the spike, want near 5.8 (the spike kept out)", lvl)
	}
}

// A step that stays is a spike for one point and a shift at the second (MinRun),
// after which the detector sits on the new level.
func TestDetectorStepIsShiftAtSecondPoint(t *testing.T) {
	d := detector(t, forecast.DetectorOptions{})
	feed(t, d, 0, noisy(2, 20, 5.8)...)
	vs := feed(t, d, 20, 20, 20.1, 20.05, 19.9, 20, 20.1, 20)
	if got := kinds(vs); got != "spike shift normal normal normal normal normal" {
		t.Fatalf("verdicts %q, want spike, shift, then normal", got)
	}
	if lvl, _ := d.Level(); math.Abs(lvl-20) > 0.2 {
		t.Errorf("level %g after the shift, want near 20", lvl)
	}
	// And back down: a shift the other way.
	vs = feed(t, d, 27, 5.8, 5.81)
	if vs[1].Kind != forecast.Shift || vs[1].Up {
		t.Errorf("return to 5.8: verdicts %v, want a shift down at the second point", vs)
	}
}

// A slow drift never makes an outlier, yet the CUSUM confirms a shift long before
// the link has doubled its RTT.
func TestDetectorDriftIsShift(t *testing.T) {
	d := detector(t, forecast.DetectorOptions{})
	feed(t, d, 0, noisy(3, 30, 5.8)...)
	shiftAt := -1.0
	for i := range 200 {
		x := 5.8 + 0.05*float64(i) // +0.3 ms a minute
		vs := feed(t, d, 30+i, x)
		if vs[0].Kind == forecast.Spike {
			t.Fatalf("drift point %d (%g) called a spike", i, x)
		}
		if vs[0].Kind == forecast.Shift {
			shiftAt = x
			break
		}
	}
	if shiftAt < 0 || shiftAt > 2*5.8 {
		t.Fatalf("drift: shift confirmed at %g, want one before 11.6", shiftAt)
	}
}

// Noise alone is normal.
func TestDetectorNoiseIsNormal(t *testing.T) {
	d := detector(t, forecast.DetectorOptions{})
	for i, v := range feed(t, d, 0, noisy(4, 500, 5.8)...) {
		if v.Kind != forecast.Normal {
			t.Fatalf("noise point %d: %v, want normal", i, v)
		}
	}
}

func TestDetectorBadInput(t *testing.T) {
	for _, c := range []struct {
		o     forecast.DetectorOptions
		field string
	}{
		{forecast.DetectorOptions{Window: 3}, "window"},
		{forecast.DetectorOptions{SpikeZ: -1}, "spikeZ"},
		{forecast.DetectorOptions{MinRun: 1}, "minRun"},
		{forecast.DetectorOptions{Window: 6, MinPoints: 7}, "minPoints"},
		{forecast.DetectorOptions{H: math.Inf(1)}, "h"},
	} {
		_, err := forecast.NewDetector(c.o)
		if !errors.Is(err, forecast.ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: error %v, want ErrInvalid naming %s", c.o, err, c.field)
		}
	}
	d := detector(t, forecast.DetectorOptions{})
	feed(t, d, 1, 1)
	for _, p := range []forecast.Point{{At: at(10), Value: 1}, {At: at(20), Value: math.NaN()}} {
		if _, err := d.Observe(p); !errors.Is(err, forecast.ErrInvalid) {
			t.Errorf("point %v: error %v, want ErrInvalid", p, err)
		}
	}
}
