package topology

import (
	"fmt"
	"io"
	"math"
	"os"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/internal/decode"
)

// Ranges of the numbers of a topology (and of the applications and measurements that
// refer to it). Every value is checked against them, at decode and in New, so that no
// sum the library computes from them can overflow (see the package doc).
const (
	// MinRTT and MaxDuration bound every round-trip time (links, access links, measured
	// RTTs; the intra-cluster RTT when set) and every other latency (p99, jitter, tunnel
	// overhead, processing times, budgets).
	MinRTT      = Microsecond
	MaxDuration = 10 * Second
	// MaxBandwidth bounds every capacity and flow rate: 1 Pbit/s. A capacity may also be
	// Unlimited (written "unlimited", or left out).
	MaxBandwidth = 1000 * Tbps
	// MaxPrice bounds a cluster's price per CPU core-hour.
	MaxPrice = 1e6
	// MaxBytesPerPacket bounds a tunnel's encapsulation overhead.
	MaxBytesPerPacket = 65535
)

// Bounds on amounts of resources: CPU and GPU up to 10^6 (cores, GPUs), memory and every
// other resource up to 1 PiB (2^50 units), per cluster, node pool or replica.
const (
	MaxCPU    = 1_000_000
	MaxGPU    = 1_000_000
	MaxAmount = 1 << 50
)

// Size limits of a topology. Routes take 12 bytes per pair of clusters (RTT and
// predecessor) up to AllPairsMax clusters, and a bounded cache of rows above it, so
// memory stays bounded up to MaxClusters; see the package doc (Routes).
const (
	MaxClusters  = 10_000
	MaxSites     = 1000
	MaxOwners    = 1000
	MaxNodePools = 100     // per cluster
	MaxLinks     = 100_000 // cluster links in all, and access links in all
	MaxLabels    = 64      // per labels map
	MaxTaints    = 64      // per cluster
)

// LoadOptions configure LoadWith. The zero value means the defaults.
type LoadOptions struct {
	// MaxFileSize is the largest file read, in bytes; zero means 64 MiB. A larger file
	// (or an endless one such as /dev/zero) is an error after MaxFileSize+1 bytes.
	MaxFileSize int64
}

// ReadFile reads at most limit bytes of the file at path (zero: 64 MiB) and fails,
// with an error matching the invalid kind, when the file is longer. Loaders of other
// continuum formats use it too.
func ReadFile(path string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = decode.MaxFileSize
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &decode.FieldError{Detail: fmt.Sprintf("the file is larger than the %d-byte limit (raise it with the loader's MaxFileSize option)", limit)}
	}
	return data, nil
}

// CheckResource returns "" when q is a valid amount of the resource name (per cluster,
// node pool or replica), else the problem: the name must be cpu, memory, gpu or an
// extended resource (domain/name), and the amount within [0, MaxCPU] cores for cpu,
// [0, MaxGPU] for gpu, [0, MaxAmount] for the others.
// validResourceName reports whether name is a resource name; the three built-in
// names, which nearly every request uses, skip the regular expression.
func validResourceName(name ResourceName) bool {
	switch name {
	case ResourceCPU, ResourceMemory, ResourceGPU:
		return true
	}
	return len(name) <= 253 && resourceNameRE.MatchString(string(name))
}

func CheckResource(name ResourceName, q resource.Quantity) string {
	if !validResourceName(name) {
		return fmt.Sprintf("%s is not a resource name (cpu, memory, gpu, or domain/name)", decode.Quote(string(name)))
	}
	if q.Sign() < 0 {
		return fmt.Sprintf("%s is negative", q.String())
	}
	limit := int64(MaxAmount)
	switch name {
	case ResourceCPU:
		limit = MaxCPU
	case ResourceGPU:
		limit = MaxGPU
	}
	// The float first: Cmp on a quantity like 1e99999999 runs for minutes.
	if f := q.AsApproximateFloat64(); math.IsInf(f, 0) || math.IsNaN(f) || f > 2*float64(limit) ||
		q.Cmp(*resource.NewQuantity(limit, resource.DecimalSI)) > 0 {
		return fmt.Sprintf("%s is more than the limit of %d", decode.Clip(q.String()), limit)
	}
	return ""
}

// checkBandwidth returns "" when b is a valid capacity (unlimited allowed) or, with
// unlimited false, a valid rate.
func checkBandwidth(b Bandwidth, unlimited bool) string {
	switch {
	case b < 0:
		return fmt.Sprintf("%s is negative", b)
	case b == Unlimited && unlimited:
		return ""
	case b > MaxBandwidth:
		return fmt.Sprintf("%s is more than the limit of %s", b, MaxBandwidth)
	}
	return ""
}

// CheckBandwidth returns "" when b is a valid rate: within [0, MaxBandwidth] (not
// Unlimited), else the problem.
func CheckBandwidth(b Bandwidth) string { return checkBandwidth(b, false) }

// CheckDuration returns "" when d is within [min, MaxDuration], or zero when zeroOK,
// else the problem.
func CheckDuration(d, min Duration, zeroOK bool) string {
	switch {
	case d < 0:
		return fmt.Sprintf("%s is negative", d)
	case d == 0 && zeroOK:
		return ""
	case d == 0:
		return "required, > 0"
	case d < min:
		return fmt.Sprintf("%s is below the minimum of %s", d, min)
	case d > MaxDuration:
		return fmt.Sprintf("%s is more than the limit of %s", d, MaxDuration)
	}
	return ""
}

// CheckPrice returns "" when a price or weight x is finite and within [0, MaxPrice].
func CheckPrice(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 || x > MaxPrice {
		return fmt.Sprintf("must be a finite number in [0, %g], got %v", float64(MaxPrice), x)
	}
	return ""
}

// satAdd adds two non-negative durations, saturating at the largest Duration: with
// every value in range no sum comes near it, and this makes sure of it.
func satAdd(a, b Duration) Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
