package placement

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/continuum-xr/continuum/topology"
)

// LabelSelector selects clusters by their labels, with the fields and meaning of
// Kubernetes' metav1.LabelSelector (so an application file takes the same YAML): every
// matchLabels entry and every expression must match; an empty selector matches every
// cluster.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is one expression of a LabelSelector: In and NotIn take
// values, Exists and DoesNotExist none. NotIn and DoesNotExist match a cluster without
// the key.
type LabelSelectorRequirement struct {
	Key      string           `json:"key"`
	Operator SelectorOperator `json:"operator"`
	Values   []string         `json:"values,omitempty"`
}

// SelectorOperator is the operator of a LabelSelectorRequirement.
type SelectorOperator string

// Selector operators (Kubernetes' LabelSelectorOperator).
const (
	SelectorIn           SelectorOperator = "In"
	SelectorNotIn        SelectorOperator = "NotIn"
	SelectorExists       SelectorOperator = "Exists"
	SelectorDoesNotExist SelectorOperator = "DoesNotExist"
)

// PreferredTerm is a soft selector: a replica on a cluster the selector does not
// match costs Weight / 100 (times the scorer's weight) in the objective.
type PreferredTerm struct {
	// Weight is in [1, 100], like Kubernetes' preferred scheduling terms.
	Weight   int           `json:"weight"`
	Selector LabelSelector `json:"selector"`
}

// TolerationOperator is Equal (the default) or Exists.
type TolerationOperator string

// Toleration operators.
const (
	TolerationEqual  TolerationOperator = "Equal"
	TolerationExists TolerationOperator = "Exists"
)

// Toleration lets a component run on clusters with a matching taint (the fields and
// matching of Kubernetes' and OCM's tolerations): the same key (an empty key with
// Exists matches every taint), the same value under Equal, the same effect (empty:
// every effect).
type Toleration struct {
	Key      string               `json:"key,omitempty"`
	Operator TolerationOperator   `json:"operator,omitempty"`
	Value    string               `json:"value,omitempty"`
	Effect   topology.TaintEffect `json:"effect,omitempty"`
	// TolerationSeconds, with effect NoExecute only, bounds the toleration: the
	// replicas leave once that many seconds have passed since the taint was added
	// (Snapshot.Now against Taint.Added); until then the taint acts as NoSelect.
	TolerationSeconds *int64 `json:"tolerationSeconds,omitempty"`
}

// AppWeights scale one application's part of the objective. Each term multiplies the
// request's weight of that term (Request.Weights); nil means 1. Scorers multiplies the
// engine's weight of the scorer with that name (Options.Scorers, or the built-in
// "preferred" and "taints") for this application's replicas.
type AppWeights struct {
	Network   *float64           `json:"network,omitempty"`
	Compute   *float64           `json:"compute,omitempty"`
	Migration *float64           `json:"migration,omitempty"`
	Scorers   map[string]float64 `json:"scorers,omitempty"`
}

// Names of the policy plugins.
const (
	// FilterLabels rules out clusters that Allowed.Selector does not match.
	FilterLabels = "labels"
	// FilterTaints rules out clusters with a NoSelect or NoExecute taint the component
	// does not tolerate.
	FilterTaints = "taints"
	// ScorerPreferred costs the preferred terms a cluster does not match.
	ScorerPreferred = "preferred"
	// ScorerTaints costs PreferNoSelect taints not tolerated, and replicas kept on a
	// cluster whose taint lets them stay but takes no new ones (so new replicas go
	// elsewhere when they can).
	ScorerTaints = "taints"
)

// Matches reports whether the labels satisfy the selector; a nil selector matches.
// It allocates nothing (the filter pass calls it for every cluster); firstUnmatched
// says which requirement failed.
func (s *LabelSelector) Matches(l map[string]string) bool {
	if s == nil {
		return true
	}
	for k, want := range s.MatchLabels {
		if v, ok := l[k]; !ok || v != want {
			return false
		}
	}
	for i := range s.MatchExpressions {
		if !s.MatchExpressions[i].matches(l) {
			return false
		}
	}
	return true
}

// firstUnmatched returns the first requirement the labels do not meet, in Kubernetes'
// selector syntax ("gpu.vendor in (nvidia)"), or "".
func (s *LabelSelector) firstUnmatched(l map[string]string) string {
	if s == nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		if v, ok := l[k]; !ok || v != s.MatchLabels[k] {
			return k + "=" + s.MatchLabels[k]
		}
	}
	for _, r := range s.MatchExpressions {
		if !r.matches(l) {
			return r.String()
		}
	}
	return ""
}

