// Package loop runs the Observe–Orient–Decide–Act loop of the seed paper's management
// cluster as a library: it observes latency and resources (metrics), orients by
// merging them into the declared topology (measured RTTs over declared ones, free
// capacity, missing or stale data marked and never read as zero), decides with the
// placement engine (repair when a placement breaks a constraint, re-optimise with
// hysteresis, provision when nothing fits), and acts through placement/act
// (make-before-break).
//
// A Loop is a controller-runtime manager.Runnable that needs leader election: add it
// to a manager (mgr.Add(l)) and only the leader runs it. It runs a watch round every
// Options.WatchInterval (observe, then repair only what is broken), a full round every
// Options.Interval (also re-optimise), and a full round at once when Trigger is
// called (whatever the embedding program watches). The watch rounds are the loop's
// own triggers: a measurement that makes the placement in force cross a budget is a
// violation (repaired once confirmed), and a cluster that appeared, left or went down
// since the last round turns the round into a full one. RunOnce runs one round, for
// tests and examples.
//
// # Cordon and drain
//
// The loop reads taints from the topology it is given each round (topology.Cordon and
// Drain, continuumctl cordon and drain, sim.DrainCluster): a NoSelect (cordoned)
// cluster takes no new replicas; a NoExecute (drained) one sends its replicas away.
// The repair moves them make-before-break like any repair, without waiting for
// Options.Confirm observations (a taint is declared, not measured), never breaking a
// budget: a replica moves only to where every
// constraint holds. When some of them have nowhere to go, the loop asks the Provision
// policy first; if it offers nothing, the others move and those stay, and the
// decision names each one and why ("drain: 1 replica(s) move off NoExecute clusters,
// 1 have nowhere to go within their constraints and stay: xr/render[0] stays: 0/4
// clusters fit ..."). A toleration with tolerationSeconds keeps a replica until that
// long after the taint's Added time (the engine is given the loop clock's time,
// placement.Snapshot.Now); the round after that moves it.
//
// # Not flapping
//
// Four rules keep the loop from moving components back and forth:
//
//   - a violation must be seen in Options.Confirm distinct observations (told apart
//     by sample time, Observation.SampleTime) in consecutive rounds before a repair
//     migrates anything: a full and a watch round on the same tick read the same
//     samples and count once (a cluster that disappeared is acted on at once);
//   - re-optimisation keeps the placement in force unless the new one is better by more
//     than Options.Hysteresis (the engine's Reoptimize mode, migration cost included);
//   - a component that moved is not moved again by re-optimisation within
//     Options.Dwell;
//   - re-optimisation judges every link by the worst RTT measured on it within the
//     last Options.Dwell, so a link that keeps degrading and recovering does not draw
//     a component back each time it looks good (repairs use the latest measurement).
//
// # Looking ahead
//
// Unless Options.Anticipate.Reactive is set, the loop also looks ahead (issue 18):
//
//   - Forecasts: every distinct observation feeds, per link RTT, per cluster's free
//     CPU and memory (with the applications' own replicas given back) and per scaled
//     component's demand, a forecaster (metrics/forecast.Holt by default, any
//     Anticipation.Forecaster) with a bounded state and history. When the placement in
//     force holds now, the round builds the snapshot of the worst of now and the
//     forecasts at Anticipation.Horizon (5 minutes) and, if the placement breaks
//     there, carries the repair of that snapshot out at once, make-before-break
//     (DecideAnticipate; Event ForecastBreach; the reason names each forecast and
//     move: "gva-edge cpu left for the applications forecast 10.00 cores ±0.01 cores
//     in 5m (now 10.14 cores, ...); xr-live/session-sync[0] moved from gva-edge to
//     mil-edge"). A forecast counts only when its prediction interval's half-width is
//     at most Anticipation.Trust (0.5) times the change it predicts: a trend not told
//     apart from the noise moves nothing. Re-optimisation judges by that snapshot
//     too, so a component is not drawn to where the forecast says it will break.
//   - Spikes and shifts: each RTT series has a forecast.Detector. A violation that
//     disappears when every spiking RTT is put back at its level (the median of the
//     recent window) is held as a lone spike (it may be a shift's first point: the
//     next sample tells): reported (Observation.Anomalies, Event
//     SpikeSeen, continuum_loop_anomalies_total) and never acted on, whatever
//     Confirm says; spikes are also kept out of the dwell's worst RTTs and out of the
//     forecasts. A violation while an RTT's upward level shift was confirmed within
//     the last Dwell is repaired at once, without waiting Confirm observations.
//   - Demand: a component with a placement.Scale gets ceil(demand / PerReplica)
//     replicas in [Min, Max], from Options.Demand (users or requests per second per
//     site). Up at once (to the forecast demand at the horizon when it is trusted and
//     higher); down only Dwell after the last change and when one replica fewer,
//     less Hysteresis, still covers the demand (DecideScale, Event Scaled). The flows
//     between the component and its sites are weighted by each site's share of the
//     demand, so the engine places replicas towards the sites that need them.
//     Missing demand keeps the replicas as they are.
//   - Not coming back: re-optimisation leaves a replica away from a cluster it
//     left for Anticipation.ReturnAfter (three dwells), so that an objective that
//     swings (demand moving between sites, a load that comes and goes) does not
//     draw it back and forth; repairs and anticipated moves may still go there.
//
// examples/anticipate measures both loops side by side on sim.
//
// # Telemetry
//
// Every round is logged (logr), reported to Options.OnRound (a Round: what was
// observed, and the Decision with its reason and the plan's typed Changes), counted
// in Prometheus metrics registered on Options.Registry (continuum_loop_*), and
// decisions that change something are recorded as Kubernetes Events
// (Options.Recorder) in the application's namespace on its home cluster.
//
// # Errors
//
// A round that fails is reported and retried at the next tick; Start returns only when
// its context ends. New names the bad option.
//
// # Concurrency
//
// Start, RunOnce, Trigger and SetApplication are safe for concurrent use; rounds never
// overlap.
//
// # Testing
//
// Build a Loop on the simulated continuum (package placement/sim): its topology,
// metrics sources and fakes share one fake clock. World.Wire gives the Actor and
// these Options in one call, and World.RunFor runs Start (or a manager's) for a
// simulated duration; examples/custom-controller does both.
package loop
