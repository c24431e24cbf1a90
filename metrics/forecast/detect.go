package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Kind is what a point of a series is, to a Detector.
type Kind string

// The kinds of points.
const (
	// Normal: within the recent level, or too early to tell.
	Normal Kind = "normal"
	// Spike: an outlier that stands alone so far (a lone spike, or the first point
	// of a shift that the next points will confirm).
	Spike Kind = "spike"
	// Shift: the level moved; confirmed by this point.
	Shift Kind = "shift"
)

// Verdict is what a Detector makes of one point.
type Verdict struct {
	Kind  Kind
	Value float64
	// Z is the point's robust z-score against the recent level.
	Z float64
	// Baseline is the recent level (the median of the window) before this point:
	// the value to use in place of a spike.
	Baseline float64
	// Up says which way a spike or shift goes.
	Up bool
}

// String says it in words: "spike 20 (level 5.8, z 46.1)".
func (v Verdict) String() string {
	return fmt.Sprintf("%s %.4g (level %.4g, z %.1f)", v.Kind, v.Value, v.Baseline, v.Z)
}

// DetectorOptions configure NewDetector. The zero value gives the defaults
// documented on each field.
type DetectorOptions struct {
	// Window is how many accepted points the level (median) and scale (MAD) are
	// taken over; zero means 30 (five minutes of ten-second rounds). At least 5.
	Window int
	// MinPoints is how many points the detector needs before it calls anything but
	// Normal; zero means 5. At most Window.
	MinPoints int
	// SpikeZ is the robust z-score beyond which a point is an outlier; zero means 4
	// (a normal series passes it once in about 16,000 points).
	SpikeZ float64
	// K is the CUSUM's slack per point, in z units; zero means 0.5 (tuned to shifts
	// of one scale unit and more).
	K float64
	// H is the CUSUM threshold that confirms a shift, in z units; zero means 5.
	H float64
	// MinRun is how many points in a row, on the same side of the level, a shift
	// needs; zero means 2, so a lone spike never confirms one.
	MinRun int
	// RelScale and AbsScale floor the scale: max(1.4826 MAD, RelScale x |level|,
	// AbsScale), so a series without noise does not call every wiggle an outlier.
	// Zero RelScale means 0.02 (2 % of the level); zero AbsScale means 1e-9.
	RelScale float64
	AbsScale float64
}

func (o *DetectorOptions) defaults() error {
	pos := func(name string, v *float64, def float64) error {
		if *v == 0 {
			*v = def
		}
		if !(*v > 0) || math.IsInf(*v, 0) {
			return fmt.Errorf("forecast: detector: %s: must be > 0 and finite, got %g: %w", name, *v, ErrInvalid)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    *float64
		def  float64
	}{{"spikeZ", &o.SpikeZ, 4}, {"k", &o.K, 0.5}, {"h", &o.H, 5}, {"relScale", &o.RelScale, 0.02}, {"absScale", &o.AbsScale, 1e-9}} {
		if err := pos(f.name, f.v, f.def); err != nil {
			return err
		}
	}
	ints := []struct {
		name     string
		v        *int
		def, min int
	}{{"window", &o.Window, 30, 5}, {"minPoints", &o.MinPoints, 5, 3}, {"minRun", &o.MinRun, 2, 2}}
	for _, f := range ints {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < f.min {
			return fmt.Errorf("forecast: detector: %s: must be >= %d, got %d: %w", f.name, f.min, *f.v, ErrInvalid)
		}
	}
	if o.MinPoints > o.Window {
		return fmt.Errorf("forecast: detector: minPoints: must be <= window (%d), got %d: %w", o.Window, o.MinPoints, ErrInvalid)
	}
	return nil
}

// Detector tells spikes from shifts on one series (see the package documentation).
// Make it with NewDetector.
type Detector struct {
	o      DetectorOptions
	win    *Ring
	last   time.Time
	sp, sn float64 // CUSUM up and down
	run    []Point // the current run of points on one side of the level
	up     bool    // the run's side
}

// NewDetector returns a detector; bad options give an error wrapping ErrInvalid that
// names the field.
func NewDetector(o DetectorOptions) (*Detector, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	return &Detector{o: o, win: NewRing(o.Window)}, nil
}

// Level returns the recent level (the window's median); ok is false before any
// point.
func (d *Detector) Level() (float64, bool) {
	if d.win.Len() == 0 {
		return 0, false
	}
	return median(d.win.Values()), true
}

// Observe classifies the next point, which must come after the previous one and be
// finite (else it is ignored, with an error wrapping ErrInvalid).
func (d *Detector) Observe(p Point) (Verdict, error) {
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		return Verdict{}, fmt.Errorf("forecast: detector: point at %s: value %g is not finite: %w", p.At.UTC().Format(time.RFC3339), p.Value, ErrInvalid)
	}
	if !d.last.IsZero() && !p.At.After(d.last) {
		return Verdict{}, fmt.Errorf("forecast: detector: point at %s: not after the previous point (%s): %w",
			p.At.UTC().Format(time.RFC3339), d.last.UTC().Format(time.RFC3339), ErrInvalid)
	}
	d.last = p.At
	x := p.Value
	if d.win.Len() < d.o.MinPoints {
		d.win.Add(p)
		return Verdict{Kind: Normal, Value: x, Baseline: median(d.win.Values())}, nil
	}
	vals := d.win.Values()
	m := median(vals)
	dev := make([]float64, len(vals))
	for i, v := range vals {
		dev[i] = math.Abs(v - m)
	}
	scale := max(1.4826*median(dev), d.o.RelScale*math.Abs(m), d.o.AbsScale)
	z := (x - m) / scale
	v := Verdict{Kind: Normal, Value: x, Z: z, Baseline: m, Up: z > 0}
	// The CUSUM counts the current run only: a point back within the slack ends the
	// run and restarts both sums, so what a spike added never lingers.
	switch {
	case z > d.o.K:
		if !d.up || len(d.run) == 0 {
			d.run, d.sp, d.sn = nil, 0, 0
		}
		d.up = true
		d.sp += z - d.o.K
	case z < -d.o.K:
		if d.up || len(d.run) == 0 {
			d.run, d.sp, d.sn = nil, 0, 0
		}
		d.up = false
		d.sn += -z - d.o.K
	default:
		d.run, d.sp, d.sn = nil, 0, 0
	}
	if z > d.o.K || z < -d.o.K {
		d.run = append(d.run, p)
	}
	if len(d.run) >= d.o.MinRun && max(d.sp, d.sn) > d.o.H {
		// Confirmed: the new level is the run's; the window starts over from it.
		v.Kind = Shift
		d.win.Reset()
		for _, q := range d.run {
			d.win.Add(q)
		}
		d.run, d.sp, d.sn = nil, 0, 0
		return v, nil
	}
	if math.Abs(z) > d.o.SpikeZ {
		v.Kind = Spike // kept out of the level
		return v, nil
	}
	d.win.Add(p)
	return v, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
