//go:build tools

// Package tools records Liqo's control-plane main packages as dependencies so that
// 'go mod tidy' keeps go.sum complete for building them.
package tools

import (
	_ "github.com/liqotech/liqo/cmd/crd-replicator"
	_ "github.com/liqotech/liqo/cmd/liqo-controller-manager"
	_ "github.com/liqotech/liqo/cmd/virtual-kubelet"
	_ "github.com/liqotech/liqo/cmd/webhook"
)
