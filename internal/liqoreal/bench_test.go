package liqoreal_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/looptest"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
)

// BenchmarkApplyReal applies a plan of 100 components, one replica each, spread
// evenly over home and its three providers, on the package's real clusters with
// Liqo's own controllers: the first Apply peers home with w1, w2 and w3 (Liqo
// completes the peerings: Identities, ResourceSlices, VirtualNodes, virtual
// kubelets), offloads the namespace, creates 100 Deployments pinned to their
// clusters and waits until Kubernetes reports every replica ready (pods scheduled by
// kube-scheduler, reflected by the virtual kubelets, run by KWOK). The re-apply of
// the plan in force must run no step. Each iteration ends by removing the
// application and the peerings (not timed). Reported: the wall time of each Apply;
// logged: the first Apply's time per step kind and a timeline of its Liqo waits and
// of every tenth start and wait-ready.
//
// Where the time and the CPU go (logged with -v: CPU seconds per process kind and
// cluster, read from /proc, until the last start and after it, next to the whole
// machine's; and each apiserver's requests by verb and resource). Measured on 2
// cores shared with other work, December 2026, 3 first Applies per setting. These
// first-Apply times still include the benchmark's own CPU and request sampling at the
// last start (four /metrics reads among them); it has been taken out of the Apply's
// time since, and not measured again:
//
//   - With Kubernetes' default kube-controller-manager client rate limit (20
//     requests/s, burst 30): first Apply 26.3 to 26.8 s (27.1 to 29.7 s before the
//     changes below; the difference is within the machine's noise). The 100 starts
//     take 3.5 to 7 s, then 17 to 20 s pass until the last replica is ready: the
//     controller manager's Deployment and ReplicaSet controllers on home write at
//     that rate (per new Deployment: its ReplicaSet, about 6 Deployment status
//     updates, the pod, about 3 ReplicaSet status updates, and events).
//   - With that limit raised (CONTINUUM_LIQOREAL_KCM_QPS=200): first Apply 18.4 to
//     23.9 s (19.4 to 21.2 s before the changes below: noise again). The clusters
//     keep up with the starts (every replica ready 1 to 2 s after the last start)
//     and the starts take 15 to 19 s: the 2 cores are the bound, the machine ran at
//     100% throughout. This package's processes used 31.5 to 39.6 CPU-s per first
//     Apply (other work 3 to 10). In the fastest run (18.4 s, 31.5 CPU-s):
//     kube-apiservers 19.2 (home 8.5, each provider 3.6), etcds 2.7, the virtual
//     kubelets 2.3 (Liqo reflecting the 75 remote pods), kube-controller-managers
//     2.0, Liqo's webhooks 1.9 and controller managers 1.3, schedulers 0.7, KWOK 0.6,
//     and the test process (act, the virtual-kubelet runner, the benchmark) 0.7.
//     Home's apiserver served about 33 requests per component (3,339 in all), each
//     provider's about 22 per pod it runs.
//
// So the 2 s target for 100 components is out of reach on this machine: the work the
// clusters themselves do for 100 new Deployments, 75 of them reflected to a provider
// by Liqo, is about 30 CPU-s, 15 s on 2 idle cores, however act issues its writes;
// the test process's share is 2%. Starts run 8 at a time (a trial, not kept:
// interleaved runs at the raised limit) ended in 3 to 6 s, but then the clusters
// needed 10 to 11 s more: first Apply 21.0 and 16.0 s, against 18.5 and 24.2 s one
// at a time, a difference within the noise, so act keeps its one-at-a-time starts
// (and with them its ordered results and events). Changes measured here: re-apply 0.06 to 0.09 s in 5 of 6 runs (0.43 s in
// one), 0.42 to 0.77 s before (Apply read the clusters before each of its six
// phases, now only before a phase that follows a step); the virtual-kubelet runner
// watches its pods instead of listing them every 200 ms (a sixth of each provider's
// requests during an apply; the idle environment's CPU went from 0.38 to 0.53 to
// 0.22 to 0.49 CPU-s per 3 s, a noisy figure).
func BenchmarkApplyReal(b *testing.B) {
	testenv.Require(b)
	env.KeepLogsOnFailure(b)
	const components = 100
	clusters := looptest.Clusters // home, w1, w2, w3
	var first, again time.Duration
	for i := range b.N {
		b.StopTimer()
		ctx := context.Background()
		ns := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1_000_000, i)
		home := admin["home"]
		if err := home.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
		app := placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind, Metadata: placement.Metadata{Name: ns}, Home: "home"}
		var plan []placement.Assignment
		for c := range components {
			name := fmt.Sprintf("c%03d", c)
			app.Components = append(app.Components, placement.Component{Name: name, Requests: looptest.Requests("100m")})
			plan = append(plan, placement.Assignment{App: ns, Component: name, Cluster: clusters[c%len(clusters)]})
			if err := home.Create(ctx, looptest.Template(ns, name)); err != nil {
				b.Fatal(err)
			}
		}
		// The templates are set up before the clock starts: wait until the
		// Deployment controller has taken each in (it creates their empty
		// ReplicaSets), so that its backlog is not counted as the Apply's.
		eventually(b, "the templates observed by the Deployment controller", func(ctx context.Context) (bool, string) {
			var deps appsv1.DeploymentList
			if err := home.List(ctx, &deps, client.InNamespace(ns)); err != nil {
				return false, err.Error()
			}
			seen := 0
			for _, d := range deps.Items {
				if d.Status.ObservedGeneration >= d.Generation {
					seen++
				}
			}
			return seen == components, fmt.Sprintf("%d of %d observed", seen, components)
		})
		backend := newBackend(b, clusters...)
		view, err := act.NewKubeWorkloads(home, act.KubeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		var trace []string
		t0 := time.Now()
		// CPU and API requests at the end of the starts (the first wait-ready).
		var cpuStarts testenv.CPUSample
		var machineStarts time.Duration
		var reqStarts map[string]map[string]float64
		// paused is how long that sampling took inside the timed Apply: it is taken
		// out of the Apply's time (not out of the benchmark's own ns/op).
		var startsEnd, paused time.Duration
		observe := func(e act.StepEvent) {
			if i == 0 && e.Step.Kind == act.StepWaitReady && !e.Done && e.Message == "" && cpuStarts == nil {
				startsEnd = time.Since(t0)
				ts := time.Now()
				cpuStarts, machineStarts, reqStarts = sampleCPU(b), machineBusy(b), requestCounts(b, clusters)
				paused = time.Since(ts)
			}
			switch {
			case i != 0:
			case e.Message != "" && e.Step.Kind != act.StepWaitReady:
				trace = append(trace, fmt.Sprintf("%7v %s: %s", time.Since(t0).Round(time.Millisecond), e.Step, e.Message))
			case e.Done && (e.Step.Kind != act.StepWaitReady && e.Step.Kind != act.StepStart || strings.HasSuffix(e.Step.Component, "0")):
				trace = append(trace, fmt.Sprintf("%7v %s done", time.Since(t0).Round(time.Millisecond), e.Step))
			}
		}
		actor, err := act.New(view, act.Options{Peering: backend, PollInterval: 100 * time.Millisecond, Timeout: wait, Observe: observe})
		if err != nil {
			b.Fatal(err)
		}
		req := act.Request{App: app, Assignments: plan, Home: "home"}

		// Where the CPU goes: the environment idle for a moment (its floor), then
		// during the first Apply (only the first iteration; logged, never asserted).
		var idle []testenv.CPUUse
		var idleFor, machine0, machine1 time.Duration
		var cpu0, cpu1 testenv.CPUSample
		var req0, req1 map[string]map[string]float64
		if i == 0 {
			idle, idleFor = idleCPU(b)
			cpu0, machine0, req0 = sampleCPU(b), machineBusy(b), requestCounts(b, clusters)
		}

		b.StartTimer()
		start := time.Now()
		t0 = start
		res, err := actor.Apply(ctx, req)
		took := time.Since(start) - paused
		b.StopTimer()
		if err != nil {
			b.Fatalf("first Apply: %v", err)
		}
		if i == 0 {
			cpu1, machine1, req1 = sampleCPU(b), machineBusy(b), requestCounts(b, clusters)
		}
		first += took
		kinds := map[act.StepKind]int{}
		spent := map[act.StepKind]time.Duration{}
		for _, s := range res.Steps {
			kinds[s.Kind]++
			spent[s.Kind] += s.Took
		}
		// Every replica ready as Kubernetes says, on the planned cluster.
		ins, err := view.ListInstances(ctx, ns)
		if err != nil {
			b.Fatal(err)
		}
		readyOn := map[string]int{}
		for _, in := range ins {
			if in.Ready == 1 {
				readyOn[in.Cluster]++
			}
		}
		for _, c := range clusters {
			if readyOn[c] != components/len(clusters) {
				b.Fatalf("ready instances per cluster after the first Apply: %v; want %d on each of %v", readyOn, components/len(clusters), clusters)
			}
		}

		b.StartTimer()
		start = time.Now()
		res, err = actor.Apply(ctx, req)
		took = time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("re-apply: %v", err)
		}
		if len(res.Steps) != 0 {
			b.Fatalf("re-applying the plan in force ran %d steps, want none: %v", len(res.Steps), res.Steps)
		}
		again += took
		if i == 0 {
			var by []string
			for k, n := range kinds {
				by = append(by, fmt.Sprintf("%s x%d %v", k, n, spent[k].Round(time.Millisecond)))
			}
			slices.Sort(by)
			b.Logf("first Apply: %v (the sampling at the last start, %v, taken out); steps: %s", first.Round(time.Millisecond), paused.Round(time.Millisecond), strings.Join(by, ", "))
			b.Logf("re-apply: %v", again.Round(time.Millisecond))
			b.Logf("first Apply's waits for Liqo:\n%s", strings.Join(trace, "\n"))
			b.Logf("CPU seconds while idle for %v:\n%s", idleFor.Round(time.Millisecond), testenv.FormatCPU(idle, clusters))
			if cpuStarts != nil {
				logCPU(b, "until the last start", startsEnd, cpuStarts.Since(cpu0), machineStarts-machine0, clusters)
				logCPU(b, "from the last start to every replica ready", first-startsEnd, cpu1.Since(cpuStarts), machine1-machineStarts, clusters)
				logRequests(b, "until the last start", reqStarts, req0)
				logRequests(b, "from the last start to every replica ready", req1, reqStarts)
			}
			logCPU(b, "the whole first Apply", first, cpu1.Since(cpu0), machine1-machine0, clusters)
		}

		removeBench(b, actor, backend, req)
	}
	per := float64(b.N)
	b.ReportMetric(first.Seconds()/per, "apply-s")
	b.ReportMetric(again.Seconds()/per, "reapply-s")
}

