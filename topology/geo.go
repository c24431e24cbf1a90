package topology

import (
	"fmt"
	"math"
)

// Location is a point on Earth in decimal degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// String formats l as "46.20,6.14".
func (l Location) String() string { return fmt.Sprintf("%.4g,%.4g", l.Lat, l.Lon) }

// Constants of the latency model (DESIGN.md section 3).
const (
	// EarthRadiusKm is the mean Earth radius used for great-circle distances.
	EarthRadiusKm = 6371.0
	// FibreDelayPerKm is the one-way delay of light in optical fibre: about 4.9 us/km
	// (refractive index ~1.47).
	FibreDelayPerKm = 4.9 * float64(Microsecond)
	// RouteInflation is the typical ratio of fibre route length to great-circle distance
	// used by the geo estimate.
	RouteInflation = 2.1
	// EstimateBase is the fixed part of the geo estimate (switching, last mile).
	EstimateBase = 500 * Microsecond
	// DefaultIntraRTT is the intra-cluster round-trip time when a cluster sets none.
	DefaultIntraRTT = 200 * Microsecond
)

// DistanceKm returns the great-circle (haversine) distance between a and b in km.
func DistanceKm(a, b Location) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(s)))
}

// PhysicalFloor is the smallest possible round-trip time over km of great-circle
// distance: 2 x km x 4.9 us/km. A configured or measured RTT below it is an input error.
func PhysicalFloor(km float64) Duration {
	return Duration(math.Floor(2 * km * FibreDelayPerKm))
}

// GeoEstimate is the round-trip time assumed for km of great-circle distance when
// nothing is measured: 0.5 ms + 2 x 2.1 x km x 4.9 us/km.
func GeoEstimate(km float64) Duration {
	return EstimateBase + Duration(math.Round(2*RouteInflation*km*FibreDelayPerKm))
}
