package topology_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/topology"
	"github.com/continuum-xr/continuum/topology/topologytest"
)

const header = "apiVersion: continuum.xr/v1alpha1\nkind: Topology\n"

// Two located clusters 473 km apart (floor 4.6ms) and a site.
const good = header + `
clusters:
  - name: a
    owner: o
    tier: edge
    location: {lat: 50.1109, lon: 8.6821}
    capacity: {cpu: "8", memory: 16Gi}
    links:
      - to: b
        rtt: 9.7ms
        capacity: 10Gbps
  - name: b
    owner: o
    tier: cloud
    location: {lat: 46.2044, lon: 6.1432}
sites:
  - name: s
    access:
      - {cluster: a, rtt: 1ms}
`

func TestDecodeGood(t *testing.T) {
	topo, err := topology.Decode([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if rtt, _ := topo.RTT("s", "b"); rtt != ms(10.7) {
		t.Errorf("RTT(s, b) = %v, want 10.7ms", rtt)
	}
	// The same document as JSON.
	js := `{"apiVersion":"continuum.xr/v1alpha1","kind":"Topology","clusters":[{"name":"a","owner":"o","tier":"edge"}]}`
	if _, err := topology.Decode([]byte(js)); err != nil {
		t.Errorf("JSON document: %v", err)
	}
}

// TestDecodeErrors gives one bad document per class of mistake and checks the field
// path and message of each problem.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // "field: substring", in order
	}{
		{"unknown field", strings.Replace(good, "tier: edge", "tier: edge\n    colour: blue", 1),
			[]string{"clusters[0].colour: unknown field"}},
		{"unknown top-level field", good + "extra: 1\n", []string{"extra: unknown field"}},
		{"duplicate cluster", strings.Replace(good, "name: b", "name: a", 1),
			[]string{`clusters[0].links[0].to: unknown cluster "b"`, `clusters[1].name: duplicate name "a" (also clusters[0])`}},
		{"site named like a cluster", strings.Replace(good, "name: s", "name: b", 1),
			[]string{`sites[0].name: duplicate name "b" (also clusters[1]`}},
		{"duplicate key", strings.Replace(good, "tier: edge", "tier: edge\n    tier: cloud", 1),
			[]string{`line 8: key "tier" already set in map`}},
		{"link to unknown cluster", strings.Replace(good, "to: b", "to: c", 1),
			[]string{`clusters[0].links[0].to: unknown cluster "c"`}},
		{"link listed twice", strings.Replace(good, "    location: {lat: 46.2044, lon: 6.1432}", "    location: {lat: 46.2044, lon: 6.1432}\n    links: [{to: a, rtt: 9ms}]", 1),
			[]string{`clusters[1].links[0].to: duplicate link between "a" and "b" (also clusters[0].links[0])`}},
		{"negative capacity", strings.Replace(good, `cpu: "8"`, `cpu: "-8"`, 1),
			[]string{"clusters[0].capacity.cpu: -8 is negative"}},
		{"bad quantity", strings.Replace(good, `cpu: "8"`, `cpu: eight`, 1),
			[]string{`clusters[0].capacity.cpu: "eight" is not a quantity`}},
		{"RTT below floor", strings.Replace(good, "rtt: 9.7ms", "rtt: 1.2ms", 1),
			[]string{"clusters[0].links[0].rtt: 1.2ms is below the 4.6ms physical floor for 473 km"}},
		{"bad duration", strings.Replace(good, "rtt: 9.7ms", "rtt: fast", 1),
			[]string{`clusters[0].links[0].rtt: "fast" is not a duration`}},
		{"duration as number", strings.Replace(good, "rtt: 9.7ms", "rtt: 9.7", 1),
			[]string{`clusters[0].links[0].rtt: must be a duration string like "9.7ms", got a number`}},
		{"missing rtt", strings.Replace(good, "rtt: 9.7ms", "p99: 12ms", 1),
			[]string{`clusters[0].links[0].rtt: required, > 0`}},
		{"bytes bandwidth", strings.Replace(good, "capacity: 10Gbps", "capacity: 10GBps", 1),
			[]string{`clusters[0].links[0].capacity: "10GBps" is not a bandwidth: units are bits per second`}},
		{"bad peering", strings.Replace(good, "capacity: 10Gbps", "capacity: 10Gbps\n        peering: sideways", 1),
			[]string{`clusters[0].links[0].peering: must be one of outgoing, incoming, bidirectional`}},
		{"wrong type", strings.Replace(good, "owner: o\n    tier: edge", "owner: [o]\n    tier: edge", 1),
			[]string{"clusters[0].owner: must be a string, got a list"}},
		{"missing owner and tier", strings.Replace(good, "    owner: o\n    tier: cloud\n", "", 1),
			[]string{"clusters[1].owner: required", "clusters[1].tier: required"}},
		{"bad name", strings.Replace(good, "name: b", "name: B_2", 1),
			[]string{`clusters[0].links[0].to: unknown cluster "b"`, `clusters[1].name: cluster name "B_2" must be a DNS-1123 label`}},
		{"bad location", strings.Replace(good, "lat: 50.1109", "lat: 95", 1),
			[]string{"clusters[0].location.lat: 95 is outside [-90, 90]"}},
		{"site access unknown", strings.Replace(good, "{cluster: a, rtt: 1ms}", "{cluster: z, rtt: 1ms}", 1),
			[]string{`sites[0].access[0].cluster: unknown cluster "z"`}},
		{"site without access", strings.Replace(good, "    access:\n      - {cluster: a, rtt: 1ms}\n", "", 1),
			[]string{"sites[0].access: at least one access link"}},
		{"node pools exceed capacity", strings.Replace(good, `capacity: {cpu: "8", memory: 16Gi}`, `capacity: {cpu: "8", memory: 16Gi}
    nodePools:
      - {name: p1, capacity: {cpu: "6"}}
      - {name: p2, capacity: {cpu: "6"}}`, 1),
			[]string{"clusters[0].nodePools: node pools total cpu 12, more than the cluster's capacity 8"}},
		{"wrong apiVersion", strings.Replace(good, "continuum.xr/v1alpha1", "v1", 1),
			[]string{`apiVersion: must be "continuum.xr/v1alpha1", got "v1"`}},
		{"no clusters", header, []string{"clusters: at least one cluster is required"}},
		{"closed owners", strings.Replace(good, "clusters:", "owners: [{name: p}]\nclusters:", 1),
			[]string{`clusters[0].owner: unknown owner "o"`, `clusters[1].owner: unknown owner "o"`}},
		{"tunnel without peering", strings.Replace(good, "capacity: 10Gbps", "capacity: 10Gbps\n        tunnel: {rtt: 0.3ms}", 1),
			[]string{"clusters[0].links[0].tunnel: set on a link without a Liqo peering"}},
		{"p99 below median", strings.Replace(good, "capacity: 10Gbps", "capacity: 10Gbps\n        p99: 5ms", 1),
			[]string{"clusters[0].links[0].p99: 5ms is below the median rtt 9.7ms"}},
		{"null list item", strings.Replace(good, "sites:\n", "sites:\n  - null\n", 1),
			[]string{"sites[0]: must be an object, got null"}},
		{"not yaml", "clusters: [", []string{"yaml: line 1:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := topology.Decode([]byte(tc.doc))
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			if !errors.Is(err, topology.ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			list, ok := topology.AsErrorList(err)
			if !ok {
				t.Fatalf("error is not an ErrorList: %v", err)
			}
			if len(list) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(list), len(tc.want), err)
			}
			for i, w := range tc.want {
				if got := list[i].Error(); !strings.Contains(got, w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, w)
				}
			}
		})
	}
}

