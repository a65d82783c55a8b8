package meter

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// t0 is the tests' clock: every count passes its own time.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout = time.Second
	opt.DialerRetries = 1
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func newMeter(t testing.TB) *Meter {
	return New(newClient(t, testenv.RedisURL(t)), testenv.UniquePrefix())
}

func count(t *testing.T, m *Meter, user, page string, l Limit, at time.Time) View {
	t.Helper()
	v, err := m.Count(ctx, user, "club", page, l, at)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCountDistinctPagesUpToTheLimit(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 3, Per: 720 * time.Hour}
	steps := []struct {
		page string
		want Outcome
		used int
	}{
		{"/club/a", Counted, 1},
		{"/club/a", Again, 1}, // the same page again is free, not counted twice
		{"/club/b", Counted, 2},
		{"/club/c", Counted, 3},
		{"/club/d", UsedUp, 3}, // past the limit
		{"/club/b", Again, 3},  // a counted page stays free to the end of the window
		{"/club/a/", UsedUp, 3},
		{"/CLUB/a", UsedUp, 3}, // distinct paths as written: no second reading
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i) * time.Minute)
		v := count(t, m, "alice", s.page, l, at)
		if v.Outcome != s.want || v.Used != s.used || v.Limit != 3 {
			t.Fatalf("step %d %s: %s %d of %d, want %s %d of 3", i, s.page, v.Outcome, v.Used, v.Limit, s.want, s.used)
		}
		if !v.Ends.Equal(t0.Add(720 * time.Hour)) {
			t.Fatalf("step %d: window ends %s, want %s (fixed from the first view)", i, v.Ends, t0.Add(720*time.Hour))
		}
		if v.Free() != (s.want != UsedUp) {
			t.Fatalf("step %d: Free() = %v", i, v.Free())
		}
	}
	// Per user and per product: bob and another product start afresh.
	if v := count(t, m, "bob", "/club/d", l, t0); v.Outcome != Counted || v.Used != 1 {
		t.Fatalf("bob: %s %d", v.Outcome, v.Used)
	}
	if v, err := m.Count(ctx, "alice", "other", "/club/d", l, t0); err != nil || v.Outcome != Counted || v.Used != 1 {
		t.Fatalf("another product: %v %v", v, err)
	}
}

func TestWindowEndsAndKeyExpires(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 1, Per: time.Hour}
	count(t, m, "alice", "/club/a", l, t0)
	if v := count(t, m, "alice", "/club/b", l, t0.Add(59*time.Minute)); v.Outcome != UsedUp {
		t.Fatalf("inside the window: %s", v.Outcome)
	}
	// The key lives as long as the window: TTL = per from the first view.
	ttl, err := m.client.PTTL(ctx, m.key("alice", "club")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > time.Hour {
		t.Fatalf("TTL %s, want (0, 1h]", ttl)
	}
	// At the window's end (on the gateway's clock) the views renew, and the
	// new window starts with that view.
	v := count(t, m, "alice", "/club/b", l, t0.Add(time.Hour))
	if v.Outcome != Counted || v.Used != 1 || !v.Ends.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after the window: %s %d ends %s", v.Outcome, v.Used, v.Ends)
	}
	// The old window's pages are gone with it.
	if v := count(t, m, "alice", "/club/a", l, t0.Add(time.Hour+time.Minute)); v.Outcome != UsedUp {
		t.Fatalf("a page of the old window: %s", v.Outcome)
	}
}

func TestKeyExpiresInRedis(t *testing.T) {
	// Redis' own expiry, not only the gateway's clock: a 1.5s window (the
	// shortest PEXPIRE that is not rounded in practice), polled, so no
	// timing is asserted beyond "eventually".
	m := newMeter(t)
	l := Limit{Views: 1, Per: 1500 * time.Millisecond}
	now := time.Now()
	count(t, m, "alice", "/club/a", l, now)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := m.client.Exists(ctx, m.key("alice", "club")).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the meter's key did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := count(t, m, "alice", "/club/b", l, time.Now()); v.Outcome != Counted || v.Used != 1 {
		t.Fatalf("after expiry: %s %d", v.Outcome, v.Used)
	}
}

func TestConcurrentViewsNeverPassTheLimit(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 5, Per: time.Hour}
	var mu sync.Mutex
	counted := 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := m.Count(ctx, "alice", "club", fmt.Sprintf("/club/%d", i), l, t0)
			if err != nil {
				t.Error(err)
				return
			}
			if v.Outcome == Counted {
				mu.Lock()
				counted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counted != 5 {
		t.Fatalf("%d views counted, want 5", counted)
	}
}

func TestUserIDsAreEncodedInKeys(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 1, Per: time.Hour}
	// "a:club:x" must not share a meter with anyone, nor escape the prefix.
	count(t, m, "alice", "/club/a", l, t0)
	if v := count(t, m, "alice:x", "/club/b", l, t0); v.Outcome != Counted {
		t.Fatalf("alice:x shares alice's meter: %s", v.Outcome)
	}
	key := m.key("a}b:{c\n", "club")
	if !strings.HasPrefix(key, m.prefix+"free-views:club:") || strings.ContainsAny(key[len(m.prefix):], "{}\n") {
		t.Fatalf("key %q", key)
	}
}

