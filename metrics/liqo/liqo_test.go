package liqo_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	networkingv1beta1 "github.com/liqotech/liqo/apis/networking/v1beta1"
	liqotime "github.com/liqotech/liqo/pkg/utils/time"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/metrics"
	"github.com/continuum-xr/continuum/metrics/liqo"
	"github.com/continuum-xr/continuum/metrics/metricstest"
	"github.com/continuum-xr/continuum/topology"
)

// env is the real kube-apiserver with the Liqo CRDs, started once in TestMain.
var env *testenv.Env

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{Clusters: []string{"alpha"}, CRDs: testenv.LiqoCRDs})
		if err != nil {
			return nil, err
		}
		env = e
		return e.Stop, nil
	})
}

func newNamespace(t *testing.T, c client.Client) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "liqo-tenant-"}}
	if err := c.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// connection plays Liqo's gateway: it creates a Connection to remoteID in ns, as
// liqo's wireguard.EnsureConnection does, and writes its status with
// Status().Update() as connection.UpdateConnectionStatus does (the latency formatted
// by Liqo's own FormatLatency). A zero at leaves the timestamp empty.
func connection(t *testing.T, c client.Client, ns, remoteID string, state networkingv1beta1.ConnectionStatusValue, rtt time.Duration, at time.Time) *networkingv1beta1.Connection {
	t.Helper()
	conn := &networkingv1beta1.Connection{
		ObjectMeta: metav1.ObjectMeta{
			Name: "gw-" + remoteID, Namespace: ns,
			Labels: map[string]string{liqo.RemoteClusterIDLabel: remoteID},
		},
		Spec: networkingv1beta1.ConnectionSpec{
			Type: networkingv1beta1.ConnectionTypeClient,
			GatewayRef: corev1.ObjectReference{
				APIVersion: networkingv1beta1.GroupVersion.String(), Kind: networkingv1beta1.WgGatewayClientKind,
				Name: "gw-" + remoteID, Namespace: ns,
			},
		},
	}
	if err := c.Create(t.Context(), conn); err != nil {
		t.Fatalf("creating connection: %v", err)
	}
	conn.Status.Value = state
	conn.Status.Latency = networkingv1beta1.ConnectionLatency{Value: liqotime.FormatLatency(rtt)}
	if !at.IsZero() {
		conn.Status.Latency.Timestamp = metav1.NewTime(at)
	}
	if err := c.Status().Update(t.Context(), conn); err != nil {
		t.Fatalf("writing connection status: %v", err)
	}
	return conn
}

func TestConformance(t *testing.T) {
	testenv.Require(t)
	c := env.Cluster("alpha").Client
	metricstest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (*metricstest.Harness, error) {
		// The API server keeps timestamps to the second.
		f := metricstest.NewFixture(time.Now().UTC().Truncate(time.Second))
		ns := newNamespace(t, c)
		ids := map[string]string{
			metricstest.Alpha: "alpha-id", metricstest.Beta: "beta-id",
			metricstest.Gamma: "gamma-id", metricstest.Delta: "delta-id",
		}
		connection(t, c, ns, ids[metricstest.Beta], networkingv1beta1.Connected, f.Fresh.P50.Std(), f.Now)
		connection(t, c, ns, ids[metricstest.Gamma], networkingv1beta1.Connected, f.Fresh.P50.Std(), f.StaleAt)
		src, err := liqo.New([]liqo.Cluster{{Name: metricstest.Alpha, Reader: c}}, liqo.Options{
			ClusterIDs: ids, Namespace: ns, MaxAge: f.MaxAge, Now: func() time.Time { return f.Now },
		})
		if err != nil {
			return nil, err
		}
		return &metricstest.Harness{Latency: src, Fixture: f, Point: true}, nil
	})
}

