// Package prometheus is the metrics source that reads latency and resource use with
// PromQL over the Prometheus HTTP API (github.com/prometheus/client_golang/api/prometheus/v1).
// Thanos Query serves the same API, so one Source works against a single Prometheus
// per cluster or against Thanos aggregating them in the management cluster; the
// cluster a series belongs to is read from a configurable label (Options.ClusterLabel,
// typically a Thanos external label).
//
// # Queries
//
// Every query is a Go text/template, overridable in Options.Queries. The defaults:
//
//   - latency: the histogram continuum_probe_rtt_seconds exported by continuum's UDP
//     prober, labelled with the measuring cluster (ClusterLabel) and the peer
//     (PeerLabel); p50/p90/p99 by histogram_quantile over rate(..._bucket[Window]),
//     the count by increase(..._count[Window]), loss by continuum_probe_lost_total /
//     continuum_probe_sent_total; both directions of a pair are aggregated;
//   - capacity and allocatable: kube-state-metrics kube_node_status_capacity and
//     kube_node_status_allocatable (resource cpu, memory, nvidia_com_gpu), summed;
//   - used: cAdvisor rate(container_cpu_usage_seconds_total[Window]) and
//     container_memory_working_set_bytes (container!=""), and kube-state-metrics
//     kube_pod_container_resource_requests for GPUs (GPUs are in use when requested);
//   - observation time: timestamp() of the newest raw sample (LatencySeen,
//     ResourceSeen).
//
// Queries are evaluated at Options.Now(), so the clock decides what "now" is.
// Prometheus looks back 5 minutes from the evaluation time for instant selectors.
//
// # Errors
//
// No series at now and none in the last Options.LastSeen: metrics.ErrNoData. A newest
// sample older than Options.MaxAge: metrics.ErrStale. A resource whose query returns
// nothing is absent from the sample, never zero. Bad names, options or templates:
// metrics.ErrInvalid naming the field; a query returning several series is invalid
// too. A server that fails or cannot be reached: ErrUnreachable. The context's error
// when ctx ends.
//
// # Concurrency
//
// A Source is immutable after New and safe for concurrent use; each call runs its
// queries one after the other.
//
// # Testing
//
// The integration test starts a real Prometheus (internal/testenv) with
// metricstest's fixture backfilled as kube-state-metrics, cAdvisor and prober series,
// runs metricstest's conformance suite against it, and checks a Thanos-style cluster
// label. Without the test binaries it skips (fails under CI=true).
package prometheus
