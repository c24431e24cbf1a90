package topology_test

import (
	"encoding/json"
	"testing"

	"github.com/continuum-xr/continuum/topology"
)

func TestParseBandwidth(t *testing.T) {
	good := map[string]topology.Bandwidth{
		"10Gbps": 10 * topology.Gbps, "500Mbps": 500 * topology.Mbps, "1.5Gbps": 1500 * topology.Mbps,
		"2Tbps": 2 * topology.Tbps, "64kbps": 64 * topology.Kbps, "100bps": 100, "25Gbit/s": 25 * topology.Gbps,
		" 1 Gbps ": topology.Gbps, "unlimited": topology.Unlimited, "0bps": 0,
	}
	for in, want := range good {
		got, err := topology.ParseBandwidth(in)
		if err != nil || got != want {
			t.Errorf("ParseBandwidth(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "10GBps", "10GB/s", "Gbps", "-1Gbps", "1e30Tbps", "NaNGbps", "ten Gbps"} {
		if got, err := topology.ParseBandwidth(in); err == nil {
			t.Errorf("ParseBandwidth(%q) = %v, want an error", in, got)
		}
	}
}

func TestBandwidthString(t *testing.T) {
	for bw, want := range map[topology.Bandwidth]string{
		10 * topology.Gbps: "10Gbps", 1500 * topology.Mbps: "1.5Gbps", 500 * topology.Mbps: "500Mbps",
		999: "999bps", topology.Unlimited: "unlimited", 3 * topology.Tbps: "3Tbps",
	} {
		if got := bw.String(); got != want {
			t.Errorf("String(%d) = %q, want %q", int64(bw), got, want)
		}
		back, err := topology.ParseBandwidth(want)
		if err != nil || back != bw {
			t.Errorf("ParseBandwidth(String(%d)) = %v, %v", int64(bw), back, err)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	var v struct {
		D topology.Duration  `json:"d"`
		B topology.Bandwidth `json:"b"`
	}
	if err := json.Unmarshal([]byte(`{"d":"9.7ms","b":"10Gbps"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.D != topology.Millis(9.7) || v.B != 10*topology.Gbps {
		t.Errorf("got %v %v", v.D, v.B)
	}
	out, _ := json.Marshal(v)
	if string(out) != `{"d":"9.7ms","b":"10Gbps"}` {
		t.Errorf("Marshal = %s", out)
	}
	if err := json.Unmarshal([]byte(`{"d":"-1ms"}`), &v); err == nil {
		t.Error("negative duration accepted")
	}
	if err := json.Unmarshal([]byte(`{"d":5}`), &v); err == nil {
		t.Error("numeric duration accepted")
	}
}
