package placement

import (
	"maps"
	"slices"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/topology"
)

// Decoding and validation of the policy fields: label selectors, preferred terms,
// tolerations and application weights.

func (d appDecoder) selector(p string, v any) *LabelSelector {
	m, ok := d.Object(p, v, "matchLabels", "matchExpressions")
	if !ok {
		return nil
	}
	s := &LabelSelector{MatchLabels: d.StringMap(field(p, "matchLabels"), m["matchLabels"])}
	for i, ev := range d.ListMax(field(p, "matchExpressions"), m["matchExpressions"], MaxListEntries) {
		ep := index(field(p, "matchExpressions"), i)
		var r LabelSelectorRequirement
		if em, ok := d.Item(ep, ev, "key", "operator", "values"); ok {
			r = LabelSelectorRequirement{Key: d.Str(field(ep, "key"), em["key"]), Operator: SelectorOperator(d.Str(field(ep, "operator"), em["operator"])),
				Values: d.StringsMax(field(ep, "values"), em["values"], MaxListEntries)}
		}
		s.MatchExpressions = append(s.MatchExpressions, r)
	}
	return s
}

func (d appDecoder) preferred(p string, v any) []PreferredTerm {
	var out []PreferredTerm
	for i, tv := range d.ListMax(p, v, MaxListEntries) {
		tp := index(p, i)
		var t PreferredTerm
		if tm, ok := d.Item(tp, tv, "weight", "selector"); ok {
			t.Weight = d.Int(field(tp, "weight"), tm["weight"])
			if s := d.selector(field(tp, "selector"), tm["selector"]); s != nil {
				t.Selector = *s
			}
		}
		out = append(out, t)
	}
	return out
}

func (d appDecoder) tolerations(p string, v any) []Toleration {
	var out []Toleration
	for i, tv := range d.ListMax(p, v, MaxListEntries) {
		tp := index(p, i)
		var t Toleration
		if tm, ok := d.Item(tp, tv, "key", "operator", "value", "effect", "tolerationSeconds"); ok {
			t = Toleration{Key: d.Str(field(tp, "key"), tm["key"]), Operator: TolerationOperator(d.Str(field(tp, "operator"), tm["operator"])),
				Value: d.Str(field(tp, "value"), tm["value"]), Effect: topology.TaintEffect(d.Str(field(tp, "effect"), tm["effect"]))}
			if tm["tolerationSeconds"] != nil {
				s := int64(d.Int(field(tp, "tolerationSeconds"), tm["tolerationSeconds"]))
				t.TolerationSeconds = &s
			}
		}
		out = append(out, t)
	}
	return out
}

func (d appDecoder) weights(p string, v any) *AppWeights {
	m, ok := d.Object(p, v, "network", "compute", "migration", "scorers")
	if !ok {
		return nil
	}
	w := &AppWeights{}
	for _, t := range []struct {
		name string
		to   **float64
	}{{"network", &w.Network}, {"compute", &w.Compute}, {"migration", &w.Migration}} {
		if m[t.name] != nil {
			f := d.Number(field(p, t.name), m[t.name])
			*t.to = &f
		}
	}
	if sv := m["scorers"]; sv != nil {
		sm, ok := sv.(map[string]any)
		if !ok {
			d.Fail(field(p, "scorers"), "must be an object of scorer names to weights, got %s", decode.KindOf(sv))
			return w
		}
		if len(sm) > MaxListEntries {
			d.Fail(field(p, "scorers"), "%d entries, more than the limit of %d", len(sm), MaxListEntries)
			return w
		}
		w.Scorers = map[string]float64{}
		for _, k := range slices.Sorted(maps.Keys(sm)) {
			w.Scorers[k] = d.Number(field(field(p, "scorers"), k), sm[k])
		}
	}
	return w
}