func (r *LabelSelectorRequirement) matches(l map[string]string) bool {
	v, ok := l[r.Key]
	switch r.Operator {
	case SelectorIn:
		return ok && slices.Contains(r.Values, v)
	case SelectorNotIn:
		return !ok || !slices.Contains(r.Values, v)
	case SelectorExists:
		return ok
	case SelectorDoesNotExist:
		return !ok
	}
	return false
}

// String writes the requirement in Kubernetes' selector syntax.
func (r LabelSelectorRequirement) String() string {
	vals := slices.Sorted(slices.Values(r.Values))
	switch r.Operator {
	case SelectorIn:
		return r.Key + " in (" + strings.Join(vals, ",") + ")"
	case SelectorNotIn:
		return r.Key + " notin (" + strings.Join(vals, ",") + ")"
	case SelectorExists:
		return r.Key
	case SelectorDoesNotExist:
		return "!" + r.Key
	}
	return r.Key + " " + string(r.Operator) + " (" + strings.Join(vals, ",") + ")"
}

// String writes the selector in Kubernetes' selector syntax ("" for every cluster).
func (s *LabelSelector) String() string {
	if s == nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		parts = append(parts, k+"="+s.MatchLabels[k])
	}
	for _, r := range s.MatchExpressions {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ",")
}

// Selector converts s to an apimachinery labels.Selector (nil s: labels.Everything),
// with apimachinery's validation of keys, values and operators.
func (s *LabelSelector) Selector() (k8slabels.Selector, error) {
	if s == nil {
		return k8slabels.Everything(), nil
	}
	sel := k8slabels.NewSelector()
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		r, err := k8slabels.NewRequirement(k, selection.Equals, []string{s.MatchLabels[k]})
		if err != nil {
			return nil, fmt.Errorf("placement: matchLabels.%s: %w", k, err)
		}
		sel = sel.Add(*r)
	}
	for i, e := range s.MatchExpressions {
		var op selection.Operator
		switch e.Operator {
		case SelectorIn:
			op = selection.In
		case SelectorNotIn:
			op = selection.NotIn
		case SelectorExists:
			op = selection.Exists
		case SelectorDoesNotExist:
			op = selection.DoesNotExist
		default:
			return nil, fmt.Errorf("placement: matchExpressions[%d].operator: must be In, NotIn, Exists or DoesNotExist, got %q", i, e.Operator)
		}
		r, err := k8slabels.NewRequirement(e.Key, op, e.Values)
		if err != nil {
			return nil, fmt.Errorf("placement: matchExpressions[%d]: %w", i, err)
		}
		sel = sel.Add(*r)
	}
	return sel, nil
}

// matches reports whether the toleration tolerates the taint (its period aside).
func (t *Toleration) matches(taint topology.Taint) bool {
	return taint.Tolerates(t.Key, string(t.Operator), t.Value, t.Effect)
}

// taintVerdict is what a taint means for a component on a cluster.
type taintVerdict int

const (
	taintOK      taintVerdict = iota // tolerated, or PreferNoSelect
	taintNoNew                       // no new replicas; those already there may stay
	taintExclude                     // must not run there
)

// taintJudge is judgeTaint without the reason: the verdict and, for a NoExecute
// taint tolerated for a while, the toleration with the longest period.
func taintJudge(ts []Toleration, taint topology.Taint, now time.Time) (taintVerdict, *Toleration) {
	if taint.Effect == topology.PreferNoSelect {
		return taintOK, nil
	}
	var best *Toleration
	for i := range ts {
		if !ts[i].matches(taint) {
			continue
		}
		if ts[i].TolerationSeconds == nil || taint.Effect != topology.NoExecute {
			return taintOK, nil
		}
		if best == nil || *ts[i].TolerationSeconds > *best.TolerationSeconds {
			best = &ts[i]
		}
	}
	switch {
	case best != nil:
		if now.IsZero() || taint.Added.IsZero() || now.Before(tolerationEnd(taint, best)) {
			return taintNoNew, best
		}
		return taintExclude, best
	case taint.Effect == topology.NoSelect:
		return taintNoNew, nil
	default:
		return taintExclude, nil
	}
}

