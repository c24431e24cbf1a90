// Package forecast predicts and watches the time series the loop observes (the RTT of
// a link, the free CPU of a cluster, the users at a site): short-term forecasts with a
// prediction interval, and a detector that tells a transient spike from a level
// shift. It is pure: no clock, no I/O; every point carries its own time.
//
// # Forecasts
//
// A Forecaster is fed points in time order (Observe) and predicts the value at a
// later time with a prediction interval (Forecast). The default, Holt, is Holt's
// linear trend method (double exponential smoothing) for irregularly spaced points,
// with an optional additive season (a daily profile, say) used once the history
// covers a whole season. Its interval is the normal approximation of the ETS(A,A,N)
// model, sigma^2 [1 + (k-1)(alpha^2 + alpha beta k + beta^2 k(2k-1)/6)] for k steps
// ahead (Hyndman and Athanasopoulos, Forecasting: Principles and Practice, 3rd ed.,
// section 5.5 and table 8.8), where sigma is the smoothed one-step error and a step
// is the smoothed spacing of the points. Any other model fits the interface; New
// functions (NewFunc) let a user give one per series.
//
// # Spikes and shifts
//
// A Detector classifies each new point of a series against its recent past: a robust
// z-score, (x - median) / (1.4826 MAD) over the last Window accepted points, flags an
// outlier (|z| > SpikeZ) as a Spike while it stands alone; a two-sided CUSUM of the
// z-scores (slack K, threshold H) confirms a Shift once at least MinRun points in a
// row lie on the same side, so a lone spike never confirms a shift, while a step that
// stays, or a slow drift, does. A confirmed shift re-bases the detector on the new
// level. Spikes are kept out of the baseline (and should be kept out of forecasts:
// Verdict.Baseline is the value to feed instead).
//
// # Memory
//
// History is bounded: Ring keeps the newest points up to its capacity, Holt keeps a
// constant state (one value per season bin), Detector a Ring of Window points.
//
// # Errors
//
// Options are checked by the constructors, which return errors wrapping ErrInvalid
// that name the field. Points out of time order or not finite are ignored by Observe
// and reported by its result, never a panic.
//
// # Concurrency
//
// Forecasters, Detectors and Rings are not safe for concurrent use: one goroutine
// (the loop's round) owns each.
//
// # Testing
//
// Tests check Holt against series whose forecasts are known in closed form
// (constant, linear, a pure season) and the detector against scripted spikes,
// steps and drifts.
package forecast
