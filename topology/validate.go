package topology

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/continuum-xr/continuum/internal/decode"
)

// An extended resource name: an optional DNS-subdomain prefix and a name.
var resourceNameRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func checkDNSLabel(errs *ErrorList, path, kind, name string) {
	switch {
	case name == "":
		errs.Add(path, "required")
	case !decode.IsDNSLabel(name):
		errs.Add(path, fmt.Sprintf("%s name %q must be a DNS-1123 label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)", kind, name))
	}
}

// fmtMs formats a duration in milliseconds with one decimal ("4.6ms").
func fmtMs(d Duration) string {
	if d > 0 && d < 100*Microsecond {
		return d.String()
	}
	return strconv.FormatFloat(d.Ms(), 'f', 1, 64) + "ms"
}

// validate checks spec against every rule and returns all problems in document order.
// Paths in skip already have a decode error and are not reported again.
func validate(spec Spec, skip map[string]bool) ErrorList {
	v := validator{skip: skip}
	v.run(spec)
	decode.SortFields(v.errs)
	return v.errs
}

type validator struct {
	errs ErrorList
	skip map[string]bool
}

func (v *validator) add(path, format string, args ...any) {
	if v.skip[path] {
		return
	}
	v.errs.Add(path, fmt.Sprintf(format, args...))
}

func (v *validator) run(spec Spec) {
	// Owners.
	owners := map[string]int{}
	for i, o := range spec.Owners {
		if v.skip[index("owners", i)] {
			continue
		}
		p := index("owners", i) + ".name"
		if !v.skip[p] {
			checkDNSLabel(&v.errs, p, "owner", o.Name)
		}
		if j, dup := owners[o.Name]; dup && o.Name != "" {
			v.add(p, "duplicate owner %q (also owners[%d])", o.Name, j)
			continue
		}
		owners[o.Name] = i
	}

	// Names of clusters and sites share one space: queries take either.
	names := map[string]string{}
	if len(spec.Clusters) == 0 {
		v.add("clusters", "at least one cluster is required")
	}
	for i, c := range spec.Clusters {
		p := index("clusters", i)
		if v.skip[p] {
			continue
		}
		if !v.skip[p+".name"] {
			checkDNSLabel(&v.errs, p+".name", "cluster", c.Name)
		}
		if prev, dup := names[c.Name]; dup && c.Name != "" {
			v.add(p+".name", "duplicate name %q (also %s)", c.Name, prev)
		} else if c.Name != "" {
			names[c.Name] = p
		}
	}
	for i, s := range spec.Sites {
		p := index("sites", i)
		if v.skip[p] {
			continue
		}
		if !v.skip[p+".name"] {
			checkDNSLabel(&v.errs, p+".name", "site", s.Name)
		}
		if prev, dup := names[s.Name]; dup && s.Name != "" {
			v.add(p+".name", "duplicate name %q (also %s; clusters and sites share one name space)", s.Name, prev)
		} else if s.Name != "" {
			names[s.Name] = p
		}
	}
	clusters := map[string]*Cluster{}
	for i := range spec.Clusters {
		c := &spec.Clusters[i]
		if _, dup := clusters[c.Name]; !dup && strings.HasPrefix(names[c.Name], "clusters") {
			clusters[c.Name] = c
		}
	}

	links := map[[2]string]string{}
	for i := range spec.Clusters {
		if v.skip[index("clusters", i)] {
			continue
		}
		v.cluster(index("clusters", i), &spec.Clusters[i], owners, len(spec.Owners) > 0, clusters, links)
	}
	for i := range spec.Sites {
		if v.skip[index("sites", i)] {
			continue
		}
		v.site(index("sites", i), &spec.Sites[i], clusters)
	}
}

