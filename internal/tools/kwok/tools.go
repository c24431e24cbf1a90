//go:build tools

// Package tools records KWOK's main package as a dependency so that 'go mod tidy'
// keeps go.sum complete for 'go build sigs.k8s.io/kwok/cmd/kwok'.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
