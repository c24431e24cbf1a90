package placement

import (
	"fmt"

	"github.com/continuum-xr/continuum/internal/decode"
)

// planFields are the fields of a plan document: a Plan as encoded to JSON (or YAML),
// with the "unplaceable" section continuumctl adds to an infeasible plan.
var planFields = []string{"feasible", "assignments", "objective", "flows", "chains", "links", "uplinks", "clusters",
	"moves", "explanations", "search", "unplaceable"}

// DecodePlan reads a plan written as JSON or YAML (Plan's encoding, as `continuumctl
// plan -o json` prints it), for use as Request.Current. Decoding is strict, with the
// shared decoder of topologies and applications: unknown fields, wrong types, duplicate
// keys and more than one document are problems, every one reported with its field path
// in an ErrorList. The assignments are read in full (app, component, replica, cluster,
// nodePool) and must be unique replicas with replica >= 0; the other sections are what
// the engine derived from them, so only their kinds are checked and they are not read.
// Whether the assignments fit a request (known applications, components, clusters,
// replicas in range) is checked by Place, which knows the request and the topology.
func DecodePlan(data []byte) (*Plan, error) {
	root, problems := decode.Parse(data)
	if len(problems) > 0 {
		return nil, fromProblems(problems).Sorted()
	}
	d := appDecoder{decode.New()}
	plan := d.plan(root)
	errs := fromProblems(d.Finish())
	if err := errs.Sorted(); err != nil {
		return nil, err
	}
	return plan, nil
}

// LoadPlan reads and decodes the plan file at path, with the default LoadOptions.
func LoadPlan(path string) (*Plan, error) { return LoadPlanWith(path, LoadOptions{}) }

// LoadPlanWith reads and decodes the plan file at path; a file larger than
// o.MaxFileSize is refused without reading the rest.
func LoadPlanWith(path string, o LoadOptions) (*Plan, error) {
	data, err := readFile(path, o)
	if err != nil {
		return nil, fmt.Errorf("placement: %w", err)
	}
	plan, err := DecodePlan(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return plan, nil
}

func (d appDecoder) plan(v any) *Plan {
	plan := &Plan{}
	if v == nil {
		d.Fail("", "empty document (null): a plan is an object with assignments")
		return plan
	}
	m, ok := d.Object("", v, planFields...)
	if !ok {
		return plan
	}
	plan.Feasible = d.Bool("feasible", m["feasible"])
	if _, present := m["assignments"]; !present {
		d.Fail("assignments", "required (a list, empty when nothing is placed)")
	} else if m["assignments"] == nil {
		d.Fail("assignments", "must be a list, got null")
	}
	list := d.ListMax("assignments", m["assignments"], MaxInstances)
	if list != nil {
		plan.Assignments = []Assignment{} // an empty list stays one when encoded again
	}
	seen := map[Assignment]int{}
	for i, av := range list {
		p := index("assignments", i)
		am, ok := d.Item(p, av, "app", "component", "replica", "cluster", "nodePool")
		if !ok {
			continue
		}
		a := Assignment{
			App:       d.Str(field(p, "app"), am["app"]),
			Component: d.Str(field(p, "component"), am["component"]),
			Replica:   d.Int(field(p, "replica"), am["replica"]),
			Cluster:   d.Str(field(p, "cluster"), am["cluster"]),
			NodePool:  d.Str(field(p, "nodePool"), am["nodePool"]),
		}
		for _, f := range []string{"app", "component", "replica"} {
			if am[f] == nil && !d.Bad[field(p, f)] {
				d.Fail(field(p, f), "required")
			}
		}
		if a.Replica < 0 {
			d.Fail(field(p, "replica"), "%d is negative", a.Replica)
		}
		key := Assignment{App: a.App, Component: a.Component, Replica: a.Replica}
		if j, dup := seen[key]; dup {
			d.Fail(p, "replica %s/%s[%d] is given twice (also assignments[%d])", quote(a.App), quote(a.Component), a.Replica, j)
		}
		seen[key] = i
		plan.Assignments = append(plan.Assignments, a)
	}
	kinds := []struct {
		name string
		want string
		ok   func(any) bool
	}{
		{"moves", "a number", func(x any) bool { return decode.KindOf(x) == "a number" }},
		{"objective", "an object", isObject}, {"search", "an object", isObject}, {"unplaceable", "an object", isObject},
		{"flows", "a list", isList}, {"chains", "a list", isList}, {"links", "a list", isList}, {"uplinks", "a list", isList},
		{"clusters", "a list", isList}, {"explanations", "a list", isList},
	}
	for _, k := range kinds {
		if x := m[k.name]; x != nil && !k.ok(x) {
			d.Fail(k.name, "must be %s, got %s", k.want, decode.KindOf(x))
		}
	}
	return plan
}

func isObject(x any) bool { _, ok := x.(map[string]any); return ok }
func isList(x any) bool   { _, ok := x.([]any); return ok }
