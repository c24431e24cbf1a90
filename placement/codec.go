package placement

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"k8s.io/apimachinery/pkg/api/resource"
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
	errs := fromProblems(d.Finish())
	errs = append(errs, validateApp("", &app, d.Bad)...)
	return app, errs.Sorted()
}

// LoadApplication reads and decodes the application file at path, with the default
// LoadOptions.
func LoadApplication(path string) (Application, error) {
	return LoadApplicationWith(path, LoadOptions{})
}

// LoadApplicationWith reads and decodes the application file at path; a file larger
// than o.MaxFileSize is refused without reading the rest.
func LoadApplicationWith(path string, o LoadOptions) (Application, error) {
	data, err := readFile(path, o)
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
	m, ok := d.Object("", v, "apiVersion", "kind", "metadata", "home", "weights", "components", "flows", "chains")
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
	a.Weights = d.weights("weights", m["weights"])
	for i, cv := range d.ListMax("components", m["components"], MaxComponents) {
		a.Components = append(a.Components, d.component(index("components", i), cv))
	}
	for i, fv := range d.ListMax("flows", m["flows"], MaxFlows) {
		p := index("flows", i)
		var f Flow
		if fm, ok := d.Item(p, fv, "from", "to", "bandwidth", "maxRTT", "protocol"); ok {
			f = Flow{From: d.Str(field(p, "from"), fm["from"]), To: d.Str(field(p, "to"), fm["to"]),
				Bandwidth: decode.Scalar(d.Decoder, field(p, "bandwidth"), fm["bandwidth"], `a bandwidth string like "10Gbps"`, topology.ParseBandwidth),
				MaxRTT:    d.duration(field(p, "maxRTT"), fm["maxRTT"]), Protocol: Protocol(d.Str(field(p, "protocol"), fm["protocol"]))}
		}
		a.Flows = append(a.Flows, f)
	}
	for i, cv := range d.ListMax("chains", m["chains"], MaxChains) {
		p := index("chains", i)
		var c Chain
		if cm, ok := d.Item(p, cv, "name", "path", "budget"); ok {
			c = Chain{Name: d.Str(field(p, "name"), cm["name"]), Path: d.StringsMax(field(p, "path"), cm["path"], MaxChainPath),
				Budget: d.duration(field(p, "budget"), cm["budget"])}
		}
		a.Chains = append(a.Chains, c)
	}
	return a
}

