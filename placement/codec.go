package placement

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/internal/decode"
	"github.com/continuum-xr/continuum/topology"
)

// DecodeApplication reads an application from YAML or JSON. Decoding is strict (unknown
// fields, duplicate keys, wrong types are errors) and every problem is reported at once
// with its field path, in an ErrorList. References to sites are checked by Place, which
// knows the topology.
func DecodeApplication(data []byte) (Application, error) {
	root, problems := decode.Parse(data)
	if len(problems) > 0 {
		return Application{}, fromProblems(problems).Sorted()
	}
	d := appDecoder{decode.New()}
	app := d.application(root)
	errs := fromProblems(d.Problems)
	errs = append(errs, validateApp("", &app, d.Bad)...)
	return app, errs.Sorted()
}

// LoadApplication reads and decodes the application file at path.
func LoadApplication(path string) (Application, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Application{}, fmt.Errorf("placement: %w", err)
	}
	app, err := DecodeApplication(data)
	if err != nil {
		return app, fmt.Errorf("%s: %w", path, err)
	}
	return app, nil
}

// EncodeApplication writes app as YAML that DecodeApplication reads back unchanged.
func EncodeApplication(app Application) ([]byte, error) {
	js, err := json.Marshal(app)
	if err != nil {
		return nil, fmt.Errorf("placement: encode: %w", err)
	}
	return yaml.JSONToYAML(js)
}

func fromProblems(ps []decode.Problem) ErrorList { return ErrorList(decode.FromProblems(ps)) }

type appDecoder struct{ *decode.Decoder }

var (
	field = decode.Field
	index = decode.Index
)

func (d appDecoder) duration(p string, v any) topology.Duration {
	return decode.Scalar(d.Decoder, p, v, `a duration string like "15ms"`, topology.ParseDuration)
}

func (d appDecoder) application(v any) Application {
	var a Application
	if v == nil {
		d.Fail("", "empty document")
		return a
	}
	m, ok := d.Object("", v, "apiVersion", "kind", "metadata", "home", "components", "flows", "chains")
	if !ok {
		return a
	}
	a.APIVersion = d.Str("apiVersion", m["apiVersion"])
	a.Kind = d.Str("kind", m["kind"])
	if a.APIVersion != APIVersion && !d.Bad["apiVersion"] {
		d.Fail("apiVersion", "must be %q, got %q", APIVersion, a.APIVersion)
	}
	if a.Kind != Kind && !d.Bad["kind"] {
		d.Fail("kind", "must be %q, got %q", Kind, a.Kind)
	}
	if mm, ok := d.Object("metadata", m["metadata"], "name", "namespace", "labels"); ok {
		a.Metadata = Metadata{Name: d.Str("metadata.name", mm["name"]), Namespace: d.Str("metadata.namespace", mm["namespace"]),
			Labels: d.StringMap("metadata.labels", mm["labels"])}
	}
	a.Home = d.Str("home", m["home"])
	for i, cv := range d.List("components", m["components"]) {
		a.Components = append(a.Components, d.component(index("components", i), cv))
	}
	for i, fv := range d.List("flows", m["flows"]) {
		p := index("flows", i)
		var f Flow
		if fm, ok := d.Item(p, fv, "from", "to", "bandwidth", "maxRTT", "protocol"); ok {
			f = Flow{From: d.Str(field(p, "from"), fm["from"]), To: d.Str(field(p, "to"), fm["to"]),
				Bandwidth: decode.Scalar(d.Decoder, field(p, "bandwidth"), fm["bandwidth"], `a bandwidth string like "10Gbps"`, topology.ParseBandwidth),
				MaxRTT:    d.duration(field(p, "maxRTT"), fm["maxRTT"]), Protocol: Protocol(d.Str(field(p, "protocol"), fm["protocol"]))}
		}
		a.Flows = append(a.Flows, f)
	}
	for i, cv := range d.List("chains", m["chains"]) {
		p := index("chains", i)
		var c Chain
		if cm, ok := d.Item(p, cv, "name", "path", "budget"); ok {
			c = Chain{Name: d.Str(field(p, "name"), cm["name"]), Path: d.Strings(field(p, "path"), cm["path"]),
				Budget: d.duration(field(p, "budget"), cm["budget"])}
		}
		a.Chains = append(a.Chains, c)
	}
	return a
}

