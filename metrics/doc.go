// Package metrics is the Observe stage of continuum: latency and resource samples of
// the continuum, each with the time it was observed and where it came from.
//
// Two small role interfaces describe a source: LatencySource (the RTT between two
// clusters, or a site and a cluster, as p50/p90/p99 over a window with the sample
// count) and ResourceSource (a cluster's capacity, allocatable and used CPU, memory
// and GPU, optionally per node pool). Backends live in sub-packages: prometheus
// (PromQL against Prometheus or Thanos Query), static (the topology's configured RTTs
// and geo estimate), liqo (the latency Liqo's gateways measure per peering, from
// networking Connection objects), probe (an active UDP prober and responder that
// measure RTT, loss and jitter and export them as Prometheus metrics) and metricsfake
// (scripted samples and fault wrappers). selfmetrics is a prometheus.Collector for
// what the SDK itself does (decision latency, migrations, RTTs in use). forecast
// forecasts the series the loop observes (Holt's linear trend, an optional season, a
// prediction interval) and tells a spike from a level shift (robust z-score, CUSUM).
//
// Behaviour shared by every source is written once here. Collect asks a list of
// sources, concurrently and within one deadline, for the RTT of every pair of a set of
// clusters (and sites) and for each cluster's resources, and merges the answers with
// precedence (the order of the list: e.g. probe, then Liqo, then static), so the loop
// gets one Snapshot where every value says which source gave it and whether it is
// measured, configured or estimated. Missing and stale data are never read as zero:
// they are absent from the snapshot and listed as missing, with each source's reason
// in Problems.
//
// # Errors
//
// Sources return errors wrapping ErrNoData (nothing for that pair or cluster),
// ErrStale (the newest sample is older than the freshness bound, DefaultMaxAge unless
// configured), ErrInvalid (bad input, naming the field) or the context's error. The
// sentinels match the same kinds of the other continuum packages with errors.Is.
// Messages start with "metrics: " or the backend's package name.
//
// # Concurrency
//
// Every source in this module is safe for concurrent use; Collect relies on it.
// Samples and snapshots are plain values owned by the caller. No function here reads
// the wall clock for its logic: clocks are injected (Now func() time.Time fields),
// only deadlines use real time.
//
// # Testing
//
// metricsfake has an in-memory source with scripted samples over a fake clock and
// wrappers that inject failure, staleness and flakiness around any source;
// metricstest has the conformance suite (RunConformanceTests) that the fake and the
// real backends pass.
package metrics