func (v *validator) cluster(p string, c *Cluster, owners map[string]int, closedOwners bool, clusters map[string]*Cluster, links map[[2]string]string) {
	switch _, known := owners[c.Owner]; {
	case c.Owner == "":
		v.add(p+".owner", "required")
	case closedOwners && !known:
		v.add(p+".owner", "unknown owner %q (not in owners)", c.Owner)
	case !closedOwners && !decode.IsDNSLabel(c.Owner):
		v.add(p+".owner", "owner name %q must be a DNS-1123 label", c.Owner)
	}
	if c.Tier == "" {
		v.add(p+".tier", "required (e.g. cloud, edge)")
	} else if !decode.IsDNSLabel(string(c.Tier)) {
		v.add(p+".tier", "tier %q must be a DNS-1123 label", c.Tier)
	}
	switch c.Distribution {
	case "", Kubeadm, K3s:
	default:
		v.add(p+".distribution", "must be %q or %q, got %q", Kubeadm, K3s, c.Distribution)
	}
	v.location(p+".location", c.Location)
	v.resources(p+".capacity", c.Capacity)
	pools := map[string]int{}
	sum := ResourceList{}
	for j, np := range c.NodePools {
		pp := index(p+".nodePools", j)
		if v.skip[pp] {
			continue
		}
		if !v.skip[pp+".name"] {
			checkDNSLabel(&v.errs, pp+".name", "node pool", np.Name)
		}
		if k, dup := pools[np.Name]; dup && np.Name != "" {
			v.add(pp+".name", "duplicate node pool %q (also nodePools[%d])", np.Name, k)
		}
		pools[np.Name] = j
		v.resources(pp+".capacity", np.Capacity)
		for name, q := range np.Capacity {
			s := sum[name]
			s.Add(q)
			sum[name] = s
		}
	}
	if len(c.NodePools) > 0 && len(c.Capacity) > 0 {
		for _, name := range slices.Sorted(maps.Keys(sum)) {
			total, limit := sum[name], c.Capacity[name]
			if total.Cmp(limit) > 0 {
				v.add(p+".nodePools", "node pools total %s %s, more than the cluster's capacity %s", name, total.String(), limit.String())
			}
		}
	}
	if c.CPUPrice < 0 || math.IsNaN(c.CPUPrice) || math.IsInf(c.CPUPrice, 0) {
		v.add(p+".cpuPrice", "must be a finite number >= 0, got %v", c.CPUPrice)
	}
	if c.IntraRTT < 0 {
		v.add(p+".intraRTT", "%s is negative", c.IntraRTT)
	}
	if c.Uplink < 0 {
		v.add(p+".uplink", "%s is negative", c.Uplink)
	}
	for j := range c.Links {
		if v.skip[index(p+".links", j)] {
			continue
		}
		v.link(index(p+".links", j), c, &c.Links[j], clusters, links)
	}
}

func (v *validator) link(p string, c *Cluster, l *LinkSpec, clusters map[string]*Cluster, links map[[2]string]string) {
	other, known := clusters[l.To]
	switch {
	case l.To == "":
		v.add(p+".to", "required")
		other = nil
	case l.To == c.Name:
		v.add(p+".to", "a link from %q to itself (set intraRTT instead)", c.Name)
		other = nil
	case !known:
		v.add(p+".to", "unknown cluster %q", l.To)
	default:
		key := [2]string{min(c.Name, l.To), max(c.Name, l.To)}
		if prev, dup := links[key]; dup {
			v.add(p+".to", "duplicate link between %q and %q (also %s); list a link under one of its clusters only", key[0], key[1], prev)
		} else {
			links[key] = p
		}
	}
	v.rtt(p, l.RTT, l.P99, l.Jitter, c.Location, locationOf(other))
	if l.Capacity < 0 {
		v.add(p+".capacity", "%s is negative", l.Capacity)
	}
	switch l.Peering {
	case PeeringNone, PeeringOutgoing, PeeringIncoming, PeeringBidirectional:
	default:
		v.add(p+".peering", "must be one of outgoing, incoming, bidirectional (or omitted), got %q", l.Peering)
	}
	if l.Tunnel != nil {
		if l.Peering == PeeringNone {
			v.add(p+".tunnel", "set on a link without a Liqo peering")
		}
		if l.Tunnel.RTT < 0 {
			v.add(p+".tunnel.rtt", "%s is negative", l.Tunnel.RTT)
		}
		if l.Tunnel.BytesPerPacket < 0 {
			v.add(p+".tunnel.bytesPerPacket", "%d is negative", l.Tunnel.BytesPerPacket)
		}
	}
}

