// Package probe measures the round-trip time, loss and jitter between clusters with
// UDP, the protocol XR streams use, and serves the results as a metrics.LatencySource
// and as Prometheus metrics.
//
// Two parts work together. A Responder is what a user runs as a small pod (or
// process) in every cluster: it echoes continuum probe packets back to their sender
// and ignores everything else, never answering with more bytes than it received. A
// Prober runs in a cluster and sends timestamped, sequence-numbered UDP packets to the
// Responders of its peers at a fixed rate (10 probes/s per peer by default), matches
// the echoes, and keeps a sliding window of RTTs and losses per peer. From the window
// it answers Latency (p50/p90/p99 by nearest rank, the count of replies, the loss
// fraction and the time of the newest reply, provenance metrics.Measured) and Stats
// (the same plus jitter and lifetime counters).
//
// A Prober is a prometheus.Collector: registered with a registry, it exports the
// histogram continuum_probe_rtt_seconds and the counters continuum_probe_sent_total
// and continuum_probe_lost_total, labelled cluster (the measuring cluster) and peer,
// the series and labels the default queries of metrics/prometheus read, so a
// Prometheus (or Thanos) that scrapes the prober serves the same RTTs to the
// prometheus backend.
//
// # Wire format
//
// A probe is a 32-byte header, zero-padded to ProberOptions.PacketSize: the magic
// "CXRP", version 1, kind (1 request, 2 reply), two reserved bytes, the prober's
// random 64-bit session, the 64-bit sequence number and the send time (Unix
// nanoseconds of the prober's clock), all big-endian. The Responder flips the kind to
// reply and sends the same bytes back.
//
// # Time
//
// RTTs and observation times come from the injected clock (ProberOptions.Now): the RTT
// is the clock's reading when the echo arrives minus its reading just before the probe
// was sent, so with time.Now it is measured on the monotonic clock. The timeout after
// which an unanswered probe counts as lost is a real-time deadline, like every
// deadline in continuum; the observation time of a loss is the clock's time when it
// is decided.
//
// # Errors
//
// Latency returns errors wrapping metrics.ErrNoData when the pair does not involve
// the prober's cluster and one of its peers, or when the peer never answered (every
// probe lost is no data, never a zero RTT); metrics.ErrStale when the newest reply is
// older than ProberOptions.MaxAge or no reply is left in the window;
// metrics.ErrInvalid for empty names; the context's error when ctx is done. Bad
// options give errors wrapping metrics.ErrInvalid that name the field. Messages
// start with "probe: ".
//
// # Concurrency
//
// A Prober and a Responder are safe for concurrent use. Prober.Run and
// Responder.Serve run until their context ends, then close their socket and return
// once every goroutine they started has exited; each may be called once. Probe sends
// one probe while Run is running. Loops are bounded by the context, the socket and
// ProberOptions.MaxSamples (the window never grows beyond it).
//
// # Testing
//
// The tests run on loopback (127.0.0.1) only. A user-space UDP relay between prober
// and responder delays probes by a fixed amount (5 ms and 20 ms) and drops a known
// share of them; the measured p50 is checked against the injected delay plus the
// loopback baseline, and the drops against the measured loss. The prober passes
// metricstest.RunConformanceTests with a fake clock that the relay advances by each
// scripted RTT, so the fixture's exact percentiles travel over real UDP. A benchmark
// reports the CPU cost per probe at 10 probes/s per peer.
package probe
