package topology

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/continuum-xr/continuum/internal/decode"
)

// An extended resource name: an optional DNS-subdomain prefix and a name.
var resourceNameRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)

func checkDNSLabel(errs *ErrorList, path, kind, name string) {
	switch {
	case name == "":
		errs.Add(path, "required")
	case !decode.IsDNSLabel(name):
		errs.Add(path, fmt.Sprintf("%s name %s must be a DNS-1123 label (lower-case letters, digits and '-', at most 63, starting and ending with a letter or digit)", kind, decode.Quote(name)))
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

// add records a problem; string arguments are cut when long (decode.Clip), so pass
// names and values, not composed messages (use check for those).
func (v *validator) add(path, format string, args ...any) {
	if v.skip[path] {
		return
	}
	for i, a := range args {
		switch x := a.(type) {
		case string:
			args[i] = decode.Clip(x)
		case Tier, Distribution, PeeringDirection:
			args[i] = decode.Clip(fmt.Sprint(x))
		}
	}
	v.errs.Add(path, fmt.Sprintf(format, args...))
}

// check records problem at path unless it is "".
func (v *validator) check(path, problem string) {
	if problem != "" && !v.skip[path] {
		v.errs.Add(path, problem)
	}
}

// text checks the length of a free-form string of the Go API (the decoder has checked
// those of files).
func (v *validator) text(path, s string) {
	if len(s) > decode.MaxString {
		v.add(path, "%q is longer than %d bytes", s, decode.MaxString)
	}
}

// labels checks a labels map: at most MaxLabels entries, keys of 1 to 253 bytes,
// values of at most MaxString bytes.
func (v *validator) labels(path string, m map[string]string) {
	if len(m) > MaxLabels {
		v.add(path, "%d labels, more than the limit of %d", len(m), MaxLabels)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || len(k) > 253 {
			v.add(path, "label key %q must be 1 to 253 bytes long", k)
		}
		v.text(decode.Field(path, k), m[k])
	}
}

// k8sLabels checks that the keys and values of a labels map follow Kubernetes' label
// syntax (apimachinery's validation rules), so that label selectors can name them.
func (v *validator) k8sLabels(path string, m map[string]string) {
	if len(m) > MaxLabels {
		return // reported by labels
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || len(k) > 253 {
			continue // reported by labels
		}
		if problem := CheckLabelKey(k); problem != "" {
			v.check(path, problem) // the whole list of apimachinery's problems, not clipped
			continue
		}
		if len(m[k]) <= decode.MaxString {
			v.check(decode.Field(path, k), CheckLabelValue(m[k]))
		}
	}
}

// CheckLabelKey returns "" when key is a Kubernetes label key (apimachinery's
// qualified-name rules), else the problem.
func CheckLabelKey(key string) string {
	if problems := validation.IsQualifiedName(key); len(problems) > 0 {
		return fmt.Sprintf("%s is not a Kubernetes label key: %s", decode.Quote(decode.Clip(key)), strings.Join(problems, "; "))
	}
	return ""
}

// CheckLabelValue returns "" when value is a Kubernetes label value, else the problem.
func CheckLabelValue(value string) string {
	if problems := validation.IsValidLabelValue(value); len(problems) > 0 {
		return fmt.Sprintf("%s is not a Kubernetes label value: %s", decode.Quote(decode.Clip(value)), strings.Join(problems, "; "))
	}
	return ""
}

// CheckTaintKey returns "" when key is a valid taint key (a Kubernetes label key),
// else the problem.
func CheckTaintKey(key string) string {
	if key == "" {
		return "required"
	}
	return CheckLabelKey(key)
}

// CheckTaintValue returns "" when value is a valid taint value (a Kubernetes label
// value).
func CheckTaintValue(value string) string { return CheckLabelValue(value) }

// taints checks a cluster's taints: keys and values in label syntax, a known effect,
// and no two taints with one key and effect.
func (v *validator) taints(path string, ts []Taint) {
	if !v.count(path, len(ts), MaxTaints) {
		return
	}
	seen := map[[2]string]int{}
	for i, t := range ts {
		p := index(path, i)
		if v.skip[p] {
			continue
		}
		v.check(p+".key", CheckTaintKey(t.Key))
		v.check(p+".value", CheckTaintValue(t.Value))
		switch t.Effect {
		case NoSelect, PreferNoSelect, NoExecute:
		case "":
			v.add(p+".effect", "required (NoSelect, PreferNoSelect or NoExecute)")
		default:
			v.add(p+".effect", "must be NoSelect, PreferNoSelect or NoExecute, got %q", string(t.Effect))
		}
		k := [2]string{t.Key, string(t.Effect)}
		if j, dup := seen[k]; dup && t.Key != "" {
			v.add(p+".key", "duplicate taint %q with effect %s (also taints[%d])", t.Key, string(t.Effect), j)
		} else {
			seen[k] = i
		}
	}
}

// count checks the length of a list against its limit; false when over.
func (v *validator) count(path string, n, limit int) bool {
	if n > limit {
		v.errs.Add(path, fmt.Sprintf("%d entries, more than the limit of %d", n, limit))
		return false
	}
	return true
}

func (v *validator) run(spec Spec) {
	// Sizes first: a topology over the limits is not examined further.
	ok := v.count("owners", len(spec.Owners), MaxOwners)
	ok = v.count("clusters", len(spec.Clusters), MaxClusters) && ok
	ok = v.count("sites", len(spec.Sites), MaxSites) && ok
	nl, na := 0, 0
	for _, c := range spec.Clusters {
		nl += len(c.Links)
	}
	for _, st := range spec.Sites {
		na += len(st.Access)
	}
	ok = v.count("clusters[*].links", nl, MaxLinks) && ok
	ok = v.count("sites[*].access", na, MaxLinks) && ok
	if !ok {
		return
	}
	if spec.Metadata.Name != "" && !v.skip["metadata.name"] {
		checkDNSLabel(&v.errs, "metadata.name", "topology", spec.Metadata.Name)
	}
	v.labels("metadata.labels", spec.Metadata.Labels)
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
		v.text(index("owners", i)+".displayName", o.DisplayName)
		v.labels(index("owners", i)+".labels", o.Labels)
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
	v.text(p+".region", c.Region)
	v.text(p+".zone", c.Zone)
	v.labels(p+".labels", c.Labels)
	v.k8sLabels(p+".labels", c.Labels)
	v.taints(p+".taints", c.Taints)
	v.location(p+".location", c.Location)
	v.resources(p+".capacity", c.Capacity)
	v.count(p+".nodePools", len(c.NodePools), MaxNodePools)
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
		v.labels(pp+".labels", np.Labels)
		v.k8sLabels(pp+".labels", np.Labels)
		v.resources(pp+".capacity", np.Capacity)
		for name, q := range np.Capacity {
			if CheckResource(name, q) != "" {
				continue // reported above; arithmetic on a huge quantity can take minutes
			}
			s := sum[name]
			s.Add(q)
			sum[name] = s
		}
	}
	if len(c.NodePools) > 0 && len(c.Capacity) > 0 {
		for _, name := range slices.Sorted(maps.Keys(sum)) {
			total, limit := sum[name], c.Capacity[name]
			if CheckResource(name, limit) == "" && total.Cmp(limit) > 0 {
				v.add(p+".nodePools", "node pools total %s %s, more than the cluster's capacity %s", name, total.String(), limit.String())
			}
		}
	}
	if len(c.NodePools) > 0 && len(c.Capacity) == 0 {
		// The pools' sum becomes the cluster's capacity: it has the cluster's limits.
		for _, name := range slices.Sorted(maps.Keys(sum)) {
			if problem := CheckResource(name, sum[name]); problem != "" && resourceNameRE.MatchString(string(name)) {
				v.check(p+".nodePools", "node pools total "+string(name)+" "+problem)
			}
		}
	}
	v.check(p+".cpuPrice", CheckPrice(c.CPUPrice))
	v.check(p+".intraRTT", CheckDuration(c.IntraRTT, MinRTT, true))
	v.check(p+".uplink", checkBandwidth(c.Uplink, true))
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
	v.check(p+".capacity", checkBandwidth(l.Capacity, true))
	switch l.Peering {
	case PeeringNone, PeeringOutgoing, PeeringIncoming, PeeringBidirectional:
	default:
		v.add(p+".peering", "must be one of outgoing, incoming, bidirectional (or omitted), got %q", l.Peering)
	}
	v.tunnel(p, l.Tunnel, l.Peering)
}

// tunnel checks a link's tunnel overhead (nil: none).
func (v *validator) tunnel(p string, t *TunnelOverhead, peering PeeringDirection) {
	if t == nil {
		return
	}
	if peering == PeeringNone {
		v.add(p+".tunnel", "set on a link without a Liqo peering")
	}
	v.check(p+".tunnel.rtt", CheckDuration(t.RTT, 0, true))
	if b := t.BytesPerPacket; b < 0 || b > MaxBytesPerPacket {
		v.add(p+".tunnel.bytesPerPacket", "%d is outside [0, %d]", b, MaxBytesPerPacket)
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
	if problem := CheckDuration(rtt, MinRTT, false); problem != "" {
		v.check(p+".rtt", problem)
	} else if a != nil && b != nil && validLocation(*a) && validLocation(*b) {
		km := DistanceKm(*a, *b)
		if floor := PhysicalFloor(km); rtt < floor {
			v.check(p+".rtt", fmt.Sprintf("%s is below the %s physical floor for %.0f km", fmtMs(rtt), fmtMs(floor), km))
		}
	}
	if problem := CheckDuration(p99, 0, true); problem != "" {
		v.check(p+".p99", problem)
	} else if p99 > 0 && rtt > 0 && p99 < rtt {
		v.check(p+".p99", fmt.Sprintf("%s is below the median rtt %s", p99, rtt))
	}
	v.check(p+".jitter", CheckDuration(jitter, 0, true))
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
			v.errs.Add(fp, fmt.Sprintf("%q is not a resource name (cpu, memory, gpu, or domain/name)", decode.Quote(string(name))))
			continue
		}
		v.check(fp, CheckResource(name, r[name]))
	}
}

func (v *validator) site(p string, s *Site, clusters map[string]*Cluster) {
	v.text(p+".region", s.Region)
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
		v.check(ap+".capacity", checkBandwidth(a.Capacity, true))
	}
}
