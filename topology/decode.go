package topology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Decode reads a topology from YAML or JSON, validates it and precomputes its routes.
// Decoding is strict: unknown fields, duplicate keys, values of the wrong type, bad
// quantities, durations and bandwidths are errors. Every problem of the document is
// reported at once, each naming its field path, in an ErrorList (errors.Is(err,
// ErrInvalid) holds).
func Decode(data []byte) (*Topology, error) {
	spec, err := DecodeSpec(data)
	if err != nil {
		return nil, err
	}
	return New(spec)
}

// Load reads and decodes the topology file at path.
func Load(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topology: %w", err)
	}
	t, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// DecodeSpec reads a topology document without building it: syntax and field errors
// are reported, and then the same rules New checks, so a file is reported whole.
func DecodeSpec(data []byte) (Spec, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Spec{}, ErrorList{{Detail: strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")}}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return Spec{}, ErrorList{{Detail: "not a YAML or JSON document: " + err.Error()}}
	}
	if dec.More() {
		return Spec{}, ErrorList{{Detail: "more than one document"}}
	}
	d := &decoder{bad: map[string]bool{}}
	spec := d.spec(root)
	errs := d.errs
	errs = append(errs, validate(spec, d.bad)...)
	errs.sortByField()
	return spec, errs.err()
}

// Encode writes spec as YAML that Decode reads back to an equal Spec.
func Encode(spec Spec) ([]byte, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("topology: encode: %w", err)
	}
	return yaml.JSONToYAML(js)
}

// decoder walks the generic JSON tree, recording every problem with its path. Paths
// that failed to decode are remembered in bad so validation does not report them twice.
type decoder struct {
	errs ErrorList
	bad  map[string]bool
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs.add(path, fmt.Sprintf(format, args...))
	d.bad[path] = true
}

func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// object returns v as an object and reports fields not in known (in sorted order).
func (d *decoder) object(path string, v any, known ...string) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "must be an object, got %s", kindOf(v))
		return nil, false
	}
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		d.fail(field(path, k), "unknown field (known: %s)", strings.Join(known, ", "))
	}
	return m, true
}

// item is object for a list element, where null is an error too.
func (d *decoder) item(path string, v any, known ...string) (map[string]any, bool) {
	if v == nil {
		d.fail(path, "must be an object, got null")
		return nil, false
	}
	return d.object(path, v, known...)
}

func (d *decoder) list(path string, v any) []any {
	if v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		d.fail(path, "must be a list, got %s", kindOf(v))
		return nil
	}
	return l
}

func (d *decoder) str(path string, v any) string {
	if v == nil {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		d.fail(path, "must be a string, got %s", kindOf(v))
		return ""
	}
	return s
}

func (d *decoder) boolean(path string, v any) bool {
	if v == nil {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		d.fail(path, "must be true or false, got %s", kindOf(v))
		return false
	}
	return b
}

func (d *decoder) number(path string, v any) float64 {
	if v == nil {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		d.fail(path, "must be a number, got %s", kindOf(v))
		return 0
	}
	f, err := n.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		d.fail(path, "%s is not a finite number", n)
		return 0
	}
	return f
}

func (d *decoder) integer(path string, v any) int {
	if v == nil {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		d.fail(path, "must be an integer, got %s", kindOf(v))
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 32)
	if err != nil {
		d.fail(path, "%s is not an integer", n)
		return 0
	}
	return int(i)
}

func (d *decoder) duration(path string, v any) Duration {
	if v == nil {
		return 0
	}
	s, ok := v.(string)
	if !ok {
		d.fail(path, "must be a duration string like \"9.7ms\", got %s", kindOf(v))
		return 0
	}
	dur, err := ParseDuration(s)
	if err != nil {
		d.fail(path, "%v", err)
		return 0
	}
	return dur
}

func (d *decoder) bandwidth(path string, v any) Bandwidth {
	if v == nil {
		return 0
	}
	s, ok := v.(string)
	if !ok {
		d.fail(path, "must be a bandwidth string like \"10Gbps\", got %s", kindOf(v))
		return 0
	}
	b, err := ParseBandwidth(s)
	if err != nil {
		d.fail(path, "%v", err)
		return 0
	}
	return b
}

func (d *decoder) stringMap(path string, v any) map[string]string {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "must be an object of strings, got %s", kindOf(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out[k] = d.str(field(path, k), m[k])
	}
	return out
}

func (d *decoder) resources(path string, v any) ResourceList {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		d.fail(path, "must be an object of quantities, got %s", kindOf(v))
		return nil
	}
	out := make(ResourceList, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		p := field(path, k)
		var s string
		switch val := m[k].(type) {
		case string:
			s = val
		case json.Number:
			s = val.String()
		default:
			d.fail(p, "must be a quantity like \"64\" or \"256Gi\", got %s", kindOf(val))
			continue
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			d.fail(p, "%q is not a quantity (want e.g. 64, 500m, 256Gi)", s)
			continue
		}
		out[ResourceName(k)] = q
	}
	return out
}

func (d *decoder) location(path string, v any) *Location {
	m, ok := d.object(path, v, "lat", "lon")
	if !ok {
		return nil
	}
	return &Location{Lat: d.number(field(path, "lat"), m["lat"]), Lon: d.number(field(path, "lon"), m["lon"])}
}

