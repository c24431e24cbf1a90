// Package selfmetrics exports what the continuum SDK itself does as Prometheus
// metrics: how long placement decisions take and how they end, how many component
// migrations are started, finished and failed, and the round-trip times the control
// loop currently believes (from the last metrics.Snapshot, with their provenance).
//
// Metrics is a prometheus.Collector (github.com/prometheus/client_golang): register
// it with the registry the embedding program serves. Series:
//
//   - continuum_decision_duration_seconds{outcome}: histogram of decision latency;
//     outcome is Feasible, Infeasible or Failed;
//   - continuum_migrations_total{result}: counter; result is Started, Succeeded or
//     Failed;
//   - continuum_rtt_seconds{a,b,source,provenance}: gauge, the p50 RTT of each pair of
//     the last snapshot (pairs missing from it have no series, never a zero);
//   - continuum_rtt_sample_count{a,b,source}: gauge, the observations behind it;
//   - continuum_snapshot_missing{kind}: gauge, pairs (kind latency) and clusters (kind
//     resources) the last snapshot had no value for;
//   - continuum_snapshot_problems_total{source}: counter of failed source calls.
//
// Options.Namespace replaces the "continuum" prefix; Options.ConstLabels adds labels
// to every series (e.g. the management cluster's name).
//
// # Errors
//
// New returns errors wrapping metrics.ErrInvalid that name the field; recording
// methods never fail (an unknown outcome or result is recorded as "other", which keeps
// the label set bounded).
//
// # Concurrency
//
// Every method is safe for concurrent use.
//
// # Testing
//
// The tests register a Metrics with a pedantic registry, record decisions,
// migrations and a snapshot from metrics.Collect over metricsfake sources, and check
// the gathered values.
package selfmetrics
