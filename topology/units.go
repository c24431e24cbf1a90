package topology

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/continuum-xr/continuum/internal/decode"
)

// Duration is a round-trip time or other latency. It is written in files as a Go
// duration string ("9.7ms", "250us", "1.5s"); negative values are rejected by the decoder.
type Duration time.Duration

// Common durations.
const (
	Microsecond = Duration(time.Microsecond)
	Millisecond = Duration(time.Millisecond)
	Second      = Duration(time.Second)
)

// Ms returns d in milliseconds.
func (d Duration) Ms() float64 { return float64(d) / float64(time.Millisecond) }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration ("9.7ms").
func (d Duration) String() string { return time.Duration(d).String() }

// Millis returns a Duration of ms milliseconds (fractions allowed).
func Millis(ms float64) Duration { return Duration(math.Round(ms * float64(time.Millisecond))) }

// ParseDuration parses a Go duration string ("9.7ms"). Negative durations are an error.
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s is not a duration (want e.g. 9.7ms, 250us)", decode.Quote(s))
	}
	if d < 0 {
		return 0, fmt.Errorf("%s is negative", d)
	}
	return Duration(d), nil
}

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"9.7ms\": %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Bandwidth is a data rate in bits per second. It is written in files with decimal SI
// units: "500Mbps", "10Gbps", "1.5Tbps" ("Mbit/s" and "Gbit/s" are accepted too).
// Unlimited means no capacity is known or enforced.
type Bandwidth int64

// Common bandwidths.
const (
	BitPerSecond Bandwidth = 1
	Kbps                   = 1000 * BitPerSecond
	Mbps                   = 1000 * Kbps
	Gbps                   = 1000 * Mbps
	Tbps                   = 1000 * Gbps
	// Unlimited is the capacity of a link, uplink or path whose capacity is not set.
	Unlimited Bandwidth = math.MaxInt64
)

var bandwidthUnits = []struct {
	suffix string
	mult   Bandwidth
}{
	// Longer suffixes first so that "Gbps" is not read as "bps".
	{"Tbit/s", Tbps}, {"Gbit/s", Gbps}, {"Mbit/s", Mbps}, {"kbit/s", Kbps}, {"Kbit/s", Kbps}, {"bit/s", BitPerSecond},
	{"Tbps", Tbps}, {"Gbps", Gbps}, {"Mbps", Mbps}, {"kbps", Kbps}, {"Kbps", Kbps}, {"bps", BitPerSecond},
}

// decimalRE is a plain decimal number: no sign, hex, underscores, Inf or NaN.
var decimalRE = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$`)

// ParseBandwidth parses a data rate such as "10Gbps" or "500Mbit/s". Units are bits per
// second with decimal prefixes; byte units ("GBps", "GB/s") are refused on purpose.
func ParseBandwidth(s string) (Bandwidth, error) {
	t := strings.TrimSpace(s)
	if t == "unlimited" {
		return Unlimited, nil
	}
	for _, u := range bandwidthUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		num = strings.TrimSpace(num)
		if strings.HasPrefix(num, "-") && decimalRE.MatchString(num[1:]) {
			return 0, fmt.Errorf("%s is negative", decode.Clip(s))
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || !decimalRE.MatchString(num) || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%s is not a bandwidth (want e.g. 10Gbps, 500Mbps)", decode.Quote(s))
		}
		v := f * float64(u.mult)
		if v > float64(MaxBandwidth) {
			return 0, fmt.Errorf("%s is more than the limit of %s", s, MaxBandwidth)
		}
		return Bandwidth(math.Round(v)), nil
	}
	return 0, fmt.Errorf("%s is not a bandwidth: units are bits per second (bps, kbps, Mbps, Gbps, Tbps), e.g. 10Gbps", decode.Quote(s))
}

// Gbit returns b in Gbit/s.
func (b Bandwidth) Gbit() float64 { return float64(b) / float64(Gbps) }

// String formats b with the largest unit that keeps it readable ("10Gbps", "1.5Gbps",
// "500Mbps"), or "unlimited".
func (b Bandwidth) String() string {
	if b == Unlimited {
		return "unlimited"
	}
	units := []struct {
		name string
		mult Bandwidth
	}{{"Tbps", Tbps}, {"Gbps", Gbps}, {"Mbps", Mbps}, {"kbps", Kbps}}
	for _, u := range units {
		if b >= u.mult || -b >= u.mult {
			return strconv.FormatFloat(float64(b)/float64(u.mult), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "bps"
}

// MarshalJSON writes b as a string ("10Gbps").
func (b Bandwidth) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

// UnmarshalJSON reads a bandwidth string.
func (b *Bandwidth) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("bandwidth must be a string like \"10Gbps\": %s", data)
	}
	v, err := ParseBandwidth(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}
