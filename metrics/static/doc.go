// Package static is the metrics source of last resort: the round-trip times written in
// the topology (links and access links, and cheapest paths over them) and, where no
// chain of links joins two located endpoints, the geo estimate (0.5 ms + 2 x 2.1 x
// great-circle km x 4.9 us/km). Its samples are marked metrics.Configured or
// metrics.Estimated, never metrics.Measured, so a Collect with a measuring source first
// and static last fills the gaps while the loop still knows what was measured.
//
// It also reports each cluster's (and node pool's) configured capacity, marked
// Configured; it knows nothing about allocatable or used resources.
//
// # Errors
//
// An endpoint the topology does not know, or two unlocated endpoints without a path,
// give an error wrapping metrics.ErrNoData; empty names metrics.ErrInvalid. Static data
// is never stale: ObservedAt is the clock's now.
//
// # Concurrency
//
// A Source is immutable and safe for concurrent use.
//
// # Testing
//
// Unit tests build topologies with topology/topologytest. The source is not run through
// metricstest's conformance suite: that suite's fixture is about measured data (counts,
// windows, staleness), which a static source does not have; the tests here check the
// rest of the contract (no-data and invalid errors, symmetry, cancellation).
package static
