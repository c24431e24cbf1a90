//go:build tools

// Package tools records the etcd main package (the server module root) as a dependency.
package tools

import _ "go.etcd.io/etcd/server/v3"
