package cache

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// countingReader counts the reads that reach the store.
type countingReader struct {
	inner *store.Store
	reads atomic.Int64
	delay time.Duration
}

func (c *countingReader) Entitlements(ctx context.Context, user string) (store.Entitlements, error) {
	c.reads.Add(1)
	time.Sleep(c.delay) // widens the window a burst collapses into
	return c.inner.Entitlements(ctx, user)
}

func client(t *testing.T, url string) *redis.Client {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func grant(t *testing.T, s *store.Store, user string) {
	t.Helper()
	now := time.Now()
	if _, err := s.Grant(ctx, store.GrantRequest{Meta: store.Meta{Cause: "test", Now: now},
		User: user, Product: "pro", Source: "pi_" + user + now.String()}); err != nil {
		t.Fatal(err)
	}
}

// following starts a cache that follows s's changes and waits until it is live.
func following(t *testing.T, r *countingReader, rc redis.UniversalClient, o Options) *Cache {
	t.Helper()
	c := New(r, o)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { c.Follow(fctx, rc, r.inner.ChangesChannel()); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the subscription to be confirmed", c.Live)
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHitsAndBurstCollapse(t *testing.T) {
	rc := client(t, testenv.RedisURL(t))
	st := store.New(rc, testenv.UniquePrefix())
	grant(t, st, "alice")
	r := &countingReader{inner: st, delay: 20 * time.Millisecond}
	c := following(t, r, rc, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := c.Entitlements(ctx, "alice")
			if err != nil || !e.Live("pro", time.Now()) {
				t.Errorf("burst read: %v %v", e, err)
			}
		}()
	}
	wg.Wait()
	if n := r.reads.Load(); n != 1 {
		t.Fatalf("a burst of 50 requests cost %d Redis reads, want 1", n)
	}
	for i := 0; i < 10; i++ {
		_, _ = c.Entitlements(ctx, "alice")
	}
	if n := r.reads.Load(); n != 1 {
		t.Fatalf("warm reads reached Redis: %d", n)
	}
}

// A change made through another gateway's store reaches this cache
// through pub/sub, long before any TTL.
func TestInvalidationFromAnotherGateway(t *testing.T) {
	url := testenv.RedisURL(t)
	prefix := testenv.UniquePrefix()
	rc := client(t, url)
	mine := store.New(rc, prefix)
	theirs := store.New(client(t, url), prefix)
	r := &countingReader{inner: mine}
	c := following(t, r, rc, Options{TTL: time.Hour, NegativeTTL: time.Hour})

	if e, _ := c.Entitlements(ctx, "bob"); e.Live("pro", time.Now()) {
		t.Fatal("bob holds pro before paying")
	}
	start := time.Now()
	grant(t, theirs, "bob") // paid through the other gateway
	waitFor(t, "bob's grant to reach the cache", func() bool {
		e, _ := c.Entitlements(ctx, "bob")
		return e.Live("pro", time.Now())
	})
	t.Logf("a grant on another gateway was seen after %v", time.Since(start))

	// And a revoke closes access just as fast.
	if _, err := theirs.Revoke(ctx, store.RevokeRequest{Meta: store.Meta{Cause: "admin", Now: time.Now()},
		Source: store.SourceAdmin, User: "bob", Product: "pro"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bob's revoke to reach the cache", func() bool {
		e, _ := c.Entitlements(ctx, "bob")
		return !e.Live("pro", time.Now())
	})
}

// While the subscription is down the cache is flushed and bypassed: it
// never serves access Redis no longer grants.
func TestBypassedWhileSubscriptionIsDown(t *testing.T) {
	srv := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	rc := client(t, srv.URL())
	st := store.New(rc, testenv.UniquePrefix())
	grant(t, st, "carol")
	r := &countingReader{inner: st}
	c := following(t, r, rc, Options{TTL: time.Hour})
	if _, err := c.Entitlements(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	waitFor(t, "the cache to notice the outage", func() bool { return !c.Live() })
	if c.Len() != 0 {
		t.Fatal("the cache kept entries through an outage")
	}
	if _, err := c.Entitlements(ctx, "carol"); err == nil {
		t.Fatal("a read during the outage was answered from memory")
	}
	srv.Start()
	waitFor(t, "the subscription to come back", c.Live)
	e, err := c.Entitlements(ctx, "carol")
	if err != nil || !e.Live("pro", time.Now()) {
		t.Fatalf("after the outage: %v %v", e, err)
	}
}

func TestNegativeEntriesExpire(t *testing.T) {
	rc := client(t, testenv.RedisURL(t))
	st := store.New(rc, testenv.UniquePrefix())
	r := &countingReader{inner: st}
	c := New(r, Options{NegativeTTL: time.Minute, TTL: time.Hour})
	c.SetLive(true)
	now := time.Now()
	c.now = func() time.Time { return now }
	_, _ = c.Entitlements(ctx, "dave")
	_, _ = c.Entitlements(ctx, "dave")
	if r.reads.Load() != 1 {
		t.Fatalf("a negative entry was not cached: %d reads", r.reads.Load())
	}
	now = now.Add(61 * time.Second)
	_, _ = c.Entitlements(ctx, "dave")
	if r.reads.Load() != 2 {
		t.Fatalf("a negative entry outlived its TTL: %d reads", r.reads.Load())
	}
}

func TestBounded(t *testing.T) {
	rc := client(t, testenv.RedisURL(t))
	st := store.New(rc, testenv.UniquePrefix())
	c := New(&countingReader{inner: st}, Options{Size: 128})
	c.SetLive(true)
	for i := 0; i < 1000; i++ {
		_, _ = c.Entitlements(ctx, "user"+string(rune('a'+i%26))+time.Duration(i).String())
	}
	if n := c.Len(); n > 128+shardCount {
		t.Fatalf("%d entries kept, bound is about 128", n)
	}
}

func BenchmarkWarmHit(b *testing.B) {
	c := New(fakeReader{}, Options{})
	c.SetLive(true)
	_, _ = c.Entitlements(ctx, "alice")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = c.Entitlements(ctx, "alice")
	}
}

type fakeReader struct{}

func (fakeReader) Entitlements(_ context.Context, user string) (store.Entitlements, error) {
	return store.Entitlements{User: user, Grants: []store.Grant{{Product: "pro", Source: "pi_1"}}}, nil
}

// Long user ids cannot grow the cache past its byte bound: 4,000 users
// with 16 KB ids are 64 MB of ids, and a 4 MiB cache keeps about 4 MiB
// alive after garbage collection.
func TestBoundedInBytes(t *testing.T) {
	const maxBytes = 4 << 20
	c := New(fakeReader{}, Options{MaxBytes: maxBytes})
	c.SetLive(true)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 4000; i++ {
		_, _ = c.Entitlements(ctx, fmt.Sprintf("%05d", i)+strings.Repeat("x", 16<<10))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if c.Bytes() > maxBytes {
		t.Fatalf("the entries hold %d bytes, bound %d", c.Bytes(), maxBytes)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 2*maxBytes {
		t.Fatalf("the heap kept %d MB after GC with a %d MB cache", grown>>20, maxBytes>>20)
	}
	if c.Len() == 0 {
		t.Fatal("nothing was cached")
	}
	runtime.KeepAlive(c)
}

// Expired entries are dropped as new ones arrive, not kept until evicted.
func TestExpiredEntriesAreDropped(t *testing.T) {
	c := New(fakeReader{}, Options{TTL: time.Minute})
	c.SetLive(true)
	now := time.Now()
	c.now = func() time.Time { return now }
	for i := 0; i < 1000; i++ {
		_, _ = c.Entitlements(ctx, fmt.Sprintf("old-%d", i))
	}
	bytesOld := c.Bytes()
	now = now.Add(2 * time.Minute)
	for i := 0; i < 1000; i++ {
		_, _ = c.Entitlements(ctx, fmt.Sprintf("new-%d", i))
	}
	if n := c.Len(); n > 1500 {
		t.Fatalf("%d entries after 1,000 expired and 1,000 new: the expired ones linger", n)
	}
	if c.Bytes() > 2*bytesOld*3/4 {
		t.Fatalf("%d bytes held, %d before the first 1,000 expired", c.Bytes(), bytesOld)
	}
}
