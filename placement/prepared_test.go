package placement_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/placement"
	pt "github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology"
	tt "github.com/continuum-xr/continuum/topology/topologytest"
)

// outcome is what a user sees of a call: the plan as JSON and the error's text.
func outcome(t *testing.T, plan *placement.Plan, err error) string {
	t.Helper()
	data, jerr := json.Marshal(plan)
	if jerr != nil {
		t.Fatal(jerr)
	}
	msg := "<nil>"
	if err != nil {
		msg = err.Error()
	}
	return string(data) + "\nerr: " + msg
}

// A Prepared problem gives, after any sequence of updates, byte for byte what the
// stateless Place gives on the same snapshot and applications: random link, access and
// route measurements, free capacities, applications changed, added, removed and made
// invalid, and requests that repair or re-optimise the previous plan.
func TestPreparedMatchesStateless(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			in := pt.Generate(seed, pt.GenOptions{Clusters: 12 + int(seed)*3, Components: 8, Planted: true})
			extra := pt.Generate(seed+100, pt.GenOptions{Clusters: 12 + int(seed)*3, Components: 4, Planted: true})
			rng := rand.New(rand.NewPCG(seed, 7))
			topo := in.Topology
			links, clusters, sites := topo.Links(), topo.Clusters(), topo.Sites()
			snap := &placement.Snapshot{Topology: topo, RTT: map[placement.Pair]topology.Duration{}, Free: map[string]topology.ResourceList{}}
			apps := append([]placement.Application(nil), in.Apps...)
			pp, err := placement.Prepare(snap, apps)
			if err != nil {
				t.Fatal(err)
			}
			var current []placement.Assignment
			kinds := map[string]int{}
			placed, badCurrent, newResource := 0, 0, 0
			// swapCompare puts a changed copy of application i in its place, compares
			// the two paths, and puts the application back.
			swapCompare := func(i int, change func(*placement.Application), step int, what string) {
				changed := cloneApp(t, apps[i])
				change(&changed)
				good := apps[i]
				apps[i] = changed
				pp.SetApplication(changed)
				compare(t, pp, snap, apps, &placement.Request{}, step, what)
				apps[i] = good
				pp.SetApplication(good)
			}
			for step := range 40 {
				kind := rng.IntN(8)
				switch kind {
				case 0, 1: // a link's measured RTT (a degradation or an improvement)
					l := links[rng.IntN(len(links))]
					d := topology.Duration(float64(l.EffectiveRTT()) * (1 + 2.5*rng.Float64()))
					snap.RTT[placement.MakePair(l.A, l.B)] = d
					pp.SetRTT(l.A, l.B, d)
				case 2: // a measurement between clusters without a direct link, or an access link
					if len(sites) > 0 && rng.IntN(2) == 0 {
						s := sites[rng.IntN(len(sites))]
						a := s.Access[rng.IntN(len(s.Access))]
						d := topology.Duration(float64(a.RTT) * (1 + 2.5*rng.Float64()))
						snap.RTT[placement.MakePair(s.Name, a.Cluster)] = d
						pp.SetRTT(s.Name, a.Cluster, d)
					} else {
						a, b := clusters[rng.IntN(len(clusters))].Name, clusters[rng.IntN(len(clusters))].Name
						if a == b {
							continue
						}
						base, err := topo.RTT(a, b)
						if err != nil {
							continue
						}
						d := topology.Duration(float64(base) * (1 + 2.5*rng.Float64()))
						snap.RTT[placement.MakePair(a, b)] = d
						pp.SetRTT(a, b, d)
					}
				case 3: // a measurement withdrawn
					for k := range snap.RTT {
						delete(snap.RTT, k)
						pp.SetRTT(k.A, k.B, -1)
						break
					}
				case 4: // a cluster's free capacity (0 to all of it; a down cluster is 0)
					c := clusters[rng.IntN(len(clusters))]
					f := topology.ResourceList{}
					for r, q := range c.Capacity {
						q := q.DeepCopy()
						q.SetMilli(q.MilliValue() * int64(rng.IntN(11)) / 10)
						f[r] = q
					}
					snap.Free[c.Name] = f
					pp.SetFree(c.Name, f)
				case 5: // an application changed: a component's replicas
					i := rng.IntN(len(apps))
					app := cloneApp(t, apps[i])
					c := &app.Components[rng.IntN(len(app.Components))]
					c.Replicas = 1 + rng.IntN(3)
					apps[i] = app
					pp.SetApplication(app)
				case 6: // an application added or removed
					if len(apps) > 1 && rng.IntN(2) == 0 {
						i := rng.IntN(len(apps))
						if !pp.RemoveApplication(apps[i].Metadata.Name) {
							t.Fatalf("RemoveApplication(%s) found nothing", apps[i].Metadata.Name)
						}
						apps = append(apps[:i:i], apps[i+1:]...)
					} else {
						app := cloneApp(t, extra.Apps[rng.IntN(len(extra.Apps))])
						app.Metadata.Name = fmt.Sprintf("extra-%d", step)
						apps = append(apps, app)
						pp.SetApplication(app)
					}
				case 7: // an invalid application, then its fix
					swapCompare(rng.IntN(len(apps)), func(a *placement.Application) { a.Components[0].Replicas = -3 }, step, "invalid")
				}
				kinds[fmt.Sprint(kind)]++
				req := &placement.Request{Current: inForce(current, apps)}
				if rng.IntN(2) == 0 {
					req.Mode = placement.Repair
				}
				if step%9 == 8 {
					// A component asks for a resource no cluster has (a new resource
					// dimension: nothing fits), then the application is restored.
					swapCompare(step%len(apps), func(a *placement.Application) {
						a.Components[0].Requests = topology.ResourceList{"example.com/fpga": resource.MustParse("1")}
					}, step, "a resource no cluster has")
					newResource++
				}
				if n := len(req.Current); n > 0 && step%5 == 4 {
					// A bad placement in force after good ones: the prepared problem
					// remembers the last one it checked and must not take this for it.
					bad := slices.Clone(req.Current)
					bad[step%n].Cluster = "no-such-cluster"
					compare(t, pp, snap, apps, &placement.Request{Current: bad, Mode: req.Mode}, step, "unknown cluster in current")
					dup := append(slices.Clone(req.Current), req.Current[step%n])
					compare(t, pp, snap, apps, &placement.Request{Current: dup, Mode: req.Mode}, step, "replica twice in current")
					badCurrent++
				}
				plan := compare(t, pp, snap, apps, req, step, fmt.Sprint("kind ", kind))
				if plan != nil && plan.Feasible {
					current = plan.Assignments
					placed++
				}
			}
			if badCurrent == 0 || newResource == 0 {
				t.Fatal("no step compared a bad placement in force or a new resource")
			}
			if placed < 20 {
				t.Fatalf("only %d of 40 steps placed: the comparison is mostly of errors", placed)
			}
			st := pp.Stats()
			// Validations: every application once, plus once per change (at most one
			// per step); without the cache it would be every application on every call.
			if st.AppsValidated > len(in.Apps)+2*40 || st.AppsValidated >= st.Calls*len(in.Apps) {
				t.Fatalf("stats %+v: %d validations, the validation cache was not used", st, st.AppsValidated)
			}
			if st.Compiles == 0 || st.Compiles >= st.Calls-10 {
				t.Fatalf("stats %+v: the compiled components were not reused (kinds %v)", st, kinds)
			}
			if st.Calls < 40 || st.Reroutes == 0 || st.Reroutes >= st.Calls {
				t.Fatalf("stats %+v: expected some re-routes and some reuse (links %d, kinds %v)", st, len(links), kinds)
			}
		})
	}
}

