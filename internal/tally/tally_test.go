package tally

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newStore(t *testing.T, url, prefix string) *store.Store {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout, opt.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return store.New(c, prefix)
}

func day(t *testing.T, st *store.Store, at time.Time) map[string]int64 {
	t.Helper()
	d, err := st.Stats(ctx, at, 1)
	if err != nil {
		t.Fatal(err)
	}
	return d[0].Counts
}

// Two gateways on one Redis add up; a gateway that stops flushes what it
// has, and a new one (a restart) adds to what is there.
func TestGatewaysAddUpAndSurviveRestart(t *testing.T) {
	prefix := testenv.UniquePrefix()
	a := New(newStore(t, testenv.RedisURL(t), prefix), time.Hour, func() time.Time { return t0 })
	b := New(newStore(t, testenv.RedisURL(t), prefix), time.Hour, func() time.Time { return t0 })
	for range 3 {
		a.Add(Pass)
		b.Add(Pass)
	}
	a.Add(PayPage)
	b.Add(Checkout)
	b.Add(Login)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	a.Start()
	if err := a.Stop(time.Second); err != nil { // nothing left: no write
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := newStore(t, testenv.RedisURL(t), prefix)
	got := day(t, st, t0)
	want := map[string]int64{"pass": 6, "pay_page": 1, "checkout": 1, "login": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	// A restart: a new Tally adds to what the old ones left.
	c := New(st, time.Hour, func() time.Time { return t0 })
	c.Add(Pass)
	c.Start()
	if err := c.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if got := day(t, st, t0); got["pass"] != 7 {
		t.Errorf("after restart: pass = %d, want 7", got["pass"])
	}
	ttl := st.Client().TTL(ctx, st.StatsKey(store.Day(t0))).Val()
	if ttl < store.StatsRetention-time.Minute || ttl > store.StatsRetention {
		t.Errorf("retention: TTL %v, want %v", ttl, store.StatsRetention)
	}
}

// The flusher writes about once a second without being asked.
func TestFlusherRuns(t *testing.T) {
	st := newStore(t, testenv.RedisURL(t), testenv.UniquePrefix())
	tl := New(st, 20*time.Millisecond, nil)
	tl.Start()
	defer tl.Stop(time.Second)
	tl.Add(Pay)
	deadline := time.Now().Add(5 * time.Second)
	for day(t, st, time.Now())["pay"] != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the flusher did not write the count")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A flush that fails keeps the counts for the next one.
func TestFailedFlushKeepsCounts(t *testing.T) {
	srv := testenv.StartRedis(t)
	st := newStore(t, srv.URL(), testenv.UniquePrefix())
	tl := New(st, time.Hour, func() time.Time { return t0 })
	srv.Stop()
	tl.Add(Pass)
	tl.Webhook("", "bad_signature")
	if err := tl.Flush(ctx); err == nil {
		t.Fatal("flush to a stopped Redis succeeded")
	}
	tl.Add(Pass)
	srv.Start()
	if err := tl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := day(t, st, t0); got["pass"] != 2 {
		t.Errorf("pass = %d, want 2", got["pass"])
	}
	h, err := st.Webhook(ctx, t0)
	if err != nil || h.Failures["bad_signature"] != 1 || h.FailReason != "bad_signature" {
		t.Errorf("webhook health %+v %v", h, err)
	}
}

// Webhook deliveries: the last one, and failures by reason over 24 hours.
func TestWebhookHealth(t *testing.T) {
	st := newStore(t, testenv.RedisURL(t), testenv.UniquePrefix())
	now := t0
	tl := New(st, time.Hour, func() time.Time { return now })
	tl.Webhook("", "bad_signature")
	tl.Webhook("invoice.paid", "store_error")
	now = t0.Add(2 * time.Hour)
	tl.Webhook("invoice.paid", "store_error")
	tl.Webhook("checkout.session.completed", "applied")
	if err := tl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := st.Webhook(ctx, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if h.LastType != "checkout.session.completed" || h.LastOutcome != "applied" || !h.Last.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("last: %+v", h)
	}
	if h.FailReason != "store_error" || h.FailureType != "invoice.paid" || h.Failures["store_error"] != 2 || h.Failures["bad_signature"] != 1 {
		t.Errorf("failures: %+v", h)
	}
	// A day later the failures are out of the window.
	if h, _ := st.Webhook(ctx, t0.Add(27*time.Hour)); len(h.Failures) != 0 {
		t.Errorf("failures after 24 h: %v", h.Failures)
	}
}

func TestNilTallyCountsNothing(t *testing.T) {
	var tl *Tally
	tl.Add(Pass)
	tl.Webhook("x", "applied")
}

// The hot path: one atomic add, no allocation.
func BenchmarkAdd(b *testing.B) {
	tl := New(nil, time.Hour, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tl.Add(Pass)
		}
	})
}
