package peering_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/peering"
)

func ExamplePin() {
	pin, err := peering.Pin("edge-geneva")
	if err != nil {
		panic(err)
	}
	var spec corev1.PodSpec
	pin.Apply(&spec)
	fmt.Println(spec.NodeSelector)
	// Output: map[liqo.io/remote-cluster-id:edge-geneva]
}

func TestPinRejectsBadIDs(t *testing.T) {
	for _, id := range []peering.ClusterID{"", "Edge_1", "-x", peering.ClusterID(strings.Repeat("a", 64))} {
		if _, err := peering.Pin(id); !errors.Is(err, peering.ErrInvalid) {
			t.Errorf("Pin(%q) = %v, want ErrInvalid", id, err)
		}
	}
}

func TestPinLocalAddsTheRuleToEveryTerm(t *testing.T) {
	spec := corev1.PodSpec{
		NodeSelector: map[string]string{"gpu": "a100"},
		Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}}}},
				{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"b"}}}},
			},
		}}},
	}
	peering.PinLocal().Apply(&spec)
	peering.PinLocal().Apply(&spec) // idempotent
	terms := spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	for i, term := range terms {
		if len(term.MatchExpressions) != 2 {
			t.Fatalf("term %d = %+v, want its zone rule and one local-only rule", i, term)
		}
		r := term.MatchExpressions[1]
		if r.Key != peering.LabelNodeType || r.Operator != corev1.NodeSelectorOpNotIn || len(r.Values) != 1 || r.Values[0] != peering.NodeTypeVirtual {
			t.Errorf("term %d local rule = %+v", i, r)
		}
	}
	if spec.NodeSelector["gpu"] != "a100" || len(spec.NodeSelector) != 1 {
		t.Errorf("node selector changed: %v", spec.NodeSelector)
	}
	var empty corev1.PodSpec
	peering.PinLocal().Apply(&empty)
	if got := empty.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms; len(got) != 1 || len(got[0].MatchExpressions) != 1 {
		t.Errorf("PinLocal on an empty spec = %+v", got)
	}
}

func TestValidateNamesFields(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		fields []string
	}{
		{"self", peering.Key{Consumer: "a", Provider: "a"}.Validate(), []string{"provider"}},
		{"bad names", peering.Key{Consumer: "A", Provider: ""}.Validate(), []string{"consumer", "provider"}},
		{"no resources", peering.PeerRequest{Key: peering.Key{Consumer: "a", Provider: "b"}}.Validate(), []string{"resources"}},
		{"negative pods", peering.PeerRequest{Key: peering.Key{Consumer: "a", Provider: "b"}, Resources: peering.Resources{Pods: -2}}.Validate(), []string{"resources.pods"}},
		{"offload", peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: "a", Namespace: "N"}, Mapping: peering.SelectedName, Pods: "x", Targets: []string{"a", "B"}}.Validate(),
			[]string{"namespace", "remoteNamespace", "pods", "targets[0]", "targets[1]"}},
		{"no targets", peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: "a", Namespace: "n"}}.Validate(), []string{"targets"}},
	}
	for _, c := range cases {
		if !errors.Is(c.err, peering.ErrInvalid) || !errors.Is(c.err, errkind.Invalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, c.err)
			continue
		}
		if !strings.HasPrefix(c.err.Error(), "peering: ") {
			t.Errorf("%s: %q does not start with the package name", c.name, c.err)
		}
		for _, f := range c.fields {
			if !strings.Contains(c.err.Error(), f+": ") {
				t.Errorf("%s: %q does not name field %s", c.name, c.err, f)
			}
		}
	}
	ok := peering.OffloadSpec{NamespaceRef: peering.NamespaceRef{Cluster: "home", Namespace: "xr"}, Targets: []string{"b", "a", "b"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid spec: %v", err)
	}
	d := ok.WithDefaults()
	if d.Mapping != peering.EnforceSameName || d.Pods != peering.LocalAndRemote || strings.Join(d.Targets, ",") != "a,b" {
		t.Errorf("WithDefaults = %+v", d)
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{peering.ErrNotFound, peering.ErrNotPeered, peering.ErrAlreadyPeered, peering.ErrNotReady, peering.ErrInvalid}
	for i, a := range all {
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

func TestIsOffloadedNeedsEveryTargetAndCurrentStatus(t *testing.T) {
	o := &peering.Offloading{
		Spec:    peering.OffloadSpec{Targets: []string{"a", "b"}},
		Phase:   peering.PhaseReady,
		Current: true,
		Remote:  map[string]peering.RemoteNamespace{"a": {Name: "xr", Required: true, Ready: true}},
	}
	if peering.IsOffloaded(o) {
		t.Error("offloaded with b missing")
	}
	if got := peering.OffloadingSummary(o); got != "phase Ready, 1/2 remote namespaces ready (waiting for b)" {
		t.Errorf("summary = %q", got)
	}
	o.Remote["b"] = peering.RemoteNamespace{Name: "xr", Required: true, Ready: true}
	if !peering.IsOffloaded(o) {
		t.Error("not offloaded with every target ready")
	}
	o.Current = false
	if peering.IsOffloaded(o) {
		t.Error("offloaded from a status computed for an older spec")
	}
}

func TestSummary(t *testing.T) {
	p := &peering.Peering{NetworkEstablished: true, AuthenticationAccepted: true, Latency: 3_200_000, Message: "virtual kubelet starting"}
	want := "network established, authentication accepted, waiting for resources, waiting for the virtual node, latency 3.2ms, virtual kubelet starting"
	if got := peering.Summary(p); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}
