package placement_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/placement/placementtest"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

func TestDecodeApplicationRoundTrip(t *testing.T) {
	app, err := placement.DecodeApplication(placementtest.XRCollabYAML())
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Components) != 5 || len(app.Flows) != 6 || len(app.Chains) != 3 || app.Home != "fra-cloud" {
		t.Fatalf("decoded %d components, %d flows, %d chains, home %q", len(app.Components), len(app.Flows), len(app.Chains), app.Home)
	}
	out, err := placement.EncodeApplication(app)
	if err != nil {
		t.Fatal(err)
	}
	back, err := placement.DecodeApplication(out)
	if err != nil {
		t.Fatalf("decode of encoded: %v\n%s", err, out)
	}
	again, _ := placement.EncodeApplication(back)
	if string(again) != string(out) {
		t.Errorf("round trip changed the document")
	}
	if !reflect.DeepEqual(back.Chains, app.Chains) || !reflect.DeepEqual(back.Flows, app.Flows) {
		t.Errorf("round trip changed flows or chains")
	}
}

const appHeader = "apiVersion: continuum.xr/v1alpha1\nkind: Application\nmetadata: {name: xr}\n"

func TestDecodeApplicationErrors(t *testing.T) {
	doc := appHeader + `
components:
  - name: render
    replicas: -1
    requests: {cpu: "-2", gpu: lots}
    ports: [{port: 70000, protocol: SCTP}]
    antiAffinity: [ghost]
    colour: red
  - name: render
flows:
  - {from: render, to: render}
  - {from: a, to: b}
  - {from: render, to: geneva, maxRTT: 5}
chains:
  - {name: mtp, path: [geneva], budget: 0ms}
`
	_, err := placement.DecodeApplication([]byte(doc))
	if !errors.Is(err, placement.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	list, _ := placement.AsErrorList(err)
	want := []string{
		"chains[0].budget: required, > 0",
		"chains[0].path: needs at least two elements",
		"components[0].antiAffinity[0]: unknown component \"ghost\"",
		"components[0].colour: unknown field",
		"components[0].ports[0].port: 70000 is outside [1, 65535]",
		"components[0].ports[0].protocol: must be TCP or UDP",
		"components[0].replicas: -1 is outside",
		"components[0].requests.cpu: -2 is negative",
		"components[0].requests.gpu: \"lots\" is not a quantity",
		"components[1].name: duplicate component \"render\"",
		"flows[0].to: a flow from \"render\" to itself",
		"flows[1]: neither \"a\" nor \"b\" is a component",
		"flows[2].maxRTT: must be a duration string like \"15ms\", got a number",
	}
	if len(list) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(list[i].Error(), w) {
			t.Errorf("problem %d = %q, want %q", i, list[i].Error(), w)
		}
	}
}

func TestPlaceChecksReferencesAgainstTheTopology(t *testing.T) {
	app, err := placement.DecodeApplication([]byte(appHeader + `
home: nowhere
components:
  - name: render
    allowed: {clusters: [mars]}
flows:
  - {from: atlantis, to: render}
chains:
  - {name: mtp, path: [geneva, render, lyon], budget: 15ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = placement.Place(context.Background(), &placement.Snapshot{Topology: topologytest.PaperFig1()},
		&placement.Request{Apps: []placement.Application{app, app}, Hysteresis: 2, Strategy: "fastest"})
	list, ok := placement.AsErrorList(err)
	if !ok {
		t.Fatalf("err = %v, want an ErrorList", err)
	}
	want := []string{
		`apps[0].chains[0].path[2]: no component or site "lyon"`,
		`apps[0].components[0].allowed.clusters[0]: unknown cluster "mars"`,
		`apps[0].flows[0].from: no component or site "atlantis"`,
		`apps[0].home: unknown cluster "nowhere"`,
		`apps[1].chains[0].path[2]`, `apps[1].components[0].allowed.clusters[0]`, `apps[1].flows[0].from`, `apps[1].home`,
		`apps[1].metadata.name: duplicate application "xr" (also apps[0])`,
		`hysteresis: must be in [0, 1), got 2`,
		`strategy: must be "default" or "exact", got "fastest"`,
	}
	if len(list) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(list), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(list[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, list[i].Error(), w)
		}
	}
}

// FuzzDecodeApplication: never panics, errors are ErrorLists, accepted documents round
// trip, and placing an accepted application on the Fig. 1 continuum never panics.
func FuzzDecodeApplication(f *testing.F) {
	f.Add(placementtest.XRCollabYAML())
	f.Add([]byte(appHeader + "components: [{name: a, replicas: 3, spread: true}]\nflows: [{from: geneva, to: a, bandwidth: 1Gbps}]"))
	f.Add([]byte(appHeader + "components: [{name: a}, {name: b, coLocate: [a]}]\nchains: [{name: c, path: [milan, a, b, milan], budget: 9ms}]"))
	f.Add([]byte("components: [\n"))
	f.Add([]byte(policyApp))
	f.Add([]byte(appHeader + "components: [{name: a, allowed: {selector: {matchExpressions: [{key: k, operator: In, values: [v]}]}}, tolerations: [{operator: Exists}]}]"))
	topo := topologytest.PaperFig1()
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := placement.DecodeApplication(data)
		if err != nil {
			if _, ok := placement.AsErrorList(err); !ok || !errors.Is(err, placement.ErrInvalid) {
				t.Fatalf("error is not an ErrorList matching ErrInvalid: %v", err)
			}
			return
		}
		out, err := placement.EncodeApplication(app)
		if err != nil {
			t.Fatal(err)
		}
		back, err := placement.DecodeApplication(out)
		if err != nil {
			t.Fatalf("round trip: %v\n%s", err, out)
		}
		if again, _ := placement.EncodeApplication(back); string(again) != string(out) {
			t.Fatalf("round trip changed the document")
		}
		if countReplicas([]placement.Application{app}) > 50 {
			return
		}
		_, err = placement.Place(context.Background(), &placement.Snapshot{Topology: topo},
			&placement.Request{Apps: []placement.Application{app}, MaxNodes: 2000})
		var ue *placement.UnplaceableError
		if err != nil && !errors.As(err, &ue) && !errors.Is(err, placement.ErrInvalid) {
			t.Fatalf("Place: unexpected error kind: %v", err)
		}
	})
}
