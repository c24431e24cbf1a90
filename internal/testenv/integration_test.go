package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	offloadingv1beta1 "github.com/liqotech/liqo/apis/offloading/v1beta1"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	controlplanev1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
)

// Servers shared by the package's integration tests, started once in TestMain.
var (
	env  *testenv.Env
	prom *testenv.Prometheus
	// backfillAt is the timestamp of the last backfilled sample.
	backfillAt time.Time
)

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime's logger; without one set,
	// controller-runtime prints a warning with a stack trace after 30 s.
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		t0 := time.Now()
		e, err := testenv.Start(ctx, testenv.Options{
			Clusters: []string{"management", "edge-1"},
			CRDs:     testenv.AllCRDs,
		})
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		backfillAt = time.Now().Add(-10 * time.Minute).Truncate(time.Second)
		p, err := testenv.StartPrometheus(ctx, testenv.PrometheusOptions{Backfill: backfillText(backfillAt)})
		if err != nil {
			return nil, errors.Join(err, e.Stop())
		}
		if testing.Verbose() {
			fmt.Printf("testenv: 2 apiservers with CAPI+Liqo CRDs started in %v; prometheus (with backfill) in %v\n",
				t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
		}
		env, prom = e, p
		return func() error { return errors.Join(p.Stop(), e.Stop()) }, nil
	})
}

// newNamespace creates a namespace with a unique name in c and returns its name.
func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	require.NoError(t, c.Create(t.Context(), ns))
	return ns.Name
}

func TestLiqoNamespaceOffloading(t *testing.T) {
	testenv.Require(t)
	c := env.Cluster("management").Client

	t.Run("valid is accepted", func(t *testing.T) {
		ns := newNamespace(t, c)
		nso := &offloadingv1beta1.NamespaceOffloading{
			ObjectMeta: metav1.ObjectMeta{Name: "offloading", Namespace: ns},
			Spec: offloadingv1beta1.NamespaceOffloadingSpec{
				NamespaceMappingStrategy: offloadingv1beta1.EnforceSameNameMappingStrategyType,
				PodOffloadingStrategy:    offloadingv1beta1.LocalAndRemotePodOffloadingStrategyType,
				ClusterSelector: corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{
						Key:      "liqo.io/remote-cluster-id",
						Operator: corev1.NodeSelectorOpIn,
						Values:   []string{"a", "b"},
					}},
				}}},
			},
		}
		require.NoError(t, c.Create(t.Context(), nso))

		var got offloadingv1beta1.NamespaceOffloading
		require.NoError(t, c.Get(t.Context(), client.ObjectKeyFromObject(nso), &got))
		assert.Equal(t, nso.Spec, got.Spec)
	})

	t.Run("typed zero cluster selector is rejected", func(t *testing.T) {
		// corev1.NodeSelector is a struct, so omitempty never drops it: the zero
		// value is sent as clusterSelector: {nodeSelectorTerms: null}.
		ns := newNamespace(t, c)
		nso := &offloadingv1beta1.NamespaceOffloading{
			ObjectMeta: metav1.ObjectMeta{Name: "offloading", Namespace: ns},
			Spec: offloadingv1beta1.NamespaceOffloadingSpec{
				NamespaceMappingStrategy: offloadingv1beta1.EnforceSameNameMappingStrategyType,
				PodOffloadingStrategy:    offloadingv1beta1.LocalAndRemotePodOffloadingStrategyType,
			},
		}
		err := c.Create(t.Context(), nso)
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
		assert.Contains(t, err.Error(), "spec.clusterSelector.nodeSelectorTerms")
	})

	t.Run("selector without nodeSelectorTerms is rejected", func(t *testing.T) {
		ns := newNamespace(t, c)
		u := nsoUnstructured(ns, map[string]any{
			"namespaceMappingStrategy": "EnforceSameName",
			"podOffloadingStrategy":    "LocalAndRemote",
			"clusterSelector":          map[string]any{},
		})
		err := c.Create(t.Context(), u)
		require.Error(t, err)
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
		assert.Contains(t, err.Error(), "spec.clusterSelector.nodeSelectorTerms")
	})

	t.Run("omitted cluster selector is accepted", func(t *testing.T) {
		// The schema requires nodeSelectorTerms only inside a clusterSelector; a spec
		// without clusterSelector is valid (only possible without the typed struct).
		ns := newNamespace(t, c)
		u := nsoUnstructured(ns, map[string]any{
			"namespaceMappingStrategy": "EnforceSameName",
			"podOffloadingStrategy":    "LocalAndRemote",
		})
		require.NoError(t, c.Create(t.Context(), u))
	})

	t.Run("unknown enum value is rejected", func(t *testing.T) {
		ns := newNamespace(t, c)
		u := nsoUnstructured(ns, map[string]any{
			"namespaceMappingStrategy": "SameName",
			"podOffloadingStrategy":    "LocalAndRemote",
		})
		err := c.Create(t.Context(), u)
		assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
	})
}

