package forecast

import (
	"fmt"
	"math"
	"time"

	"github.com/continuum-xr/continuum/internal/errkind"
)

// ErrInvalid: an option or a point breaks a rule; the message names it.
var ErrInvalid = errkind.New(errkind.Invalid, "forecast: invalid")

// Point is one observation of a series.
type Point struct {
	At    time.Time
	Value float64
}

// Forecast is the prediction of a series at one time.
type Forecast struct {
	// At is the time predicted; Horizon how far it lies after the newest point.
	At      time.Time
	Horizon time.Duration
	// Value is the point forecast; [Lo, Hi] the prediction interval at the
	// forecaster's level (95 % unless configured).
	Value  float64
	Lo, Hi float64
}

// HalfWidth is half the prediction interval: how far the truth may lie from Value.
func (f Forecast) HalfWidth() float64 { return (f.Hi - f.Lo) / 2 }

// Forecaster predicts one series from the points it was fed. Implementations keep
// a bounded state.
type Forecaster interface {
	// Observe feeds the next point; points must come in time order. A point out of
	// order or not finite is ignored and reported with an error wrapping ErrInvalid.
	Observe(p Point) error
	// Forecast predicts the value at a time after the newest point (a time before it
	// is read as the newest point's). ok is false while the history is too short to
	// say anything.
	Forecast(at time.Time) (f Forecast, ok bool)
}

// NewFunc makes the Forecaster of one series (named, e.g. "rtt gva-edge<->mil-edge"
// or "cpu mil-edge"), so a user can choose a model per series.
type NewFunc func(series string) Forecaster

// HoltOptions configure NewHolt. The zero value gives the defaults documented on
// each field.
type HoltOptions struct {
	// Alpha smooths the level, in (0, 1]; zero means 0.5: a level that follows a
	// step within two or three points.
	Alpha float64
	// Beta smooths the trend, in (0, 1]; zero means 0.2: a trend that needs a few
	// points to build and is not thrown by one odd point.
	Beta float64
	// Season is the period of an additive season (24 h for a daily pattern); zero
	// means none. The season is used once the points cover a whole Season.
	Season time.Duration
	// Bins is how many slots the season has (each keeps one seasonal offset);
	// zero means 48 (half an hour each for a daily season).
	Bins int
	// Gamma smooths the seasonal offsets, in (0, 1]; zero means 0.1.
	Gamma float64
	// Level is the coverage of the prediction interval, in (0, 1); zero means 0.95.
	Level float64
	// MinPoints is how many points Forecast needs; zero means 5 (below that the
	// error of the fit is unknown). At least 3.
	MinPoints int
}

// Holt is Holt's linear trend method for irregularly spaced points, with an
// optional additive season (see the package documentation). Make it with NewHolt.
type Holt struct {
	o     HoltOptions
	z     float64 // the normal quantile of the interval
	n     int
	first time.Time
	last  time.Time
	level float64
	trend float64 // per second
	step  float64 // smoothed spacing of points, seconds
	mse   float64 // smoothed squared one-step error
	errs  int     // one-step errors seen
	// Season: offsets per bin once seasonal; before, sums to initialise them.
	seasonal bool
	offset   []float64
	sum      []float64
	count    []int
}

// NewHolt returns a Holt forecaster; bad options give an error wrapping ErrInvalid
// that names the field.
func NewHolt(o HoltOptions) (*Holt, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	h := &Holt{o: o, z: math.Sqrt2 * math.Erfinv(o.Level)}
	if o.Season > 0 {
		h.offset = make([]float64, o.Bins)
		h.sum = make([]float64, o.Bins)
		h.count = make([]int, o.Bins)
	}
	return h, nil
}

// HoltFunc returns a NewFunc that gives every series its own Holt with options o
// (checked once, here).
func HoltFunc(o HoltOptions) (NewFunc, error) {
	if _, err := NewHolt(o); err != nil {
		return nil, err
	}
	return func(string) Forecaster {
		h, _ := NewHolt(o)
		return h
	}, nil
}

