//go:build tools

// Package tools records the kube-apiserver main package as a dependency so that
// 'go mod tidy' keeps go.sum complete for 'go build k8s.io/kubernetes/cmd/kube-apiserver'.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
