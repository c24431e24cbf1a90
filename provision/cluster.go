package provision

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Phase is where a cluster is in its life, derived from its conditions by PhaseOf.
type Phase string

// Phases in order of provisioning.
const (
	// PhasePending: created; the infrastructure is not ready yet.
	PhasePending Phase = "Pending"
	// PhaseProvisioning: the infrastructure is ready; the control plane is being
	// initialized.
	PhaseProvisioning Phase = "Provisioning"
	// PhaseProvisioned: the control plane is initialized; not everything is
	// available yet (control plane replicas, workers).
	PhaseProvisioned Phase = "Provisioned"
	// PhaseAvailable: the cluster's Available condition holds for its current spec.
	PhaseAvailable Phase = "Available"
	// PhaseDeleting: deletion has started.
	PhaseDeleting Phase = "Deleting"
	// PhaseFailed: the backend reports a failure it will not recover from by itself
	// (Cluster.Message says which).
	PhaseFailed Phase = "Failed"
)

// Milestone is a step of provisioning whose time the Timeline records. The names are
// the Cluster API v1beta2 Cluster condition types.
type Milestone string

// The milestones, in the order a healthy cluster reaches them.
const (
	InfrastructureReady     Milestone = "InfrastructureReady"
	ControlPlaneInitialized Milestone = "ControlPlaneInitialized"
	ControlPlaneAvailable   Milestone = "ControlPlaneAvailable"
	WorkersAvailable        Milestone = "WorkersAvailable"
	Available               Milestone = "Available"
)

// Milestones returns the milestones in provisioning order.
func Milestones() []Milestone {
	return []Milestone{InfrastructureReady, ControlPlaneInitialized, ControlPlaneAvailable, WorkersAvailable, Available}
}

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is one v1beta2-style condition of a cluster.
type Condition struct {
	// Type is the condition type, e.g. "Available" or a Milestone.
	Type string
	// Status is True, False or Unknown.
	Status ConditionStatus
	// ObservedGeneration is the cluster generation the condition was computed for;
	// a condition is current only when it equals Cluster.Generation.
	ObservedGeneration int64
	// LastTransitionTime is when Status last changed.
	LastTransitionTime time.Time
	// Reason is a CamelCase reason; Message a human-readable explanation.
	Reason  string
	Message string
}

// Replicas counts the machines of one role (control plane or workers).
type Replicas struct {
	// Desired is the number asked for in the spec.
	Desired int32
	// Current is the number of machines that exist.
	Current int32
	// Ready is the number whose node is Ready.
	Ready int32
	// Available is the number ready for at least the minimum ready time.
	Available int32
}

// Cluster is a provisioned (or provisioning) cluster as a Reader sees it.
type Cluster struct {
	// Spec is the cluster's spec, with defaults, as read back from the backend.
	Spec ClusterSpec
	// Generation increases with each change of the spec.
	Generation int64
	// Phase is derived from the conditions (see PhaseOf).
	Phase Phase
	// Conditions are the cluster's conditions (Cluster API v1beta2 types, including
	// every Milestone).
	Conditions []Condition
	// ControlPlane and Workers count machines.
	ControlPlane Replicas
	Workers      Replicas
	// Timeline records when each milestone was first reached.
	Timeline Timeline
	// Message explains a failure or what the cluster waits for, when known.
	Message string
}

// Ref returns the cluster's namespace and name.
func (c *Cluster) Ref() Ref { return c.Spec.Ref() }

// Condition returns the condition of type t, if present.
func (c *Cluster) Condition(t string) (Condition, bool) {
	i := slices.IndexFunc(c.Conditions, func(x Condition) bool { return x.Type == t })
	if i < 0 {
		return Condition{}, false
	}
	return c.Conditions[i], true
}

// IsTrue reports whether condition t is True and current: its ObservedGeneration is
// zero (not reported) or equals the cluster's Generation.
func (c *Cluster) IsTrue(t string) bool {
	cond, ok := c.Condition(t)
	if !ok || cond.Status != ConditionTrue {
		return false
	}
	return cond.ObservedGeneration == 0 || c.Generation == 0 || cond.ObservedGeneration == c.Generation
}

// IsReady reports whether the cluster is Available for its current spec and not being
// deleted: the Available condition is True and current, and as many control-plane
// machines and workers are available as the spec asks (a condition computed before a
// scale-up is not enough). WaitReady waits for it.
func IsReady(c *Cluster) bool {
	return c != nil && c.Phase != PhaseDeleting && c.Phase != PhaseFailed && c.IsTrue(string(Available)) &&
		c.ControlPlane.Available >= c.ControlPlane.Desired && c.Workers.Available >= c.Workers.Desired
}

