package topology

import (
	"maps"
	"slices"
)

// DeepCopy returns a copy of s that shares no memory with it.
func (s Spec) DeepCopy() Spec {
	out := s
	out.Metadata.Labels = maps.Clone(s.Metadata.Labels)
	out.Owners = slices.Clone(s.Owners)
	for i := range out.Owners {
		out.Owners[i].Labels = maps.Clone(s.Owners[i].Labels)
	}
	out.Clusters = slices.Clone(s.Clusters)
	for i := range out.Clusters {
		out.Clusters[i] = s.Clusters[i].DeepCopy()
	}
	out.Sites = slices.Clone(s.Sites)
	for i := range out.Sites {
		out.Sites[i].Location = clonePtr(s.Sites[i].Location)
		out.Sites[i].Access = slices.Clone(s.Sites[i].Access)
	}
	return out
}

// DeepCopy returns a copy of c that shares no memory with it.
func (c Cluster) DeepCopy() Cluster {
	out := c
	out.Location = clonePtr(c.Location)
	out.Capacity = c.Capacity.DeepCopy()
	out.NodePools = slices.Clone(c.NodePools)
	for i := range out.NodePools {
		out.NodePools[i].Capacity = c.NodePools[i].Capacity.DeepCopy()
		out.NodePools[i].Labels = maps.Clone(c.NodePools[i].Labels)
	}
	out.Labels = maps.Clone(c.Labels)
	out.Taints = slices.Clone(c.Taints)
	out.Links = slices.Clone(c.Links)
	for i := range out.Links {
		out.Links[i].Tunnel = clonePtr(c.Links[i].Tunnel)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
