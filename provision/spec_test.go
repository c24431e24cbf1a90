package provision_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/continuum-xr/continuum/internal/errkind"
	"github.com/continuum-xr/continuum/provision"
)

func TestValidateNamesEveryBadField(t *testing.T) {
	s := provision.ClusterSpec{
		Name: "Edge_1", Namespace: "Bad NS", Distribution: "rke2", KubernetesVersion: "1.33",
		ControlPlaneReplicas: 2, Workers: -1,
		PodCIDRs: []string{"10.0.0.0/8", "10.1.0.0/16", "nope"}, ServiceCIDRs: []string{"10.96.0.1/12"},
		Labels:         provision.Labels{Owner: "has space"},
		Infrastructure: provision.Infrastructure{Provider: "Open_Stack"},
	}
	err := s.Validate()
	if !errors.Is(err, provision.ErrInvalid) || !errors.Is(err, errkind.Invalid) {
		t.Fatalf("Validate = %v, want ErrInvalid", err)
	}
	l, _ := provision.AsErrorList(err)
	want := []string{"name", "namespace", "distribution", "kubernetesVersion", "controlPlaneReplicas", "workers",
		"podCIDRs[1]", "podCIDRs[2]", "serviceCIDRs[0]", "labels.owner", "infrastructure.provider"}
	for _, f := range want {
		if !slices.Contains(l.Fields(), f) {
			t.Errorf("no problem reported for %s; got %v", f, l.Fields())
		}
	}
	if !strings.HasPrefix(err.Error(), "provision: invalid (") {
		t.Errorf("message %q", err)
	}
	good := provision.ClusterSpec{Name: "edge-1", KubernetesVersion: "1.33.1", Distribution: provision.K3s}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	d := good.WithDefaults()
	if d.KubernetesVersion != "v1.33.1+k3s1" || d.Namespace != "default" || d.ControlPlaneReplicas != 1 {
		t.Errorf("defaults = %+v", d)
	}
	if err := (provision.ClusterSpec{Name: "x", KubernetesVersion: "v1.33.1+k3s1"}).Validate(); err == nil {
		t.Error("k3s suffix on kubeadm accepted")
	}
}

func TestCheckDisjoint(t *testing.T) {
	a := provision.ClusterSpec{Name: "a", PodCIDRs: []string{"10.244.0.0/16"}, ServiceCIDRs: []string{"10.96.0.0/16"}}
	b := provision.ClusterSpec{Name: "b", PodCIDRs: []string{"10.245.0.0/16"}, ServiceCIDRs: []string{"10.97.0.0/16"}}
	if err := provision.CheckDisjoint(a, b); err != nil {
		t.Fatal(err)
	}
	c := provision.ClusterSpec{Name: "c", PodCIDRs: []string{"10.244.128.0/17"}}
	err := provision.CheckDisjoint(a, b, c)
	l, ok := provision.AsErrorList(err)
	if !ok || !slices.Equal(l.Fields(), []string{"specs[2].podCIDRs[0]"}) || !strings.Contains(err.Error(), `cluster "a"`) {
		t.Errorf("CheckDisjoint = %v", err)
	}
	// Defaults collide: two clusters without CIDRs overlap.
	if err := provision.CheckDisjoint(provision.ClusterSpec{Name: "x"}, provision.ClusterSpec{Name: "y"}); err == nil {
		t.Error("default CIDRs of two clusters reported disjoint")
	}
}

func TestSummaryAndPhase(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &provision.Cluster{
		Spec:       provision.ClusterSpec{Name: "a", Workers: 3},
		Generation: 2,
		Workers:    provision.Replicas{Desired: 3, Ready: 2, Available: 2},
		Conditions: []provision.Condition{
			{Type: "InfrastructureReady", Status: provision.ConditionTrue, ObservedGeneration: 2, LastTransitionTime: t0.Add(15 * time.Second)},
			{Type: "ControlPlaneInitialized", Status: provision.ConditionTrue, ObservedGeneration: 2, LastTransitionTime: t0.Add(84 * time.Second)},
			{Type: "Available", Status: provision.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: t0.Add(99 * time.Second)},
		},
	}
	c.Timeline = provision.TimelineFromConditions(t0, c.Conditions)
	c.Phase = provision.PhaseOf(c, false, false)
	if c.Phase != provision.PhaseProvisioned {
		t.Errorf("phase %s: a stale Available (observedGeneration 1 < 2) must not count", c.Phase)
	}
	if got := provision.Summary(c); got != "control plane initialized after 84 s, 2/3 workers ready" {
		t.Errorf("Summary = %q", got)
	}
	if provision.IsReady(c) {
		t.Error("ready with a stale Available")
	}
}

type readOnly struct{ provision.Reader }

type writeOnly struct{ provision.Writer }

func TestCapabilitiesUnsupported(t *testing.T) {
	ctx := context.Background()
	if err := provision.Scale(ctx, writeOnly{}, provision.Ref{}, 1); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Scale = %v", err)
	}
	if _, err := provision.Kubeconfig(ctx, readOnly{}, provision.Ref{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Kubeconfig = %v", err)
	}
}
