// Package capi is the Cluster API backend of provision: it creates, scales and deletes
// workload clusters on a management cluster through a controller-runtime client, with
// server-side apply under one field manager (DefaultFieldManager).
//
// A provision.ClusterSpec renders (Render, also what a dry run prints) to Cluster API
// v1beta2 objects: a Cluster; a KubeadmControlPlane (typed,
// sigs.k8s.io/cluster-api/api) or a KThreesControlPlane (unstructured,
// controlplane.cluster.x-k8s.io/v1beta2 of github.com/k3s-io/cluster-api-k3s, whose
// Go module does not compile next to Cluster API v1.14); a KubeadmConfigTemplate or
// KThreesConfigTemplate; a MachineDeployment "<name>-md-0" (rolling update, maxSurge 1,
// maxUnavailable 0); and the infrastructure cluster and machine templates of an
// InfrastructureProvider: Docker (CAPD, v1beta2) or OpenStack (CAPO v0.14, v1beta1, the
// seed paper's), both unstructured. With Infrastructure.ClusterClass set, only a
// Cluster with spec.topology is written (ClusterClass mode; the management cluster
// needs the ClusterTopology feature gate).
//
// Readiness comes from the Cluster's v1beta2 conditions (each compared with the
// Cluster's generation through observedGeneration) and status.initialization; machine
// counts from status.controlPlane and status.workers; the timeline from the
// conditions' transition times. Watch watches the Cluster and its MachineDeployment.
// Scale merge-patches the MachineDeployment's replicas (in ClusterClass mode, the
// topology's). Delete deletes the Cluster; Cluster API deletes the rest. Kubeconfig
// reads the Secret "<name>-kubeconfig", key "value".
//
// # RBAC
//
// ClusterRoleYAML (rbac.yaml) is the ClusterRole the backend needs on the management
// cluster: get/list/watch/create/patch/delete on Clusters and MachineDeployments;
// get/create/patch on the control-plane, bootstrap-template and infrastructure objects
// it renders; get on Secrets (the kubeconfig). TestRBACExactRole runs the whole
// lifecycle as a user bound to exactly that role.
//
// # Errors
//
// Errors start with "provision/capi:" and wrap the provision sentinels: a missing
// Cluster is provision.ErrNotFound; a missing kubeconfig Secret provision.ErrNotReady
// naming the Secret. Kubeconfig contents never appear in errors or logs.
//
// # Concurrency
//
// A Backend is safe for concurrent use.
//
// # Testing
//
// The integration tests run provisiontest.RunConformanceTests against a real
// kube-apiserver (internal/testenv) with the real CRDs of Cluster API, the k3s
// provider, CAPD and CAPO from the Go module cache. There no Cluster API controller
// runs: internal/capiplay plays them by writing the status their v1beta2 contract
// documents (step by step, or in the background with its Run), which keeps those
// tests fast and covers every distribution and provider.
//
// The nested test module provision/capi/reconcilers runs Cluster API's real core
// reconcilers (Cluster, Machine, MachineSet, MachineDeployment, ClusterCache)
// in-process against two test apiservers (management and workload), with small test
// providers for infrastructure, the kubeadm control plane and bootstrap: a kubeadm
// cluster is created with this backend, becomes Available, scales and is deleted with
// no status written by hand. `make test` runs it; it is a module of its own so that
// the main Cluster API module stays out of the SDK's go.mod.
package capi
