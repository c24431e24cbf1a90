package liqo_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/liqoplay"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// The clusters: home consumes from a and b.
var clusterNames = []string{"home", "a", "b"}

var (
	env *testenv.Env
	// admin are watching admin clients, by cluster name.
	admin = map[string]client.WithWatch{}
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		e, err := testenv.Start(ctx, testenv.Options{Clusters: clusterNames, CRDs: testenv.LiqoCRDs})
		if err != nil {
			return nil, err
		}
		for _, c := range e.Clusters {
			wc, err := client.NewWithWatch(c.Config, client.Options{Scheme: e.Scheme})
			if err != nil {
				return nil, errors.Join(err, e.Stop())
			}
			admin[c.Name] = wc
		}
		env = e
		return e.Stop, nil
	})
}

// endpoints are the clusters' endpoints as the backend needs them.
func endpoints() map[string]liqo.Endpoint {
	out := map[string]liqo.Endpoint{}
	for i, c := range env.Clusters {
		out[c.Name] = liqo.Endpoint{APIServer: c.Config.Host, CAData: c.Config.CAData, GatewayAddresses: []string{fmt.Sprintf("192.0.2.%d", i+1)}}
	}
	return out
}

func newBackend(t *testing.T, clients map[string]client.WithWatch) *liqo.Backend {
	t.Helper()
	b, err := liqo.New(clients, liqo.Options{Endpoints: endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seed gives every cluster fresh Liqo inputs (fresh cluster IDs, see liqoplay.Seed)
// and returns the player that plays Liqo's controllers on them.
func seed(ctx context.Context) (*liqoplay.Player, error) {
	return seedWith(ctx, liqoplay.Options{})
}

// seedWith is seed with the player's options.
func seedWith(ctx context.Context, opts liqoplay.Options) (*liqoplay.Player, error) {
	var cs []liqoplay.Cluster
	for _, name := range clusterNames {
		cs = append(cs, liqoplay.Cluster{Name: name, Client: admin[name]})
	}
	p, err := liqoplay.New(cs, opts)
	if err != nil {
		return nil, err
	}
	return p, p.Seed(ctx)
}

// harness adapts the backend to peeringtest, on freshly seeded cluster IDs.
type harness struct {
	b      *liqo.Backend
	player *liqoplay.Player
	// noLatency: the backend runs with networking disabled (no Connection, no latency).
	noLatency bool
}

func (h *harness) NoLatency() bool { return h.noLatency }

func (h *harness) Backend() peering.Interface       { return h.b }
func (h *harness) Clusters() (home, a, b string)    { return "home", "a", "b" }
func (h *harness) WaitOptions() peering.WaitOptions { return peering.WaitOptions{} }
func (h *harness) Close()                           {}

func (h *harness) Namespace(ctx context.Context, cluster string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "xr-"}}
	if err := admin[cluster].Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

func (h *harness) CompletePeering(ctx context.Context, k peering.Key) error {
	return h.player.CompletePeering(ctx, k)
}

func (h *harness) CompleteOffloading(ctx context.Context, ref peering.NamespaceRef) error {
	return h.player.CompleteOffloading(ctx, ref)
}

func request(consumer, provider string) peering.PeerRequest {
	return peering.PeerRequest{Key: peering.Key{Consumer: consumer, Provider: provider},
		Resources: peering.Resources{CPU: resource.MustParse("4"), Memory: resource.MustParse("8Gi"), Pods: 110}}
}
