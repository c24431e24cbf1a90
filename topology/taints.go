package topology

import (
	"fmt"
	"slices"
	"time"
)

// The taints Cordon and Drain put on a cluster (kubectl's cordon and drain, for
// clusters).
const (
	// TaintUnschedulable (NoSelect) keeps new replicas off a cordoned cluster.
	TaintUnschedulable = "continuum.xr/unschedulable"
	// TaintDrain (NoExecute) makes the replicas on a drained cluster leave.
	TaintDrain = "continuum.xr/drain"
)

// Tolerates reports whether a component's toleration matches t: same key (an empty
// key with operator Exists matches every key), the value under Equal (Exists ignores
// it) and the same effect (an empty effect matches every effect). The fields follow
// Kubernetes' and OCM's tolerations; the period of a NoExecute toleration is the
// caller's to check.
func (t Taint) Tolerates(key, operator, value string, effect TaintEffect) bool {
	if effect != "" && effect != t.Effect {
		return false
	}
	if key == "" {
		return operator == "Exists"
	}
	if key != t.Key {
		return false
	}
	switch operator {
	case "Exists":
		return true
	case "", "Equal":
		return value == t.Value
	}
	return false
}

// String formats the taint like kubectl: key=value:Effect.
func (t Taint) String() string {
	if t.Value == "" {
		return t.Key + ":" + string(t.Effect)
	}
	return t.Key + "=" + t.Value + ":" + string(t.Effect)
}

// SetTaint puts t on the named cluster of the spec, replacing a taint with the same
// key and effect. A taint that is already there keeps its Added time (re-draining a
// cluster does not restart toleration periods); a new one gets t.Added. It fails when
// no cluster has that name or the taint is invalid.
func (s *Spec) SetTaint(cluster string, t Taint) error {
	c, err := s.cluster(cluster)
	if err != nil {
		return err
	}
	if p := CheckTaintKey(t.Key); p != "" {
		return fmt.Errorf("topology: taint key: %s: %w", p, ErrInvalid)
	}
	if p := CheckTaintValue(t.Value); p != "" {
		return fmt.Errorf("topology: taint value: %s: %w", p, ErrInvalid)
	}
	switch t.Effect {
	case NoSelect, PreferNoSelect, NoExecute:
	default:
		return fmt.Errorf("topology: taint effect: must be NoSelect, PreferNoSelect or NoExecute, got %q: %w", t.Effect, ErrInvalid)
	}
	for i := range c.Taints {
		if old := &c.Taints[i]; old.Key == t.Key && old.Effect == t.Effect {
			if !old.Added.IsZero() {
				t.Added = old.Added
			}
			*old = t
			return nil
		}
	}
	if len(c.Taints) >= MaxTaints {
		return fmt.Errorf("topology: cluster %q has %d taints, the limit: %w", cluster, len(c.Taints), ErrInvalid)
	}
	c.Taints = append(c.Taints, t)
	return nil
}

// RemoveTaints removes from the named cluster every taint with the key (any effect)
// and reports how many it removed.
func (s *Spec) RemoveTaints(cluster, key string) (int, error) {
	c, err := s.cluster(cluster)
	if err != nil {
		return 0, err
	}
	n := len(c.Taints)
	c.Taints = slices.DeleteFunc(c.Taints, func(t Taint) bool { return t.Key == key })
	if len(c.Taints) == 0 {
		c.Taints = nil
	}
	return n - len(c.Taints), nil
}

func (s *Spec) cluster(name string) (*Cluster, error) {
	for i := range s.Clusters {
		if s.Clusters[i].Name == name {
			return &s.Clusters[i], nil
		}
	}
	return nil, fmt.Errorf("topology: no cluster %q: %w", name, ErrNotFound)
}

// Cordon returns t with the named cluster cordoned: a NoSelect taint
// (TaintUnschedulable) keeps new replicas off it; replicas already there stay.
func Cordon(t *Topology, cluster string) (*Topology, error) {
	return retaint(t, cluster, func(s *Spec) error {
		return s.SetTaint(cluster, Taint{Key: TaintUnschedulable, Effect: NoSelect})
	})
}

// Drain returns t with the named cluster cordoned and drained: a NoExecute taint
// (TaintDrain) added at the given time makes the replicas there leave (the loop
// moves them make-before-break), those that tolerate it for tolerationSeconds once
// the period has passed.
func Drain(t *Topology, cluster string, at time.Time) (*Topology, error) {
	return retaint(t, cluster, func(s *Spec) error {
		if err := s.SetTaint(cluster, Taint{Key: TaintUnschedulable, Effect: NoSelect}); err != nil {
			return err
		}
		return s.SetTaint(cluster, Taint{Key: TaintDrain, Effect: NoExecute, Added: at.UTC().Truncate(time.Second)})
	})
}

// Uncordon returns t with the taints of Cordon and Drain removed from the named
// cluster (its other taints stay).
func Uncordon(t *Topology, cluster string) (*Topology, error) {
	return retaint(t, cluster, func(s *Spec) error {
		for _, k := range []string{TaintUnschedulable, TaintDrain} {
			if _, err := s.RemoveTaints(cluster, k); err != nil {
				return err
			}
		}
		return nil
	})
}

func retaint(t *Topology, cluster string, edit func(*Spec) error) (*Topology, error) {
	if t == nil {
		return nil, fmt.Errorf("topology: nil topology: %w", ErrInvalid)
	}
	spec := t.Spec()
	if err := edit(&spec); err != nil {
		return nil, err
	}
	return New(spec)
}
