package testenv

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// Names of Liqo's installation in a real cluster (as its Helm chart names them).
const (
	LiqoNamespace      = "liqo"
	liqoRuntimeClass   = "liqo"
	liqoVKTemplate     = "virtual-kubelet-default"
	liqoWebhookName    = "liqo-webhook"
	liqoClusterRoleDir = "deployments/liqo/files"
)

// startLiqo installs what Liqo's Helm chart would (without Helm) and starts its
// webhook, controller manager and CRD replicator out of cluster, networking off.
func (c *RealCluster) startLiqo(ctx context.Context, bins realBins, liqoDir string) error {
	c.LiqoClusterID = c.Name
	webhookPort, err := freePort()
	if err != nil {
		return err
	}
	// The webhook's serving certificate, from a CA of our own that the webhook
	// configurations trust.
	ca, err := newCertAuthority(c.Name + "-webhook-ca")
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: webhook CA: %w", c.Name, err)
	}
	crt, key, err := ca.sign("127.0.0.1", nil, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: webhook certificate: %w", c.Name, err)
	}
	if err := c.installLiqo(ctx, liqoDir, webhookPort, ca.certPEM); err != nil {
		return err
	}
	// Every Liqo process writes and reads certificates under
	// $TMPDIR/k8s-webhook-server/serving-certs: one TMPDIR each, with our certificate.
	tmpdirFor := func(name string) ([]string, error) {
		dir := filepath.Join(c.dir, "tmp-"+name)
		certs := filepath.Join(dir, "k8s-webhook-server", "serving-certs")
		if err := os.MkdirAll(certs, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(certs, "tls.crt"), crt, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(certs, "tls.key"), key, 0o600); err != nil {
			return nil, err
		}
		// Liqo's commands take the kubeconfig from $KUBECONFIG (no --kubeconfig flag).
		return []string{"TMPDIR=" + dir, "KUBECONFIG=" + c.KubeconfigPath}, nil
	}
	podCIDR := fmt.Sprintf("10.%d.0.0/16", 100+c.index)
	env, err := tmpdirFor("webhook")
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	if err := c.run("liqo-webhook", bins["liqo-webhook"], env,
		"--cluster-id="+c.LiqoClusterID, "--liqo-namespace="+LiqoNamespace,
		"--webhook-port="+strconv.Itoa(webhookPort), "--metrics-address=0", "--health-probe-address=0",
		"--podcidr="+podCIDR, "--vk-options-default-template="+LiqoNamespace+"/"+liqoVKTemplate,
		"--liqo-runtime-class="+liqoRuntimeClass,
	); err != nil {
		return err
	}
	if err := c.waitServing(ctx, webhookPort, "liqo-webhook"); err != nil {
		return err
	}
	cmPort, err := freePort()
	if err != nil {
		return err
	}
	if env, err = tmpdirFor("controller-manager"); err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	if err := c.run("liqo-controller-manager", bins["liqo-controller-manager"], env,
		"--cluster-id="+c.LiqoClusterID, "--liqo-namespace="+LiqoNamespace,
		"--networking-enabled=false", "--authentication-enabled=true", "--offloading-enabled=true",
		"--default-limits-enforcement=None",
		"--api-server-address-override="+c.Config.Host,
		"--ca-override="+base64.StdEncoding.EncodeToString(c.Config.CAData),
		"--enable-storage=false", "--webhook-port="+strconv.Itoa(cmPort),
		"--metrics-address=0", "--health-probe-address=0",
		"--enable-api-server-ip-remapping=false", "--foreign-cluster-ping-interval=5s",
	); err != nil {
		return err
	}
	if env, err = tmpdirFor("crd-replicator"); err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	if err := c.run("crd-replicator", bins["crd-replicator"], env,
		"--cluster-id="+c.LiqoClusterID, "--metrics-address=0",
	); err != nil {
		return err
	}
	vk, err := newVKRunner(c, bins["virtual-kubelet"])
	if err != nil {
		return err
	}
	c.vk = vk
	return nil
}

