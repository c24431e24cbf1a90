package placementtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/continuum-xr/continuum/placement"
	"github.com/continuum-xr/continuum/topology"
)

// Solver statuses of an OracleRecord.
const (
	// StatusOptimal: the solver proved Objective optimal.
	StatusOptimal = "optimal"
	// StatusFeasible: the solver found Assignment but did not prove it optimal within
	// its time limit; Bound is its lower bound.
	StatusFeasible = "feasible"
	// StatusInfeasible: the solver proved that no plan exists.
	StatusInfeasible = "infeasible"
	// StatusUnknown: the time limit ended the solve without a plan or a proof.
	StatusUnknown = "unknown"
)

// OracleRecord is one stored instance with what an outside MILP solver found for it:
// the testdata of the engine's quality tests (placement/testdata/tight*, written by
// placementtest/cmd/milpset).
type OracleRecord struct {
	Name    string       `json:"name"`
	Seed    uint64       `json:"seed"`
	Options TightOptions `json:"options"`
	// Topology and Apps are the instance, as topology and application documents.
	Topology json.RawMessage   `json:"topology"`
	Apps     []json.RawMessage `json:"apps"`
	Solver   SolverResult      `json:"solver"`
}

// SolverResult is a solver's answer for one instance.
type SolverResult struct {
	// Name and version of the solver, and its options ("cbc 2.10.8 sec 120").
	Name   string `json:"name"`
	Status string `json:"status"`
	// Objective of Assignment (with the engine's default weights), Bound the best lower
	// bound proven; both are zero unless Status is optimal or feasible.
	Objective float64 `json:"objective,omitempty"`
	Bound     float64 `json:"bound,omitempty"`
	// Seconds is the solver's wall time; Size the model's binaries, continuous
	// variables and rows.
	Seconds    float64                `json:"seconds"`
	Size       [3]int                 `json:"size"`
	Assignment []placement.Assignment `json:"assignment,omitempty"`
}

// NewOracleRecord stores an instance with a solver's result.
func NewOracleRecord(seed uint64, o TightOptions, in Instance, res SolverResult) (OracleRecord, error) {
	r := OracleRecord{Name: in.Name, Seed: seed, Options: o, Solver: res}
	var err error
	if r.Topology, err = json.Marshal(in.Topology.Spec()); err != nil {
		return r, fmt.Errorf("placementtest: %s: encoding the topology: %w", in.Name, err)
	}
	for _, a := range in.Apps {
		js, err := json.Marshal(a)
		if err != nil {
			return r, fmt.Errorf("placementtest: %s: encoding %s: %w", in.Name, a.Metadata.Name, err)
		}
		r.Apps = append(r.Apps, js)
	}
	return r, nil
}

// Instance decodes the stored topology and applications.
func (r *OracleRecord) Instance() (Instance, error) {
	topo, err := topology.Decode(r.Topology)
	if err != nil {
		return Instance{}, fmt.Errorf("placementtest: %s: topology: %w", r.Name, err)
	}
	in := Instance{Name: r.Name, Topology: topo}
	for i, raw := range r.Apps {
		a, err := placement.DecodeApplication(raw)
		if err != nil {
			return Instance{}, fmt.Errorf("placementtest: %s: apps[%d]: %w", r.Name, i, err)
		}
		in.Apps = append(in.Apps, a)
	}
	return in, nil
}

// WriteOracleRecord writes r as dir/<name>.json.
func WriteOracleRecord(dir string, r OracleRecord) error {
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("placementtest: %s: %w", r.Name, err)
	}
	return os.WriteFile(filepath.Join(dir, r.Name+".json"), append(js, '\n'), 0o644)
}

// LoadOracleSet reads every *.json record in dir, in name order.
func LoadOracleSet(dir string) ([]OracleRecord, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("placementtest: %w", err)
	}
	slices.Sort(files)
	var out []OracleRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("placementtest: %w", err)
		}
		var r OracleRecord
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("placementtest: %s: %w", f, err)
		}
		out = append(out, r)
	}
	return out, nil
}
