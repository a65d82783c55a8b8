package gateway

// Benchmarks of the hot path and the webhook, against a real redis-server
// (testenv.RedisURL). Stripe is never called on these paths: the client
// points at a closed port, so a call that should not happen fails loudly
// instead of being quietly served by a mock.
//
//	go test ./internal/gateway -run '^$' -bench . -benchmem
//
// bench/README.md explains the figures.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/cache"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// benchGateway is a Gateway on a real Redis under its own key prefix,
// reading entitlements through reader(st) (nil: the store itself). Its
// keys are deleted when the benchmark ends.
func benchGateway(b *testing.B, reader func(*store.Store) Entitlements) (*Gateway, *store.Store) {
	b.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(b))
	if err != nil {
		b.Fatal(err)
	}
	client := redis.NewClient(opt)
	prefix := testenv.UniquePrefix()
	b.Cleanup(func() {
		deleteKeys(client, prefix)
		client.Close()
	})
	st := store.New(client, prefix)
	api := stripeapi.New("sk_test_bench", "http://127.0.0.1:1") // never called here
	d := Deps{Store: st, API: api, Applier: &events.Applier{Store: st, API: api, Products: testProducts}}
	if reader != nil {
		d.Reader = reader(st)
	}
	gw, err := New(Config{
		BasePath: "/paywall", Products: testProducts,
		WebhookSecrets: []string{testWebhookSecret}, SessionSecret: testSessionSecret,
	}, d)
	if err != nil {
		b.Fatal(err)
	}
	return gw, st
}

// deleteKeys removes everything under prefix (the benchmarks write
// thousands of users into a Redis that other tests may share).
func deleteKeys(c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			c.Unlink(ctx, batch...)
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		c.Unlink(ctx, batch...)
	}
}

func benchGrant(b *testing.B, st *store.Store, user, product string) {
	b.Helper()
	now := time.Now()
	_, err := st.Grant(context.Background(), store.GrantRequest{
		Meta: store.Meta{Cause: "bench", Created: now.Unix(), Now: now},
		User: user, Product: product, Source: "pi_bench_" + user + "_" + product,
	})
	if err != nil {
		b.Fatal(err)
	}
}

// liveCache is an entitlement cache in front of st, live at once (in
// Caddy, Follow turns it live when the pub/sub subscription is confirmed).
func liveCache(c **cache.Cache) func(*store.Store) Entitlements {
	return func(st *store.Store) Entitlements {
		*c = cache.New(st, cache.Options{})
		(*c).SetLive(true)
		return *c
	}
}

var paidRequest = Request{User: "alice", Products: []string{"pro"}}

func checkDecision(b *testing.B, d Decision, want Outcome) {
	if d.Outcome != want {
		b.Fatalf("outcome %q (err %v), want %q", d.Outcome, d.Err, want)
	}
}

// BenchmarkDecideWarmCache: a paid user's gated request, answered from
// the in-process cache (the steady state of a paying visitor).
func BenchmarkDecideWarmCache(b *testing.B) {
	var c *cache.Cache
	gw, st := benchGateway(b, liveCache(&c))
	benchGrant(b, st, "alice", "pro")
	ctx := context.Background()
	checkDecision(b, gw.Decide(ctx, paidRequest), Pass) // fills the cache
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := gw.Decide(ctx, paidRequest); d.Outcome != Pass {
			checkDecision(b, d, Pass)
		}
	}
	b.StopTimer()
	if hits, misses := c.Stats(); misses != 1 || hits < uint64(b.N) {
		b.Fatalf("cache hits %d misses %d: not a warm-cache benchmark", hits, misses)
	}
}

// BenchmarkDecideWarmCacheParallel: the same from GOMAXPROCS goroutines
// (lock contention on the cache's shards).
func BenchmarkDecideWarmCacheParallel(b *testing.B) {
	var c *cache.Cache
	gw, st := benchGateway(b, liveCache(&c))
	users := make([]string, 64)
	for i := range users {
		users[i] = fmt.Sprintf("user%d", i)
		benchGrant(b, st, users[i], "pro")
		checkDecision(b, gw.Decide(context.Background(), Request{User: users[i], Products: []string{"pro"}}), Pass)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := Request{User: users[next.Add(1)%int64(len(users))], Products: []string{"pro"}}
		ctx := context.Background()
		for pb.Next() {
			if d := gw.Decide(ctx, req); d.Outcome != Pass {
				b.Errorf("outcome %q (err %v)", d.Outcome, d.Err)
				return
			}
		}
	})
}

