package placement_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/continuum-xr/continuum/placement"
)

const scaledApp = `
apiVersion: continuum.xr/v1alpha1
kind: Application
metadata: {name: live}
home: fra-cloud
components:
  - name: render
    scale: {min: 1, max: 6, metric: requests, perReplica: 12.5, sites: [geneva, milan]}
`

// A component's scale decodes, encodes and decodes back unchanged.
func TestScaleCodec(t *testing.T) {
	app, err := placement.DecodeApplication([]byte(scaledApp))
	if err != nil {
		t.Fatal(err)
	}
	want := &placement.Scale{Min: 1, Max: 6, Metric: placement.ScaleRequests, PerReplica: 12.5, Sites: []string{"geneva", "milan"}}
	if got := app.Components[0].Scale; !reflect.DeepEqual(got, want) {
		t.Fatalf("scale %+v, want %+v", got, want)
	}
	data, err := placement.EncodeApplication(app)
	if err != nil {
		t.Fatal(err)
	}
	back, err := placement.DecodeApplication(data)
	if err != nil {
		t.Fatalf("decode of the encoding: %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back.Components[0].Scale, want) {
		t.Errorf("round trip gave %+v, want %+v", back.Components[0].Scale, want)
	}
}

// Bad scales are errors that name the field.
func TestScaleInvalid(t *testing.T) {
	for _, c := range []struct{ scale, field string }{
		{`{min: 0, max: 2, perReplica: 1}`, "components[0].scale.min"},
		{`{min: 3, max: 2, perReplica: 1}`, "components[0].scale.max"},
		{`{min: 1, max: 2, perReplica: 0}`, "components[0].scale.perReplica"},
		{`{min: 1, max: 2, perReplica: 1, metric: cpu}`, "components[0].scale.metric"},
		{`{min: 1, max: 2, perReplica: 1, sites: [Not_A_Label]}`, "components[0].scale.sites[0]"},
		{`{min: 1, max: 2, perReplica: 1, target: 3}`, "components[0].scale.target"},
	} {
		doc := strings.Replace(scaledApp, "{min: 1, max: 6, metric: requests, perReplica: 12.5, sites: [geneva, milan]}", c.scale, 1)
		_, err := placement.DecodeApplication([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("scale %s: error %v, want one naming %s", c.scale, err, c.field)
		}
	}
}
