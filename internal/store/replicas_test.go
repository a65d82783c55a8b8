package store

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// masterWithReplica starts a private master and a replica of it, and
// waits until the replica is in sync.
func masterWithReplica(t *testing.T) (master, replica *testenv.Redis) {
	t.Helper()
	master = testenv.StartRedis(t)
	replica = testenv.StartRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port))
	rc := plainClient(t, replica.Addr())
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			return master, replica
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica not in sync after 20s:\n%s", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func plainClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// onReplica reads the user's entitlements from the replica, through a
// store under the same prefix.
func onReplica(t *testing.T, s *Store, replica *testenv.Redis, user, product string) bool {
	t.Helper()
	r := New(plainClient(t, replica.Addr()), s.Prefix())
	e, err := r.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return e.Live(product, t0)
}

// TestMinReplicasWaitsForTheReplica: with a minimum of one replica, a
// change returns only once the replica holds it; while the replica is
// paused the change fails with ErrNotReplicated, and the redelivery (a
// duplicate) waits again and succeeds once the replica is back.
func TestMinReplicasWaitsForTheReplica(t *testing.T) {
	master, replica := masterWithReplica(t)
	s := newStoreAt(t, master.URL())
	s.SetMinReplicas(1)

	must(t)(s.Grant(ctx, payment("evt_a", "alice", "pro", "pi_a", t0)))
	if !onReplica(t, s, replica, "alice", "pro") {
		t.Fatal("the grant returned before the replica held it")
	}

	replica.Pause()
	_, err := s.Grant(ctx, payment("evt_b", "bob", "pro", "pi_b", t0))
	if !errors.Is(err, ErrNotReplicated) {
		replica.Resume()
		t.Fatalf("grant with the replica paused: %v, want ErrNotReplicated", err)
	}
	t.Logf("with the replica paused: %v", err)
	// The change is on the master: the redelivery is a duplicate, and it
	// still fails until the replica confirms.
	r, err := s.Grant(ctx, payment("evt_b", "bob", "pro", "pi_b", t0))
	if !errors.Is(err, ErrNotReplicated) {
		replica.Resume()
		t.Fatalf("redelivery with the replica paused: %+v %v, want ErrNotReplicated", r, err)
	}
	replica.Resume()
	r = must(t)(s.Grant(ctx, payment("evt_b", "bob", "pro", "pi_b", t0)))
	if !r.Duplicate {
		t.Fatalf("redelivery after the resume: %+v, want a duplicate", r)
	}
	if !onReplica(t, s, replica, "bob", "pro") {
		t.Fatal("the duplicate returned before the replica held the grant")
	}
	if got := auditActions(t, s, "bob"); got != "grant" {
		t.Fatalf("bob's audit: %q, want one grant", got)
	}

	// Two replicas required, one present: every change fails.
	s.SetMinReplicas(2)
	if _, err := s.Revoke(ctx, RevokeRequest{Meta: meta("evt_r", t0), Source: "pi_a"}); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("revoke with 1 of 2 replicas: %v, want ErrNotReplicated", err)
	}
}

// TestMinReplicasWithoutReplica: with no replica, a minimum of one fails
// every change, a duplicate of an event applied without the minimum too,
// and an event acknowledged without changes too. A minimum of 0 waits
// for nothing.
func TestMinReplicasWithoutReplica(t *testing.T) {
	alone := testenv.StartRedis(t)
	s := newStoreAt(t, alone.URL())
	must(t)(s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)))

	s.SetMinReplicas(1)
	for name, op := range map[string]func() (Result, error){
		"duplicate":   func() (Result, error) { return s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)) },
		"new grant":   func() (Result, error) { return s.Grant(ctx, payment("evt_2", "bob", "pro", "pi_2", t0)) },
		"acknowledge": func() (Result, error) { return s.Acknowledge(ctx, meta("evt_3", t0)) },
		"success page": func() (Result, error) {
			return s.Grant(ctx, GrantRequest{Meta: Meta{Cause: "success", Now: t0}, User: "alice", Product: "pro", Source: "pi_1"})
		},
	} {
		if _, err := op(); !errors.Is(err, ErrNotReplicated) || !strings.Contains(err.Error(), "0 of 1 replicas") {
			t.Errorf("%s with no replica: %v, want ErrNotReplicated (0 of 1)", name, err)
		}
	}
	s.SetMinReplicas(0)
	if r := must(t)(s.Grant(ctx, payment("evt_2", "bob", "pro", "pi_2", t0))); !r.Duplicate {
		t.Fatalf("evt_2 without a minimum: %+v, want the duplicate of the change the master kept", r)
	}
}

// TestMinReplicasOnCluster: on a Redis Cluster the wait runs on the
// master of the prefix's slot; the test cluster's masters have no
// replicas, so a minimum of one fails and 0 succeeds.
func TestMinReplicasOnCluster(t *testing.T) {
	opt, err := redis.ParseClusterURL(strings.Replace(testenv.RedisClusterURL(t), "redis-cluster://", "redis://", 1))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClusterClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	s := New(c, testenv.UniquePrefix())
	s.SetMinReplicas(1)
	if _, err := s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("grant on a cluster without replicas, minimum 1: %v, want ErrNotReplicated", err)
	}
	s.SetMinReplicas(0)
	if r := must(t)(s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0))); !r.Duplicate || !live(t, s, "alice", "pro", t0) {
		t.Fatalf("the grant applied on the slot's master: %+v", r)
	}
}
