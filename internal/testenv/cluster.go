package testenv

import (
	"context"

	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterMasters is how many masters a test cluster has.
const ClusterMasters = 3

var (
	clusterOnce sync.Once
	clusterURL  string
)

// RedisClusterURL returns the redis-cluster:// URL of a running
// three-master Redis Cluster: the one the test command started
// (PAYWALL_TEST_REDIS_CLUSTER), else one this test process starts once and
// stops when its tests end (Main).
func RedisClusterURL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("PAYWALL_TEST_REDIS_CLUSTER"); u != "" {
		return u
	}
	clusterOnce.Do(func() {
		dir, err := os.MkdirTemp("", "paywall-cluster")
		if err != nil {
			t.Fatalf("cluster dir: %v", err)
		}
		var nodes []*Redis
		atExit(func() {
			for _, n := range nodes {
				n.Stop()
			}
			_ = os.RemoveAll(dir)
		})
		var addrs []string
		for i := 0; i < ClusterMasters; i++ {
			nodeDir := filepath.Join(dir, strconv.Itoa(i))
			if err := os.Mkdir(nodeDir, 0o700); err != nil {
				t.Fatalf("cluster dir: %v", err)
			}
			// The bus port is set, not port+10000: a free port above
			// 55535 has no bus port.
			n := &Redis{t: t, Port: FreePort(t), Dir: nodeDir, Args: []string{
				"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
				"--cluster-port", strconv.Itoa(FreePort(t)), "--cluster-node-timeout", "5000",
				"--appendonly", "no"}}
			n.Start()
			nodes = append(nodes, n)
			addrs = append(addrs, n.Addr())
		}
		CreateCluster(t, addrs)
		clusterURL = "redis-cluster://" + addrs[0] + "?addr=" + strings.Join(addrs[1:], "&addr=")
	})
	if clusterURL == "" {
		t.Fatalf("the test cluster did not start (see the first test that asked for it)")
	}
	return clusterURL
}

// CreateCluster joins empty cluster-enabled servers into a cluster of
// masters with redis-cli --cluster create, and waits until every node
// reports cluster_state:ok.
func CreateCluster(t testing.TB, addrs []string) {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command(Binary(t, "redis-cli"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx := context.Background()
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		deadline := time.Now().Add(30 * time.Second)
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				t.Fatalf("cluster node %s not ok after 30s: %v\n%s", a, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = c.Close()
	}
}

// ClusterNodes lists the host:port of every node in a redis-cluster://
// URL as RedisClusterURL builds it.
func ClusterNodes(url string) []string {
	rest := strings.TrimPrefix(url, "redis-cluster://")
	first, query, _ := strings.Cut(rest, "?")
	nodes := []string{strings.TrimSuffix(first, "/")}
	for _, kv := range strings.Split(query, "&") {
		if a, ok := strings.CutPrefix(kv, "addr="); ok {
			nodes = append(nodes, a)
		}
	}
	return nodes
}
