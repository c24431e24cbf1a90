package sim

import (
	"fmt"
	"time"

	"github.com/continuum-xr/continuum/topology"
)

// TaintsChanged: a cluster's taints changed (TaintCluster, UntaintCluster, Cordon,
// DrainCluster, Uncordon); Cluster names it.
const TaintsChanged ChangeKind = "taints-changed"

// TaintCluster puts a taint on a cluster of the declared topology (topology.Spec's
// SetTaint: a taint with the same key and effect is replaced, keeping its added
// time). A NoExecute taint without an added time gets the event's time.
func TaintCluster(cluster string, t topology.Taint) Event {
	return taintEvent{cluster: cluster, taint: t}
}

// UntaintCluster removes every taint with the key from a cluster.
func UntaintCluster(cluster, key string) Event {
	return taintEvent{cluster: cluster, remove: []string{key}}
}

// Cordon cordons a cluster (topology.Cordon): no new replicas there.
func Cordon(cluster string) Event {
	return taintEvent{cluster: cluster, taint: topology.Taint{Key: topology.TaintUnschedulable, Effect: topology.NoSelect}}
}

// DrainCluster cordons and drains a cluster at the event's time (topology.Drain): its
// replicas must leave.
func DrainCluster(cluster string) Event { return taintEvent{cluster: cluster, drain: true} }

// Uncordon removes the taints of Cordon and DrainCluster from a cluster.
func Uncordon(cluster string) Event {
	return taintEvent{cluster: cluster, remove: []string{topology.TaintUnschedulable, topology.TaintDrain}}
}

type taintEvent struct {
	cluster string
	taint   topology.Taint
	drain   bool
	remove  []string
}

func (e taintEvent) String() string {
	switch {
	case e.drain:
		return "drain cluster " + e.cluster
	case len(e.remove) > 0:
		return fmt.Sprintf("untaint cluster %s %v", e.cluster, e.remove)
	}
	return "taint cluster " + e.cluster + " " + e.taint.String()
}

func (e taintEvent) check() error {
	if err := checkName("cluster", e.cluster); err != nil {
		return err
	}
	if e.drain || len(e.remove) > 0 {
		return nil
	}
	if p := topology.CheckTaintKey(e.taint.Key); p != "" {
		return fmt.Errorf("sim: taint.key: %s: %w", p, ErrInvalid)
	}
	switch e.taint.Effect {
	case topology.NoSelect, topology.PreferNoSelect, topology.NoExecute:
	default:
		return fmt.Errorf("sim: taint.effect: must be NoSelect, PreferNoSelect or NoExecute, got %q: %w", e.taint.Effect, ErrInvalid)
	}
	return nil
}

func (e taintEvent) apply(w *World, now time.Time) ([]Change, error) {
	old := w.base
	spec := w.base.DeepCopy()
	var err error
	switch {
	case e.drain:
		if err = spec.SetTaint(e.cluster, topology.Taint{Key: topology.TaintUnschedulable, Effect: topology.NoSelect}); err == nil {
			err = spec.SetTaint(e.cluster, topology.Taint{Key: topology.TaintDrain, Effect: topology.NoExecute, Added: now.UTC()})
		}
	case len(e.remove) > 0:
		for _, k := range e.remove {
			if _, err = spec.RemoveTaints(e.cluster, k); err != nil {
				break
			}
		}
	default:
		t := e.taint
		if t.Effect == topology.NoExecute && t.Added.IsZero() {
			t.Added = now.UTC()
		}
		err = spec.SetTaint(e.cluster, t)
	}
	if err != nil {
		return nil, fmt.Errorf("sim: %s: %w", e, err)
	}
	w.base = spec
	if err := w.rebuild(); err != nil {
		w.base = old
		return nil, fmt.Errorf("sim: %s: %w", e, err)
	}
	c, _ := w.findCluster(e.cluster)
	return []Change{{Kind: TaintsChanged, Cluster: e.cluster, Message: fmt.Sprintf("%s: taints now %v", e, c.Taints)}}, nil
}
