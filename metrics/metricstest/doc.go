// Package metricstest is the conformance suite of the metrics source roles: every
// LatencySource and ResourceSource of continuum passes RunConformanceTests, the
// in-memory fake as well as the real backends against real servers, so the fake cannot
// drift from reality.
//
// A harness loads the data of a Fixture (built by NewFixture around the harness's
// "now") into the source under test; the suite then checks the contract documented on
// metrics.LatencySource and metrics.ResourceSource: exact percentiles, counts and
// observation times of fresh data, symmetry of pairs, ErrStale for old data, ErrNoData
// for missing data (never a zero), missing resources absent rather than zero,
// ErrInvalid for empty names, the context's error after cancellation, and safety
// under concurrent calls.
//
// # Errors
//
// The suite reports failures through testing.T; a HarnessMaker error fails the test.
//
// # Concurrency
//
// Each test gets a new harness from the maker; tests run sequentially.
//
// # Testing
//
// metricsfake.Source passes the suite (metricstest's own tests); the prometheus backend
// runs it against a real Prometheus server with the fixture backfilled.
package metricstest