func TestDecodeReportsAllErrorsAtOnce(t *testing.T) {
	doc := header + `
clusters:
  - name: a
    owner: o
    tier: edge
    capacity: {cpu: "-1"}
    colour: red
    links:
      - {to: nowhere, rtt: 1ms}
      - {to: b, rtt: -1ms}
  - name: b
    owner: o
    tier: edge
    uplink: fast
sites:
  - name: s
    access: [{cluster: a, rtt: 1ms, capacity: 1GBps}]
`
	_, err := topology.Decode([]byte(doc))
	list, ok := topology.AsErrorList(err)
	if !ok {
		t.Fatalf("want an ErrorList, got %v", err)
	}
	want := []string{
		"clusters[0].capacity.cpu", "clusters[0].colour", "clusters[0].links[0].to", "clusters[0].links[1].rtt",
		"clusters[1].uplink", "sites[0].access[0].capacity",
	}
	if got := list.Fields(); !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %q\nwant     %q\n%v", got, want, err)
	}
	if !strings.HasPrefix(err.Error(), "topology: invalid (6 problems):\n  clusters[0].capacity.cpu: -1 is negative\n  clusters[0].colour: unknown field") {
		t.Errorf("message = %q", err.Error())
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	specs := map[string]topology.Spec{
		"paper-fig1": topologytest.PaperFig1().Spec(),
		"random":     topologytest.Random(7, topologytest.RandomOptions{Clusters: 30}),
	}
	for name, spec := range specs {
		data, err := topology.Encode(spec)
		if err != nil {
			t.Fatalf("%s: Encode: %v", name, err)
		}
		back, err := topology.DecodeSpec(data)
		if err != nil {
			t.Fatalf("%s: DecodeSpec(Encode): %v\n%s", name, err, data)
		}
		again, err := topology.Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(data) {
			t.Errorf("%s: Encode(Decode(Encode(spec))) differs from Encode(spec)", name)
		}
		a, _ := topology.New(spec)
		b, _ := topology.New(back)
		for i := range a.NumClusters() {
			for j := range a.NumClusters() {
				x, _ := a.RTTAt(i, j)
				y, _ := b.RTTAt(i, j)
				if x != y {
					t.Fatalf("%s: RTT(%d,%d) %v != %v after round trip", name, i, j, x, y)
				}
			}
		}
	}
}

func TestNewValidatesGoSpecs(t *testing.T) {
	_, err := topologytest.New().Cluster("a").Link("a", "b", ms(1)).Build()
	list, ok := topology.AsErrorList(err)
	if !ok || len(list) != 1 || list[0].Field != "clusters[0].links[0].to" {
		t.Fatalf("Build with a link to an unknown cluster = %v", err)
	}
	var fe *topology.FieldError
	if !errors.As(err, &fe) || fe.Field != "clusters[0].links[0].to" {
		t.Errorf("errors.As(*FieldError) = %v", fe)
	}
}