func (d appDecoder) component(p string, v any) Component {
	var c Component
	m, ok := d.Item(p, v, "name", "replicas", "requests", "ports", "processingTime", "allowed", "spread",
		"antiAffinity", "coLocate", "nodePool", "stateSize", "preferred", "tolerations", "scale")
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
	for i, pv := range d.ListMax(field(p, "ports"), m["ports"], MaxListEntries) {
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
	if am, ok := d.Object(ap, m["allowed"], "tiers", "owners", "regions", "clusters", "selector"); ok {
		c.Allowed.Selector = d.selector(field(ap, "selector"), am["selector"])
		for _, t := range d.StringsMax(field(ap, "tiers"), am["tiers"], MaxListEntries) {
			c.Allowed.Tiers = append(c.Allowed.Tiers, topology.Tier(t))
		}
		c.Allowed.Owners = d.StringsMax(field(ap, "owners"), am["owners"], MaxListEntries)
		c.Allowed.Regions = d.StringsMax(field(ap, "regions"), am["regions"], MaxListEntries)
		c.Allowed.Clusters = d.StringsMax(field(ap, "clusters"), am["clusters"], MaxListEntries)
	}
	c.Preferred = d.preferred(field(p, "preferred"), m["preferred"])
	c.Tolerations = d.tolerations(field(p, "tolerations"), m["tolerations"])
	c.Spread = d.Bool(field(p, "spread"), m["spread"])
	c.AntiAffinity = d.StringsMax(field(p, "antiAffinity"), m["antiAffinity"], MaxListEntries)
	c.CoLocate = d.StringsMax(field(p, "coLocate"), m["coLocate"], MaxListEntries)
	c.NodePool = d.StringMap(field(p, "nodePool"), m["nodePool"])
	if q, ok := d.Quantity(field(p, "stateSize"), m["stateSize"]); ok {
		c.StateSize = q
	}
	sp := field(p, "scale")
	if sm, ok := d.Object(sp, m["scale"], "min", "max", "metric", "perReplica", "sites"); ok {
		c.Scale = &Scale{Min: d.Int(field(sp, "min"), sm["min"]), Max: d.Int(field(sp, "max"), sm["max"]),
			Metric: ScaleMetric(d.Str(field(sp, "metric"), sm["metric"])), PerReplica: d.Number(field(sp, "perReplica"), sm["perReplica"]),
			Sites: d.StringsMax(field(sp, "sites"), sm["sites"], MaxListEntries)}
	}
	return c
}

func validName(s string) bool { return decode.IsDNSLabel(s) }

// validResourceName reports whether CheckResource's problem is about the amount, not
// the name.
func validResourceName(name topology.ResourceName) bool {
	var zero resource.Quantity
	return topology.CheckResource(name, zero) == ""
}

// labels checks a labels map (or a node-pool selector) of the Go API: at most
// MaxListEntries entries, keys of 1 to 253 bytes, values of at most MaxString bytes.
func labels(add func(string, string, ...any), path string, m map[string]string) {
	if len(m) > MaxListEntries {
		add(path, "%d entries, more than the limit of %d", len(m), MaxListEntries)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k == "" || len(k) > 253 {
			add(path, "key %s must be 1 to 253 bytes long", quote(k))
		} else if len(m[k]) > decode.MaxString {
			add(path+"."+k, "%s is longer than %d bytes", quote(m[k]), decode.MaxString)
		}
	}
}

// flowPairs returns the number of replica pairs flow f expands to.
func flowPairs(a *Application, comps map[string]int, f Flow) int {
	n := 1
	for _, e := range []string{f.From, f.To} {
		if k, ok := comps[e]; ok {
			r := a.Components[k].Replicas
			if r < 0 || r > MaxReplicas {
				return 0 // reported at the component
			}
			n *= max(r, 1)
		}
	}
	return n
}

// coLocateConflicts reports anti-affinity between components that co-location puts on
// one cluster (directly or through a chain of coLocate): such an application can never
// be placed, and the search assumes it does not happen.
func coLocateConflicts(add func(string, string, ...any), a *Application, comps map[string]int, skip map[string]bool) {
	n := len(a.Components)
	group := make([]int, n)
	for i := range group {
		group[i] = i
	}
	find := func(i int) int {
		for group[i] != i {
			group[i] = group[group[i]]
			i = group[i]
		}
		return i
	}
	for i, c := range a.Components {
		for _, o := range c.CoLocate {
			if k, ok := comps[o]; ok && k != i {
				group[find(i)] = find(k)
			}
		}
	}
	for i, c := range a.Components {
		p := index("components", i)
		if skip[p] {
			continue
		}
		for j, o := range c.AntiAffinity {
			if k, ok := comps[o]; ok && k != i && find(k) == find(i) {
				add(index(p+".antiAffinity", j), "%s must run on the same cluster as %s (coLocate), so it cannot also be anti-affine to it",
					quote(o), quote(c.Name))
			}
		}
	}
}

// uniqueName checks that the name of list[i] (at path p) is a DNS label not used by an
// earlier element, and records it in seen.
func uniqueName(add func(string, string, ...any), seen map[string]int, p, kind, list, name string, i int) {
	if !validName(name) {
		add(p+".name", "%s must be a DNS-1123 label", quote(name))
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
		add("metadata.name", "%s must be a DNS-1123 label", quote(a.Metadata.Name))
	}
	if a.Metadata.Namespace != "" && !validName(a.Metadata.Namespace) {
		add("metadata.namespace", "%s must be a DNS-1123 label", quote(a.Metadata.Namespace))
	}
	if a.Home != "" && !validName(a.Home) {
		add("home", "%s must be a cluster name (a DNS-1123 label)", quote(a.Home))
	}
	labels(add, "metadata.labels", a.Metadata.Labels)
	validateWeights(add, a.Weights)
	if len(a.Components) == 0 {
		add("components", "at least one component is required")
	}
	// Sizes: an application over a limit is not examined further.
	over := false
	for _, l := range []struct {
		path     string
		n, limit int
	}{{"components", len(a.Components), MaxComponents}, {"flows", len(a.Flows), MaxFlows}, {"chains", len(a.Chains), MaxChains}} {
		if l.n > l.limit {
			add(l.path, "%d entries, more than the limit of %d", l.n, l.limit)
			over = true
		}
	}
	for i, c := range a.Components {
		p := index("components", i)
		for _, l := range []struct {
			path string
			n    int
		}{{"ports", len(c.Ports)}, {"antiAffinity", len(c.AntiAffinity)}, {"coLocate", len(c.CoLocate)}, {"nodePool", len(c.NodePool)},
			{"allowed.tiers", len(c.Allowed.Tiers)}, {"allowed.owners", len(c.Allowed.Owners)}, {"allowed.regions", len(c.Allowed.Regions)},
			{"allowed.clusters", len(c.Allowed.Clusters)}} {
			if l.n > MaxListEntries {
				add(p+"."+l.path, "%d entries, more than the limit of %d", l.n, MaxListEntries)
				over = true
			}
		}
	}
	for i, c := range a.Chains {
		if len(c.Path) > MaxChainPath {
			add(index("chains", i)+".path", "%d elements, more than the limit of %d", len(c.Path), MaxChainPath)
			over = true
		}
	}
	if over {
		return errs
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
			if problem := topology.CheckResource(name, c.Requests[name]); problem != "" {
				fp := p + ".requests." + string(name)
				if len(name) > 253 || !validResourceName(name) {
					fp = p + ".requests"
				}
				add(fp, "%s", problem)
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
		if problem := topology.CheckDuration(c.ProcessingTime, topology.MinRTT, true); problem != "" {
			add(p+".processingTime", "%s", problem)
		}
		if problem := topology.CheckResource(topology.ResourceMemory, c.StateSize); problem != "" {
			add(p+".stateSize", "%s", problem)
		}
		if s := c.Scale; s != nil {
			switch {
			case s.Min < 1 || s.Min > MaxReplicas:
				add(p+".scale.min", "%d is outside [1, %d]", s.Min, MaxReplicas)
			case s.Max < s.Min || s.Max > MaxReplicas:
				add(p+".scale.max", "%d is outside [min %d, %d]", s.Max, s.Min, MaxReplicas)
			}
			if s.Metric != "" && s.Metric != ScaleUsers && s.Metric != ScaleRequests {
				add(p+".scale.metric", "must be users or requests, got %q", s.Metric)
			}
			if !(s.PerReplica > 0) || math.IsInf(s.PerReplica, 0) {
				add(p+".scale.perReplica", "must be > 0 and finite, got %g", s.PerReplica)
			}
			if len(s.Sites) > MaxListEntries {
				add(p+".scale.sites", "%d entries, more than the limit of %d", len(s.Sites), MaxListEntries)
			}
			for j, n := range s.Sites {
				if !validName(n) {
					add(index(p+".scale.sites", j), "%s must be a DNS-1123 label", quote(n))
				}
			}
		}
		labels(add, p+".nodePool", c.NodePool)
		validatePolicy(add, p, c)
		for j, t := range c.Allowed.Tiers {
			if !validName(string(t)) {
				add(index(p+".allowed.tiers", j), "%s must be a DNS-1123 label", quote(string(t)))
			}
		}
		for field, names := range map[string][]string{"allowed.owners": c.Allowed.Owners, "allowed.regions": c.Allowed.Regions, "allowed.clusters": c.Allowed.Clusters} {
			for j, n := range names {
				if len(n) > decode.MaxString {
					add(index(p+"."+field, j), "%s is longer than %d bytes", quote(n), decode.MaxString)
				}
			}
		}
		for j, port := range c.Ports {
			if len(port.Name) > decode.MaxString {
				add(index(p+".ports", j)+".name", "%s is longer than %d bytes", quote(port.Name), decode.MaxString)
			}
		}
		for field, names := range map[string][]string{"antiAffinity": c.AntiAffinity, "coLocate": c.CoLocate} {
			for j, n := range names {
				fp := index(p+"."+field, j)
				k, ok := comps[n]
				switch {
				case !ok:
					add(fp, "unknown component %s", quote(n))
				case n == c.Name:
					add(fp, "a component cannot name itself")
				case field == "coLocate" && a.Components[k].replicas() != c.replicas():
					add(fp, "co-located components need the same replica count (replica k runs with replica k): %q has %d, %q has %d",
						c.Name, c.replicas(), n, a.Components[k].replicas())
				}
			}
		}
	}
	coLocateConflicts(add, a, comps, skip)
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
			add(p+".to", "a flow from %s to itself", quote(f.To))
		case !fromComp && !toComp:
			add(p, "neither %s nor %s is a component of the application; a flow needs at least one", quote(f.From), quote(f.To))
		default:
			if pairs := flowPairs(a, comps, f); pairs > MaxFlowPairs {
				add(p, "expands to %d replica pairs, more than the limit of %d (fewer replicas, or one flow per pair of replicas that talk)", pairs, MaxFlowPairs)
			}
		}
		if f.Bandwidth == topology.Unlimited {
			add(p+".bandwidth", "a flow needs a finite rate (unlimited is for capacities)")
		} else if problem := topology.CheckBandwidth(f.Bandwidth); problem != "" {
			add(p+".bandwidth", "%s", problem)
		}
		if problem := checkBudget(f.MaxRTT, true); problem != "" {
			add(p+".maxRTT", "%s", problem)
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
			} else if len(e) > 253 {
				add(index(p+".path", j), "%s is not a component or site name", quote(e))
			}
			if _, ok := comps[e]; ok {
				hasComp = true
			}
		}
		if !hasComp && len(c.Path) >= 2 {
			add(p+".path", "names no component of the application")
		}
		if problem := checkBudget(c.Budget, false); problem != "" && !skip[p+".budget"] {
			add(p+".budget", "%s", problem)
		}
	}
	return errs
}
