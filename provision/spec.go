package provision

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/internal/decode"
)

// Distribution is the Kubernetes distribution of a workload cluster.
type Distribution string

// The distributions Cluster API provisions here.
const (
	// Kubeadm is upstream Kubernetes bootstrapped with kubeadm (KubeadmControlPlane).
	Kubeadm Distribution = "kubeadm"
	// K3s is Rancher's lightweight distribution (KThreesControlPlane), common at the edge.
	K3s Distribution = "k3s"
)

// Label keys the backends put on every object of a cluster, from ClusterSpec.Labels.
const (
	LabelOwner  = "continuum.xr/owner"
	LabelTier   = "continuum.xr/tier"
	LabelRegion = "continuum.xr/region"
)

// Defaults applied by ClusterSpec.WithDefaults.
const (
	DefaultNamespace           = "default"
	DefaultDistribution        = Kubeadm
	DefaultControlPlaneReplica = 1
	DefaultPodCIDR             = "192.168.0.0/16"
	DefaultServiceCIDR         = "10.128.0.0/12"
	// MaxWorkers bounds ClusterSpec.Workers; larger clusters are a typo more often
	// than a plan.
	MaxWorkers = 1000
)

// Ref names a cluster: namespace and name on the management cluster.
type Ref struct {
	Namespace string
	Name      string
}

// String returns "namespace/name".
func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// Labels are the continuum's ownership labels of a cluster (see LabelOwner, LabelTier,
// LabelRegion). Empty values are left out.
type Labels struct {
	Owner  string
	Tier   string
	Region string
}

// Map returns the labels as Kubernetes labels, leaving out empty values.
func (l Labels) Map() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{LabelOwner: l.Owner, LabelTier: l.Tier, LabelRegion: l.Region} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// LabelsFromMap reads Labels from Kubernetes labels.
func LabelsFromMap(m map[string]string) Labels {
	return Labels{Owner: m[LabelOwner], Tier: m[LabelTier], Region: m[LabelRegion]}
}

// Infrastructure says where a cluster's machines come from. Backends interpret it: the
// capi backend maps Provider to an infrastructure provider (docker, openstack, ...) and
// ClusterClass to a Cluster API ClusterClass; the fake ignores it.
type Infrastructure struct {
	// Provider names the infrastructure provider ("docker", "openstack").
	Provider string
	// ClusterClass, when set, creates the cluster from this ClusterClass (Cluster API
	// topology mode): the class holds the templates and Provider is not used.
	ClusterClass string
	// Parameters are provider-specific settings (e.g. OpenStack "image", "flavor").
	// Values are not secrets: credentials are referenced by name, never carried here.
	Parameters map[string]string
}

// ClusterSpec is what to provision. The zero values of Namespace, Distribution,
// ControlPlaneReplicas, PodCIDRs and ServiceCIDRs mean the defaults (see WithDefaults).
type ClusterSpec struct {
	// Name is the cluster's name, a DNS-1123 label.
	Name string
	// Namespace on the management cluster; empty means DefaultNamespace.
	Namespace string
	// Distribution is kubeadm or k3s; empty means kubeadm.
	Distribution Distribution
	// KubernetesVersion is a version like "v1.33.1" (a leading "v" is added when
	// missing). For k3s a "+k3sN" suffix may be given; "+k3s1" is assumed otherwise.
	KubernetesVersion string
	// ControlPlaneReplicas is the number of control-plane machines: odd (etcd
	// quorum); zero means 1.
	ControlPlaneReplicas int32
	// Workers is the number of worker machines (0 to MaxWorkers).
	Workers int32
	// PodCIDRs and ServiceCIDRs are the cluster's pod and service networks. They must
	// not overlap each other, nor (see CheckDisjoint) those of the other clusters of
	// the continuum, or Liqo cannot connect them. Empty means the defaults.
	PodCIDRs     []string
	ServiceCIDRs []string
	// Labels are the ownership labels put on every object.
	Labels Labels
	// Infrastructure selects the infrastructure provider or ClusterClass.
	Infrastructure Infrastructure
}

// Ref returns the spec's namespace and name, after defaults.
func (s ClusterSpec) Ref() Ref {
	ns := s.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return Ref{Namespace: ns, Name: s.Name}
}

// WithDefaults returns a copy of s with empty fields set to their defaults and the
// Kubernetes version normalised ("1.33.1" -> "v1.33.1"; k3s gets "+k3s1" when it has
// no k3s suffix). It does not validate.
func (s ClusterSpec) WithDefaults() ClusterSpec {
	s = s.DeepCopy()
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	if s.Distribution == "" {
		s.Distribution = DefaultDistribution
	}
	if s.ControlPlaneReplicas == 0 {
		s.ControlPlaneReplicas = DefaultControlPlaneReplica
	}
	if len(s.PodCIDRs) == 0 {
		s.PodCIDRs = []string{DefaultPodCIDR}
	}
	if len(s.ServiceCIDRs) == 0 {
		s.ServiceCIDRs = []string{DefaultServiceCIDR}
	}
	if v := s.KubernetesVersion; v != "" {
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		if s.Distribution == K3s && !strings.Contains(v, "+") {
			v += "+k3s1"
		}
		s.KubernetesVersion = v
	}
	return s
}

// DeepCopy returns a copy of s that shares no slices or maps with it.
func (s ClusterSpec) DeepCopy() ClusterSpec {
	s.PodCIDRs = slices.Clone(s.PodCIDRs)
	s.ServiceCIDRs = slices.Clone(s.ServiceCIDRs)
	s.Infrastructure.Parameters = maps.Clone(s.Infrastructure.Parameters)
	return s
}