func (d appDecoder) component(p string, v any) Component {
	var c Component
	m, ok := d.Item(p, v, "name", "replicas", "requests", "ports", "processingTime", "allowed", "spread",
		"antiAffinity", "coLocate", "nodePool", "stateSize")
	if !ok {
		return c
	}
	c.Name = d.Str(field(p, "name"), m["name"])
	c.Replicas = d.Int(field(p, "replicas"), m["replicas"])
	if qs := d.Quantities(field(p, "requests"), m["requests"]); qs != nil {
		c.Requests = topology.ResourceList{}
		for k, q := range qs {
			c.Requests[topology.ResourceName(k)] = q
		}
	}
	for i, pv := range d.List(field(p, "ports"), m["ports"]) {
		pp := index(field(p, "ports"), i)
		var port Port
		if pm, ok := d.Item(pp, pv, "name", "port", "protocol", "expose"); ok {
			port = Port{Name: d.Str(field(pp, "name"), pm["name"]), Port: d.Int(field(pp, "port"), pm["port"]),
				Protocol: Protocol(d.Str(field(pp, "protocol"), pm["protocol"])), Expose: d.Bool(field(pp, "expose"), pm["expose"])}
		}
		c.Ports = append(c.Ports, port)
	}
	c.ProcessingTime = d.duration(field(p, "processingTime"), m["processingTime"])
	ap := field(p, "allowed")
	if am, ok := d.Object(ap, m["allowed"], "tiers", "owners", "regions", "clusters"); ok {
		for _, t := range d.Strings(field(ap, "tiers"), am["tiers"]) {
			c.Allowed.Tiers = append(c.Allowed.Tiers, topology.Tier(t))
		}
		c.Allowed.Owners = d.Strings(field(ap, "owners"), am["owners"])
		c.Allowed.Regions = d.Strings(field(ap, "regions"), am["regions"])
		c.Allowed.Clusters = d.Strings(field(ap, "clusters"), am["clusters"])
	}
	c.Spread = d.Bool(field(p, "spread"), m["spread"])
	c.AntiAffinity = d.Strings(field(p, "antiAffinity"), m["antiAffinity"])
	c.CoLocate = d.Strings(field(p, "coLocate"), m["coLocate"])
	c.NodePool = d.StringMap(field(p, "nodePool"), m["nodePool"])
	if q, ok := d.Quantity(field(p, "stateSize"), m["stateSize"]); ok {
		c.StateSize = q
	}
	return c
}

func validName(s string) bool { return decode.IsDNSLabel(s) }

// uniqueName checks that the name of list[i] (at path p) is a DNS label not used by an
// earlier element, and records it in seen.
func uniqueName(add func(string, string, ...any), seen map[string]int, p, kind, list, name string, i int) {
	if !validName(name) {
		add(p+".name", "%q must be a DNS-1123 label", name)
	} else if j, dup := seen[name]; dup {
		add(p+".name", "duplicate %s %q (also %s[%d])", kind, name, list, j)
	} else {
		seen[name] = i
	}
}

// MaxReplicas bounds a component's replica count.
const MaxReplicas = 10000

