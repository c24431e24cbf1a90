package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunPaperFig1(t *testing.T) {
	var out strings.Builder
	if err := run(&out, nil); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`Continuum "paper-fig1": 4 clusters, 4 links, 2 sites, 3 owners`,
		"fra-cloud  cloud-a",
		"10.9ms* [4.6ms]", // gva-venue <-> fra-cloud goes through gva-edge
		"geneva -> gva-edge -> fra-cloud (11.2ms)",
		"milan -> mil-edge -> fra-cloud (12.2ms)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunReportsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("apiVersion: continuum.xr/v1alpha1\nkind: Topology\nclusters: [{name: a, tier: edge}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(&strings.Builder{}, []string{"-f", path})
	if err == nil || !strings.Contains(err.Error(), "clusters[0].owner: required") {
		t.Errorf("run(-f bad.yaml) = %v, want the field error", err)
	}
}