// BenchmarkDecideColdCache: the cache is live but the user was just
// invalidated (a grant elsewhere, or the first request after start-up),
// so the decision reads Redis once and stores the result.
func BenchmarkDecideColdCache(b *testing.B) {
	var c *cache.Cache
	gw, st := benchGateway(b, liveCache(&c))
	benchGrant(b, st, "alice", "pro")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Invalidate("alice")
		if d := gw.Decide(ctx, paidRequest); d.Outcome != Pass {
			checkDecision(b, d, Pass)
		}
	}
	b.StopTimer()
	if _, misses := c.Stats(); misses < uint64(b.N) {
		b.Fatalf("cache misses %d < %d: not a cold-cache benchmark", misses, b.N)
	}
}

// BenchmarkDecideNoCache: entitlement_cache off, one HGETALL per decision.
func BenchmarkDecideNoCache(b *testing.B) {
	gw, st := benchGateway(b, nil)
	benchGrant(b, st, "alice", "pro")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if d := gw.Decide(ctx, paidRequest); d.Outcome != Pass {
			checkDecision(b, d, Pass)
		}
	}
}

// BenchmarkDecideNoCacheParallel: the same, many requests in flight, as
// under load (go-redis's pool, Redis on the same 2 cores).
func BenchmarkDecideNoCacheParallel(b *testing.B) {
	gw, st := benchGateway(b, nil)
	benchGrant(b, st, "alice", "pro")
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if d := gw.Decide(ctx, paidRequest); d.Outcome != Pass {
				b.Errorf("outcome %q (err %v)", d.Outcome, d.Err)
				return
			}
		}
	})
}

// signedEvents are n checkout.session.completed deliveries, each a new
// user, session, payment intent and event id, signed now.
func signedEvents(run string, n int) (bodies [][]byte, sigs []string) {
	bodies, sigs = make([][]byte, n), make([]string, n)
	now := time.Now()
	for i := range bodies {
		id := fmt.Sprintf("%s_%d", run, i)
		bodies[i] = completedEvent("evt_"+id, "wh-"+id, "pro", "pi_"+id)
		sigs[i] = stripeevent.Sign(bodies[i], testWebhookSecret, now)
	}
	return bodies, sigs
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

func webhookRequest(body []byte, sig string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/paywall/webhook", bytes.NewReader(body))
	r.Header.Set("Stripe-Signature", sig)
	return r
}

// BenchmarkWebhook: one verified checkout.session.completed applied to
// Redis (signature check, parse, the grant script), one at a time.
func BenchmarkWebhook(b *testing.B) {
	gw, st := benchGateway(b, nil)
	bodies, sigs := signedEvents(fmt.Sprintf("s%d", time.Now().UnixNano()), b.N)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = webhookRequest(bodies[i], sigs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := &discardWriter{h: http.Header{}, status: 200}
		gw.ServeEndpoint(w, reqs[i], "", nil)
		if w.status != http.StatusOK {
			b.Fatalf("event %d: status %d", i, w.status)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	checkGranted(b, st, bodies)
}

// BenchmarkWebhookParallel: the same with 16 deliveries in flight, as
// Stripe sends them after an outage or a sale.
func BenchmarkWebhookParallel(b *testing.B) {
	gw, st := benchGateway(b, nil)
	bodies, sigs := signedEvents(fmt.Sprintf("p%d", time.Now().UnixNano()), b.N)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = webhookRequest(bodies[i], sigs[i])
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			w := &discardWriter{h: http.Header{}, status: 200}
			gw.ServeEndpoint(w, reqs[i], "", nil)
			if w.status != http.StatusOK {
				b.Errorf("event %d: status %d", i, w.status)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	checkGranted(b, st, bodies)
}

// checkGranted samples the users the events paid for: each must hold pro.
func checkGranted(b *testing.B, st *store.Store, bodies [][]byte) {
	b.Helper()
	step := len(bodies)/20 + 1
	for i := 0; i < len(bodies); i += step {
		user := string(bytes.Split(bytes.Split(bodies[i], []byte(`"paywall_user":"`))[1], []byte(`"`))[0])
		ents, err := st.Entitlements(context.Background(), user)
		if err != nil || !ents.Live("pro", time.Now()) {
			b.Fatalf("event %d: %s does not hold pro after its webhook (%v)", i, user, err)
		}
	}
}
