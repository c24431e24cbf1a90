package liqo

import (
	_ "embed"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// RBACYAML is the ClusterRole "continuum-peering" (rbac.yaml): the permissions the
// backend needs on every cluster it peers, and no more. Secrets are write-only. An
// integration test runs the backend as a user bound to exactly this role.
//
//go:embed rbac.yaml
var RBACYAML []byte

// ClusterRole decodes RBACYAML.
func ClusterRole() (*rbacv1.ClusterRole, error) {
	var r rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(RBACYAML, &r); err != nil {
		return nil, fmt.Errorf("liqo: decoding rbac.yaml: %w", err)
	}
	return &r, nil
}
