package placement

import (
	"fmt"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/topology"
)

// Size limits of a request (see the package doc). Every one is checked with a field
// path, at decode where the document alone tells, and by Place.
const (
	// MaxApps bounds the applications of one request (many small applications are
	// usual: the generator's 10,000-component benchmark has 2,500).
	MaxApps = 10_000
	// MaxComponents, MaxFlows and MaxChains bound one application's lists.
	MaxComponents = 1000
	MaxFlows      = 1000
	MaxChains     = 1000
	// MaxChainPath bounds the elements of one chain.
	MaxChainPath = 64
	// MaxListEntries bounds every other list of a component (ports, allowed lists,
	// antiAffinity, coLocate) and the entries of a labels or nodePool map.
	MaxListEntries = 1000
	// MaxInstances bounds the replicas of all components of a request together.
	MaxInstances = 20_000
	// MaxFlowPairs bounds the replica pairs one flow expands to (replicas of one end
	// times replicas of the other; replicas for a flow to a site): a flow between two
	// 10,000-replica components would otherwise be 10^8 pairs.
	MaxFlowPairs = 10_000
	// MaxPairs bounds the replica pairs of all flows of a request together.
	MaxPairs = 200_000
	// MaxTotalBandwidth bounds the sum of the bandwidths of all flows of a request
	// (1,000 Pbit/s): the load of any link, uplink or access link is at most twice
	// that, so the int64 loads cannot overflow. (The sum is checked saturating: 10,000
	// applications of 1,000 flows of 1 Pbit/s would overflow it.)
	MaxTotalBandwidth = 1000 * topology.MaxBandwidth
	// MaxBudget bounds chain budgets and flows' maxRTT (1 hour): they are only compared
	// with latencies, never summed, so they may be far above any latency (a budget of an
	// hour reads as "no bound").
	MaxBudget = 3600 * topology.Second
)

// checkBudget returns "" when d is a valid budget or maximum RTT: within
// [topology.MinRTT, MaxBudget], or zero when zeroOK.
func checkBudget(d topology.Duration, zeroOK bool) string {
	if d > MaxBudget {
		return fmt.Sprintf("%s is more than the limit of %s", d, topology.Duration(MaxBudget))
	}
	if d > topology.MaxDuration {
		return "" // within the budget range, above the latency range
	}
	return topology.CheckDuration(d, topology.MinRTT, zeroOK)
}

// LoadOptions configure LoadApplicationWith and LoadPlanWith. The zero value means the
// defaults.
type LoadOptions struct {
	// MaxFileSize is the largest file read, in bytes; zero means 64 MiB.
	MaxFileSize int64
}

func readFile(path string, o LoadOptions) ([]byte, error) {
	return topology.ReadFile(path, o.MaxFileSize)
}

// quote is %q of a value, cut when long.
var quote = decode.Quote
