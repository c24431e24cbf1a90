package sim

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/topology"
)

// The scripts below are the building blocks of the scenarios the anticipating loop
// is measured on (examples/anticipate): a slowly degrading link, a flapping link,
// lone spikes and a diurnal load. Each returns a Script to Schedule; times are
// since the world's start.

// DegradeSlowly makes the link between a and b go linearly from rtt from to rtt to,
// starting at start and over the given time, in steps of every (a DegradeLink at
// each step; the last one sets to).
func DegradeSlowly(a, b string, from, to time.Duration, start, over, every time.Duration) Script {
	if every <= 0 || over <= 0 {
		return Script{{After: start, Event: DegradeLink(a, b, to)}}
	}
	var s Script
	for t := time.Duration(0); t < over; t += every {
		rtt := from + time.Duration(float64(to-from)*float64(t)/float64(over))
		s = append(s, Scheduled{After: start + t, Event: DegradeLink(a, b, rtt.Round(time.Microsecond))})
	}
	return append(s, Scheduled{After: start + over, Event: DegradeLink(a, b, to)})
}

// Flap makes the link between a and b degrade to rtt for down, then recover, once
// every period, n times from start.
func Flap(a, b string, rtt time.Duration, start, period, down time.Duration, n int) Script {
	var s Script
	for i := range n {
		at := start + time.Duration(i)*period
		s = append(s, Scheduled{After: at, Event: DegradeLink(a, b, rtt)},
			Scheduled{After: at + down, Event: RestoreLink(a, b)})
	}
	return s
}

// Spike makes the link between a and b jump to rtt at at, for length (one sample
// of a loop that observes every ten seconds lasts up to ten).
func Spike(a, b string, rtt time.Duration, at, length time.Duration) Script {
	return Script{{After: at, Event: DegradeLink(a, b, rtt)}, {After: at + length, Event: RestoreLink(a, b)}}
}

// DiurnalLoad is the extra load of a cluster over a day (other tenants): from low
// at the trough to high at peak (time of day, since midnight), a cosine of period
// 24 h, set by a LoadStep every step from start to end. Resources in only one of
// low and high count zero in the other.
func DiurnalLoad(cluster string, low, high topology.ResourceList, peak time.Duration, day time.Time, start, end, step time.Duration) Script {
	if step <= 0 {
		step = time.Minute
	}
	midnight := day.Truncate(24 * time.Hour)
	var s Script
	for t := start; t <= end; t += step {
		now := day.Add(t)
		x := (1 + math.Cos(2*math.Pi*float64(now.Sub(midnight)-peak)/float64(24*time.Hour))) / 2
		load := topology.ResourceList{}
		for name := range union(low, high) {
			lo, hi := low[name], high[name]
			v := lo.AsApproximateFloat64() + x*(hi.AsApproximateFloat64()-lo.AsApproximateFloat64())
			if name == topology.ResourceCPU {
				load[name] = *resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI)
			} else {
				load[name] = *resource.NewQuantity(int64(math.Round(v)), resource.BinarySI)
			}
		}
		s = append(s, Scheduled{After: t, Event: LoadStep(cluster, load)})
	}
	return s
}

func union(a, b topology.ResourceList) map[topology.ResourceName]bool {
	out := map[topology.ResourceName]bool{}
	for n := range a {
		out[n] = true
	}
	for n := range b {
		out[n] = true
	}
	return out
}