func nsoUnstructured(ns string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "offloading.liqo.io/v1beta1",
		"kind":       "NamespaceOffloading",
		"metadata":   map[string]any{"name": "offloading", "namespace": ns},
		"spec":       spec,
	}}
}

func TestCAPIClusterRoundTrip(t *testing.T) {
	testenv.Require(t)
	c := env.Cluster("management").Client
	ns := newNamespace(t, c)

	cluster := &clusterv1.Cluster{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-geneva", Namespace: ns, Labels: map[string]string{"tier": "edge"}},
		Spec: clusterv1.ClusterSpec{
			ClusterNetwork: clusterv1.ClusterNetwork{
				Pods:     clusterv1.NetworkRanges{CIDRBlocks: []string{"10.244.0.0/16"}},
				Services: clusterv1.NetworkRanges{CIDRBlocks: []string{"10.96.0.0/12"}},
			},
			ControlPlaneRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: controlplanev1.GroupVersion.Group,
				Kind:     "KubeadmControlPlane",
				Name:     "edge-geneva-cp",
			},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{
				APIGroup: "infrastructure.cluster.x-k8s.io",
				Kind:     "DockerCluster",
				Name:     "edge-geneva",
			},
		},
	}
	require.NoError(t, c.Create(t.Context(), cluster))

	var got clusterv1.Cluster
	require.NoError(t, c.Get(t.Context(), client.ObjectKeyFromObject(cluster), &got))
	assert.Equal(t, "edge", got.Labels["tier"])
	assert.Equal(t, []string{"10.244.0.0/16"}, got.Spec.ClusterNetwork.Pods.CIDRBlocks)
	assert.Equal(t, []string{"10.96.0.0/12"}, got.Spec.ClusterNetwork.Services.CIDRBlocks)
	assert.Equal(t, cluster.Spec.ControlPlaneRef, got.Spec.ControlPlaneRef)
	assert.Equal(t, cluster.Spec.InfrastructureRef, got.Spec.InfrastructureRef)
	assert.NotEmpty(t, got.UID)

	// The kubeadm control plane and bootstrap CRDs are served too.
	var kcps controlplanev1.KubeadmControlPlaneList
	require.NoError(t, c.List(t.Context(), &kcps, client.InNamespace(ns)))
	assert.Empty(t, kcps.Items)

	// The schema validates: a non-CIDR-sized pods entry is too long.
	bad := cluster.DeepCopy()
	bad.ResourceVersion, bad.UID, bad.Name = "", "", "bad"
	bad.Spec.ClusterNetwork.Pods.CIDRBlocks = []string{strings.Repeat("1", 44)}
	err := c.Create(t.Context(), bad)
	assert.True(t, apierrors.IsInvalid(err), "want an Invalid error, got %v", err)
}

func TestClustersAreIndependent(t *testing.T) {
	testenv.Require(t)
	mgmt, edge := env.Cluster("management"), env.Cluster("edge-1")
	require.NotNil(t, mgmt)
	require.NotNil(t, edge)
	assert.Nil(t, env.Cluster("nope"))
	assert.NotEqual(t, mgmt.Config.Host, edge.Config.Host)

	ns := newNamespace(t, mgmt.Client)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "only-here", Namespace: ns},
		Data:       map[string]string{"cluster": "management"},
	}
	require.NoError(t, mgmt.Client.Create(t.Context(), cm))

	err := edge.Client.Get(t.Context(), client.ObjectKey{Name: ns}, &corev1.Namespace{})
	assert.True(t, apierrors.IsNotFound(err), "namespace %s must not exist in edge-1: %v", ns, err)
	err = edge.Client.Get(t.Context(), client.ObjectKeyFromObject(cm), &corev1.ConfigMap{})
	assert.True(t, apierrors.IsNotFound(err), "configmap must not exist in edge-1: %v", err)

	// Each cluster has the CRDs.
	var nsos offloadingv1beta1.NamespaceOffloadingList
	require.NoError(t, edge.Client.List(t.Context(), &nsos))
	var clusters clusterv1.ClusterList
	require.NoError(t, edge.Client.List(t.Context(), &clusters))
}