// waitServing waits until a TLS server answers on 127.0.0.1:port.
func (c *RealCluster) waitServing(ctx context.Context, port int, name string) error {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return pollUntil(ctx, 100*time.Millisecond, func() (bool, error) {
		if err := c.exitedErr(); err != nil {
			return false, err
		}
		d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // only asks whether it serves
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		return true, conn.Close()
	}, func() string {
		return fmt.Sprintf("testenv: cluster %q: waiting for %s to serve on %s", c.Name, name, addr)
	})
}

// installLiqo creates Liqo's namespace, cluster-ID ConfigMap, ClusterRoles, runtime
// class, virtual-kubelet options template and webhook configurations.
func (c *RealCluster) installLiqo(ctx context.Context, liqoDir string, webhookPort int, caBundle []byte) error {
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: LiqoNamespace}},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "liqo-clusterid-configmap", Namespace: LiqoNamespace,
				Labels: map[string]string{"app.kubernetes.io/name": "clusterid-configmap"}},
			Data: map[string]string{"CLUSTER_ID": c.LiqoClusterID},
		},
		&nodev1.RuntimeClass{
			ObjectMeta: metav1.ObjectMeta{Name: liqoRuntimeClass},
			Handler:    liqoRuntimeClass,
			Scheduling: &nodev1.Scheduling{
				NodeSelector: map[string]string{"liqo.io/type": "virtual-node"},
				Tolerations:  []corev1.Toleration{{Key: "virtual-node.liqo.io/not-allowed", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}},
			},
		},
	}
	roles, err := liqoClusterRoles(liqoDir)
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	for _, r := range roles {
		objs = append(objs, r)
	}
	vkt, err := vkOptionsTemplate()
	if err != nil {
		return fmt.Errorf("testenv: cluster %q: %w", c.Name, err)
	}
	objs = append(objs, vkt)
	mut, val := webhookConfigurations(webhookPort, caBundle)
	objs = append(objs, mut, val)
	for _, o := range objs {
		if err := c.Client.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("testenv: cluster %q: installing Liqo: creating %T %s: %w", c.Name, o, o.GetName(), err)
		}
	}
	return nil
}

// liqoClusterRoles reads the chart's ClusterRole rule files: liqo-X-ClusterRole.yaml
// becomes ClusterRole liqo-X labelled app.kubernetes.io/name=X, which is how Liqo's
// provider looks up the roles it binds for a consumer.
func liqoClusterRoles(liqoDir string) ([]*rbacv1.ClusterRole, error) {
	files, err := filepath.Glob(filepath.Join(liqoDir, filepath.FromSlash(liqoClusterRoleDir), "*-ClusterRole.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Liqo ClusterRole files in %s (%v)", liqoDir, err)
	}
	var out []*rbacv1.ClusterRole
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), "-ClusterRole.yaml")
		r.Name = name
		r.Labels = map[string]string{"app.kubernetes.io/name": strings.TrimPrefix(name, "liqo-")}
		out = append(out, &r)
	}
	return out, nil
}

// vkOptionsTemplate is the chart's default VkOptionsTemplate with networking off:
// no network check, no IP reflection, API server support, self-signed serving
// certificate (nobody approves kubelet-serving CSRs here), metrics off.
func vkOptionsTemplate() (*unstructured.Unstructured, error) {
	reflect := func(workers int, typ string) map[string]any {
		m := map[string]any{"workers": int64(workers)}
		if typ != "" {
			m["type"] = typ
		}
		return m
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "offloading.liqo.io/v1beta1",
		"kind":       "VkOptionsTemplate",
		"metadata":   map[string]any{"name": liqoVKTemplate, "namespace": LiqoNamespace},
		"spec": map[string]any{
			"replicas":            int64(1),
			"createNode":          true,
			"disableNetworkCheck": true,
			"containerImage":      "ghcr.io/liqotech/virtual-kubelet:v1.0.1",
			"metricsEnabled":      false,
			"reflectorsConfig": map[string]any{
				"pod":                   reflect(10, ""),
				"service":               reflect(3, "DenyList"),
				"endpointslice":         reflect(10, ""),
				"ingress":               reflect(3, "DenyList"),
				"configmap":             reflect(3, "DenyList"),
				"secret":                reflect(3, "DenyList"),
				"serviceaccount":        reflect(3, ""),
				"persistentvolumeclaim": reflect(3, ""),
				"event":                 reflect(3, "DenyList"),
			},
			"extraArgs": []any{"--enable-apiserver-support=true", "--disable-ip-reflection", "--certificate-type=self-signed"},
		},
	}}
	return u, nil
}

