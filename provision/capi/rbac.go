package capi

import _ "embed"

// ClusterRoleYAML is the ClusterRole "continuum-provisioner": the permissions the
// backend needs on the management cluster, and no more (an integration test runs the
// backend as a user bound to exactly this role). Apply it with kubectl or decode it
// with sigs.k8s.io/yaml into an rbacv1.ClusterRole.
//
//go:embed rbac.yaml
var ClusterRoleYAML []byte