func compare(t *testing.T, pp *placement.Prepared, snap *placement.Snapshot, apps []placement.Application, req *placement.Request, step int, what string) *placement.Plan {
	t.Helper()
	stateless := *req
	stateless.Apps = apps
	want, werr := placement.Place(context.Background(), snap, &stateless)
	got, gerr := pp.Place(context.Background(), req)
	if testing.Verbose() && gerr != nil {
		t.Logf("step %d (%s): %.300v", step, what, gerr)
	}
	if w, g := outcome(t, want, werr), outcome(t, got, gerr); w != g {
		t.Fatalf("step %d (%s): prepared and stateless differ\nstateless: %.600s\nprepared:  %.600s", step, what, w, g)
	}
	return got
}

func cloneApp(t *testing.T, a placement.Application) placement.Application {
	t.Helper()
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var out placement.Application
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPreparedErrors(t *testing.T) {
	in := pt.Generate(1, pt.GenOptions{Clusters: 10, Components: 4, Planted: true})
	if _, err := placement.Prepare(nil, in.Apps); err == nil {
		t.Fatal("Prepare without a snapshot: no error")
	}
	pp, err := placement.Prepare(in.Snapshot(), in.Apps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pp.Place(context.Background(), in.Request()); err == nil {
		t.Fatal("Place with apps in the request: no error")
	}
	var none *placement.Prepared
	if _, err := none.Place(context.Background(), nil); err == nil {
		t.Fatal("nil Prepared: no error")
	}
	if _, err := pp.Place(context.Background(), nil); err != nil {
		t.Fatalf("nil request (defaults): %v", err)
	}
}

// inForce keeps the assignments of replicas the applications still have.
func inForce(current []placement.Assignment, apps []placement.Application) []placement.Assignment {
	replicas := map[[2]string]int{}
	for _, a := range apps {
		for _, c := range a.Components {
			replicas[[2]string{a.Metadata.Name, c.Name}] = max(c.Replicas, 1)
		}
	}
	var out []placement.Assignment
	for _, a := range current {
		if a.Replica < replicas[[2]string{a.App, a.Component}] {
			out = append(out, a)
		}
	}
	return out
}

// SetFree and Update copy the free capacities they are given: a caller that reuses its
// list afterwards does not change the Prepared's next plan.
func TestPreparedCopiesFree(t *testing.T) {
	in := pt.Generate(3, pt.GenOptions{Clusters: 12, Components: 6, Planted: true})
	c := in.Topology.Clusters()[0]
	half := topology.ResourceList{}
	for r, q := range c.Capacity {
		q := q.DeepCopy()
		q.SetMilli(q.MilliValue() / 2)
		half[r] = q
	}
	snap := &placement.Snapshot{Topology: in.Topology, Free: map[string]topology.ResourceList{c.Name: half}}
	want, werr := placement.Place(context.Background(), snap, &placement.Request{Apps: in.Apps})
	for _, viaUpdate := range []bool{false, true} {
		mine := maps.Clone(half)
		pp, err := placement.Prepare(in.Snapshot(), in.Apps)
		if err != nil {
			t.Fatal(err)
		}
		if viaUpdate {
			err = pp.Update(&placement.Snapshot{Topology: in.Topology, Free: map[string]topology.ResourceList{c.Name: mine}}, nil)
		} else {
			pp.SetFree(c.Name, mine)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pp.Place(context.Background(), nil); err != nil && !errors.Is(err, placement.ErrUnplaceable) {
			t.Fatal(err)
		}
		for r := range mine {
			mine[r] = resource.MustParse("0") // the caller reuses its list
		}
		pp.SetFree(in.Topology.Clusters()[1].Name, nil) // another cluster's measurement withdrawn: capacities compiled again
		got, gerr := pp.Place(context.Background(), nil)
		if w, g := outcome(t, want, werr), outcome(t, got, gerr); w != g {
			t.Fatalf("update %v: the caller's change of its free list reached the Prepared\nwant %.300s\ngot  %.300s", viaUpdate, w, g)
		}
	}
}

// Update with a new topology drops what the Prepared kept for the old one: here two
// topologies with as many links, the second with an extra link early in link order
// instead of late (so the links in use sit at other indices, under other names), and
// each call gives the stateless plan.
func TestPreparedNewTopology(t *testing.T) {
	in := pt.Generate(4, pt.GenOptions{Clusters: 16, Components: 8, Planted: true})
	clusters := in.Topology.Clusters()
	// withLink returns the topology with a link added between the first (when first) or
	// last pair of clusters in name order that has none, at the RTT of its route.
	withLink := func(first bool) *topology.Topology {
		spec := in.Topology.Spec()
		for n := range len(clusters) * len(clusters) {
			if !first {
				n = len(clusters)*len(clusters) - 1 - n
			}
			a, b := n/len(clusters), n%len(clusters)
			if a >= b {
				continue
			}
			if _, ok := in.Topology.Link(clusters[a].Name, clusters[b].Name); ok {
				continue
			}
			rtt, err := in.Topology.RTT(clusters[a].Name, clusters[b].Name)
			if err != nil {
				continue
			}
			for i := range spec.Clusters {
				if spec.Clusters[i].Name == clusters[a].Name {
					spec.Clusters[i].Links = append(spec.Clusters[i].Links, topology.LinkSpec{To: clusters[b].Name, RTT: rtt})
				}
			}
			topo, err := topology.New(spec)
			if err != nil {
				t.Fatal(err)
			}
			return topo
		}
		t.Fatal("every pair of clusters is linked")
		return nil
	}
	pp, err := placement.Prepare(in.Snapshot(), in.Apps)
	if err != nil {
		t.Fatal(err)
	}
	for step, topo := range []*topology.Topology{in.Topology, withLink(false), withLink(true), in.Topology} {
		snap := &placement.Snapshot{Topology: topo}
		if err := pp.Update(snap, nil); err != nil {
			t.Fatal(err)
		}
		plan := compare(t, pp, snap, in.Apps, &placement.Request{}, step, "new topology")
		if plan == nil || len(plan.Links) == 0 {
			t.Fatalf("step %d: the plan uses no link", step)
		}
	}
}

// A Prepared remembers which replicas of the placement in force the filters let stay;
// what an update changes is judged again: here a NoExecute taint whose toleration
// expires when Update moves Snapshot.Now on (the replica must leave), between calls
// that only re-measure a link (it stays).
func TestPreparedRepairFollowsUpdates(t *testing.T) {
	added := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	topo, err := topology.Drain(testContinuum(t), "cheap", added)
	if err != nil {
		t.Fatal(err)
	}
	apps := []placement.Application{pt.NewApp("a").Component("x", "1", "1Gi", pt.Tolerate(topology.TaintDrain, topology.NoExecute, 300),
		pt.Tolerate(topology.TaintUnschedulable, "")).Build()}
	req := &placement.Request{Current: []placement.Assignment{{App: "a", Component: "x", Replica: 0, Cluster: "cheap"}}, Mode: placement.Repair}
	snap := &placement.Snapshot{Topology: topo, Now: added.Add(299 * time.Second), RTT: map[placement.Pair]topology.Duration{}}
	pp, err := placement.Prepare(snap, apps)
	if err != nil {
		t.Fatal(err)
	}
	for step, tc := range []struct {
		now  time.Duration // since the taint was added
		rtt  topology.Duration
		want string
	}{{299, ms(10), "cheap"}, {299, ms(12), "cheap"}, {300, ms(12), "near"}, {300, ms(11), "near"}, {299, ms(11), "cheap"}} {
		if now := added.Add(tc.now * time.Second); !now.Equal(snap.Now) {
			snap.Now = now
			if err := pp.Update(snap, nil); err != nil {
				t.Fatal(err)
			}
		}
		snap.RTT[placement.MakePair("cheap", "near")] = tc.rtt
		pp.SetRTT("cheap", "near", tc.rtt)
		plan := compare(t, pp, snap, apps, req, step, "taint")
		if plan == nil || plan.Assignments[0].Cluster != tc.want {
			t.Fatalf("step %d: x on %v, want %s", step, plan, tc.want)
		}
	}
}

// Applications checked once stay checked only against the same topology: after an
// Update to a topology without the cluster an application is allowed on, the call
// fails as the stateless one does.
func TestPreparedRevalidatesOnNewTopology(t *testing.T) {
	small := tt.New().
		Cluster("cheap", tt.Capacity("16", "64Gi")).
		Cluster("near", tt.Capacity("32", "128Gi")).
		Link("cheap", "near", ms(10)).
		MustBuild(t)
	apps := []placement.Application{pt.NewApp("a").Component("x", "1", "1Gi", pt.Clusters("near2")).Build()}
	snap := &placement.Snapshot{Topology: testContinuum(t)}
	pp, err := placement.Prepare(snap, apps)
	if err != nil {
		t.Fatal(err)
	}
	for step, topo := range []*topology.Topology{snap.Topology, snap.Topology, small, snap.Topology} {
		snap := &placement.Snapshot{Topology: topo}
		if err := pp.Update(snap, nil); err != nil {
			t.Fatal(err)
		}
		compare(t, pp, snap, apps, &placement.Request{}, step, "topology")
		if _, err := pp.Place(context.Background(), &placement.Request{}); (err != nil) != (topo == small) {
			t.Fatalf("step %d: error %v", step, err)
		}
	}
}