// webhookConfigurations are the chart's webhooks, served on 127.0.0.1, without the
// networking ones (firewall and route configurations).
func webhookConfigurations(port int, caBundle []byte) (*admissionv1.MutatingWebhookConfiguration, *admissionv1.ValidatingWebhookConfiguration) {
	none := admissionv1.SideEffectClassNone
	fail := admissionv1.Fail
	cfg := func(path string) admissionv1.WebhookClientConfig {
		url := fmt.Sprintf("https://127.0.0.1:%d%s", port, path)
		return admissionv1.WebhookClientConfig{URL: &url, CABundle: caBundle}
	}
	rule := func(group, resource string, ops ...admissionv1.OperationType) []admissionv1.RuleWithOperations {
		version := "v1beta1" // Liqo's groups
		if group == "" {
			version = "v1"
		}
		return []admissionv1.RuleWithOperations{{Operations: ops, Rule: admissionv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{version}, Resources: []string{resource}}}}
	}
	versions := []string{"v1", "v1beta1"}
	mw := func(name, path, group, resource string, sel *metav1.LabelSelector, ops ...admissionv1.OperationType) admissionv1.MutatingWebhook {
		return admissionv1.MutatingWebhook{Name: name, AdmissionReviewVersions: versions, ClientConfig: cfg(path),
			Rules: rule(group, resource, ops...), SideEffects: &none, FailurePolicy: &fail, NamespaceSelector: sel}
	}
	vw := func(name, path, group, resource string, ops ...admissionv1.OperationType) admissionv1.ValidatingWebhook {
		return admissionv1.ValidatingWebhook{Name: name, AdmissionReviewVersions: versions, ClientConfig: cfg(path),
			Rules: rule(group, resource, ops...), SideEffects: &none, FailurePolicy: &fail}
	}
	const create, update, del = admissionv1.Create, admissionv1.Update, admissionv1.Delete
	scheduling := &metav1.LabelSelector{MatchLabels: map[string]string{"liqo.io/scheduling-enabled": "true"}}
	mut := &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: liqoWebhookName, Labels: map[string]string{"liqo.io/webhook": "true"}},
		Webhooks: []admissionv1.MutatingWebhook{
			mw("pod.mutate.liqo.io", "/mutate/pod", "", "pods", scheduling, create),
			mw("shadowpod.mutate.liqo.io", "/mutate/shadowpods", "offloading.liqo.io", "shadowpods", nil, create, update, del),
			mw("fc.mutate.liqo.io", "/mutate/foreign-cluster", "core.liqo.io", "foreignclusters", nil, create, update),
			mw("virtualnode.mutate.liqo.io", "/mutate/virtualnodes", "offloading.liqo.io", "virtualnodes", nil, create, update),
			mw("tenant.validate.liqo.io", "/mutate/tenants", "authentication.liqo.io", "tenants", nil, create, update),
		},
	}
	val := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: liqoWebhookName, Labels: map[string]string{"liqo.io/webhook": "true"}},
		Webhooks: []admissionv1.ValidatingWebhook{
			vw("nsoff.validate.liqo.io", "/validate/namespace-offloading", "offloading.liqo.io", "namespaceoffloadings", create, update),
			vw("shadowpod.validate.liqo.io", "/validate/shadowpods", "offloading.liqo.io", "shadowpods", create, update, del),
			vw("resourceslice.validate.liqo.io", "/validate/resourceslices", "authentication.liqo.io", "resourceslices", create, update),
			vw("tenant.validate.liqo.io", "/validate/tenants", "authentication.liqo.io", "tenants", create, update),
		},
	}
	return mut, val
}
