package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"render-geneva   gva-edge",
		"render-milan    mil-edge",
		"mtp-geneva         6.2ms    15ms",
		"fra-cloud  ruled out by site-latency: flow to geneva: RTT 11.2ms > max 5.0ms",
		"session-sync moves gva-edge -> fra-cloud: on gva-edge now flow to render-milan: RTT 20.0ms > max 15.0ms (flow-rtt)",
		"provision: 4 CPU + 4 GPU + 8Gi memory on a cluster within 5.0ms RTT of site geneva, able to expose UDP to users",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
