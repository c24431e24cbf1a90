// Package placement decides where the components of an XR service graph run: a pure,
// deterministic, explainable engine that takes a topology snapshot and applications and
// returns a Plan. It is being built under issue 3; until then the package is empty.
package placement