func tolerationEnd(taint topology.Taint, t *Toleration) time.Time {
	return taint.Added.Add(time.Duration(*t.TolerationSeconds) * time.Second)
}

// judgeTaint says what taint means for a component with tolerations ts at time now
// (zero: unknown), and why when it is not tolerated.
func judgeTaint(ts []Toleration, taint topology.Taint, now time.Time) (taintVerdict, string) {
	v, best := taintJudge(ts, taint, now)
	switch {
	case v == taintOK:
		return v, ""
	case best != nil && (now.IsZero() || taint.Added.IsZero()):
		return v, fmt.Sprintf("taint %s tolerated for %ds (period running)", taint, *best.TolerationSeconds)
	case best != nil && v == taintNoNew:
		return v, fmt.Sprintf("taint %s tolerated until %s", taint, tolerationEnd(taint, best).UTC().Format(time.RFC3339))
	case best != nil:
		return v, fmt.Sprintf("taint %s: toleration of %ds expired at %s", taint, *best.TolerationSeconds, tolerationEnd(taint, best).UTC().Format(time.RFC3339))
	case taint.Effect == topology.NoSelect:
		return v, fmt.Sprintf("taint %s not tolerated (no new replicas)", taint)
	default:
		return v, fmt.Sprintf("taint %s not tolerated (replicas must leave)", taint)
	}
}

// hasCurrent reports whether Request.Current has a replica of the candidate's
// component on its cluster.
func (c *Candidate) hasCurrent() bool {
	if c.p == nil {
		return false
	}
	k := &c.p.comps[c.comp]
	for r := range k.n {
		if c.p.insts[k.first+r].current == c.ClusterIndex {
			return true
		}
	}
	return false
}

// labelsFilter enforces Allowed.Selector.
type labelsFilter struct{}

func (labelsFilter) Name() string { return FilterLabels }

func (labelsFilter) passesAll(p *problem, k int) bool {
	sel := p.comps[k].c.Allowed.Selector
	return sel == nil || len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0
}

func (labelsFilter) ok(c *Candidate) bool {
	return c.Component.Allowed.Selector.Matches(c.Cluster.Labels)
}

func (labelsFilter) Filter(c *Candidate) string {
	if r := c.Component.Allowed.Selector.firstUnmatched(c.Cluster.Labels); r != "" {
		return "label selector: " + r + " not matched"
	}
	return ""
}

// taintsFilter rules out clusters whose NoSelect or NoExecute taints the component does
// not tolerate. A NoSelect taint (or a NoExecute one within its toleration period)
// takes no new replicas, but lets a component keep the cluster while Request.Current
// has replicas of it there: filters see components, not replicas, so while the
// exemption holds the engine may put further replicas of that component there; the
// "taints" scorer's cost sends them elsewhere when they fit elsewhere.
type taintsFilter struct{}

func (taintsFilter) Name() string { return FilterTaints }

func (taintsFilter) passesAll(p *problem, _ int) bool { return !p.anyTaints() }

// blockingTaint returns the first of the cluster's taints that keeps the candidate
// off it: one that excludes the component, or admits no new replicas while the
// component has none there.
func blockingTaint(c *Candidate) (topology.Taint, bool) {
	for _, t := range c.Cluster.Taints {
		switch v, _ := taintJudge(c.Component.Tolerations, t, c.Snapshot.Now); v {
		case taintExclude:
			return t, true
		case taintNoNew:
			if !c.hasCurrent() {
				return t, true
			}
		}
	}
	return topology.Taint{}, false
}

// ok is Filter's verdict without formatting a reason.
func (taintsFilter) ok(c *Candidate) bool {
	_, blocked := blockingTaint(c)
	return !blocked
}

func (taintsFilter) Filter(c *Candidate) string {
	t, blocked := blockingTaint(c)
	if !blocked {
		return ""
	}
	_, why := judgeTaint(c.Component.Tolerations, t, c.Snapshot.Now)
	return why
}

// preferredScorer costs the preferred terms a cluster does not match.
type preferredScorer struct{}

func (preferredScorer) Name() string { return ScorerPreferred }

func (preferredScorer) Score(c *Candidate) float64 {
	sum := 0
	for i := range c.Component.Preferred {
		if t := &c.Component.Preferred[i]; !t.Selector.Matches(c.Cluster.Labels) {
			sum += t.Weight
		}
	}
	return float64(sum) / 100
}

// taintsScorer costs 1 per PreferNoSelect taint not tolerated, and 1 per taint that
// takes no new replicas where the component keeps replicas.
type taintsScorer struct{}