// sampleCPU reads the CPU time of the environment's processes and this one.
func sampleCPU(b *testing.B) testenv.CPUSample {
	b.Helper()
	s, err := env.SampleCPU()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// idleCPU measures what the environment's processes use for 3 s with no test
// traffic: the floor under any measurement.
func idleCPU(b *testing.B) ([]testenv.CPUUse, time.Duration) {
	b.Helper()
	s0, t0 := sampleCPU(b), time.Now()
	time.Sleep(3 * time.Second)
	return sampleCPU(b).Since(s0), time.Since(t0)
}

// machineBusy reads the CPU time of every process on the machine.
func machineBusy(b *testing.B) time.Duration {
	b.Helper()
	d, err := testenv.MachineBusy()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// logCPU logs where the CPU went during an interval of wall time wall: per process
// kind and cluster, this package's processes against the whole machine's.
func logCPU(b *testing.B, what string, wall time.Duration, uses []testenv.CPUUse, machine time.Duration, clusters []string) {
	b.Helper()
	var ours time.Duration
	for _, u := range uses {
		ours += u.CPU
	}
	b.Logf("CPU seconds %s (%v wall, %d cores: %.1f CPU-s available; the machine used %.1f, these processes %.1f, other work %.1f):\n%s",
		what, wall.Round(time.Millisecond), runtime.NumCPU(), wall.Seconds()*float64(runtime.NumCPU()),
		machine.Seconds(), ours.Seconds(), (machine - ours).Seconds(), testenv.FormatCPU(uses, clusters))
}

// requestCounts reads every cluster's kube-apiserver metric apiserver_request_total,
// summed by verb, resource and subresource: cluster -> "VERB resource[/sub]" -> count.
func requestCounts(b *testing.B, clusters []string) map[string]map[string]float64 {
	b.Helper()
	out := map[string]map[string]float64{}
	for _, name := range clusters {
		cs, err := kubernetes.NewForConfig(env.Cluster(name).Config)
		if err != nil {
			b.Fatal(err)
		}
		raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
		if err != nil {
			b.Fatalf("reading %s's apiserver metrics: %v", name, err)
		}
		counts := map[string]float64{}
		for line := range strings.Lines(string(raw)) {
			rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
			if !ok {
				continue
			}
			labels, value, ok := strings.Cut(rest, "} ")
			if !ok {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil {
				continue
			}
			l := map[string]string{}
			for kv := range strings.SplitSeq(labels, ",") {
				if k, val, ok := strings.Cut(kv, "="); ok {
					l[k] = strings.Trim(val, `"`)
				}
			}
			key := l["verb"] + " " + l["resource"]
			if l["subresource"] != "" {
				key += "/" + l["subresource"]
			}
			counts[key] += v
		}
		out[name] = counts
	}
	return out
}

// logRequests logs the API requests each cluster served between two readings, the
// most frequent first.
func logRequests(b *testing.B, what string, now, before map[string]map[string]float64) {
	b.Helper()
	var lines []string
	for _, name := range slices.Sorted(maps.Keys(now)) {
		type kv struct {
			k string
			n float64
		}
		var d []kv
		total := 0.0
		for k, v := range now[name] {
			if n := v - before[name][k]; n > 0 {
				d = append(d, kv{k, n})
				total += n
			}
		}
		slices.SortFunc(d, func(a, b kv) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.k, b.k)) })
		var top []string
		for _, x := range d[:min(len(d), 12)] {
			top = append(top, fmt.Sprintf("%s %.0f", x.k, x.n))
		}
		lines = append(lines, fmt.Sprintf("%s: %.0f requests: %s", name, total, strings.Join(top, ", ")))
	}
	b.Logf("API requests %s:\n%s", what, strings.Join(lines, "\n"))
}

// removeBench removes the benchmark's application and every peering, and waits
// until Liqo has cleaned up.
func removeBench(b *testing.B, actor *act.Actor, backend peering.Interface, req act.Request) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := actor.Remove(ctx, req); err != nil {
		b.Fatalf("Remove: %v", err)
	}
	unpeerAll(b, backend, req.App.Metadata.Name)
}