func TestConnectionsWithoutALatency(t *testing.T) {
	testenv.Require(t)
	c := env.Cluster("alpha").Client
	ns := newNamespace(t, c)
	now := time.Now().UTC().Truncate(time.Second)
	connection(t, c, ns, "err-id", networkingv1beta1.ConnectionError, 0, now)           // "N/A", status Error
	connection(t, c, ns, "connecting-id", networkingv1beta1.Connecting, 0, time.Time{}) // "N/A"
	connection(t, c, ns, "us-id", networkingv1beta1.Connected, 850*time.Microsecond, now)
	notime := connection(t, c, ns, "notime-id", networkingv1beta1.Connected, 12*time.Millisecond, time.Time{})
	src, err := liqo.New([]liqo.Cluster{{Name: "home", Reader: c}}, liqo.Options{
		Namespace: ns, Now: func() time.Time { return now.Add(time.Second) },
		ClusterIDs: map[string]string{"errored": "err-id", "connecting": "connecting-id", "sub-ms": "us-id", "notime": "notime-id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, peer := range []string{"errored", "connecting", "unpeered"} {
		s, err := src.Latency(ctx, "home", peer)
		if !errors.Is(err, metrics.ErrNoData) {
			t.Errorf("Latency(home, %s) = %+v, %v; want ErrNoData, never a zero", peer, s, err)
		}
	}
	// Liqo writes sub-millisecond RTTs in μs (Greek mu).
	s, err := src.Latency(ctx, "sub-ms", "home")
	if err != nil || s.P50 != 850*topology.Microsecond || s.Count != 1 || !s.ObservedAt.Equal(now) {
		t.Errorf("sub-ms: %+v, %v; want 850µs observed at %v", s, err, now)
	}
	// No timestamp: the status write time from managedFields.
	s, err = src.Latency(ctx, "home", "notime")
	if err != nil || s.P50 != 12*topology.Millisecond {
		t.Fatalf("notime: %+v, %v; want 12ms", s, err)
	}
	var got networkingv1beta1.Connection
	if err := c.Get(ctx, client.ObjectKeyFromObject(notime), &got); err != nil {
		t.Fatal(err)
	}
	var statusWrite time.Time
	for _, mf := range got.ManagedFields {
		if mf.Subresource == "status" {
			statusWrite = mf.Time.Time
		}
	}
	if statusWrite.IsZero() || !s.ObservedAt.Equal(statusWrite) {
		t.Errorf("notime observed at %v, want the status write time %v", s.ObservedAt, statusWrite)
	}
	// Neither cluster read: no data.
	if _, err := src.Latency(ctx, "x", "y"); !errors.Is(err, metrics.ErrNoData) {
		t.Errorf("Latency(x, y): %v, want ErrNoData", err)
	}
}

// TestBothSidesFreshestWins reads two clusters' views of one peering (here two
// namespaces of one API server stand for the two clusters) and expects the fresher.
func TestBothSidesFreshestWins(t *testing.T) {
	testenv.Require(t)
	c := env.Cluster("alpha").Client
	now := time.Now().UTC().Truncate(time.Second)
	nsA, nsB := newNamespace(t, c), newNamespace(t, c)
	connection(t, c, nsA, "b-"+nsB, networkingv1beta1.Connected, 9*time.Millisecond, now.Add(-20*time.Second))
	connection(t, c, nsB, "a-"+nsA, networkingv1beta1.Connected, 7*time.Millisecond, now.Add(-5*time.Second))
	src, err := liqo.New([]liqo.Cluster{
		{Name: "a", Reader: client.NewNamespacedClient(c, nsA)},
		{Name: "b", Reader: client.NewNamespacedClient(c, nsB)},
	}, liqo.Options{ClusterIDs: map[string]string{"a": "a-" + nsA, "b": "b-" + nsB}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := src.Latency(t.Context(), "a", "b")
	if err != nil || s.P50 != 7*topology.Millisecond || !s.ObservedAt.Equal(now.Add(-5*time.Second)) {
		t.Errorf("a<->b = %+v, %v; want b's fresher 7ms", s, err)
	}
}

// TestRBAC runs the Source as a user bound to exactly the ClusterRole of rbac.yaml.
func TestRBAC(t *testing.T) {
	testenv.Require(t)
	cl := env.Cluster("alpha")
	admin := cl.Client
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	ns := newNamespace(t, admin)
	conn := connection(t, admin, ns, "rbac-peer-id", networkingv1beta1.Connected, 4*time.Millisecond, now)

	role, err := liqo.ClusterRole()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the ClusterRole: %v", err)
	}
	const user = "continuum-liqo-reader"
	if err := admin.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("binding: %v", err)
	}
	reader := userClient(t, cl, user)
	unbound := userClient(t, cl, "continuum-nobody")

	opts := liqo.Options{ClusterIDs: map[string]string{"peer": "rbac-peer-id"}, Now: func() time.Time { return now }}
	src, err := liqo.New([]liqo.Cluster{{Name: "home", Reader: reader}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The authorizer's cache may lag the binding by a moment: wait until it allows.
	if err := testenv.WaitAllowed(ctx, admin, testenv.Subject{User: user}, "", role.Rules); err != nil {
		t.Fatal(err)
	}
	s, err := src.Latency(ctx, "home", "peer")
	if err != nil || s.P50 != 4*topology.Millisecond {
		t.Fatalf("as %s: %+v, %v; want 4ms", user, s, err)
	}

	// The role is read-only and about Connections only.
	var got networkingv1beta1.Connection
	if err := reader.Get(ctx, client.ObjectKeyFromObject(conn), &got); err != nil {
		t.Errorf("get connection: %v", err)
	}
	forbidden := map[string]error{
		"update connection":        reader.Update(ctx, got.DeepCopy()),
		"update connection status": reader.Status().Update(ctx, got.DeepCopy()),
		"delete connection":        reader.Delete(ctx, got.DeepCopy()),
		"list secrets":             reader.List(ctx, &corev1.SecretList{}),
		"list gateway clients":     reader.List(ctx, &networkingv1beta1.GatewayClientList{}),
	}
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as %s: %v, want Forbidden", what, user, err)
		}
	}

	// Without the binding, the Source reports the API server's refusal, not "no data".
	src2, err := liqo.New([]liqo.Cluster{{Name: "home", Reader: unbound}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src2.Latency(ctx, "home", "peer")
	if !apierrors.IsForbidden(err) || errors.Is(err, metrics.ErrNoData) || !strings.HasPrefix(err.Error(), "liqo: ") {
		t.Errorf("unbound user: %v, want a wrapped Forbidden that is not ErrNoData", err)
	}
}

func userClient(t *testing.T, cl *testenv.Cluster, name string) client.Client {
	t.Helper()
	u, err := cl.Env.AddUser(envtest.User{Name: name}, cl.Config)
	if err != nil {
		t.Fatalf("adding user %s: %v", name, err)
	}
	c, err := client.New(u.Config(), client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRBACManifestIsReadOnlyOnConnections(t *testing.T) {
	role, err := liqo.ClusterRole()
	if err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) != 1 {
		t.Fatalf("rules = %+v, want exactly one", role.Rules)
	}
	r := role.Rules[0]
	if fmt.Sprint(r.APIGroups, r.Resources, r.Verbs) != "[networking.liqo.io] [connections] [get list watch]" || len(r.ResourceNames) != 0 || len(r.NonResourceURLs) != 0 {
		t.Errorf("rule = %+v, want get/list/watch on connections.networking.liqo.io only", r)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		name     string
		clusters []liqo.Cluster
		opts     liqo.Options
		want     string
	}{
		{"no clusters", nil, liqo.Options{}, "clusters"},
		{"no name", []liqo.Cluster{{Reader: fakeReader{}}}, liqo.Options{}, "clusters[0].name"},
		{"no reader", []liqo.Cluster{{Name: "a"}}, liqo.Options{}, "clusters[0].reader"},
		{"twice", []liqo.Cluster{{Name: "a", Reader: fakeReader{}}, {Name: "a", Reader: fakeReader{}}}, liqo.Options{}, "clusters[1].name"},
		{"empty id", []liqo.Cluster{{Name: "a", Reader: fakeReader{}}}, liqo.Options{ClusterIDs: map[string]string{"b": ""}}, "opts.clusterIDs[b]"},
		{"max age", []liqo.Cluster{{Name: "a", Reader: fakeReader{}}}, liqo.Options{MaxAge: -1}, "opts.maxAge"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := liqo.New(c.clusters, c.opts)
			if !errors.Is(err, metrics.ErrInvalid) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "liqo: ") {
				t.Errorf("error %v: want one starting with \"liqo: \", naming %s, wrapping ErrInvalid", err, c.want)
			}
		})
	}
}

// fakeReader is a Reader that is never called.
type fakeReader struct{ client.Reader }
