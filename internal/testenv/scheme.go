package testenv

import (
	"fmt"

	authv1beta1 "github.com/liqotech/liqo/apis/authentication/v1beta1"
	liqov1beta1 "github.com/liqotech/liqo/apis/core/v1beta1"
	ipamv1alpha1 "github.com/liqotech/liqo/apis/ipam/v1alpha1"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	addonsv1 "sigs.k8s.io/cluster-api/api/addons/v1beta2"
	bootstrapv1 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
)

// NewScheme returns a new scheme with the types the SDK talks to: the built-in
// Kubernetes types (client-go), apiextensions/v1, Cluster API v1beta2 (core, addons,
// kubeadm bootstrap, kubeadm control plane) and Liqo (core/v1beta1,
// authentication/v1beta1, networking/v1beta1, offloading/v1beta1, ipam/v1alpha1).
// Each call returns a fresh scheme that the caller may extend.
//
// Only one version per API group is registered (no conversion hubs and spokes), so
// envtest installs the CRDs without conversion webhooks.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []struct {
		name string
		fn   func(*runtime.Scheme) error
	}{
		{"client-go", clientgoscheme.AddToScheme},
		{"apiextensions/v1", apiextensionsv1.AddToScheme},
		{"cluster.x-k8s.io/v1beta2", clusterv1.AddToScheme},
		{"addons.cluster.x-k8s.io/v1beta2", addonsv1.AddToScheme},
		{"bootstrap.cluster.x-k8s.io/v1beta2", bootstrapv1.AddToScheme},
		{"controlplane.cluster.x-k8s.io/v1beta2", controlplanev1.AddToScheme},
		{"core.liqo.io/v1beta1", liqov1beta1.AddToScheme},
		{"authentication.liqo.io/v1beta1", authv1beta1.AddToScheme},
		{"networking.liqo.io/v1beta1", networkingv1beta1.AddToScheme},
		{"offloading.liqo.io/v1beta1", offloadingv1beta1.AddToScheme},
		{"ipam.liqo.io/v1alpha1", ipamv1alpha1.AddToScheme},
	} {
		if err := add.fn(s); err != nil {
			return nil, fmt.Errorf("testenv: registering %s types: %w", add.name, err)
		}
	}
	return s, nil
}