func (o *HoltOptions) defaults() error {
	in01 := func(name string, v *float64, def float64) error {
		if *v == 0 {
			*v = def
		}
		if !(*v > 0 && *v <= 1) {
			return fmt.Errorf("forecast: holt: %s: must be in (0, 1], got %g: %w", name, *v, ErrInvalid)
		}
		return nil
	}
	if err := in01("alpha", &o.Alpha, 0.5); err != nil {
		return err
	}
	if err := in01("beta", &o.Beta, 0.2); err != nil {
		return err
	}
	if err := in01("gamma", &o.Gamma, 0.1); err != nil {
		return err
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if !(o.Level > 0 && o.Level < 1) {
		return fmt.Errorf("forecast: holt: level: must be in (0, 1), got %g: %w", o.Level, ErrInvalid)
	}
	switch {
	case o.Season < 0:
		return fmt.Errorf("forecast: holt: season: must be >= 0, got %s: %w", o.Season, ErrInvalid)
	case o.Bins < 0:
		return fmt.Errorf("forecast: holt: bins: must be >= 0, got %d: %w", o.Bins, ErrInvalid)
	case o.Bins == 0:
		o.Bins = 48
	}
	if o.Season > 0 && o.Season/time.Duration(o.Bins) <= 0 {
		return fmt.Errorf("forecast: holt: bins: %d bins do not fit in a season of %s: %w", o.Bins, o.Season, ErrInvalid)
	}
	switch {
	case o.MinPoints == 0:
		o.MinPoints = 5
	case o.MinPoints < 3:
		return fmt.Errorf("forecast: holt: minPoints: must be >= 3, got %d: %w", o.MinPoints, ErrInvalid)
	}
	return nil
}

func (h *Holt) bin(t time.Time) int {
	s := int64(h.o.Season)
	off := t.UnixNano() % s
	if off < 0 {
		off += s
	}
	return int(off * int64(h.o.Bins) / s)
}

// seasonAt is the seasonal offset at t (zero until the season is in use).
func (h *Holt) seasonAt(t time.Time) float64 {
	if !h.seasonal {
		return 0
	}
	return h.offset[h.bin(t)]
}

// Observe feeds the next point (see Forecaster).
func (h *Holt) Observe(p Point) error {
	x := p.Value
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("forecast: holt: point at %s: value %g is not finite: %w", p.At.UTC().Format(time.RFC3339), x, ErrInvalid)
	}
	if h.n > 0 && !p.At.After(h.last) {
		return fmt.Errorf("forecast: holt: point at %s: not after the newest point (%s): %w",
			p.At.UTC().Format(time.RFC3339), h.last.UTC().Format(time.RFC3339), ErrInvalid)
	}
	if h.n == 0 {
		h.n, h.first, h.last, h.level = 1, p.At, p.At, x
		h.collect(p)
		return nil
	}
	dt := p.At.Sub(h.last).Seconds()
	s := h.seasonAt(p.At)
	if h.n == 1 {
		h.trend = (x - s - h.level) / dt
		h.level, h.step = x-s, dt
	} else {
		e := x - (h.level + h.trend*dt + s)
		if h.errs < 10 { // the mean of the first errors, then a moving mean of about 10
			h.mse = (float64(h.errs)*h.mse + e*e) / float64(h.errs+1)
		} else {
			h.mse = 0.9*h.mse + 0.1*e*e
		}
		h.errs++
		prev := h.level
		h.level = h.o.Alpha*(x-s) + (1-h.o.Alpha)*(h.level+h.trend*dt)
		h.trend = h.o.Beta*(h.level-prev)/dt + (1-h.o.Beta)*h.trend
		h.step = 0.9*h.step + 0.1*dt
		if h.seasonal {
			b := h.bin(p.At)
			h.offset[b] = h.o.Gamma*(x-h.level) + (1-h.o.Gamma)*h.offset[b]
		}
	}
	h.n++
	h.last = p.At
	h.collect(p)
	return nil
}

// collect gathers the first season's points per bin; once they cover a whole season
// the offsets start as each bin's mean less the mean of the bins, and the level loses
// the offset it carried: it starts again from this point less its offset, with no
// trend (the trend fitted so far followed the season's swings).
func (h *Holt) collect(p Point) {
	if h.o.Season == 0 || h.seasonal {
		return
	}
	b := h.bin(p.At)
	h.sum[b] += p.Value
	h.count[b]++
	if p.At.Sub(h.first) < h.o.Season {
		return
	}
	mean := 0.0
	for i := range h.sum {
		if h.count[i] == 0 {
			return // a bin without points: wait for it
		}
		h.offset[i] = h.sum[i] / float64(h.count[i])
		mean += h.offset[i]
	}
	mean /= float64(len(h.sum))
	for i := range h.offset {
		h.offset[i] -= mean
	}
	h.seasonal = true
	h.level, h.trend = p.Value-h.offset[b], 0
	h.sum, h.count = nil, nil
}

// Seasonal reports whether the season is in use (the points covered one).
func (h *Holt) Seasonal() bool { return h.seasonal }

// Forecast predicts the value at a time (see Forecaster).
func (h *Holt) Forecast(at time.Time) (Forecast, bool) {
	if h.n < h.o.MinPoints {
		return Forecast{}, false
	}
	if at.Before(h.last) {
		at = h.last
	}
	d := at.Sub(h.last)
	v := h.level + h.trend*d.Seconds() + h.seasonAt(at)
	k := max(1, d.Seconds()/h.step)
	a, b := h.o.Alpha, h.o.Beta
	variance := h.mse * (1 + (k-1)*(a*a+a*b*k+b*b*k*(2*k-1)/6))
	w := h.z * math.Sqrt(variance)
	return Forecast{At: at, Horizon: d, Value: v, Lo: v - w, Hi: v + w}, true
}

var _ Forecaster = (*Holt)(nil)
