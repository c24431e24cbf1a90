//go:build tools

// Package tools records the kube-apiserver, kube-controller-manager and kube-scheduler
// main packages as dependencies so that 'go mod tidy' keeps go.sum complete for
// building them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
