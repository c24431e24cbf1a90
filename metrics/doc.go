// Package metrics observes latency and resource use across the continuum (Prometheus or
// Thanos, Liqo's measured latency, an active UDP prober), every sample with its time. It
// is being built under issue 4; until then the package is empty.
package metrics
