// Command soak drives mixed traffic against two (or more) running paywall
// gateways that share one Redis, for a set time, and then checks that
// every decision was right and every confirmed payment is recorded.
//
// bench/soak.sh builds the Caddy binary, starts redis-server and the
// gateways, and runs this program; it serves the upstream site itself (on
// -upstream), which the gateways reverse_proxy to and which records every
// user that reached a gated page.
//
// Traffic, spread over the gateways:
//
//	paid       users granted before the start, and users whose webhook got a 2xx: 200 from the upstream, naming the user
//	unpaid     machine (Accept: application/json): 402; browser (text/html): 303 to the pay page
//	anonymous  browser: 302 to login_url
//	ungated    200 from the upstream, with or without a user
//	webhooks   signed checkout.session.completed for new users (a 2xx makes the user paid),
//	           duplicates of confirmed events to the other gateway (200),
//	           forged ones signed with another secret (400, never applied)
//
// Exit status 1 on any wrong decision or lost payment, 2 on bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

func main() {
	gatewaysFlag := flag.String("gateways", "", "comma-separated base URLs of the gateways, e.g. http://127.0.0.1:8081,http://127.0.0.1:8082 (required)")
	upstream := flag.String("upstream", "127.0.0.1:0", "address to serve the upstream site on")
	upstreamFile := flag.String("upstream-file", "", "write the upstream's address here once it listens, then wait for the gateways (optional)")
	redisURL := flag.String("redis", "", "the Redis URL the gateways use (required)")
	prefix := flag.String("prefix", "{paywall}:", "the gateways' key_prefix")
	secret := flag.String("secret", "", "the gateways' webhook signing secret (required)")
	duration := flag.Duration("duration", 60*time.Second, "how long to run the traffic")
	workers := flag.Int("workers", 4, "concurrent page-traffic workers")
	paidN := flag.Int("paid", 20, "users granted pro before the start")
	caddyBin := flag.String("caddy", "", "the caddy binary, to cross-check a sample with `caddy paywall show` (optional)")
	caddyConfig := flag.String("config", "", "a gateway's Caddyfile, for -caddy")
	flag.Parse()
	gateways := strings.Split(*gatewaysFlag, ",")
	if *gatewaysFlag == "" || *redisURL == "" || *secret == "" || *workers < 1 {
		flag.Usage()
		os.Exit(2)
	}

	ctx := context.Background()
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		fatal("redis URL: %v", err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	st := store.New(rc, *prefix)
	run := fmt.Sprintf("s%d", time.Now().UnixNano()%1e9)

	// The upstream: records who reached a gated page.
	var reachedMu sync.Mutex
	reached := map[string]int{}
	ln, err := net.Listen("tcp", *upstream)
	if err != nil {
		fatal("upstream: %v", err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := r.Header.Get("X-Paywall-User")
		if strings.HasPrefix(r.URL.Path, "/premium/") {
			reachedMu.Lock()
			reached[u]++
			reachedMu.Unlock()
		}
		fmt.Fprintf(w, "upstream %s user=%q", r.URL.Path, u)
	}))
	if *upstreamFile != "" {
		if err := os.WriteFile(*upstreamFile+".tmp", []byte(ln.Addr().String()), 0o600); err != nil {
			fatal("%v", err)
		}
		if err := os.Rename(*upstreamFile+".tmp", *upstreamFile); err != nil {
			fatal("%v", err)
		}
	}
	// Wait for every gateway to say it is ready (healthz 200: Redis reachable).
	for _, gw := range gateways {
		ready := false
		for wait := time.Now().Add(60 * time.Second); !ready && time.Now().Before(wait); {
			if resp, err := http.Get(gw + "/paywall/healthz"); err == nil {
				resp.Body.Close()
				ready = resp.StatusCode == http.StatusOK
			}
			if !ready {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !ready {
			fatal("gateway %s did not answer healthz 200 within 60s", gw)
		}
	}

	// Users granted before the start.
	s := &soak{gateways: gateways, secret: *secret, stats: map[string]*kindStats{}}
	for i := 0; i < *paidN; i++ {
		u := fmt.Sprintf("%s-paid-%d", run, i)
		now := time.Now()
		if _, err := st.Grant(ctx, store.GrantRequest{Meta: store.Meta{Cause: "admin", Created: now.Unix(), Now: now},
			User: u, Product: "pro", Source: store.SourceAdmin}); err != nil {
			fatal("granting %s: %v", u, err)
		}
		s.paid = append(s.paid, u)
	}
	unpaid := make([]string, 20)
	for i := range unpaid {
		unpaid[i] = fmt.Sprintf("%s-unpaid-%d", run, i)
	}
	s.client = &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 2 * *workers, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	fmt.Printf("soak: %d gateways, %d workers + 1 webhook sender, %s, %d users paid at the start\n",
		len(gateways), *workers, *duration, *paidN)
	start := time.Now()
	deadline := start.Add(*duration)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for i := 0; time.Now().Before(deadline); i++ {
				gw := gateways[rnd.IntN(len(gateways))]
				switch k := rnd.IntN(10); {
				case k < 3:
					u := s.randomPaid(rnd)
					accept := "application/json"
					if k == 1 {
						accept = "text/html"
					}
					s.page("paid", gw, "/premium/p"+fmt.Sprint(i%50), u, accept, 200, "upstream /premium/", fmt.Sprintf("user=%q", u))
				case k < 5:
					s.page("unpaid-machine", gw, "/premium/m", unpaid[rnd.IntN(len(unpaid))], "application/json", 402, "")
				case k < 7:
					s.page("unpaid-browser", gw, "/premium/b?x=1", unpaid[rnd.IntN(len(unpaid))], "text/html", 303, "/paywall/pay?")
				case k < 8:
					s.page("anonymous-browser", gw, "/premium/a", "", "text/html", 302, "/login?next=")
				default:
					u := ""
					if k == 9 {
						u = unpaid[rnd.IntN(len(unpaid))]
					}
					s.page("ungated", gw, "/free/f"+fmt.Sprint(i%50), u, "text/html", 200, "upstream /free/", `user=""`)
				}
			}
		}(w)
	}

	// The webhook sender.
	var (
		confirmed        []string // users whose payment got a 2xx
		forgedUsers      []string
		events           [][]byte
		retries          atomic.Int64
		unconfirmed      int
		concurrentDupOK  int
		concurrentUsers  []string
		concurrentDupBad int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rnd := rand.New(rand.NewPCG(99, uint64(start.UnixNano())))
		for i := 0; time.Now().Before(deadline); i++ {
			switch k := rnd.IntN(20); {
			case k == 0: // forged: signed with another secret
				u := fmt.Sprintf("%s-forged-%d", run, i)
				forgedUsers = append(forgedUsers, u)
				body := event(fmt.Sprintf("%s_forged_%d", run, i), u)
				s.webhook("webhook-forged", gateways[i%len(gateways)], body, "whsec_not_the_secret", 400)
			case k < 4 && len(events) > 0: // a redelivery of a confirmed event, to any gateway
				s.webhook("webhook-duplicate", gateways[rnd.IntN(len(gateways))], events[rnd.IntN(len(events))], *secret, 200)
			case k == 4: // the same new event to every gateway at once
				u := fmt.Sprintf("%s-hook-%d", run, i)
				body := event(fmt.Sprintf("%s_%d", run, i), u)
				var dw sync.WaitGroup
				codes := make([]int, len(gateways))
				for g := range gateways {
					dw.Add(1)
					go func(g int) {
						defer dw.Done()
						codes[g] = s.webhook("webhook-concurrent", gateways[g], body, *secret, 200)
					}(g)
				}
				dw.Wait()
				all := true
				for _, c := range codes {
					all = all && c == 200
				}
				if all {
					concurrentDupOK++
					concurrentUsers = append(concurrentUsers, u)
					confirmed = append(confirmed, u)
					events = append(events, body)
					s.addPaid(u)
				} else {
					concurrentDupBad++
				}
			default: // a new payment, retried until 2xx as Stripe does
				u := fmt.Sprintf("%s-hook-%d", run, i)
				body := event(fmt.Sprintf("%s_%d", run, i), u)
				ok := false
				for attempt := 0; attempt < 5 && !ok; attempt++ {
					if attempt > 0 {
						retries.Add(1)
						time.Sleep(200 * time.Millisecond)
					}
					ok = s.webhook("webhook-new", gateways[rnd.IntN(len(gateways))], body, *secret, 200) == 200
				}
				if !ok {
					unconfirmed++
					continue
				}
				confirmed = append(confirmed, u)
				events = append(events, body)
				// Paid from now on, through either gateway (it was never asked
				// for before, so no cache can hold an older answer).
				s.page("paid-after-webhook", gateways[rnd.IntN(len(gateways))], "/premium/new", u, "application/json", 200, "upstream /premium/", fmt.Sprintf("user=%q", u))
				s.addPaid(u)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)

	// Every confirmed payment is recorded; no forged event was applied.
	lost, forgedApplied := 0, 0
	for _, u := range append(append([]string{}, s.paid...), confirmed...) {
		e, err := st.Entitlements(ctx, u)
		if err != nil {
			fatal("reading %s: %v", u, err)
		}
		if !e.Live("pro", time.Now()) {
			lost++
			fmt.Fprintf(os.Stderr, "LOST: %s's payment was confirmed but is not recorded\n", u)
		}
	}
	for _, u := range forgedUsers {
		if e, err := st.Entitlements(ctx, u); err != nil || len(e.Grants) > 0 {
			forgedApplied++
			fmt.Fprintf(os.Stderr, "FORGED: %s has grants %+v (err %v)\n", u, e.Grants, err)
		}
	}
	// An event delivered to every gateway at once granted once.
	grantedTwice := 0
	for _, u := range concurrentUsers {
		if e, err := st.Entitlements(ctx, u); err != nil || len(e.Grants) != 1 {
			grantedTwice++
			fmt.Fprintf(os.Stderr, "CONCURRENT: %s has %d grants, want 1 (err %v)\n", u, len(e.Grants), err)
		}
	}
	// Cross-check a sample through the operator's CLI.
	cliChecked, cliWrong := 0, 0
	if *caddyBin != "" && *caddyConfig != "" {
		sample := append([]string{}, confirmed[:min(3, len(confirmed))]...)
		if len(confirmed) > 3 {
			sample = append(sample, confirmed[len(confirmed)-1])
		}
		for _, u := range sample {
			out, err := exec.Command(*caddyBin, "paywall", "show", "--user", u, "--json", "--config", *caddyConfig, "--adapter", "caddyfile").Output() // JSON on stdout, logs on stderr
			cliChecked++
			var shown struct {
				Grants []struct {
					Product string `json:"product"`
					Live    bool   `json:"live"`
				} `json:"grants"`
			}
			live := false
			if err == nil && json.Unmarshal(out, &shown) == nil {
				for _, g := range shown.Grants {
					live = live || g.Product == "pro" && g.Live
				}
			}
			if !live {
				cliWrong++
				fmt.Fprintf(os.Stderr, "CLI: caddy paywall show --user %s: %v\n%s\n", u, err, out)
			}
		}
	}
	// The upstream saw no gated request from a user who had not paid.
	paidSet := map[string]bool{}
	for _, u := range s.paid {
		paidSet[u] = true
	}
	leaked, gatedHits := 0, 0
	reachedMu.Lock()
	for u, n := range reached {
		gatedHits += n
		if !paidSet[u] {
			leaked += n
			fmt.Fprintf(os.Stderr, "LEAK: the upstream served gated pages to %q %d times\n", u, n)
		}
	}
	reachedMu.Unlock()

	// The summary.
	kinds := make([]string, 0, len(s.stats))
	for k := range s.stats {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	total, wrongTotal, errTotal := 0, 0, 0
	fmt.Printf("\n%-20s %8s %8s %8s %7s %9s %9s  %s\n", "kind", "requests", "wrong", "errors", "err%", "p50", "p99", "statuses")
	for _, k := range kinds {
		ks := s.stats[k]
		sort.Slice(ks.lat, func(a, b int) bool { return ks.lat[a] < ks.lat[b] })
		pct := func(p float64) time.Duration {
			if len(ks.lat) == 0 {
				return 0
			}
			return ks.lat[int(p*float64(len(ks.lat)-1))].Round(10 * time.Microsecond)
		}
		fmt.Printf("%-20s %8d %8d %8d %6.2f%% %9s %9s  %v\n", k, ks.n, ks.wrong, ks.errors,
			100*float64(ks.wrong+ks.errors)/float64(max(ks.n, 1)), pct(.5), pct(.99), ks.statuses)
		total += ks.n
		wrongTotal += ks.wrong
		errTotal += ks.errors
	}
	fmt.Printf("%-20s %8d %8d %8d %6.2f%%   (%.0f requests/s over %.1fs)\n", "total", total, wrongTotal, errTotal,
		100*float64(wrongTotal+errTotal)/float64(max(total, 1)), float64(total)/elapsed.Seconds(), elapsed.Seconds())
	fmt.Printf("payments: %d granted before + %d confirmed by webhook (%d sent to every gateway at once), %d never confirmed, %d retries; lost %d\n",
		len(s.paid)-len(confirmed), len(confirmed), concurrentDupOK, unconfirmed+concurrentDupBad, retries.Load(), lost)
	fmt.Printf("concurrent deliveries granted more than once: %d; forged events: %d sent, %d applied; upstream gated hits %d, from unpaid users %d; CLI sample %d checked, %d wrong\n",
		grantedTwice, len(forgedUsers), forgedApplied, gatedHits, leaked, cliChecked, cliWrong)
	for _, f := range s.failures {
		fmt.Fprintln(os.Stderr, "WRONG:", f)
	}
	if wrongTotal+errTotal > 0 || lost > 0 || forgedApplied > 0 || grantedTwice > 0 || leaked > 0 || cliWrong > 0 || unconfirmed+concurrentDupBad > 0 {
		fmt.Println("soak: FAIL")
		os.Exit(1)
	}
	fmt.Println("soak: OK, every decision right and every confirmed payment recorded")
}

type kindStats struct {
	n, wrong, errors int
	statuses         map[int]int
	lat              []time.Duration
}

type soak struct {
	gateways []string
	secret   string
	client   *http.Client

	mu       sync.Mutex
	paid     []string
	stats    map[string]*kindStats
	failures []string
}

func (s *soak) randomPaid(rnd *rand.Rand) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paid[rnd.IntN(len(s.paid))]
}

func (s *soak) addPaid(u string) {
	s.mu.Lock()
	s.paid = append(s.paid, u)
	s.mu.Unlock()
}

func (s *soak) note(kind string, status int, lat time.Duration, wrong bool, err error, detail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.stats[kind]
	if ks == nil {
		ks = &kindStats{statuses: map[int]int{}}
		s.stats[kind] = ks
	}
	ks.n++
	ks.statuses[status]++
	ks.lat = append(ks.lat, lat)
	switch {
	case err != nil:
		ks.errors++
	case wrong:
		ks.wrong++
	}
	if (err != nil || wrong) && len(s.failures) < 20 {
		s.failures = append(s.failures, fmt.Sprintf("%s: %s (status %d, err %v)", kind, detail, status, err))
	}
}

// page asks for path as user with accept and checks the status and that
// the Location (3xx) or the body contains every want.
func (s *soak) page(kind, gw, path, user, accept string, status int, want ...string) {
	r, _ := http.NewRequest(http.MethodGet, gw+path, nil)
	r.Header.Set("Accept", accept)
	if user != "" {
		r.Header.Set("X-User", user)
	}
	r.Header.Set("X-Paywall-User", "spoofed") // must never reach the upstream
	t0 := time.Now()
	resp, err := s.client.Do(r)
	lat := time.Since(t0)
	if err != nil {
		s.note(kind, 0, lat, false, err, gw+path+" as "+user)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := string(body)
	if resp.StatusCode/100 == 3 {
		got = resp.Header.Get("Location")
	}
	wrong := resp.StatusCode != status
	for _, w := range want {
		wrong = wrong || !strings.Contains(got, w)
	}
	s.note(kind, resp.StatusCode, lat, wrong, nil, fmt.Sprintf("%s%s as %q: want %d %q, got %d %.120q", gw, path, user, status, want, resp.StatusCode, got))
}

// webhook posts body signed with secret and returns the status.
func (s *soak) webhook(kind, gw string, body []byte, secret string, status int) int {
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret}).Header
	r, _ := http.NewRequest(http.MethodPost, gw+"/paywall/webhook", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Stripe-Signature", sig)
	t0 := time.Now()
	resp, err := s.client.Do(r)
	lat := time.Since(t0)
	if err != nil {
		s.note(kind, 0, lat, false, err, gw)
		return 0
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.note(kind, resp.StatusCode, lat, resp.StatusCode != status, nil,
		fmt.Sprintf("%s: want %d, got %d %.120q", gw, status, resp.StatusCode, out))
	return resp.StatusCode
}

// event is a checkout.session.completed for a paid one-time Checkout
// Session the paywall created, as Stripe sends it (API 2023-10-16).
func event(id, user string) []byte {
	b, err := json.Marshal(map[string]any{
		"id": "evt_" + id, "object": "event", "type": "checkout.session.completed",
		"api_version": "2023-10-16", "created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{
			"id": "cs_test_" + id, "object": "checkout.session", "status": "complete",
			"payment_status": "paid", "mode": "payment", "client_reference_id": user,
			"payment_intent": "pi_" + id, "customer": nil, "subscription": nil,
			"metadata": map[string]string{"paywall_user": user, "paywall_product": "pro"},
		}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...)
	os.Exit(1)
}
