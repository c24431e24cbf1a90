// Package liqo is the metrics source that reads the round-trip time Liqo's gateways
// already measure between peered clusters: the status.latency of Liqo's networking
// Connection objects (networking.liqo.io/v1beta1, Liqo v1.0.1), read through a
// controller-runtime client.Reader per cluster.
//
// # What Liqo writes
//
// Each Liqo gateway (the WireGuard server or client of one peering) owns one
// Connection in its tenant namespace, labelled liqo.io/remote-cluster-id with the
// peer's cluster ID, spec.type Server or Client. While the tunnel is up the gateway
// pings the peer every 2 s and writes status.value (Connected, Connecting, Error) and
// status.latency {value, timestamp}: value is the RTT of the latest ping formatted as
// whole milliseconds ("5ms") or, below 1 ms, whole microseconds ("850μs"), or "N/A";
// timestamp is when that ping's reply arrived. The status is rewritten when the state
// changes or the timestamp is more than 10 s old (the gateway's
// --ping-update-status-interval), so a healthy Connection is at most about 12 s old.
//
// # Mapping
//
// Source reads the Connections of every cluster it is given (Cluster: a topology name
// and a Reader for that cluster's API server). Latency(a, b) looks in a's cluster for
// the Connection to b's cluster ID and in b's cluster for the one to a's, and answers
// with the freshest valid one. Topology names map to Liqo cluster IDs through
// Options.ClusterIDs (a name not in the map is its own ID). A sample is one
// observation: P50 = P90 = P99 = the value, Count 1, Window 0, Loss unknown (-1),
// provenance metrics.Measured, ObservedAt = status.latency.timestamp; when Liqo left
// the timestamp empty, the time of the newest write to the status subresource from
// metadata.managedFields; with neither, the Connection counts as no data (an
// observation time is never made up).
//
// # RBAC
//
// Read-only on connections.networking.liqo.io: get, list and watch (RBACYAML, the
// ClusterRole continuum-liqo-latency-reader, embedded from rbac.yaml; ClusterRole
// decodes it). The source only lists; watch is there for cached clients.
//
// # Errors
//
// No Connection for the pair, or none with a usable latency ("N/A", status Error, no
// observation time): metrics.ErrNoData, with the reasons. The freshest usable one
// older than Options.MaxAge: metrics.ErrStale. Empty names: metrics.ErrInvalid; bad
// options: metrics.ErrInvalid naming the field. An API server error (Forbidden,
// unreachable) is returned as it is, wrapped, never read as no data. The context's
// error when ctx ends. Messages start with "liqo: ".
//
// # Concurrency
//
// A Source is immutable after New and safe for concurrent use if its Readers are
// (controller-runtime clients are).
//
// # Testing
//
// The integration test runs the Source against a real kube-apiserver with the Liqo
// CRDs (internal/testenv): a helper plays Liqo's gateway and writes Connections and
// their status with Status().Update(). The Source passes metricstest's conformance
// suite there (Harness.Point: Liqo reports one observation, not a distribution), and
// a test runs it as a user bound to exactly the ClusterRole of rbac.yaml and checks
// what that user can and cannot do. Without the test binaries the integration tests
// skip (fail under CI=true).
package liqo