func (taintsScorer) Name() string { return ScorerTaints }

func (taintsScorer) Score(c *Candidate) float64 {
	cost := 0.0
	for _, t := range c.Cluster.Taints {
		if t.Effect == topology.PreferNoSelect {
			if !slices.ContainsFunc(c.Component.Tolerations, func(tl Toleration) bool { return tl.matches(t) }) {
				cost++
			}
			continue
		}
		if v, _ := judgeTaint(c.Component.Tolerations, t, c.Snapshot.Now); v == taintNoNew {
			cost++
		}
	}
	return cost
}

// appScaled applies an application's weights.scorers to a scorer.
type appScaled struct{ s Scorer }

func (a appScaled) Name() string { return a.s.Name() }

func (a appScaled) Score(c *Candidate) float64 {
	if w := c.App.Weights; w != nil {
		if f, ok := w.Scorers[a.s.Name()]; ok {
			return f * a.s.Score(c)
		}
	}
	return a.s.Score(c)
}

// policyScorers returns the scorers of a compiled request: the engine's, then the
// built-in policy scorers the request needs ("preferred" when a component has
// preferred terms, "taints" when a cluster has a taint), each scaled by the
// applications' weights.scorers. A weights.scorers entry naming none of them is an
// error.
func (p *problem) policyScorers(scorers []WeightedScorer) ([]WeightedScorer, error) {
	out := slices.Clone(scorers)
	preferred, tainted, scaled := false, false, false
	for i := range p.req.Apps {
		a := &p.req.Apps[i]
		for j := range a.Components {
			preferred = preferred || len(a.Components[j].Preferred) > 0
		}
		scaled = scaled || a.Weights != nil && len(a.Weights.Scorers) > 0
	}
	for i := range p.clusters {
		tainted = tainted || len(p.clusters[i].Taints) > 0
	}
	if preferred && !slices.ContainsFunc(out, func(s WeightedScorer) bool { return s.Scorer.Name() == ScorerPreferred }) {
		out = append(out, WeightedScorer{Scorer: preferredScorer{}, Weight: 1})
	}
	if tainted && !slices.ContainsFunc(out, func(s WeightedScorer) bool { return s.Scorer.Name() == ScorerTaints }) {
		out = append(out, WeightedScorer{Scorer: taintsScorer{}, Weight: 1})
	}
	if !scaled {
		return out, nil
	}
	names := make([]string, len(out))
	for i, s := range out {
		names[i] = s.Scorer.Name()
	}
	var errs ErrorList
	for i := range p.req.Apps {
		a := &p.req.Apps[i]
		if a.Weights == nil {
			continue
		}
		for _, n := range slices.Sorted(maps.Keys(a.Weights.Scorers)) {
			if !slices.Contains(names, n) && n != ScorerPreferred && n != ScorerTaints {
				errs.Add(fmt.Sprintf("apps[%d].weights.scorers.%s", i, n),
					fmt.Sprintf("no scorer named %s in this engine (scorers: %s)", quote(n), strings.Join(append(names, ScorerPreferred, ScorerTaints), ", ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for i := range out {
		out[i].Scorer = appScaled{out[i].Scorer}
	}
	return out, nil
}

// appWeight returns application a's factor for an objective term.
func appWeight(a *Application, term string) float64 {
	if a.Weights == nil {
		return 1
	}
	var w *float64
	switch term {
	case "network":
		w = a.Weights.Network
	case "compute":
		w = a.Weights.Compute
	case "migration":
		w = a.Weights.Migration
	}
	if w == nil {
		return 1
	}
	return *w
}

// MayStay reports whether replicas of component c already on a cluster with the taint
// may stay there at time now (zero: unknown): under PreferNoSelect and NoSelect always;
// under NoExecute when a toleration matches, one with tolerationSeconds only until the
// period has passed since taint.Added.
func MayStay(c *Component, taint topology.Taint, now time.Time) bool {
	v, _ := judgeTaint(c.Tolerations, taint, now)
	return v != taintExclude
}

// anyTaints reports whether some cluster has a taint (computed once per problem).
func (p *problem) anyTaints() bool {
	if p.tainted == 0 {
		p.tainted = 1
		for i := range p.clusters {
			if len(p.clusters[i].Taints) > 0 {
				p.tainted = 2
				break
			}
		}
	}
	return p.tainted == 2
}
