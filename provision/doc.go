// Package provision creates, scales and deletes workload clusters through Cluster API
// (kubeadm and k3s) and times each phase. It is being built under issue 5; until then the
// package is empty.
package provision
