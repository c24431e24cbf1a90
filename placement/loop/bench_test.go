package loop_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/liqoplay"
	"github.com/continuum-xr/continuum/internal/looptest"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering/liqo"
	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/act"
)

// benchClusters: the home cluster and 9 providers.
var benchClusters = []string{"home", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}

// benchShared is the benchmark's environment, started on its first run and stopped
// by TestMain's teardown.
var benchShared struct {
	once sync.Once
	// envs are started in batches: ten apiservers installing CRDs at once on two
	// cores exceed envtest's CRD wait.
	envs   []*testenv.Env
	admin  map[string]client.WithWatch
	player *liqoplay.Player
	errs   playerErrors
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func stopBench() error {
	if benchShared.cancel != nil {
		benchShared.cancel()
		<-benchShared.done
	}
	var errs []error
	for _, e := range benchShared.envs {
		errs = append(errs, e.Stop())
	}
	return errors.Join(errs...)
}

// benchEnvAll is the batches as one Env (clusters in benchClusters order).
func benchEnvAll() *testenv.Env {
	all := &testenv.Env{Scheme: benchShared.envs[0].Scheme}
	for _, e := range benchShared.envs {
		all.Clusters = append(all.Clusters, e.Clusters...)
	}
	return all
}

func benchEnv(b *testing.B) {
	b.Helper()
	testenv.Require(b)
	benchShared.once.Do(func() {
		start := time.Now()
		benchShared.admin = map[string]client.WithWatch{}
		for i := 0; i < len(benchClusters); i += 4 {
			batch := benchClusters[i:min(i+4, len(benchClusters))]
			e, err := testenv.Start(context.Background(), testenv.Options{Clusters: batch, CRDs: testenv.LiqoCRDs, StartTimeout: 3 * time.Minute})
			if err != nil {
				benchShared.err = err
				return
			}
			benchShared.envs = append(benchShared.envs, e)
			admin, err := adminClients(e)
			if err != nil {
				benchShared.err = err
				return
			}
			maps.Copy(benchShared.admin, admin)
		}
		e := benchEnvAll()
		if benchShared.player, benchShared.err = newPlayer(e, benchShared.admin, &benchShared.errs); benchShared.err != nil {
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		benchShared.cancel, benchShared.done = cancel, make(chan struct{})
		go func() {
			defer close(benchShared.done)
			_ = benchShared.player.Run(ctx)
		}()
		b.Logf("started %d apiservers in %v", len(benchClusters), time.Since(start).Round(time.Second))
	})
	if benchShared.err != nil {
		b.Fatalf("starting the benchmark's clusters: %v", benchShared.err)
	}
}

// BenchmarkApply applies a plan of 100 components spread over home and 9 providers
// to 10 real apiservers (Liqo CRDs, Liqo played in the background by liqoplay, the
// Deployment controller by testenv.MarkWorkloadsReady): the first Apply peers home
// with the 9 providers, offloads the namespace, starts 100 instances and waits for
// them; the re-apply of the same plan must write nothing. Every iteration uses fresh
// Liqo cluster IDs and a fresh namespace. Reported: the wall time and API writes
// (Create, Update, Patch, Apply, Delete and subresource writes, counted by an
// interceptor on every cluster's client) of each.
func BenchmarkApply(b *testing.B) {
	benchEnv(b)
	b.ResetTimer()
	const components = 100
	var first, again time.Duration
	var firstWrites, againWrites, firstReads, againReads int
	for i := range b.N {
		b.StopTimer()
		ctx := context.Background()
		p := benchShared.player
		if err := p.Seed(ctx); err != nil {
			b.Fatal(err)
		}
		ns := fmt.Sprintf("bench-%d", p.Generation())
		home := benchShared.admin["home"]
		if err := home.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
		app := placement.Application{APIVersion: placement.APIVersion, Kind: placement.Kind, Metadata: placement.Metadata{Name: ns}, Home: "home"}
		var plan []placement.Assignment
		for c := range components {
			name := fmt.Sprintf("c%03d", c)
			app.Components = append(app.Components, placement.Component{Name: name, Requests: looptest.Requests("100m")})
			plan = append(plan, placement.Assignment{App: ns, Component: name, Cluster: benchClusters[c%len(benchClusters)]})
			if err := home.Create(ctx, looptest.Template(ns, name)); err != nil {
				b.Fatal(err)
			}
		}
		stopReady := testenv.MarkWorkloadsReady(context.Background(), home, testenv.ReadyOptions{Namespace: ns, Interval: 50 * time.Millisecond})
		// Every cluster's client counts its writes.
		counted := map[string]*faultClient{}
		clients := map[string]client.WithWatch{}
		for _, n := range benchClusters {
			counted[n] = newFaultClient(benchShared.admin[n])
			clients[n] = counted[n].WithWatch
		}
		writes := func() (int, int) {
			total, calls := 0, 0
			for _, c := range counted {
				c.mu.Lock()
				total += c.writes
				calls += c.calls
				c.mu.Unlock()
			}
			return total, calls - total
		}
		backend, err := liqo.New(clients, liqo.Options{Endpoints: endpoints(benchEnvAll()), GatewayNodePort: gatewayPorts()})
		if err != nil {
			b.Fatal(err)
		}
		w, err := act.NewKubeWorkloads(clients["home"], act.KubeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		actor, err := act.New(w, act.Options{Peering: backend, PollInterval: 100 * time.Millisecond, Timeout: 2 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		req := act.Request{App: app, Assignments: plan, Home: "home"}

		b.StartTimer()
		start := time.Now()
		res, err := actor.Apply(ctx, req)
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("first Apply: %v\nplayer errors: %s", err, benchShared.errs.String())
		}
		first += took
		n1, r1 := writes()
		firstWrites += n1
		firstReads += r1
		kinds := map[act.StepKind]int{}
		spent := map[act.StepKind]time.Duration{}
		for _, s := range res.Steps {
			kinds[s.Kind]++
			spent[s.Kind] += s.Took
		}

		b.StartTimer()
		start = time.Now()
		res, err = actor.Apply(ctx, req)
		took = time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatalf("re-apply: %v", err)
		}
		again += took
		n2, r2 := writes()
		n2, r2 = n2-n1, r2-r1
		againWrites += n2
		againReads += r2
		if n2 != 0 || len(res.Steps) != 0 {
			b.Fatalf("re-applying the plan in force wrote %d times and ran %d steps, want none", n2, len(res.Steps))
		}
		stopReady()
		if i == 0 {
			var by []string
			for k, n := range kinds {
				by = append(by, fmt.Sprintf("%s x%d %v", k, n, spent[k].Round(time.Millisecond)))
			}
			slices.Sort(by)
			b.Logf("first Apply: %v, %d writes, %d reads; steps: %s", first.Round(time.Millisecond), n1, r1, strings.Join(by, ", "))
			b.Logf("re-apply: %v, %d writes, %d reads", again.Round(time.Millisecond), n2, r2)
		}
	}
	per := float64(b.N)
	b.ReportMetric(first.Seconds()/per, "apply-s")
	b.ReportMetric(float64(firstWrites)/per, "apply-writes")
	b.ReportMetric(float64(firstReads)/per, "apply-reads")
	b.ReportMetric(again.Seconds()/per, "reapply-s")
	b.ReportMetric(float64(againWrites)/per, "reapply-writes")
	b.ReportMetric(float64(againReads)/per, "reapply-reads")
}
