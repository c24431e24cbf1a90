package testenv_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/continuum-xr/continuum/internal/testenv"
)

// startReal starts real clusters for one test, skipping it when the binaries are
// missing (failing under CI=true), and stops them at the end.
func startReal(t *testing.T, opts testenv.RealOptions) *testenv.RealEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test skipped in -short mode")
	}
	e, err := testenv.StartReal(t.Context(), opts)
	testenv.SkipOrFail(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Stop()) })
	e.KeepLogsOnFailure(t)
	return e
}

func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, string)) {
	t.Helper()
	testenv.Eventually(t.Context(), t, what, 3*time.Minute, cond)
}

// TestRealClusterRunsPods: a real cluster without Liqo runs a Deployment on its KWOK
// nodes (ready replicas written by the Deployment and ReplicaSet controllers,
// scheduling by kube-scheduler, pod status by KWOK), signs a client CSR with its
// CA, finalises a deleted namespace, and leaves no logs behind after Stop.
func TestRealClusterRunsPods(t *testing.T) {
	capacity := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("10")}
	e := startReal(t, testenv.RealOptions{Clusters: []testenv.RealClusterSpec{{Name: "solo", Nodes: 2, NodeCapacity: capacity}}})
	t.Logf("started in %v", e.StartDuration.Round(time.Millisecond))
	c := e.Cluster("solo")
	require.NotNil(t, c)
	require.Len(t, c.Nodes, 2)
	ctx := t.Context()

	// Every KWOK node keeps a Lease, as a kubelet does: without one, the node
	// lifecycle controller marks the nodes NotReady (and their pods not ready) once
	// its grace period has passed.
	waitFor(t, "a node Lease per KWOK node", func(ctx context.Context) (bool, string) {
		var leases coordinationv1.LeaseList
		if err := c.Client.List(ctx, &leases, client.InNamespace(corev1.NamespaceNodeLease)); err != nil {
			return false, err.Error()
		}
		var held []string
		for _, l := range leases.Items {
			if slices.Contains(c.Nodes, l.Name) && l.Spec.RenewTime != nil {
				held = append(held, l.Name)
			}
		}
		return len(held) == len(c.Nodes), fmt.Sprintf("leases of %v", held)
	})

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "pods-"}}
	require.NoError(t, c.Client.Create(ctx, ns))
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns.Name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "registry.example/web:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("800m")}},
			}}}}}}
	require.NoError(t, c.Client.Create(ctx, d))
	waitFor(t, "3 ready replicas", func(ctx context.Context) (bool, string) {
		var got appsv1.Deployment
		if err := c.Client.Get(ctx, client.ObjectKeyFromObject(d), &got); err != nil {
			return false, err.Error()
		}
		return got.Status.ReadyReplicas == 3, fmt.Sprintf("%d ready", got.Status.ReadyReplicas)
	})
	var pods corev1.PodList
	require.NoError(t, c.Client.List(ctx, &pods, client.InNamespace(ns.Name)))
	require.Len(t, pods.Items, 3)
	perNode := map[string]int{}
	for _, p := range pods.Items {
		assert.Equal(t, corev1.PodRunning, p.Status.Phase, p.Name)
		assert.True(t, slices.Contains(c.Nodes, p.Spec.NodeName), "pod %s on %q", p.Name, p.Spec.NodeName)
		perNode[p.Spec.NodeName]++
	}
	// 2 CPUs per node and 800m per pod: at most 2 per node, so the scheduler, which
	// respects the KWOK nodes' allocatable, must use both.
	assert.Len(t, perNode, 2, "pods per node %v", perNode)

	// A client CSR is approved by us and signed by kube-controller-manager.
	cs, err := kubernetes.NewForConfig(c.Config)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "someone", Organization: []string{"team"}}}, key)
	require.NoError(t, err)
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{Request: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeAPIServerClientSignerName, Usages: []certificatesv1.KeyUsage{certificatesv1.UsageClientAuth}}}
	csr, err = cs.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{})
	require.NoError(t, err)
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Test", Message: "approved by the test"})
	_, err = cs.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{})
	require.NoError(t, err)
	var signed []byte
	waitFor(t, "the CSR signed", func(ctx context.Context) (bool, string) {
		got, err := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		signed = got.Status.Certificate
		return len(signed) > 0, fmt.Sprintf("conditions %v", got.Status.Conditions)
	})
	// The apiserver trusts what kube-controller-manager signed: the certificate
	// authenticates (403 for a user without roles, not 401).
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	userCfg := rest.CopyConfig(c.Config)
	userCfg.BearerToken, userCfg.Username, userCfg.Password = "", "", ""
	userCfg.CertFile, userCfg.KeyFile = "", ""
	userCfg.CertData, userCfg.KeyData = signed, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	userCS, err := kubernetes.NewForConfig(userCfg)
	require.NoError(t, err)
	_, err = userCS.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	require.True(t, apierrors.IsForbidden(err), "a request with the signed certificate: %v, want Forbidden (authenticated, no role)", err)

	// The namespace controller finalises a deleted namespace (and its pods go).
	require.NoError(t, c.Client.Delete(ctx, ns))
	waitFor(t, "the namespace gone", func(ctx context.Context) (bool, string) {
		err := c.Client.Get(ctx, client.ObjectKeyFromObject(ns), &corev1.Namespace{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	require.NoError(t, e.Check())
	if t.Failed() {
		return // the cleanup keeps the logs
	}

	logs := e.LogDir
	require.NoError(t, e.Stop())
	_, err = os.Stat(logs)
	assert.True(t, os.IsNotExist(err), "logs left in %s after a passing run: %v", logs, err)
}