func TestLongPagesAreHashed(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 2, Per: time.Hour}
	long := "/club/" + strings.Repeat("x", 500)
	count(t, m, "alice", long, l, t0)
	if v := count(t, m, "alice", long, l, t0); v.Outcome != Again {
		t.Fatalf("long page again: %s", v.Outcome)
	}
	if v := count(t, m, "alice", long+"y", l, t0); v.Outcome != Counted {
		t.Fatalf("another long page: %s", v.Outcome)
	}
	// "@end" as a page cannot overwrite the window's bounds.
	m2 := newMeter(t)
	count(t, m2, "alice", "/club/a", Limit{Views: 5, Per: time.Hour}, t0)
	count(t, m2, "alice", "@end", Limit{Views: 5, Per: time.Hour}, t0)
	w, ok, err := m2.Read(ctx, "alice", "club", t0)
	if err != nil || !ok || !w.End.Equal(t0.Add(time.Hour)) || len(w.Pages) != 2 {
		t.Fatalf("window %+v ok %v err %v", w, ok, err)
	}
	for _, h := range []string{w.Pages[0].Page, w.Pages[1].Page} {
		if h != "/club/a" && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(h) {
			t.Fatalf("page field %q", h)
		}
	}
}

func TestRead(t *testing.T) {
	m := newMeter(t)
	l := Limit{Views: 3, Per: time.Hour}
	if _, ok, err := m.Read(ctx, "alice", "club", t0); ok || err != nil {
		t.Fatalf("no meter: ok %v err %v", ok, err)
	}
	count(t, m, "alice", "/club/b", l, t0)
	count(t, m, "alice", "/club/a", l, t0.Add(time.Minute))
	w, ok, err := m.Read(ctx, "alice", "club", t0.Add(2*time.Minute))
	if err != nil || !ok {
		t.Fatalf("ok %v err %v", ok, err)
	}
	if !w.Start.Equal(t0) || !w.End.Equal(t0.Add(time.Hour)) || len(w.Pages) != 2 ||
		w.Pages[0].Page != "/club/b" || w.Pages[1].Page != "/club/a" || !w.Pages[1].First.Equal(t0.Add(time.Minute)) {
		t.Fatalf("window %+v", w)
	}
	if _, ok, _ := m.Read(ctx, "alice", "club", t0.Add(time.Hour)); ok {
		t.Fatal("an ended window is still read")
	}
}

// TestCountIsOneRoundTrip counts the commands one view costs: the client
// sends one EVALSHA (a hook sees every command it sends), and Redis served
// one EVALSHA per view (the commands inside the script are counted
// separately by INFO commandstats, and nothing else is there).
func TestCountIsOneRoundTrip(t *testing.T) {
	r := testenv.StartRedis(t)
	c := newClient(t, r.URL())
	m := New(c, testenv.UniquePrefix())
	l := Limit{Views: 3, Per: time.Hour}
	count(t, m, "warm", "/club/a", l, t0) // loads the script (EVALSHA, then EVAL once)

	admin := newClient(t, r.URL())
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	sent := &commandLog{}
	c.AddHook(sent)
	for i, page := range []string{"/club/a", "/club/b", "/club/a", "/club/c", "/club/d"} {
		count(t, m, "alice", page, l, t0.Add(time.Duration(i)*time.Second))
	}
	if got := strings.Join(sent.names, ","); got != "evalsha,evalsha,evalsha,evalsha,evalsha" {
		t.Fatalf("the client sent %s for 5 views, want one evalsha each", got)
	}
	stats, err := admin.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]string{}
	for _, m := range regexp.MustCompile(`cmdstat_([a-z|]+):calls=(\d+)`).FindAllStringSubmatch(stats, -1) {
		calls[m[1]] = m[2]
	}
	if calls["evalsha"] != "5" || calls["eval"] != "" || calls["hgetall"] != "" {
		t.Fatalf("Redis served %v for 5 views, want evalsha=5 and no eval or hgetall", calls)
	}
	for name := range calls {
		switch name {
		case "evalsha", "config|resetstat", "hget", "hset", "hlen", "hexists", "del", "pexpire":
		default: // only the script's own commands may appear beside it
			t.Fatalf("Redis served %s (%v)", name, calls)
		}
	}
}

// commandLog is a go-redis hook that records the commands a client sends.
type commandLog struct {
	mu    sync.Mutex
	names []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		l.names = append(l.names, cmd.Name())
		l.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		l.mu.Lock()
		l.names = append(l.names, "pipeline")
		l.mu.Unlock()
		return next(ctx, cmds)
	}
}

func TestRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	m := New(newClient(t, r.URL()), testenv.UniquePrefix())
	r.Stop()
	if _, err := m.Count(ctx, "alice", "club", "/club/a", Limit{Views: 3, Per: time.Hour}, t0); err == nil {
		t.Fatal("counting with Redis down: no error")
	}
	if _, _, err := m.Read(ctx, "alice", "club", t0); err == nil {
		t.Fatal("reading with Redis down: no error")
	}
}

func TestInvalidLimit(t *testing.T) {
	m := newMeter(t)
	for _, l := range []Limit{{0, time.Hour}, {-1, time.Hour}, {3, 0}} {
		if _, err := m.Count(ctx, "alice", "club", "/club/a", l, t0); err == nil {
			t.Fatalf("limit %+v accepted", l)
		}
	}
}