func (d *decoder) spec(v any) Spec {
	var s Spec
	if v == nil {
		d.fail("", "empty document")
		return s
	}
	m, ok := d.object("", v, "apiVersion", "kind", "metadata", "owners", "clusters", "sites")
	if !ok {
		return s
	}
	s.APIVersion = d.str("apiVersion", m["apiVersion"])
	s.Kind = d.str("kind", m["kind"])
	if s.APIVersion != APIVersion && !d.bad["apiVersion"] {
		d.fail("apiVersion", "must be %q, got %q", APIVersion, s.APIVersion)
	}
	if s.Kind != Kind && !d.bad["kind"] {
		d.fail("kind", "must be %q, got %q", Kind, s.Kind)
	}
	if mm, ok := d.object("metadata", m["metadata"], "name", "labels"); ok {
		s.Metadata.Name = d.str("metadata.name", mm["name"])
		s.Metadata.Labels = d.stringMap("metadata.labels", mm["labels"])
	}
	for i, ov := range d.list("owners", m["owners"]) {
		p := index("owners", i)
		om, ok := d.item(p, ov, "name", "displayName", "labels")
		if !ok {
			s.Owners = append(s.Owners, Owner{})
			continue
		}
		s.Owners = append(s.Owners, Owner{
			Name:        d.str(field(p, "name"), om["name"]),
			DisplayName: d.str(field(p, "displayName"), om["displayName"]),
			Labels:      d.stringMap(field(p, "labels"), om["labels"]),
		})
	}
	for i, cv := range d.list("clusters", m["clusters"]) {
		s.Clusters = append(s.Clusters, d.cluster(index("clusters", i), cv))
	}
	for i, sv := range d.list("sites", m["sites"]) {
		s.Sites = append(s.Sites, d.site(index("sites", i), sv))
	}
	return s
}

func (d *decoder) cluster(p string, v any) Cluster {
	var c Cluster
	m, ok := d.item(p, v, "name", "owner", "tier", "region", "zone", "location", "distribution",
		"capacity", "nodePools", "udpExposure", "cpuPrice", "intraRTT", "uplink", "labels", "links")
	if !ok {
		return c
	}
	c.Name = d.str(field(p, "name"), m["name"])
	c.Owner = d.str(field(p, "owner"), m["owner"])
	c.Tier = Tier(d.str(field(p, "tier"), m["tier"]))
	c.Region = d.str(field(p, "region"), m["region"])
	c.Zone = d.str(field(p, "zone"), m["zone"])
	c.Location = d.location(field(p, "location"), m["location"])
	c.Distribution = Distribution(d.str(field(p, "distribution"), m["distribution"]))
	c.Capacity = d.resources(field(p, "capacity"), m["capacity"])
	for i, nv := range d.list(field(p, "nodePools"), m["nodePools"]) {
		np := index(field(p, "nodePools"), i)
		nm, ok := d.item(np, nv, "name", "capacity", "labels")
		if !ok {
			c.NodePools = append(c.NodePools, NodePool{})
			continue
		}
		c.NodePools = append(c.NodePools, NodePool{
			Name:     d.str(field(np, "name"), nm["name"]),
			Capacity: d.resources(field(np, "capacity"), nm["capacity"]),
			Labels:   d.stringMap(field(np, "labels"), nm["labels"]),
		})
	}
	c.UDPExposure = d.boolean(field(p, "udpExposure"), m["udpExposure"])
	c.CPUPrice = d.number(field(p, "cpuPrice"), m["cpuPrice"])
	c.IntraRTT = d.duration(field(p, "intraRTT"), m["intraRTT"])
	c.Uplink = d.bandwidth(field(p, "uplink"), m["uplink"])
	c.Labels = d.stringMap(field(p, "labels"), m["labels"])
	for i, lv := range d.list(field(p, "links"), m["links"]) {
		lp := index(field(p, "links"), i)
		lm, ok := d.item(lp, lv, "to", "rtt", "p99", "jitter", "capacity", "peering", "tunnel")
		if !ok {
			c.Links = append(c.Links, LinkSpec{})
			continue
		}
		l := LinkSpec{
			To:       d.str(field(lp, "to"), lm["to"]),
			RTT:      d.duration(field(lp, "rtt"), lm["rtt"]),
			P99:      d.duration(field(lp, "p99"), lm["p99"]),
			Jitter:   d.duration(field(lp, "jitter"), lm["jitter"]),
			Capacity: d.bandwidth(field(lp, "capacity"), lm["capacity"]),
			Peering:  PeeringDirection(d.str(field(lp, "peering"), lm["peering"])),
		}
		tp := field(lp, "tunnel")
		if tm, ok := d.object(tp, lm["tunnel"], "rtt", "bytesPerPacket"); ok {
			l.Tunnel = &TunnelOverhead{
				RTT:            d.duration(field(tp, "rtt"), tm["rtt"]),
				BytesPerPacket: d.integer(field(tp, "bytesPerPacket"), tm["bytesPerPacket"]),
			}
		}
		c.Links = append(c.Links, l)
	}
	return c
}

func (d *decoder) site(p string, v any) Site {
	var s Site
	m, ok := d.item(p, v, "name", "location", "region", "access")
	if !ok {
		return s
	}
	s.Name = d.str(field(p, "name"), m["name"])
	s.Location = d.location(field(p, "location"), m["location"])
	s.Region = d.str(field(p, "region"), m["region"])
	for i, av := range d.list(field(p, "access"), m["access"]) {
		ap := index(field(p, "access"), i)
		am, ok := d.item(ap, av, "cluster", "rtt", "p99", "jitter", "capacity")
		if !ok {
			s.Access = append(s.Access, AccessLink{})
			continue
		}
		s.Access = append(s.Access, AccessLink{
			Cluster:  d.str(field(ap, "cluster"), am["cluster"]),
			RTT:      d.duration(field(ap, "rtt"), am["rtt"]),
			P99:      d.duration(field(ap, "p99"), am["p99"]),
			Jitter:   d.duration(field(ap, "jitter"), am["jitter"]),
			Capacity: d.bandwidth(field(ap, "capacity"), am["capacity"]),
		})
	}
	return s
}
