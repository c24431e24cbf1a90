package sim

import (
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/provision"
	"github.com/continuum-xr/continuum/topology"
)

// rebuild recomputes the declared and the true topology from w.base, w.overrides and
// the failed clusters. On error nothing changes. w.mu is held.
func (w *World) rebuild() error {
	declaredSpec := w.base.DeepCopy()
	if w.opts.HideFailed {
		declaredSpec = w.withoutDown(declaredSpec)
	}
	declared, err := topology.New(declaredSpec)
	if err != nil {
		return fmt.Errorf("the topology would be invalid: %w", err)
	}
	truthSpec := w.withoutDown(w.base.DeepCopy())
	for i := range truthSpec.Clusters {
		c := &truthSpec.Clusters[i]
		for j := range c.Links {
			l := &c.Links[j]
			if rtt, ok := w.overrides[metrics.MakePair(c.Name, l.To)]; ok {
				l.P99 = scaleP99(l.P99, l.RTT, rtt)
				l.RTT = rtt
			}
		}
	}
	for i := range truthSpec.Sites {
		s := &truthSpec.Sites[i]
		for j := range s.Access {
			a := &s.Access[j]
			if rtt, ok := w.overrides[metrics.MakePair(s.Name, a.Cluster)]; ok {
				a.P99 = scaleP99(a.P99, a.RTT, rtt)
				a.RTT = rtt
			}
		}
	}
	var truth *topology.Topology
	if len(truthSpec.Clusters) > 0 {
		if truth, err = topology.New(truthSpec); err != nil {
			return fmt.Errorf("the true topology (links degraded, failed clusters left out) would be invalid: %w", err)
		}
	}
	w.declared, w.truth = declared, truth
	w.setMembers()
	return nil
}

// scaleP99 keeps a link's p99 in proportion when its RTT changes.
func scaleP99(p99, from, to topology.Duration) topology.Duration {
	if p99 == 0 || from <= 0 {
		return 0
	}
	return max(topology.Duration(float64(p99)*float64(to)/float64(from)), to)
}

// withoutDown returns spec without the failed clusters, the links and access links to
// them, and the sites left without access.
func (w *World) withoutDown(spec topology.Spec) topology.Spec {
	down := w.downSet()
	if len(down) == 0 {
		return spec
	}
	spec.Clusters = slices.DeleteFunc(spec.Clusters, func(c topology.Cluster) bool { return down[c.Name] })
	for i := range spec.Clusters {
		c := &spec.Clusters[i]
		c.Links = slices.DeleteFunc(c.Links, func(l topology.LinkSpec) bool { return down[l.To] })
	}
	for i := range spec.Sites {
		s := &spec.Sites[i]
		s.Access = slices.DeleteFunc(s.Access, func(a topology.AccessLink) bool { return down[a.Cluster] })
	}
	spec.Sites = slices.DeleteFunc(spec.Sites, func(s topology.Site) bool { return len(s.Access) == 0 })
	return spec
}

// findCluster returns the cluster of the base spec called name. w.mu is held.
func (w *World) findCluster(name string) (topology.Cluster, bool) {
	i := slices.IndexFunc(w.base.Clusters, func(c topology.Cluster) bool { return c.Name == name })
	if i < 0 {
		return topology.Cluster{}, false
	}
	return w.base.Clusters[i], true
}

// declaredLinkRTT returns the declared RTT of the direct link p: between two clusters
// or between a site and a cluster. w.mu is held.
func (w *World) declaredLinkRTT(p metrics.Pair) (topology.Duration, error) {
	for _, c := range w.base.Clusters {
		for _, l := range c.Links {
			if metrics.MakePair(c.Name, l.To) == p {
				return l.RTT, nil
			}
		}
	}
	for _, s := range w.base.Sites {
		for _, a := range s.Access {
			if metrics.MakePair(s.Name, a.Cluster) == p {
				return a.RTT, nil
			}
		}
	}
	return 0, fmt.Errorf("sim: link %s: the topology has no direct link (or access link) between them: %w", p, ErrNotFound)
}

