// Package peering connects clusters through Liqo: peerings, namespace offloading with the
// same name on every cluster, and pinning components to a remote cluster. It is being
// built under issue 6; until then the package is empty.
package peering
