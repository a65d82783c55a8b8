package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// waitClusterSubscribers waits until n clients follow prefix's changes
// channel, counted on every node: a subscriber sits on one node, and each
// counts only its own.
func waitClusterSubscribers(t *testing.T, nodes []string, prefix string, n int64) {
	t.Helper()
	ch := prefix + "changes"
	waitFor(t, 10*time.Second, fmt.Sprintf("%d subscribers on %s", n, ch), func() bool {
		var sum int64
		for _, a := range nodes {
			m, err := redisClient(t, a).PubSubNumSub(context.Background(), ch).Result()
			if err != nil {
				return false
			}
			sum += m[ch]
		}
		return sum >= n
	})
}

// TestRedisClusterTwoGateways runs two gateways on one three-master Redis
// Cluster (redis-cluster://): an admin grant, a payment and its refund,
// each applied through one gateway and enforced by both (the pub/sub
// invalidation crosses the cluster's nodes).
func TestRedisClusterTwoGateways(t *testing.T) {
	url := testenv.RedisClusterURL(t)
	nodes := testenv.ClusterNodes(url)
	if len(nodes) != testenv.ClusterMasters {
		t.Fatalf("cluster URL %s names %d nodes, want %d", url, len(nodes), testenv.ClusterMasters)
	}
	stubURL, prefix := clusterStub(t), testenv.UniquePrefix()
	var gw [2]*caddyProc
	for i := range gw {
		site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
		gw[i] = startCaddyProcess(t, site, gatewayCaddyfile(site, "off", stubURL, url, prefix, "ok"))
	}
	a, b := gw[0].site, gw[1].site
	waitClusterSubscribers(t, nodes, prefix, 2)

	// Both caches hold "unpaid" for alice and bob (a negative entry lives
	// 5s, longer than the bounds below: only the invalidation opens them).
	for _, s := range []string{a, b} {
		for _, u := range []string{"alice", "bob"} {
			mustGate(t, s, u, http.StatusPaymentRequired)
		}
	}

	// An admin grant through the command line, on the cluster.
	gw[0].cli(t).expect(0, "granted pro to alice", "grant", "--user", "alice", "--product", "pro")
	for i, s := range []string{a, b} {
		t.Logf("CLI grant enforced by gateway %c after %v", 'A'+i, waitGate(t, s, "alice", http.StatusOK, 2*time.Second))
	}

	// A payment through A's webhook opens bob on B; its refund through
	// B's closes him on A.
	mustWebhook(t, a, paidEvent("evt_bob", "bob"))
	for i, s := range []string{b, a} {
		t.Logf("payment through A enforced by gateway %c after %v", 'B'-i, waitGate(t, s, "bob", http.StatusOK, 2*time.Second))
	}
	mustWebhook(t, b, refundEvent("evt_bob_refund", "evt_bob"))
	for i, s := range []string{a, b} {
		t.Logf("refund through B enforced by gateway %c after %v", 'A'+i, waitGate(t, s, "bob", http.StatusPaymentRequired, 2*time.Second))
	}
	// The redelivered refund changes nothing; alice's grant stands.
	mustWebhook(t, a, refundEvent("evt_bob_refund", "evt_bob"))
	mustGate(t, a, "alice", http.StatusOK)
	mustGate(t, b, "bob", http.StatusPaymentRequired)
	gw[1].cli(t).expect(0, "evt_bob_refund", "show", "--user", "bob")
}
