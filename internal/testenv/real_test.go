package testenv

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStartRealRejectsBadOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts RealOptions
		want string
	}{
		{"no clusters", RealOptions{}, "RealOptions.Clusters"},
		{"bad name", RealOptions{Clusters: []RealClusterSpec{{Name: "Not_A_Label"}}}, "RealOptions.Clusters[0].Name"},
		{"duplicate", RealOptions{Clusters: []RealClusterSpec{{Name: "a"}, {Name: "a"}}}, "RealOptions.Clusters[1].Name"},
		{"negative nodes", RealOptions{Clusters: []RealClusterSpec{{Name: "a", Nodes: -1}}}, "RealOptions.Clusters[0].Nodes"},
		{"negative timeout", RealOptions{Clusters: []RealClusterSpec{{Name: "a"}}, StartTimeout: -1}, "RealOptions.StartTimeout"},
		{"negative controller-manager QPS", RealOptions{Clusters: []RealClusterSpec{{Name: "a"}}, ControllerManagerQPS: -5}, "RealOptions.ControllerManagerQPS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, err := StartReal(t.Context(), c.opts)
			require.Error(t, err)
			assert.Nil(t, env)
			assert.Contains(t, err.Error(), c.want)
			assert.True(t, strings.HasPrefix(err.Error(), "testenv: "), err.Error())
		})
	}
}

func TestStartRealNeedsBinaries(t *testing.T) {
	t.Setenv(EnvToolsDir, t.TempDir())
	_, err := StartReal(t.Context(), RealOptions{Clusters: []RealClusterSpec{{Name: "a"}}, Liqo: true})
	require.ErrorIs(t, err, ErrBinariesMissing)
	for _, b := range []string{"kube-controller-manager", "kwok", "virtual-kubelet"} {
		assert.Contains(t, err.Error(), b)
	}
}

// TestVKCommand: the virtual kubelet runs with its pod's arguments, the Downward-API
// references resolved for a process on this host (the example follows Liqo's
// pkg/vkMachinery/forge: --node-ip=$(POD_IP), VIRTUALNODE_NAME literal).
func TestVKCommand(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "vk-w1-5d8f-x2k", Namespace: "liqo-tenant-w1"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Args: []string{"--foreign-cluster-id=w1", "--node-ip=$(POD_IP)", "--nodename=$(VIRTUALNODE_NAME)", "--keep=$(UNKNOWN)"},
			Env: []corev1.EnvVar{
				{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
				{Name: "VIRTUALNODE_NAME", Value: "w1"},
			},
		}}}}
	args, env := vkCommand(pod, "/k/admin.kubeconfig", 4242)
	assert.Equal(t, []string{"--foreign-cluster-id=w1", "--node-ip=127.0.0.1", "--nodename=w1", "--keep=$(UNKNOWN)",
		"--home-kubeconfig=/k/admin.kubeconfig", "--listen-port=4242"}, args)
	assert.Equal(t, []string{"POD_IP=127.0.0.1", "POD_NAME=vk-w1-5d8f-x2k", "POD_NAMESPACE=liqo-tenant-w1", "VIRTUALNODE_NAME=w1"}, env)
}
