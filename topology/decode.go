package topology

import (
	"encoding/json"
	"fmt"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/continuum-xr/continuum/internal/decode"
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

// Load reads and decodes the topology file at path, with the default LoadOptions.
func Load(path string) (*Topology, error) { return LoadWith(path, LoadOptions{}) }

// LoadWith reads and decodes the topology file at path. A file larger than
// o.MaxFileSize is refused without reading the rest.
func LoadWith(path string, o LoadOptions) (*Topology, error) {
	data, err := ReadFile(path, o.MaxFileSize)
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
	root, problems := decode.Parse(data)
	if len(problems) > 0 {
		return Spec{}, fromProblems(problems)
	}
	d := decoder{decode.New()}
	spec := d.spec(root)
	errs := append(fromProblems(d.Finish()), validate(spec, d.Bad)...)
	return spec, errs.Sorted()
}

// Encode writes spec as YAML that Decode reads back to an equal Spec.
func Encode(spec Spec) ([]byte, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("topology: encode: %w", err)
	}
	return yaml.JSONToYAML(js)
}

// decoder reads topology documents on top of the shared strict decoder.
type decoder struct{ *decode.Decoder }

func fromProblems(ps []decode.Problem) ErrorList { return ErrorList(decode.FromProblems(ps)) }

var (
	field = decode.Field
	index = decode.Index
)

func (d decoder) duration(path string, v any) Duration {
	return decode.Scalar(d.Decoder, path, v, `a duration string like "9.7ms"`, ParseDuration)
}

func (d decoder) bandwidth(path string, v any) Bandwidth {
	return decode.Scalar(d.Decoder, path, v, `a bandwidth string like "10Gbps"`, ParseBandwidth)
}

func (d decoder) resources(path string, v any) ResourceList {
	qs := d.Quantities(path, v)
	if qs == nil {
		return nil
	}
	out := make(ResourceList, len(qs))
	for k, q := range qs {
		out[ResourceName(k)] = q
	}
	return out
}

func (d decoder) location(path string, v any) *Location {
	m, ok := d.Object(path, v, "lat", "lon")
	if !ok {
		return nil
	}
	return &Location{Lat: d.Number(field(path, "lat"), m["lat"]), Lon: d.Number(field(path, "lon"), m["lon"])}
}

func (d decoder) spec(v any) Spec {
	var s Spec
	if v == nil {
		d.Fail("", "empty document")
		return s
	}
	m, ok := d.Object("", v, "apiVersion", "kind", "metadata", "owners", "clusters", "sites")
	if !ok {
		return s
	}
	s.APIVersion = d.Str("apiVersion", m["apiVersion"])
	s.Kind = d.Str("kind", m["kind"])
	if s.APIVersion != APIVersion && !d.Bad["apiVersion"] {
		d.Fail("apiVersion", "must be %q, got %q", APIVersion, s.APIVersion)
	}
	if s.Kind != Kind && !d.Bad["kind"] {
		d.Fail("kind", "must be %q, got %q", Kind, s.Kind)
	}
	if mm, ok := d.Object("metadata", m["metadata"], "name", "labels"); ok {
		s.Metadata.Name = d.Str("metadata.name", mm["name"])
		s.Metadata.Labels = d.StringMap("metadata.labels", mm["labels"])
	}
	for i, ov := range d.ListMax("owners", m["owners"], MaxOwners) {
		p := index("owners", i)
		om, ok := d.Item(p, ov, "name", "displayName", "labels")
		if !ok {
			s.Owners = append(s.Owners, Owner{})
			continue
		}
		s.Owners = append(s.Owners, Owner{
			Name:        d.Str(field(p, "name"), om["name"]),
			DisplayName: d.Str(field(p, "displayName"), om["displayName"]),
			Labels:      d.StringMap(field(p, "labels"), om["labels"]),
		})
	}
	for i, cv := range d.ListMax("clusters", m["clusters"], MaxClusters) {
		s.Clusters = append(s.Clusters, d.cluster(index("clusters", i), cv))
	}
	for i, sv := range d.ListMax("sites", m["sites"], MaxSites) {
		s.Sites = append(s.Sites, d.site(index("sites", i), sv))
	}
	return s
}