// backfillText returns OpenMetrics samples of a gauge and a counter every 5 minutes
// for 30 minutes, ending at end.
func backfillText(end time.Time) string {
	var b strings.Builder
	b.WriteString("# HELP continuum_link_rtt_seconds Round-trip time between two clusters.\n")
	b.WriteString("# TYPE continuum_link_rtt_seconds gauge\n")
	for i := 6; i >= 0; i-- {
		ts := end.Add(-time.Duration(i) * 5 * time.Minute).Unix()
		fmt.Fprintf(&b, "continuum_link_rtt_seconds{src=\"geneva\",dst=\"frankfurt\"} %g %d\n", frankfurtRTT(i), ts)
		fmt.Fprintf(&b, "continuum_link_rtt_seconds{src=\"geneva\",dst=\"paris\"} 0.0091 %d\n", ts)
	}
	b.WriteString("# HELP continuum_probe_packets Probe packets sent.\n")
	b.WriteString("# TYPE continuum_probe_packets counter\n")
	for i := 6; i >= 0; i-- {
		ts := end.Add(-time.Duration(i) * 5 * time.Minute).Unix()
		fmt.Fprintf(&b, "continuum_probe_packets_total{src=\"geneva\"} %d %d\n", 600*(6-i), ts)
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// frankfurtRTT is the backfilled geneva-frankfurt RTT steps samples before the last:
// it grows by 0.5 ms per 5-minute step up to 7.2 ms.
func frankfurtRTT(steps int) float64 { return 0.0072 - float64(steps)*0.0005 }

func TestPrometheusQueriesBackfilledData(t *testing.T) {
	testenv.Require(t)
	c, err := promapi.NewClient(promapi.Config{Address: prom.URL})
	require.NoError(t, err)
	api := promv1.NewAPI(c)

	query := func(q string, at time.Time) model.Vector {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		v, warnings, _, err := api.Query(ctx, q, at)
		require.NoError(t, err, q)
		assert.Empty(t, warnings, q)
		vec, ok := v.(model.Vector)
		require.True(t, ok, "%s: want a vector, got %T", q, v)
		return vec
	}

	vec := query(`continuum_link_rtt_seconds{src="geneva",dst="frankfurt"}`, backfillAt)
	require.Len(t, vec, 1)
	assert.Equal(t, model.SampleValue(0.0072), vec[0].Value)
	assert.Equal(t, model.LabelValue("frankfurt"), vec[0].Metric["dst"])

	// An earlier sample, 15 minutes before the last.
	vec = query(`continuum_link_rtt_seconds{dst="frankfurt"}`, backfillAt.Add(-15*time.Minute))
	require.Len(t, vec, 1)
	assert.Equal(t, model.SampleValue(frankfurtRTT(3)), vec[0].Value)

	vec = query(`max by (dst) (max_over_time(continuum_link_rtt_seconds[1h]))`, backfillAt)
	require.Len(t, vec, 2)
	byDst := map[model.LabelValue]model.SampleValue{}
	for _, s := range vec {
		byDst[s.Metric["dst"]] = s.Value
	}
	assert.Equal(t, map[model.LabelValue]model.SampleValue{"frankfurt": 0.0072, "paris": 0.0091}, byDst)

	// 30 minutes of a counter growing by 600 every 5 minutes: 3600 in total.
	vec = query(`increase(continuum_probe_packets_total[31m])`, backfillAt)
	require.Len(t, vec, 1)
	assert.InDelta(t, 3600, float64(vec[0].Value), 200, "increase extrapolates a little")

	// Nothing within the 5-minute lookback now: data is only where it was backfilled.
	vec = query(`continuum_link_rtt_seconds`, backfillAt.Add(20*time.Minute))
	assert.Empty(t, vec)
}

// BenchmarkStart measures starting the servers (stop excluded from start-s).
// Run with: go test -run '^$' -bench Start -benchtime 3x ./internal/testenv/
func BenchmarkStart(b *testing.B) {
	testenv.Require(b)
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) {
			names := []string{"a", "b", "c", "d"}[:n]
			var total time.Duration
			for b.Loop() {
				start := time.Now()
				e, err := testenv.Start(b.Context(), testenv.Options{Clusters: names, CRDs: testenv.AllCRDs})
				if err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				if err := e.Stop(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(total.Seconds()/float64(b.N), "start-s/op")
		})
	}
	b.Run("prometheus", func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			start := time.Now()
			p, err := testenv.StartPrometheus(b.Context(), testenv.PrometheusOptions{Backfill: backfillText(time.Now().Add(-time.Hour))})
			if err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
			if err := p.Stop(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(total.Seconds()/float64(b.N), "start-s/op")
	})
}

func TestStartCleansUpOnFailure(t *testing.T) {
	testenv.Require(t)
	// A CRD the apiserver rejects (its name is not <plural>.<group>) fails Start
	// after the control plane is up.
	crdDir := t.TempDir()
	crd := `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: wrong.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
`
	require.NoError(t, os.WriteFile(filepath.Join(crdDir, "widgets.yaml"), []byte(crd), 0o600))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	_, err := testenv.Start(t.Context(), testenv.Options{CRDPaths: []string{crdDir}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wrong.example.com")
	assertEmptyDir(t, tmp)

	_, err = testenv.Start(t.Context(), testenv.Options{CRDPaths: []string{filepath.Join(tmp, "no-such-crds")}})
	assert.ErrorContains(t, err, "testenv: Options.CRDPaths[0]")
}

func TestStartPrometheusReportsBadConfig(t *testing.T) {
	testenv.Require(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)

	_, err := testenv.StartPrometheus(t.Context(), testenv.PrometheusOptions{
		Config: "scrape_configs:\n  - job_name: x\n    scrape_interval: not-a-duration\n",
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "testenv: prometheus exited before ready")
	assert.Contains(t, err.Error(), "not-a-duration", "the error carries prometheus' output")
	assertEmptyDir(t, tmp)

	_, err = testenv.StartPrometheus(t.Context(), testenv.PrometheusOptions{Backfill: "not openmetrics {\n"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "testenv: promtool backfill")
	assertEmptyDir(t, tmp)
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "left behind in %s", dir)
}

// TestWaitAllowed binds a role to a new user and waits with WaitAllowed: before the
// binding the wait times out naming a denied request, after it the wait returns and
// the user's own request is allowed at once (no retry here: that is the point).
func TestWaitAllowed(t *testing.T) {
	testenv.Require(t)
	ctx := t.Context()
	c := env.Cluster("management")
	user := fmt.Sprintf("testenv-wait-allowed-%d", time.Now().UnixNano())
	uc, err := env.UserClient(c, user)
	require.NoError(t, err)
	ns := newNamespace(t, c.Client)
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create"}},
		{APIGroups: []string{"offloading.liqo.io"}, Resources: []string{"namespaceoffloadings", "namespaceoffloadings/status"}, Verbs: []string{"get"}},
	}
	subject := testenv.Subject{User: user}

	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	err = testenv.WaitAllowed(short, c.Client, subject, ns, rules)
	cancel()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "still denied: get configmaps in "+ns)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "wait-allowed", Namespace: ns}, Rules: rules}
	require.NoError(t, c.Client.Create(ctx, role))
	require.NoError(t, c.Client.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "wait-allowed", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}))
	require.NoError(t, testenv.WaitAllowed(ctx, c.Client, subject, ns, rules))
	require.NoError(t, uc.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "allowed", Namespace: ns}}))
	// The binding is namespaced: cluster-wide is still denied, and the error says so.
	short, cancel = context.WithTimeout(ctx, 3*time.Second)
	err = testenv.WaitAllowed(short, c.Client, subject, "", rules[:1])
	cancel()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "still denied: get configmaps")
	assert.NotContains(t, err.Error(), " in "+ns)
}

func TestWaitAllowedRejectsBadInput(t *testing.T) {
	ok := []rbacv1.PolicyRule{{Resources: []string{"pods"}, Verbs: []string{"get"}}}
	for _, c := range []struct {
		name    string
		subject testenv.Subject
		rules   []rbacv1.PolicyRule
		want    string
	}{
		{"no user", testenv.Subject{}, ok, "subject.user"},
		{"no rules", testenv.Subject{User: "u"}, nil, "rules is empty"},
		{"no verbs", testenv.Subject{User: "u"}, []rbacv1.PolicyRule{{Resources: []string{"pods"}}}, "rules[0].verbs"},
		{"no resources", testenv.Subject{User: "u"}, []rbacv1.PolicyRule{ok[0], {Verbs: []string{"get"}}}, "rules[1].resources"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := testenv.WaitAllowed(t.Context(), nil, c.subject, "", c.rules)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	err := testenv.WaitAllowed(t.Context(), nil, testenv.Subject{User: "u"}, "", ok)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "admin client is nil")
}