// validatePolicy checks a component's selector, preferred terms and tolerations.
func validatePolicy(add func(string, string, ...any), p string, c *Component) {
	if c.Allowed.Selector != nil {
		validateSelector(add, p+".allowed.selector", c.Allowed.Selector)
	}
	if len(c.Preferred) > MaxListEntries {
		add(p+".preferred", "%d entries, more than the limit of %d", len(c.Preferred), MaxListEntries)
	} else {
		for i := range c.Preferred {
			tp := index(p+".preferred", i)
			if w := c.Preferred[i].Weight; w < 1 || w > 100 {
				add(tp+".weight", "%d is outside [1, 100]", w)
			}
			validateSelector(add, tp+".selector", &c.Preferred[i].Selector)
		}
	}
	if len(c.Tolerations) > MaxListEntries {
		add(p+".tolerations", "%d entries, more than the limit of %d", len(c.Tolerations), MaxListEntries)
		return
	}
	for i, t := range c.Tolerations {
		tp := index(p+".tolerations", i)
		switch t.Operator {
		case "", TolerationEqual:
			if t.Key == "" {
				add(tp+".key", "required with operator Equal (an empty key needs operator Exists, which tolerates every taint)")
			}
		case TolerationExists:
			if t.Value != "" {
				add(tp+".value", "must be empty with operator Exists, got %s", quote(t.Value))
			}
		default:
			add(tp+".operator", "must be Equal or Exists, got %s", quote(string(t.Operator)))
		}
		if t.Key != "" {
			if problem := topology.CheckTaintKey(t.Key); problem != "" {
				add(tp+".key", "%s", problem)
			}
		}
		if problem := topology.CheckTaintValue(t.Value); problem != "" && t.Value != "" {
			add(tp+".value", "%s", problem)
		}
		switch t.Effect {
		case "", topology.NoSelect, topology.PreferNoSelect, topology.NoExecute:
		default:
			add(tp+".effect", "must be NoSelect, PreferNoSelect or NoExecute (or empty for all), got %s", quote(string(t.Effect)))
		}
		if s := t.TolerationSeconds; s != nil {
			switch {
			case t.Effect != topology.NoExecute:
				add(tp+".tolerationSeconds", "only with effect NoExecute (got effect %s)", quote(string(t.Effect)))
			case *s < 0 || *s > 10*365*24*3600:
				add(tp+".tolerationSeconds", "%d is outside [0, %d] (ten years)", *s, 10*365*24*3600)
			}
		}
	}
}

// validateSelector checks a label selector with Kubernetes' rules: label keys and
// values, known operators, values with In/NotIn only.
func validateSelector(add func(string, string, ...any), p string, s *LabelSelector) {
	if len(s.MatchLabels) > MaxListEntries {
		add(p+".matchLabels", "%d entries, more than the limit of %d", len(s.MatchLabels), MaxListEntries)
	} else {
		for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
			if problem := topology.CheckLabelKey(k); problem != "" {
				add(p+".matchLabels", "%s", problem)
			} else if problem := topology.CheckLabelValue(s.MatchLabels[k]); problem != "" {
				add(p+".matchLabels."+k, "%s", problem)
			}
		}
	}
	if len(s.MatchExpressions) > MaxListEntries {
		add(p+".matchExpressions", "%d entries, more than the limit of %d", len(s.MatchExpressions), MaxListEntries)
		return
	}
	for i, e := range s.MatchExpressions {
		ep := index(p+".matchExpressions", i)
		if e.Key == "" {
			add(ep+".key", "required")
		} else if problem := topology.CheckLabelKey(e.Key); problem != "" {
			add(ep+".key", "%s", problem)
		}
		switch e.Operator {
		case SelectorIn, SelectorNotIn:
			if len(e.Values) == 0 {
				add(ep+".values", "operator %s needs at least one value", e.Operator)
			}
		case SelectorExists, SelectorDoesNotExist:
			if len(e.Values) > 0 {
				add(ep+".values", "must be empty with operator %s", e.Operator)
			}
		case "":
			add(ep+".operator", "required (In, NotIn, Exists or DoesNotExist)")
		default:
			add(ep+".operator", "must be In, NotIn, Exists or DoesNotExist, got %s", quote(string(e.Operator)))
		}
		if len(e.Values) > MaxListEntries {
			add(ep+".values", "%d entries, more than the limit of %d", len(e.Values), MaxListEntries)
			continue
		}
		for j, v := range e.Values {
			if problem := topology.CheckLabelValue(v); problem != "" {
				add(index(ep+".values", j), "%s", problem)
			}
		}
	}
}

// validateWeights checks an application's weights: every factor >= 0 and finite.
func validateWeights(add func(string, string, ...any), w *AppWeights) {
	if w == nil {
		return
	}
	for _, t := range []struct {
		name string
		v    *float64
	}{{"network", w.Network}, {"compute", w.Compute}, {"migration", w.Migration}} {
		if t.v != nil {
			if problem := topology.CheckPrice(*t.v); problem != "" {
				add("weights."+t.name, "%s", problem)
			}
		}
	}
	if len(w.Scorers) > MaxListEntries {
		add("weights.scorers", "%d entries, more than the limit of %d", len(w.Scorers), MaxListEntries)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(w.Scorers)) {
		switch {
		case k == "" || len(k) > 253:
			add("weights.scorers", "scorer name %s must be 1 to 253 bytes long", quote(k))
		default:
			if problem := topology.CheckPrice(w.Scorers[k]); problem != "" {
				add("weights.scorers."+k, "%s", problem)
			}
		}
	}
}