// validateApp checks the rules of one application that need no topology; prefix is
// prepended to every path ("apps[2]." in a request). Paths in skip are not reported.
func validateApp(prefix string, a *Application, skip map[string]bool) ErrorList {
	var errs ErrorList
	add := func(path, format string, args ...any) {
		if !skip[path] {
			errs.Add(prefix+path, fmt.Sprintf(format, args...))
		}
	}
	if !validName(a.Metadata.Name) {
		add("metadata.name", "%q must be a DNS-1123 label", a.Metadata.Name)
	}
	if a.Metadata.Namespace != "" && !validName(a.Metadata.Namespace) {
		add("metadata.namespace", "%q must be a DNS-1123 label", a.Metadata.Namespace)
	}
	if a.Home != "" && !validName(a.Home) {
		add("home", "%q must be a cluster name (a DNS-1123 label)", a.Home)
	}
	if len(a.Components) == 0 {
		add("components", "at least one component is required")
	}
	comps := map[string]int{}
	for i, c := range a.Components {
		p := index("components", i)
		if skip[p] {
			continue
		}
		uniqueName(add, comps, p, "component", "components", c.Name, i)
	}
	for i := range a.Components {
		p := index("components", i)
		if skip[p] {
			continue
		}
		c := &a.Components[i]
		if c.Replicas < 0 || c.Replicas > MaxReplicas {
			add(p+".replicas", "%d is outside [0, %d] (0 means 1)", c.Replicas, MaxReplicas)
		}
		for _, name := range slices.Sorted(maps.Keys(c.Requests)) {
			if q := c.Requests[name]; q.Sign() < 0 {
				add(p+".requests."+string(name), "%s is negative", q.String())
			}
		}
		for j, port := range c.Ports {
			pp := index(p+".ports", j)
			if port.Port < 1 || port.Port > 65535 {
				add(pp+".port", "%d is outside [1, 65535]", port.Port)
			}
			if port.Protocol != "" && port.Protocol != TCP && port.Protocol != UDP {
				add(pp+".protocol", "must be TCP or UDP, got %q", port.Protocol)
			}
		}
		if c.ProcessingTime < 0 {
			add(p+".processingTime", "%s is negative", c.ProcessingTime)
		}
		if c.StateSize.Sign() < 0 {
			add(p+".stateSize", "%s is negative", c.StateSize.String())
		}
		for field, names := range map[string][]string{"antiAffinity": c.AntiAffinity, "coLocate": c.CoLocate} {
			for j, n := range names {
				fp := index(p+"."+field, j)
				k, ok := comps[n]
				switch {
				case !ok:
					add(fp, "unknown component %q", n)
				case n == c.Name:
					add(fp, "a component cannot name itself")
				case field == "coLocate" && a.Components[k].replicas() != c.replicas():
					add(fp, "co-located components need the same replica count (replica k runs with replica k): %q has %d, %q has %d",
						c.Name, c.replicas(), n, a.Components[k].replicas())
				}
			}
		}
	}
	for i, f := range a.Flows {
		p := index("flows", i)
		if skip[p] {
			continue
		}
		_, fromComp := comps[f.From]
		_, toComp := comps[f.To]
		for _, e := range []struct{ field, name string }{{"from", f.From}, {"to", f.To}} {
			if e.name == "" {
				add(p+"."+e.field, "required (a component or a site)")
			}
		}
		switch {
		case f.From == "" || f.To == "":
		case f.From == f.To:
			add(p+".to", "a flow from %q to itself", f.To)
		case !fromComp && !toComp:
			add(p, "neither %q nor %q is a component of the application; a flow needs at least one", f.From, f.To)
		}
		if f.Bandwidth < 0 {
			add(p+".bandwidth", "%s is negative", f.Bandwidth)
		}
		if f.MaxRTT < 0 {
			add(p+".maxRTT", "%s is negative", f.MaxRTT)
		}
		if f.Protocol != "" && f.Protocol != TCP && f.Protocol != UDP {
			add(p+".protocol", "must be TCP or UDP, got %q", f.Protocol)
		}
	}
	chains := map[string]int{}
	for i, c := range a.Chains {
		p := index("chains", i)
		if skip[p] {
			continue
		}
		uniqueName(add, chains, p, "chain", "chains", c.Name, i)
		if len(c.Path) < 2 && !skip[p+".path"] {
			add(p+".path", "needs at least two elements (e.g. [geneva, renderer, geneva])")
		}
		hasComp := false
		for j, e := range c.Path {
			if e == "" {
				add(index(p+".path", j), "empty element")
			}
			if _, ok := comps[e]; ok {
				hasComp = true
			}
		}
		if !hasComp && len(c.Path) >= 2 {
			add(p+".path", "names no component of the application")
		}
		if c.Budget <= 0 && !skip[p+".budget"] {
			add(p+".budget", "required, > 0")
		}
	}
	return errs
}
