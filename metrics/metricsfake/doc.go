// Package metricsfake is an in-memory implementation of the metrics source roles, for
// tests of code that observes the continuum, and fault wrappers that work around any
// source, real or fake.
//
// Source serves scripted samples over a clock (usually Clock, a fake clock the test
// advances): a query returns the newest sample observed at or before the clock's now,
// ErrStale when that sample is older than the freshness bound, and ErrNoData when there
// is none. Wrap puts a source behind Faults: errors chosen per call, every n-th call
// failing, seeded random flakiness, samples aged into staleness, or calls that hang
// until their context ends.
//
// # Errors
//
// Source returns errors wrapping metrics.ErrNoData, metrics.ErrStale and
// metrics.ErrInvalid like every source. Injected failures wrap ErrInjected (kind
// unreachable) unless Faults.Err chooses another error.
//
// # Concurrency
//
// Clock, Source and Wrapper are safe for concurrent use. Every call is recorded in a
// call log (Calls) with its arguments and result.
//
// # Testing
//
// Source passes the conformance suite in metricstest (see its tests); the package does
// not import testing.
package metricsfake