var (
	versionRE    = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(\+k3s[1-9][0-9]*)?$`)
	labelValueRE = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

// Validate reports every problem of s (after defaults) as an ErrorList naming the
// fields, or nil. It checks what every backend needs; backends may check more (the
// capi backend checks the infrastructure provider and its parameters).
func (s ClusterSpec) Validate() error {
	s = s.WithDefaults()
	var errs ErrorList
	switch {
	case s.Name == "":
		errs.add("name", "required")
	case !decode.IsDNSLabel(s.Name):
		errs.add("name", fmt.Sprintf("%q is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)", s.Name))
	}
	if !decode.IsDNSLabel(s.Namespace) {
		errs.add("namespace", fmt.Sprintf("%q is not a DNS-1123 label", s.Namespace))
	}
	switch s.Distribution {
	case Kubeadm, K3s:
	default:
		errs.add("distribution", fmt.Sprintf("%q is not one of kubeadm, k3s", s.Distribution))
	}
	switch v := s.KubernetesVersion; {
	case v == "":
		errs.add("kubernetesVersion", "required (e.g. v1.33.1)")
	case !versionRE.MatchString(v):
		errs.add("kubernetesVersion", fmt.Sprintf("%q is not a version like v1.33.1 (k3s: v1.33.1+k3s1)", v))
	case strings.Contains(v, "+k3s") && s.Distribution != K3s:
		errs.add("kubernetesVersion", fmt.Sprintf("%q has a k3s suffix but the distribution is %s", v, s.Distribution))
	}
	switch r := s.ControlPlaneReplicas; {
	case r < 0:
		errs.add("controlPlaneReplicas", fmt.Sprintf("%d must be >= 0 (0 means 1)", r))
	case r%2 == 0:
		errs.add("controlPlaneReplicas", fmt.Sprintf("%d must be odd for etcd quorum (1, 3, 5)", r))
	}
	if s.Workers < 0 || s.Workers > MaxWorkers {
		errs.add("workers", fmt.Sprintf("%d must be between 0 and %d", s.Workers, MaxWorkers))
	}
	pods := validateCIDRs(&errs, "podCIDRs", s.PodCIDRs)
	services := validateCIDRs(&errs, "serviceCIDRs", s.ServiceCIDRs)
	for i, p := range pods {
		for j, q := range services {
			if p.IsValid() && q.IsValid() && p.Overlaps(q) {
				errs.add(decode.Index("serviceCIDRs", j), fmt.Sprintf("%s overlaps podCIDRs[%d] %s", q, i, p))
			}
		}
	}
	for field, v := range map[string]string{"labels.owner": s.Labels.Owner, "labels.tier": s.Labels.Tier, "labels.region": s.Labels.Region} {
		if len(v) > 63 || !labelValueRE.MatchString(v) {
			errs.add(field, fmt.Sprintf("%q is not a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')", v))
		}
	}
	inf := s.Infrastructure
	if inf.Provider != "" && !decode.IsDNSLabel(inf.Provider) {
		errs.add("infrastructure.provider", fmt.Sprintf("%q is not a DNS-1123 label", inf.Provider))
	}
	if inf.ClusterClass != "" && !decode.IsDNSLabel(inf.ClusterClass) {
		errs.add("infrastructure.clusterClass", fmt.Sprintf("%q is not a DNS-1123 label", inf.ClusterClass))
	}
	for _, k := range slices.Sorted(maps.Keys(inf.Parameters)) {
		if k == "" {
			errs.add("infrastructure.parameters", "empty key")
		}
	}
	errs.sortByField()
	return errs.err()
}

func (l ErrorList) sortByField() { decode.SortFields(l) }

func validateCIDRs(errs *ErrorList, field string, cidrs []string) []netip.Prefix {
	out := make([]netip.Prefix, len(cidrs))
	for i, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			errs.add(decode.Index(field, i), fmt.Sprintf("%q is not a CIDR (e.g. 10.244.0.0/16)", c))
			continue
		}
		if p.Masked() != p {
			errs.add(decode.Index(field, i), fmt.Sprintf("%q has host bits set (did you mean %s?)", c, p.Masked()))
			continue
		}
		for j := range i {
			if out[j].IsValid() && out[j].Overlaps(p) {
				errs.add(decode.Index(field, i), fmt.Sprintf("%s overlaps %s[%d] %s", p, field, j, out[j]))
			}
		}
		out[i] = p
	}
	return out
}

// CheckDisjoint reports, as an ErrorList, every pair of clusters whose pod or service
// CIDRs overlap (after defaults): Liqo connects clusters only when their networks are
// disjoint across the continuum. Field paths are "specs[i].podCIDRs[j]".
func CheckDisjoint(specs ...ClusterSpec) error {
	type net struct {
		field string
		p     netip.Prefix
		spec  int
	}
	var nets []net
	for i, s := range specs {
		s = s.WithDefaults()
		for field, cidrs := range map[string][]string{"podCIDRs": s.PodCIDRs, "serviceCIDRs": s.ServiceCIDRs} {
			for j, c := range cidrs {
				if p, err := netip.ParsePrefix(c); err == nil {
					nets = append(nets, net{fmt.Sprintf("specs[%d].%s[%d]", i, field, j), p.Masked(), i})
				}
			}
		}
	}
	slices.SortFunc(nets, func(a, b net) int { return strings.Compare(decode.SortKey(a.field), decode.SortKey(b.field)) })
	var errs ErrorList
	for i, a := range nets {
		for _, b := range nets[:i] {
			if a.spec != b.spec && a.p.Overlaps(b.p) {
				errs.add(a.field, fmt.Sprintf("%s of cluster %q overlaps %s %s of cluster %q",
					a.p, specs[a.spec].Name, b.field, b.p, specs[b.spec].Name))
			}
		}
	}
	errs.sortByField()
	return errs.err()
}
