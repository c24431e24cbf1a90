// Package sim is a simulated continuum: the fakes of continuum's packages composed
// into one consistent world on one fake clock, with a script of events, so that a
// scheduler, a controller or the OODA loop (placement/loop) can be tested end to
// end in fake time, deterministically, without a cluster.
//
// A World (New, from a topology such as topologytest.PaperFig1()) holds:
//
//   - Provisioner(): provisionfake, Cluster API's provisioning times. A cluster
//     created through it joins Topology() once it is ready (described by
//     Options.DescribeCluster: labels, region location, capacity per worker, geo
//     estimated links) and becomes known to Peering(); it leaves when deleted.
//   - Peering(): peeringfake, Liqo's peering and offloading steps, knowing every
//     cluster of the topology.
//   - Workloads(home): actfake, the workloads of an application's home cluster,
//     wired so that pods pinned to a remote cluster are ready only while the home is
//     peered with it and the namespace is offloaded there, never on a failed
//     cluster; creating the namespace creates it in Peering() too.
//   - LatencySource() and ResourceSource() (Sources() for metrics.Collect): the true
//     RTTs (the declared ones until an event degrades a link; routes avoid failed
//     clusters; optional seeded noise) and resources whose used part follows the
//     ready replicas of the applications registered with AddApplication, plus
//     scripted extra load.
//   - a script (At, Schedule, Script; or Apply for now): DegradeLink, RestoreLink,
//     FailCluster, RecoverCluster, AddSite, MoveSite, LoadStep, TaintCluster,
//     UntaintCluster, Cordon, DrainCluster, Uncordon (taints of the declared
//     topology, which the loop reads) and Do for anything else.
//
// Demand (NewDemand) is the users (or requests per second) at each site, scripted
// (SetDemand, RampDemand) and diurnal (Diurnal): a loop.DemandSource for components
// with a placement.Scale. DegradeSlowly, Flap, Spike and DiurnalLoad are scripts of
// the scenarios examples/anticipate measures the loop on.
//
// Wire registers applications and returns, in one call, what placement/act and
// placement/loop need to run on the world: the home cluster's Workloads with a
// template per component, an Actor over the world's fakes and clock, and
// loop.Options reading the world's topology, metrics and clock. RunFor runs a loop's
// (or a controller-runtime manager's) Start in fake time for a simulated duration;
// examples/custom-controller runs a manager for a simulated hour that way.
//
// Step(d) moves the clock Tick by Tick (and to the exact time of each event), makes
// the events happen, fires the fakes' timers and lets the goroutines they wake
// settle; Run(ctx, limit, fn) runs fn (an Actor's Apply, a WaitReady) in a goroutine
// and steps until it returns. OnChange reports every change (a cluster appeared, a
// link degraded: a loop's trigger); AfterTick hooks run after every tick (invariants
// such as ReadyReplicas never reaching zero during a migration); Log is the history
// in words ("t=+60s link gva-edge<->mil-edge degraded to 20ms (declared 5.8ms)").
//
// # Errors
//
// ErrInvalid (bad options, events and arguments, naming the field), ErrNotFound (an
// event names a cluster, site or link the world does not have), ErrUnreachable (a
// failed cluster) and ErrNotReady (Run's limit passed) are backed by the shared kinds
// of internal/errkind. Metrics about a failed cluster wrap metrics.ErrNoData and
// ErrUnreachable, never read as zero. An event that cannot happen leaves the world
// unchanged and is reported by Step (and Run), by OnChange (EventFailed) and in the
// log. Messages start with "sim:".
//
// # Concurrency
//
// A World is safe for concurrent use: the code under test calls the fakes and
// sources from its goroutines while one goroutine steps. Step and Run run one at a
// time; OnChange and AfterTick callbacks run from the stepping goroutine with no
// lock held and must not call Step or Run.
//
// # Determinism
//
// The same options (Seed included), script and calls give the same world: the same
// provisioning times, noise and log. Code under test runs concurrently with the
// stepping, so how far it gets within one tick depends on the scheduler; run the
// test inside a testing/synctest bubble (synctest.Test) and each tick's settle waits
// until every goroutine of the bubble is blocked, which makes whole runs repeatable.
//
// # Testing
//
// sim is itself a test double and imports nothing from testing. Its parts pass their
// own conformance suites (provisiontest, peeringtest, acttest), and the world's
// Provisioner passes provisiontest too; sim_test checks the composition:
// provisioned clusters joining, latency following the script, load following the
// workloads, failures, determinism. placement/act's tests run the Actor on a World.
package sim