func locationOf(c *Cluster) *Location {
	if c == nil {
		return nil
	}
	return c.Location
}

// rtt checks a link's or access link's latency figures, with the physical floor when
// both ends are located.
func (v *validator) rtt(p string, rtt, p99, jitter Duration, a, b *Location) {
	switch {
	case rtt < 0:
		v.add(p+".rtt", "%s is negative", rtt)
	case rtt == 0:
		v.add(p+".rtt", "required, > 0")
	case a != nil && b != nil && validLocation(*a) && validLocation(*b):
		km := DistanceKm(*a, *b)
		if floor := PhysicalFloor(km); rtt < floor {
			v.add(p+".rtt", "%s is below the %s physical floor for %.0f km", fmtMs(rtt), fmtMs(floor), km)
		}
	}
	if p99 < 0 {
		v.add(p+".p99", "%s is negative", p99)
	} else if p99 > 0 && rtt > 0 && p99 < rtt {
		v.add(p+".p99", "%s is below the median rtt %s", p99, rtt)
	}
	if jitter < 0 {
		v.add(p+".jitter", "%s is negative", jitter)
	}
}

func validLocation(l Location) bool {
	return l.Lat >= -90 && l.Lat <= 90 && l.Lon >= -180 && l.Lon <= 180
}

func (v *validator) location(p string, l *Location) {
	if l == nil {
		return
	}
	if !(l.Lat >= -90 && l.Lat <= 90) {
		v.add(p+".lat", "%v is outside [-90, 90]", l.Lat)
	}
	if !(l.Lon >= -180 && l.Lon <= 180) {
		v.add(p+".lon", "%v is outside [-180, 180]", l.Lon)
	}
}

func (v *validator) resources(p string, r ResourceList) {
	for _, name := range slices.Sorted(maps.Keys(r)) {
		fp := p + "." + string(name)
		if v.skip[fp] {
			continue
		}
		if len(name) > 253 || !resourceNameRE.MatchString(string(name)) {
			v.add(fp, "%q is not a resource name (cpu, memory, gpu, or domain/name)", name)
			continue
		}
		q := r[name]
		if q.Sign() < 0 {
			v.add(fp, "%s is negative", q.String())
		}
	}
}

func (v *validator) site(p string, s *Site, clusters map[string]*Cluster) {
	v.location(p+".location", s.Location)
	if len(s.Access) == 0 && !v.skip[p+".access"] {
		v.add(p+".access", "at least one access link to a cluster is required")
	}
	seen := map[string]int{}
	for j, a := range s.Access {
		ap := index(p+".access", j)
		if v.skip[ap] {
			continue
		}
		c, known := clusters[a.Cluster]
		switch {
		case a.Cluster == "":
			v.add(ap+".cluster", "required")
		case !known:
			v.add(ap+".cluster", "unknown cluster %q", a.Cluster)
		default:
			if k, dup := seen[a.Cluster]; dup {
				v.add(ap+".cluster", "duplicate access to %q (also access[%d])", a.Cluster, k)
			}
			seen[a.Cluster] = j
		}
		v.rtt(ap, a.RTT, a.P99, a.Jitter, s.Location, locationOf(c))
		if a.Capacity < 0 {
			v.add(ap+".capacity", "%s is negative", a.Capacity)
		}
	}
}
