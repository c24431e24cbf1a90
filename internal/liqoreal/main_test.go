package liqoreal_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/continuum-xr/continuum/internal/looptest"
	"github.com/continuum-xr/continuum/internal/testenv"
	"github.com/continuum-xr/continuum/peering/liqo"
)

// The clusters: home offloads to w1, w2 and w3 (the conformance suite uses home, w1
// and w2).

// Each cluster has two KWOK nodes of 8 CPUs and 32 GiB.
var nodeCapacity = corev1.ResourceList{
	corev1.ResourceCPU:    resource.MustParse("8"),
	corev1.ResourceMemory: resource.MustParse("32Gi"),
	corev1.ResourcePods:   resource.MustParse("110"),
}

var (
	env *testenv.RealEnv
	// admin are watching admin clients, by cluster name.
	admin = map[string]client.WithWatch{}
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	testenv.Main(m, func(ctx context.Context) (func() error, error) {
		var specs []testenv.RealClusterSpec
		for _, n := range looptest.Clusters {
			specs = append(specs, testenv.RealClusterSpec{Name: n, Nodes: 2, NodeCapacity: nodeCapacity})
		}
		qps, err := controllerManagerQPS()
		if err != nil {
			return nil, err
		}
		e, err := testenv.StartReal(ctx, testenv.RealOptions{Clusters: specs, Liqo: true, ControllerManagerQPS: qps})
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
		rss, n, rssErr := testenv.ChildrenRSS()
		fmt.Fprintf(os.Stderr, "liqoreal: %d real clusters with Liqo started in %v; %d processes, %.2f GB resident (%v); kube-controller-manager QPS %s\n",
			len(e.Clusters), e.StartDuration.Round(time.Millisecond), n, float64(rss)/1e9, rssErr, cmp.Or(os.Getenv(envKCMQPS), "default (20)"))
		env = e
		return e.Stop, nil
	})
}

// envKCMQPS, when set, is the kube-controller-manager client rate limit of the
// package's clusters (testenv.RealOptions.ControllerManagerQPS), to compare
// BenchmarkApplyReal with Kubernetes' default and with a raised limit.
const envKCMQPS = "CONTINUUM_LIQOREAL_KCM_QPS"

func controllerManagerQPS() (int, error) {
	v := os.Getenv(envKCMQPS)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("liqoreal: %s=%q: want a whole number of requests per second >= 0", envKCMQPS, v)
	}
	return n, nil
}

// endpoints are the clusters' API servers as the Liqo backend writes them into the
// consumers' kubeconfigs (no gateway addresses: networking is disabled).
func endpoints() map[string]liqo.Endpoint {
	out := map[string]liqo.Endpoint{}
	for _, c := range env.Clusters {
		out[c.Name] = liqo.Endpoint{APIServer: c.Config.Host, CAData: c.Config.CAData}
	}
	return out
}

// newBackend is the Liqo backend over the named clusters' admin clients, networking
// disabled.
func newBackend(t testing.TB, names ...string) *liqo.Backend {
	t.Helper()
	clients := map[string]client.WithWatch{}
	for _, n := range names {
		clients[n] = admin[n]
	}
	b, err := liqo.New(clients, liqo.Options{Endpoints: endpoints(), NetworkingDisabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// phase logs how long a step took (for the report; never asserted).
func phase(t testing.TB, name string, start time.Time) {
	t.Helper()
	t.Logf("phase %-28s %v", name, time.Since(start).Round(time.Millisecond))
}