// describe turns a provisioned cluster into a topology cluster and the access links
// sites get to it. w.mu is held.
func (w *World) describe(spec provision.ClusterSpec) (topology.Cluster, map[string]topology.AccessLink, error) {
	if w.opts.DescribeCluster != nil {
		c, err := w.opts.DescribeCluster(spec)
		if err != nil {
			return topology.Cluster{}, nil, fmt.Errorf("sim: describe cluster %s: %w", spec.Name, err)
		}
		if c.Name == "" {
			c.Name = spec.Name
		}
		if c.Name != spec.Name {
			return topology.Cluster{}, nil, fmt.Errorf("sim: describe cluster %s: it named the cluster %q: %w", spec.Name, c.Name, ErrInvalid)
		}
		return c.DeepCopy(), nil, nil
	}
	l := spec.Labels
	c := topology.Cluster{
		Name:   spec.Name,
		Owner:  l.Owner,
		Tier:   topology.Tier(l.Tier),
		Region: l.Region,
	}
	if c.Owner == "" {
		c.Owner = DefaultOwner
	}
	if c.Tier == "" {
		c.Tier = topology.TierEdge
	}
	if loc, ok := w.opts.Regions[l.Region]; ok {
		c.Location = &loc
	}
	switch spec.Distribution {
	case provision.K3s:
		c.Distribution = topology.K3s
	default:
		c.Distribution = topology.Kubeadm
	}
	machines := spec.Workers
	if machines == 0 {
		machines = max(spec.ControlPlaneReplicas, 1)
	}
	c.Capacity = topology.ResourceList{}
	for _, name := range slices.Sorted(maps.Keys(w.opts.NodeCapacity)) {
		q := w.opts.NodeCapacity[name]
		sum := resource.Quantity{Format: q.Format}
		for range machines {
			sum.Add(q)
		}
		c.Capacity[name] = sum
	}
	c.UDPExposure = c.Tier == topology.TierEdge
	for _, other := range w.base.Clusters {
		if other.Name == c.Name { // described again after a scale
			continue
		}
		rtt := topology.Duration(w.opts.UnlocatedRTT)
		if c.Location != nil && other.Location != nil {
			rtt = topology.GeoEstimate(topology.DistanceKm(*c.Location, *other.Location))
		}
		c.Links = append(c.Links, topology.LinkSpec{To: other.Name, RTT: rtt})
	}
	access := map[string]topology.AccessLink{}
	if c.Location != nil && w.opts.AccessRadiusKm > 0 {
		for _, s := range w.base.Sites {
			if s.Location == nil {
				continue
			}
			if km := topology.DistanceKm(*c.Location, *s.Location); km <= w.opts.AccessRadiusKm {
				access[s.Name] = topology.AccessLink{Cluster: c.Name, RTT: topology.GeoEstimate(km)}
			}
		}
	}
	return c, access, nil
}

// addCluster puts a described cluster into the base spec (replacing one of that
// name) and rebuilds; on error nothing changes. w.mu is held.
func (w *World) addCluster(c topology.Cluster, access map[string]topology.AccessLink) error {
	old := w.base
	w.base = w.base.DeepCopy()
	if len(w.base.Owners) > 0 && !slices.ContainsFunc(w.base.Owners, func(o topology.Owner) bool { return o.Name == c.Owner }) {
		w.base.Owners = append(w.base.Owners, topology.Owner{Name: c.Owner})
	}
	if i := slices.IndexFunc(w.base.Clusters, func(x topology.Cluster) bool { return x.Name == c.Name }); i >= 0 {
		w.base.Clusters[i] = c
	} else {
		w.base.Clusters = append(w.base.Clusters, c)
	}
	for i := range w.base.Sites {
		s := &w.base.Sites[i]
		a, ok := access[s.Name]
		if ok && !slices.ContainsFunc(s.Access, func(x topology.AccessLink) bool { return x.Cluster == c.Name }) {
			s.Access = append(s.Access, a)
		}
	}
	if err := w.rebuild(); err != nil {
		w.base = old
		return err
	}
	return nil
}

// removeCluster takes a cluster out of the base spec with its links, access links,
// degradations and extra load; sites left without access go too (their names are
// returned). w.mu is held.
func (w *World) removeCluster(name string) ([]string, error) {
	old, saved := w.base, maps.Clone(w.overrides)
	spec := w.base.DeepCopy()
	spec.Clusters = slices.DeleteFunc(spec.Clusters, func(c topology.Cluster) bool { return c.Name == name })
	for i := range spec.Clusters {
		c := &spec.Clusters[i]
		c.Links = slices.DeleteFunc(c.Links, func(l topology.LinkSpec) bool { return l.To == name })
	}
	var gone []string
	for i := range spec.Sites {
		s := &spec.Sites[i]
		s.Access = slices.DeleteFunc(s.Access, func(a topology.AccessLink) bool { return a.Cluster == name })
		if len(s.Access) == 0 {
			gone = append(gone, s.Name)
		}
	}
	spec.Sites = slices.DeleteFunc(spec.Sites, func(s topology.Site) bool { return len(s.Access) == 0 })
	for p := range w.overrides {
		if p.A == name || p.B == name || slices.Contains(gone, p.A) || slices.Contains(gone, p.B) {
			delete(w.overrides, p)
		}
	}
	w.base = spec
	if err := w.rebuild(); err != nil {
		w.base, w.overrides = old, saved
		return nil, err
	}
	delete(w.load, name)
	w.setDown(name, false)
	return gone, nil
}