// PhaseOf derives a phase from the conditions of c. Backends call it after filling
// the conditions; deleting and failed are facts the conditions do not carry.
func PhaseOf(c *Cluster, deleting, failed bool) Phase {
	switch {
	case deleting:
		return PhaseDeleting
	case failed:
		return PhaseFailed
	case c.IsTrue(string(Available)):
		return PhaseAvailable
	case c.IsTrue(string(ControlPlaneInitialized)):
		return PhaseProvisioned
	case c.IsTrue(string(InfrastructureReady)):
		return PhaseProvisioning
	}
	return PhasePending
}

// Event is one milestone reached.
type Event struct {
	Milestone Milestone
	// At is when it was reached; After is At minus the cluster's creation time.
	At    time.Time
	After time.Duration
}

// Timeline is when each milestone was first reached, measured from the cluster's
// creation: the provisioning-time measurement of the seed paper's experiment 1 (there
// the time to the cluster's Available milestone).
type Timeline struct {
	// Created is when the cluster was created.
	Created time.Time
	// Events are the milestones reached, in Milestones order.
	Events []Event
}

// At returns when milestone m was reached.
func (t Timeline) At(m Milestone) (time.Time, bool) {
	for _, e := range t.Events {
		if e.Milestone == m {
			return e.At, true
		}
	}
	return time.Time{}, false
}

// After returns how long after creation milestone m was reached.
func (t Timeline) After(m Milestone) (time.Duration, bool) {
	at, ok := t.At(m)
	if !ok {
		return 0, false
	}
	return at.Sub(t.Created), true
}

// String lists the milestones reached with their times from creation, e.g.
// "InfrastructureReady +15s, ControlPlaneInitialized +1m25s".
func (t Timeline) String() string {
	parts := make([]string, len(t.Events))
	for i, e := range t.Events {
		parts[i] = fmt.Sprintf("%s +%s", e.Milestone, e.After)
	}
	return strings.Join(parts, ", ")
}

// NewTimeline builds a timeline from the creation time and the times milestones were
// reached (missing milestones are left out), ordered by Milestones.
func NewTimeline(created time.Time, reached map[Milestone]time.Time) Timeline {
	t := Timeline{Created: created}
	for _, m := range Milestones() {
		if at, ok := reached[m]; ok {
			t.Events = append(t.Events, Event{Milestone: m, At: at, After: at.Sub(created)})
		}
	}
	return t
}

// TimelineFromConditions builds the timeline of a backend whose conditions carry
// transition times (Cluster API): a milestone is reached when its condition is True,
// at its LastTransitionTime. A milestone that was reached and later lost (e.g.
// WorkersAvailable during a scale-up) is missing until it holds again, and then
// carries the later time.
func TimelineFromConditions(created time.Time, conds []Condition) Timeline {
	reached := map[Milestone]time.Time{}
	for _, c := range conds {
		if c.Status == ConditionTrue && slices.Contains(Milestones(), Milestone(c.Type)) {
			reached[Milestone(c.Type)] = c.LastTransitionTime
		}
	}
	return NewTimeline(created, reached)
}

// Summary describes a cluster's progress in one line, the message WaitReady reports:
// "control plane initialized after 84 s, 2/3 workers ready".
func Summary(c *Cluster) string {
	var parts []string
	step := "waiting for infrastructure"
	for _, m := range []Milestone{InfrastructureReady, ControlPlaneInitialized, ControlPlaneAvailable, Available} {
		if d, ok := c.Timeline.After(m); ok && c.IsTrue(string(m)) {
			step = fmt.Sprintf("%s after %d s", milestoneText[m], int64(d.Round(time.Second)/time.Second))
		}
	}
	parts = append(parts, step)
	if c.ControlPlane.Desired > 1 {
		parts = append(parts, fmt.Sprintf("%d/%d control plane machines ready", c.ControlPlane.Ready, c.ControlPlane.Desired))
	}
	if c.Workers.Desired > 0 || c.Workers.Current > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d workers ready", c.Workers.Ready, c.Workers.Desired))
	}
	if c.Phase == PhaseDeleting || c.Phase == PhaseFailed {
		parts = append(parts, strings.ToLower(string(c.Phase)))
	}
	if c.Message != "" && !IsReady(c) {
		parts = append(parts, c.Message)
	}
	return strings.Join(parts, ", ")
}

var milestoneText = map[Milestone]string{
	InfrastructureReady:     "infrastructure ready",
	ControlPlaneInitialized: "control plane initialized",
	ControlPlaneAvailable:   "control plane available",
	WorkersAvailable:        "workers available",
	Available:               "available",
}
