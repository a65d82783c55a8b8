package caddymodule

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// TestRedisKilledUnderLoad SIGKILLs a real redis-server (AOF, fsync always)
// while paid, unpaid, ungated and webhook traffic runs, then restarts it.
// Nothing ungated fails, no unpaid user ever reaches the site, gated paths
// answer 503 while Redis is gone, every webhook event Stripe would retry
// until 2xx ends up applied, and the gateway reconnects by itself.
func TestRedisKilledUnderLoad(t *testing.T) {
	const (
		webhookSecret = "whsec_outage_load"
		runFor        = 8 * time.Second
		killAt        = 3 * time.Second
		outageFor     = 2 * time.Second
		recoverBound  = 10 * time.Second
	)
	rds := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	prefix := testenv.UniquePrefix()

	opt, err := redis.ParseURL(rds.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout = time.Second
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	st := store.New(rc, prefix)

	paid := []string{"paid-0", "paid-1", "paid-2"}
	unpaid := []string{"unpaid-0", "unpaid-1", "unpaid-2"}
	ctx := context.Background()
	for _, u := range paid {
		now := time.Now()
		if _, err := st.Grant(ctx, store.GrantRequest{Meta: store.Meta{Cause: "admin", Created: now.Unix(), Now: now},
			User: u, Product: "pro", Source: store.SourceAdmin}); err != nil {
			t.Fatal(err)
		}
	}

	// The site records every user that reached a gated page.
	var (
		seenMu sync.Mutex
		seen   = map[string]int{}
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/premium/") {
			seenMu.Lock()
			seen[r.Header.Get("X-Paywall-User")+"|"+r.Header.Get("X-User")]++
			seenMu.Unlock()
		}
		fmt.Fprintf(w, "page %s", r.URL.Path)
	}))
	t.Cleanup(app.Close)

	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startSite(t, fmt.Sprintf(`%s {
	paywall {
		stripe_secret_key     sk_test_outage_load
		stripe_webhook_secret %s
		stripe_api_url        http://127.0.0.1:%d
		redis                 %s
		key_prefix            %s
		session_secret        outage-load-session-secret-32-chars-min
		user                  {http.request.header.X-User}
		on_store_error        deny
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, webhookSecret, testenv.FreePort(t), rds.URL(), prefix, app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/")

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(client.CloseIdleConnections)
	do := func(method, path, user, accept string, body []byte, hdr ...string) int {
		r, _ := http.NewRequest(method, site+path, bytes.NewReader(body))
		if user != "" {
			r.Header.Set("X-User", user)
		}
		r.Header.Set("Accept", accept)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := client.Do(r)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	// The outage window, as offsets from start in nanoseconds (0 = not yet).
	var (
		start              = time.Now()
		downAt, upAt       atomic.Int64
		mu                 sync.Mutex
		counts             = map[string]map[int]int{}
		byPhase            = map[string]map[int]int{}
		slowest            = map[string]time.Duration{}
		wrong              []string
		gated503InOutage   int
		gated503OutOfRange int
	)
	record := func(kind string, code int, took time.Duration, allowed ...int) {
		mu.Lock()
		defer mu.Unlock()
		if counts[kind] == nil {
			counts[kind] = map[int]int{}
		}
		counts[kind][code]++
		phase := "1-before"
		if d, u, now := downAt.Load(), upAt.Load(), int64(time.Since(start)); d != 0 && now >= d {
			phase = "2-outage"
			if u != 0 && now > u {
				phase = "3-after"
			}
		}
		if byPhase[kind+" "+phase] == nil {
			byPhase[kind+" "+phase] = map[int]int{}
		}
		byPhase[kind+" "+phase][code]++
		slowest[kind+" "+phase] = max(slowest[kind+" "+phase], took)
		ok := false
		for _, a := range allowed {
			ok = ok || a == code
		}
		if !ok && len(wrong) < 20 {
			wrong = append(wrong, fmt.Sprintf("%s: status %d at %s", kind, code, time.Since(start).Round(time.Millisecond)))
		}
		if code == http.StatusServiceUnavailable && strings.HasPrefix(kind, "gated") {
			d, u := downAt.Load(), upAt.Load()
			now := int64(time.Since(start))
			switch {
			case d != 0 && now >= d && (u == 0 || now <= u):
				gated503InOutage++
			case d != 0 && now >= d && now <= u+int64(recoverBound):
				// reconnecting: allowed
			default:
				gated503OutOfRange++
			}
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	loop := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				f(i)
				time.Sleep(3 * time.Millisecond)
			}
		}()
	}
	loop(func(i int) { // paid users, gated: 200, or 503 while Redis is down
		t0 := time.Now()
		code := do("GET", fmt.Sprintf("/premium/a%d", i), paid[i%len(paid)], "application/json", nil)
		record("gated-paid", code, time.Since(t0), 200, 503)
	})
	loop(func(i int) { // unpaid users, gated, machine and browser: never 200
		u := unpaid[i%len(unpaid)]
		t0 := time.Now()
		if i%2 == 0 {
			code := do("GET", "/premium/b", u, "application/json", nil)
			record("gated-unpaid-machine", code, time.Since(t0), 402, 503)
		} else {
			code := do("GET", "/premium/b", u, "text/html", nil, "X-Paywall-User", paid[0])
			record("gated-unpaid-browser", code, time.Since(t0), 303, 503)
		}
	})
	loop(func(i int) { // ungated, with and without a user: always 200
		u := ""
		if i%2 == 0 {
			u = unpaid[i%len(unpaid)]
		}
		t0 := time.Now()
		code := do("GET", fmt.Sprintf("/free/%d", i), u, "text/html", nil)
		record("ungated", code, time.Since(t0), 200)
	})

	// The webhook sender: one new user per event, each retried until 2xx,
	// as Stripe does.
	var (
		delivered       []string
		webhookAttempts int
		webhookRetries  int
		maxAttempts     int
	)
	webhookDone := make(chan struct{})
	go func() {
		defer close(webhookDone)
		giveUp := time.Now().Add(runFor + 30*time.Second)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			user := fmt.Sprintf("hook-%d", i)
			id := fmt.Sprintf("outage_%s_%d", strings.Trim(prefix, "{}:"), i)
			body := checkoutCompleted("evt_"+id, "cs_test_"+id, "pi_"+id, user, "pro")
			for attempt := 1; ; attempt++ {
				t0 := time.Now()
				code := do("POST", "/paywall/webhook", "", "application/json", body,
					"Content-Type", "application/json", "Stripe-Signature", signFor(body, webhookSecret))
				record("webhook", code, time.Since(t0), 200, 503)
				webhookAttempts++
				if code >= 200 && code < 300 {
					delivered = append(delivered, user)
					maxAttempts = max(maxAttempts, attempt)
					break
				}
				webhookRetries++
				if time.Now().After(giveUp) {
					t.Errorf("event for %s never got a 2xx after %d attempts (last %d)", user, attempt, code)
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	// The outage.
	time.Sleep(killAt)
	downAt.Store(int64(time.Since(start)))
	rds.Stop()
	time.Sleep(outageFor / 2)
	healthDuring := do("GET", "/paywall/healthz", "", "text/plain", nil)
	time.Sleep(outageFor / 2)
	rds.Start()
	upAt.Store(int64(time.Since(start)))
	outage := time.Duration(upAt.Load() - downAt.Load())

	// Paid users pass again within the bound (every one of them, fresh
	// requests), and healthz says 200.
	restarted := time.Now()
	var recovery time.Duration
	for {
		ok := do("GET", "/paywall/healthz", "", "text/plain", nil) == 200
		for _, u := range paid {
			ok = ok && do("GET", "/premium/recovery", u, "application/json", nil) == 200
		}
		if ok {
			recovery = time.Since(restarted)
			break
		}
		if time.Since(restarted) > recoverBound {
			t.Errorf("paid users or healthz did not recover within %s of Redis restarting", recoverBound)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	if rest := runFor - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	close(stop)
	wg.Wait()
	<-webhookDone

	// Zero lost payments: every event answered 2xx is applied and survives.
	lost := 0
	for _, u := range delivered {
		e, err := st.Entitlements(ctx, u)
		if err != nil {
			t.Fatalf("reading %s after the outage: %v", u, err)
		}
		if !e.Live("pro", time.Now()) {
			lost++
			t.Errorf("payment of %s was confirmed 2xx but is not recorded", u)
		}
	}
	for _, u := range paid {
		if e, err := st.Entitlements(ctx, u); err != nil || !e.Live("pro", time.Now()) {
			t.Errorf("the admin grant of %s did not survive the kill: %v", u, err)
		}
	}

	// No unpaid user ever reached a gated page.
	seenMu.Lock()
	var reached []string
	for k, n := range seen {
		reached = append(reached, fmt.Sprintf("%s=%d", k, n))
		u, _, _ := strings.Cut(k, "|")
		isPaid := false
		for _, p := range paid {
			isPaid = isPaid || u == p
		}
		if !isPaid {
			t.Errorf("the site served a gated page to %q (%d times)", k, n)
		}
	}
	seenMu.Unlock()
	sort.Strings(reached)

	mu.Lock()
	defer mu.Unlock()
	for _, w := range wrong {
		t.Errorf("unexpected answer: %s", w)
	}
	if healthDuring != http.StatusServiceUnavailable {
		t.Errorf("healthz during the outage: %d, want 503", healthDuring)
	}
	if gated503InOutage == 0 {
		t.Error("no gated request was answered 503 while Redis was down: the outage did not happen")
	}
	if gated503OutOfRange != 0 {
		t.Errorf("%d gated requests were answered 503 while Redis was up", gated503OutOfRange)
	}
	if counts["webhook"][503] == 0 {
		t.Error("no webhook delivery met the outage (want at least one 503 then retried)")
	}
	if len(delivered) == 0 {
		t.Error("no webhook event was delivered")
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%-22s %v", k, counts[k])
	}
	phases := make([]string, 0, len(byPhase))
	for k := range byPhase {
		phases = append(phases, k)
	}
	sort.Strings(phases)
	for _, k := range phases {
		t.Logf("  %-31s %v slowest %s", k, byPhase[k], slowest[k].Round(time.Millisecond))
	}
	t.Logf("outage %s (Redis SIGKILLed at %s); healthz during it %d; gated 503s during the outage %d, while reconnecting %d",
		outage.Round(time.Millisecond), time.Duration(downAt.Load()).Round(time.Millisecond), healthDuring, gated503InOutage,
		counts["gated-paid"][503]+counts["gated-unpaid-machine"][503]+counts["gated-unpaid-browser"][503]-gated503InOutage)
	t.Logf("paid users and healthz back %s after the restart", recovery.Round(time.Millisecond))
	t.Logf("webhook events delivered %d (all recorded: %d lost), attempts %d, retries %d, most attempts for one event %d",
		len(delivered), lost, webhookAttempts, webhookRetries, maxAttempts)
	t.Logf("users the site served gated pages to: %s", strings.Join(reached, " "))
}