func (d decoder) cluster(p string, v any) Cluster {
	var c Cluster
	m, ok := d.Item(p, v, "name", "owner", "tier", "region", "zone", "location", "distribution",
		"capacity", "nodePools", "udpExposure", "cpuPrice", "intraRTT", "uplink", "labels", "taints", "links")
	if !ok {
		return c
	}
	c.Name = d.Str(field(p, "name"), m["name"])
	c.Owner = d.Str(field(p, "owner"), m["owner"])
	c.Tier = Tier(d.Str(field(p, "tier"), m["tier"]))
	c.Region = d.Str(field(p, "region"), m["region"])
	c.Zone = d.Str(field(p, "zone"), m["zone"])
	c.Location = d.location(field(p, "location"), m["location"])
	c.Distribution = Distribution(d.Str(field(p, "distribution"), m["distribution"]))
	c.Capacity = d.resources(field(p, "capacity"), m["capacity"])
	for i, nv := range d.ListMax(field(p, "nodePools"), m["nodePools"], MaxNodePools) {
		np := index(field(p, "nodePools"), i)
		nm, ok := d.Item(np, nv, "name", "capacity", "labels")
		if !ok {
			c.NodePools = append(c.NodePools, NodePool{})
			continue
		}
		c.NodePools = append(c.NodePools, NodePool{
			Name:     d.Str(field(np, "name"), nm["name"]),
			Capacity: d.resources(field(np, "capacity"), nm["capacity"]),
			Labels:   d.StringMap(field(np, "labels"), nm["labels"]),
		})
	}
	c.UDPExposure = d.Bool(field(p, "udpExposure"), m["udpExposure"])
	c.CPUPrice = d.Number(field(p, "cpuPrice"), m["cpuPrice"])
	c.IntraRTT = d.duration(field(p, "intraRTT"), m["intraRTT"])
	c.Uplink = d.bandwidth(field(p, "uplink"), m["uplink"])
	c.Labels = d.StringMap(field(p, "labels"), m["labels"])
	for i, tv := range d.ListMax(field(p, "taints"), m["taints"], MaxTaints) {
		tp := index(field(p, "taints"), i)
		var t Taint
		if tm, ok := d.Item(tp, tv, "key", "value", "effect", "added"); ok {
			t = Taint{Key: d.Str(field(tp, "key"), tm["key"]), Value: d.Str(field(tp, "value"), tm["value"]),
				Effect: TaintEffect(d.Str(field(tp, "effect"), tm["effect"]))}
			if tm["added"] != nil {
				t.Added = decode.Scalar(d.Decoder, field(tp, "added"), tm["added"], `an RFC 3339 time like "2026-12-06T08:00:00Z"`, parseTime)
			}
		}
		c.Taints = append(c.Taints, t)
	}
	for i, lv := range d.ListMax(field(p, "links"), m["links"], MaxClusters) {
		lp := index(field(p, "links"), i)
		lm, ok := d.Item(lp, lv, "to", "rtt", "p99", "jitter", "capacity", "peering", "tunnel")
		if !ok {
			c.Links = append(c.Links, LinkSpec{})
			continue
		}
		l := LinkSpec{
			To:       d.Str(field(lp, "to"), lm["to"]),
			RTT:      d.duration(field(lp, "rtt"), lm["rtt"]),
			P99:      d.duration(field(lp, "p99"), lm["p99"]),
			Jitter:   d.duration(field(lp, "jitter"), lm["jitter"]),
			Capacity: d.bandwidth(field(lp, "capacity"), lm["capacity"]),
			Peering:  PeeringDirection(d.Str(field(lp, "peering"), lm["peering"])),
		}
		tp := field(lp, "tunnel")
		if tm, ok := d.Object(tp, lm["tunnel"], "rtt", "bytesPerPacket"); ok {
			l.Tunnel = &TunnelOverhead{
				RTT:            d.duration(field(tp, "rtt"), tm["rtt"]),
				BytesPerPacket: d.Int(field(tp, "bytesPerPacket"), tm["bytesPerPacket"]),
			}
		}
		c.Links = append(c.Links, l)
	}
	return c
}

func (d decoder) site(p string, v any) Site {
	var s Site
	m, ok := d.Item(p, v, "name", "location", "region", "access")
	if !ok {
		return s
	}
	s.Name = d.Str(field(p, "name"), m["name"])
	s.Location = d.location(field(p, "location"), m["location"])
	s.Region = d.Str(field(p, "region"), m["region"])
	for i, av := range d.ListMax(field(p, "access"), m["access"], MaxClusters) {
		ap := index(field(p, "access"), i)
		am, ok := d.Item(ap, av, "cluster", "rtt", "p99", "jitter", "capacity")
		if !ok {
			s.Access = append(s.Access, AccessLink{})
			continue
		}
		s.Access = append(s.Access, AccessLink{
			Cluster:  d.Str(field(ap, "cluster"), am["cluster"]),
			RTT:      d.duration(field(ap, "rtt"), am["rtt"]),
			P99:      d.duration(field(ap, "p99"), am["p99"]),
			Jitter:   d.duration(field(ap, "jitter"), am["jitter"]),
			Capacity: d.bandwidth(field(ap, "capacity"), am["capacity"]),
		})
	}
	return s
}

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) }
