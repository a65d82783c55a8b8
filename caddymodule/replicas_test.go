package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// withMinReplicas adds redis_min_replicas n to a gatewayCaddyfile.
func withMinReplicas(caddyfile string, n int) string {
	return strings.Replace(caddyfile, "\t\tkey_prefix", fmt.Sprintf("\t\tredis_min_replicas    %d\n\t\tkey_prefix", n), 1)
}

// grantOn reads user's entitlements straight from one Redis server.
func grantOn(t *testing.T, addr, prefix, user string) bool {
	t.Helper()
	e, err := store.New(redisClient(t, addr), prefix).Entitlements(context.Background(), user)
	if err != nil {
		t.Fatalf("reading %s's grants on %s: %v", user, addr, err)
	}
	return e.Live("pro", time.Now())
}

// TestMinReplicasWebhook: with redis_min_replicas 1 the webhook answers
// 503 while no replica confirms the change, and 200 once one does; the
// redelivery (a duplicate) waits too. With no replica at all, every
// delivery answers 503.
func TestMinReplicasWebhook(t *testing.T) {
	master := testenv.StartRedis(t)
	replica := testenv.StartRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	alone := testenv.StartRedis(t)
	rpc := redisClient(t, replica.Addr())
	waitFor(t, 20*time.Second, "replica in sync", func() bool {
		info, _ := rpc.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	stubURL, prefix := clusterStub(t), testenv.UniquePrefix()
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startCaddyProcess(t, site, withMinReplicas(gatewayCaddyfile(site, "off", stubURL, master.URL(), prefix, "ok"), 1))
	lone := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startCaddyProcess(t, lone, withMinReplicas(gatewayCaddyfile(lone, "off", stubURL, alone.URL(), prefix, "ok"), 1))

	mustWebhook(t, site, paidEvent("evt_alice", "alice"))
	if !grantOn(t, replica.Addr(), prefix, "alice") {
		t.Fatal("the webhook answered 200 before the replica held alice's grant")
	}

	replica.Pause()
	evt := paidEvent("evt_bob", "bob")
	for i := 1; i <= 2; i++ { // the first delivery, then a redelivery (a duplicate)
		code, body, err := postWebhook(site, evt)
		if err != nil || code != http.StatusServiceUnavailable {
			replica.Resume()
			t.Fatalf("delivery %d with the replica paused: %d %v %s, want 503", i, code, err, body)
		}
	}
	replica.Resume()
	mustWebhook(t, site, evt)
	if !grantOn(t, replica.Addr(), prefix, "bob") {
		t.Fatal("the redelivery answered 200 before the replica held bob's grant")
	}
	waitGate(t, site, "bob", http.StatusOK, 2*time.Second)

	for i := 1; i <= 2; i++ {
		code, body, err := postWebhook(lone, paidEvent("evt_carol", "carol"))
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("delivery %d with no replica and redis_min_replicas 1: %d %v %s, want 503", i, code, err, body)
		}
	}
}

// linkProxy stands between a replica and its master. Hold stops the
// master's stream from reaching the replica (a slow or partitioned
// link); Release lets it through; Cut drops it for good, with whatever
// it held.
type linkProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
	cut    bool
	conns  []net.Conn
}

func startLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.serve()
	t.Cleanup(p.Cut)
	return p
}

func (p *linkProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *linkProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		m, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, m)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(m, c); m.Close() }() // the replica's acks pass freely
		go p.forward(m, c)
	}
}

// forward copies the master's stream to the replica, chunk by chunk,
// waiting while the link is held.
func (p *linkProxy) forward(m, c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := m.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.held && !p.cut {
				p.cond.Wait()
			}
			cut := p.cut
			p.mu.Unlock()
			if cut {
				return
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *linkProxy) set(held, cut bool) {
	p.mu.Lock()
	p.held, p.cut = held, p.cut || cut
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *linkProxy) Hold()    { p.set(true, false) }
func (p *linkProxy) Release() { p.set(false, false) }

// Cut drops the link and anything it held: the replica never sees it.
func (p *linkProxy) Cut() {
	p.set(false, true)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// TestSentinelFailoverKeepsAcknowledged: with redis_min_replicas 1, a
// grant the webhook acknowledged is on the replica Sentinel promotes when
// the master is killed right after the 2xx. The replica follows the
// master through a link the test can hold: while it is held, the webhook
// must not answer 2xx (without the option it would, and a failover then
// would lose the grant); once released, Stripe's retry is acknowledged,
// the link is cut and the master killed at once, and the promoted
// replica holds the grant.
func TestSentinelFailoverKeepsAcknowledged(t *testing.T) {
	caddyBinary(t) // built before the sentinel's clock below starts
	master := testenv.StartRedis(t)
	link := startLinkProxy(t, master.Addr())
	replica := testenv.StartRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(link.Port()))
	ctx := context.Background()
	rpc := redisClient(t, replica.Addr())
	waitFor(t, 20*time.Second, "replica in sync", func() bool {
		info, _ := rpc.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	// A long failover-timeout: once it has passed, Sentinel points the
	// replica at the master's own address, around the link.
	sentPort, masterAddr := startSentinel(t, master.Port, 300000)
	waitFor(t, 15*time.Second, "sentinel to know the master", func() bool { return masterAddr() == master.Addr() })

	stubURL, prefix := clusterStub(t), testenv.UniquePrefix()
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	url := fmt.Sprintf("redis-sentinel://127.0.0.1:%d/0?master_name=mymaster", sentPort)
	startCaddyProcess(t, site, withMinReplicas(gatewayCaddyfile(site, "off", stubURL, url, prefix, "ok"), 1))
	waitSubscribers(t, redisClient(t, master.Addr()), prefix, 1)
	mustGate(t, site, "alice", http.StatusPaymentRequired)

	evt := paidEvent("evt_alice", "alice")
	link.Hold()
	code, body, err := postWebhook(site, evt)
	if err != nil || code != http.StatusServiceUnavailable {
		link.Release()
		t.Fatalf("webhook while the replica cannot confirm: %d %v %s, want 503 (a 2xx here is a grant a failover can lose)", code, err, body)
	}
	if !grantOn(t, master.Addr(), prefix, "alice") || grantOn(t, replica.Addr(), prefix, "alice") {
		t.Fatal("while held, the grant should be on the master only")
	}
	link.Release()
	mustWebhook(t, site, evt) // Stripe's retry
	link.Cut()
	master.Stop()
	killed := time.Now()

	if !grantOn(t, replica.Addr(), prefix, "alice") {
		t.Fatal("the acknowledged grant is not on the replica")
	}
	waitFor(t, 20*time.Second, "sentinel to promote the replica", func() bool { return masterAddr() == replica.Addr() })
	t.Logf("sentinel promoted the replica %v after the master was killed", time.Since(killed))
	if !grantOn(t, replica.Addr(), prefix, "alice") {
		t.Fatal("the promoted replica lost the acknowledged grant")
	}
	// The gateway follows the promotion and alice passes (503s on the way
	// are an outage, not a wrong answer).
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, err := gate(site, "alice")
		if err == nil && code == http.StatusOK {
			break
		}
		if err != nil || code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("alice after the failover: %d %v, want 200 (or 503 until the gateway follows)", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// On the promoted replica, which has no replica of its own, a new
	// change cannot be confirmed: 503, never a 2xx.
	if code, body, err := postWebhook(site, paidEvent("evt_dave", "dave")); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("webhook on a master without replicas: %d %v %s, want 503", code, err, body)
	}
}
