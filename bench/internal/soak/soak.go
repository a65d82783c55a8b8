// Package soak drives mixed traffic against two (or more) running
// paywall gateways that share one Redis, for a set time, and then checks
// that every decision was right and every confirmed payment is recorded.
//
// It serves the upstream site itself (Upstream), which the gateways
// reverse_proxy to and which records every user that reached a gated page.
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
package soak

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/caddy-paywall/caddy-paywall/bench/internal/webhookload"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// Config is one soak.
type Config struct {
	Gateways []string      // base URLs of the running gateways
	Redis    *redis.Client // the gateways' Redis
	Prefix   string        // the gateways' key_prefix
	Secret   string        // the gateways' webhook signing secret
	Duration time.Duration // how long the traffic runs
	Workers  int           // concurrent page-traffic workers (plus one webhook sender)
	Paid     int           // users granted pro before the start
	// Caddy and CaddyConfig, if set, cross-check a sample of the confirmed
	// payments with `caddy paywall show`.
	Caddy, CaddyConfig string
}

// Upstream is the site behind the gateways: it records who reached a
// gated page.
type Upstream struct {
	Listener net.Listener
	mu       sync.Mutex
	reached  map[string]int
}

// NewUpstream serves the upstream on a free loopback port.
func NewUpstream() (*Upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &Upstream{Listener: ln, reached: map[string]int{}}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-Paywall-User")
		if strings.HasPrefix(r.URL.Path, "/premium/") {
			u.mu.Lock()
			u.reached[user]++
			u.mu.Unlock()
		}
		fmt.Fprintf(w, "upstream %s user=%q", r.URL.Path, user)
	}))
	return u, nil
}

// sender is the webhook sender's record (its goroutine's only until the end).
type sender struct {
	confirmed        []string // users whose payment got a 2xx
	forgedUsers      []string
	events           [][]byte
	retries          atomic.Int64
	unconfirmed      int
	concurrentDupOK  int
	concurrentUsers  []string
	concurrentDupBad int
}

// Run runs the traffic and the checks against running gateways; it fails
// on any wrong decision or lost payment.
func Run(cfg Config, up *Upstream) error {
	s := &soak{cfg: cfg, gateways: cfg.Gateways, secret: cfg.Secret, stats: map[string]*kindStats{},
		st: store.New(cfg.Redis, cfg.Prefix), run: fmt.Sprintf("s%d", time.Now().UnixNano()%1e9), up: up}
	if err := s.grantPaid(); err != nil {
		return err
	}
	s.client = &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 2 * cfg.Workers, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fmt.Printf("soak: %d gateways, %d workers + 1 webhook sender, %s, %d users paid at the start\n",
		len(cfg.Gateways), cfg.Workers, cfg.Duration, cfg.Paid)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for w := range cfg.Workers {
		wg.Go(func() { s.pages(rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano()))), deadline) })
	}
	wg.Go(func() { s.webhooks(rand.New(rand.NewPCG(99, uint64(start.UnixNano()))), deadline) })
	wg.Wait()
	return s.verify(time.Since(start))
}

// grantPaid grants the users paid at the start.
func (s *soak) grantPaid() error {
	for i := range s.cfg.Paid {
		u := fmt.Sprintf("%s-paid-%d", s.run, i)
		now := time.Now()
		if _, err := s.st.Grant(context.Background(), store.GrantRequest{Meta: store.Meta{Cause: "admin", Created: now.Unix(), Now: now},
			User: u, Product: "pro", Source: store.SourceAdmin}); err != nil {
			return fmt.Errorf("granting %s: %w", u, err)
		}
		s.paid = append(s.paid, u)
	}
	for i := range 20 {
		s.unpaid = append(s.unpaid, fmt.Sprintf("%s-unpaid-%d", s.run, i))
	}
	return nil
}

// pages is one page-traffic worker.
func (s *soak) pages(rnd *rand.Rand, deadline time.Time) {
	for i := 0; time.Now().Before(deadline); i++ {
		gw := s.gateways[rnd.IntN(len(s.gateways))]
		unpaid := s.unpaid[rnd.IntN(len(s.unpaid))]
		switch k := rnd.IntN(10); {
		case k < 3:
			u := s.randomPaid(rnd)
			accept := "application/json"
			if k == 1 {
				accept = "text/html"
			}
			s.page("paid", gw, "/premium/p"+fmt.Sprint(i%50), u, accept, 200, "upstream /premium/", fmt.Sprintf("user=%q", u))
		case k < 5:
			s.page("unpaid-machine", gw, "/premium/m", unpaid, "application/json", 402, "")
		case k < 7:
			s.page("unpaid-browser", gw, "/premium/b?x=1", unpaid, "text/html", 303, "/paywall/pay?")
		case k < 8:
			s.page("anonymous-browser", gw, "/premium/a", "", "text/html", 302, "/login?next=")
		default:
			u := ""
			if k == 9 {
				u = unpaid
			}
			s.page("ungated", gw, "/free/f"+fmt.Sprint(i%50), u, "text/html", 200, "upstream /free/", `user=""`)
		}
	}
}

// webhooks is the webhook sender.
func (s *soak) webhooks(rnd *rand.Rand, deadline time.Time) {
	h := &s.sender
	for i := 0; time.Now().Before(deadline); i++ {
		switch k := rnd.IntN(20); {
		case k == 0: // forged: signed with another secret
			u := fmt.Sprintf("%s-forged-%d", s.run, i)
			h.forgedUsers = append(h.forgedUsers, u)
			body := event(fmt.Sprintf("%s_forged_%d", s.run, i), u)
			s.webhook("webhook-forged", s.gateways[i%len(s.gateways)], body, "whsec_not_the_secret", 400)
		case k < 4 && len(h.events) > 0: // a redelivery of a confirmed event, to any gateway
			s.webhook("webhook-duplicate", s.gateways[rnd.IntN(len(s.gateways))], h.events[rnd.IntN(len(h.events))], s.secret, 200)
		case k == 4:
			s.concurrentDelivery(i)
		default:
			s.newPayment(rnd, i)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// concurrentDelivery sends the same new event to every gateway at once.
func (s *soak) concurrentDelivery(i int) {
	h := &s.sender
	u := fmt.Sprintf("%s-hook-%d", s.run, i)
	body := event(fmt.Sprintf("%s_%d", s.run, i), u)
	var dw sync.WaitGroup
	codes := make([]int, len(s.gateways))
	for g := range s.gateways {
		dw.Go(func() { codes[g] = s.webhook("webhook-concurrent", s.gateways[g], body, s.secret, 200) })
	}
	dw.Wait()
	for _, c := range codes {
		if c != 200 {
			h.concurrentDupBad++
			return
		}
	}
	h.concurrentDupOK++
	h.concurrentUsers = append(h.concurrentUsers, u)
	h.confirmed = append(h.confirmed, u)
	h.events = append(h.events, body)
	s.addPaid(u)
}

// newPayment sends a new payment, retried until 2xx as Stripe does, and
// then asks for a gated page as that user.
func (s *soak) newPayment(rnd *rand.Rand, i int) {
	h := &s.sender
	u := fmt.Sprintf("%s-hook-%d", s.run, i)
	body := event(fmt.Sprintf("%s_%d", s.run, i), u)
	ok := false
	for attempt := 0; attempt < 5 && !ok; attempt++ {
		if attempt > 0 {
			h.retries.Add(1)
			time.Sleep(200 * time.Millisecond)
		}
		ok = s.webhook("webhook-new", s.gateways[rnd.IntN(len(s.gateways))], body, s.secret, 200) == 200
	}
	if !ok {
		h.unconfirmed++
		return
	}
	h.confirmed = append(h.confirmed, u)
	h.events = append(h.events, body)
	// Paid from now on, through either gateway (it was never asked for
	// before, so no cache can hold an older answer).
	s.page("paid-after-webhook", s.gateways[rnd.IntN(len(s.gateways))], "/premium/new", u, "application/json", 200, "upstream /premium/", fmt.Sprintf("user=%q", u))
	s.addPaid(u)
}

// verify checks the store and the upstream after the traffic and prints
// the summary.
func (s *soak) verify(elapsed time.Duration) error {
	h := &s.sender
	lost, err := s.count(append(append([]string{}, s.paid...), h.confirmed...), "LOST", func(e store.Entitlements) bool { return !e.Live("pro", time.Now()) })
	if err != nil {
		return err
	}
	forgedApplied, err := s.count(h.forgedUsers, "FORGED", func(e store.Entitlements) bool { return len(e.Grants) > 0 })
	if err != nil {
		return err
	}
	// An event delivered to every gateway at once granted once.
	grantedTwice, err := s.count(h.concurrentUsers, "CONCURRENT", func(e store.Entitlements) bool { return len(e.Grants) != 1 })
	if err != nil {
		return err
	}
	cliChecked, cliWrong := s.checkCLI()
	gatedHits, leaked := s.leaks()
	wrong := s.printKinds(elapsed)
	fmt.Printf("payments: %d granted before + %d confirmed by webhook (%d sent to every gateway at once), %d never confirmed, %d retries; lost %d\n",
		len(s.paid)-len(h.confirmed), len(h.confirmed), h.concurrentDupOK, h.unconfirmed+h.concurrentDupBad, h.retries.Load(), lost)
	fmt.Printf("concurrent deliveries granted more than once: %d; forged events: %d sent, %d applied; upstream gated hits %d, from unpaid users %d; CLI sample %d checked, %d wrong\n",
		grantedTwice, len(h.forgedUsers), forgedApplied, gatedHits, leaked, cliChecked, cliWrong)
	for _, f := range s.failures {
		fmt.Fprintln(os.Stderr, "WRONG:", f)
	}
	if wrong > 0 || lost > 0 || forgedApplied > 0 || grantedTwice > 0 || leaked > 0 || cliWrong > 0 || h.unconfirmed+h.concurrentDupBad > 0 {
		return fmt.Errorf("soak: FAIL")
	}
	fmt.Println("soak: OK, every decision right and every confirmed payment recorded")
	return nil
}

// count is how many of users have entitlements that are bad, each named
// on stderr with label.
func (s *soak) count(users []string, label string, bad func(store.Entitlements) bool) (int, error) {
	n := 0
	for _, u := range users {
		e, err := s.st.Entitlements(context.Background(), u)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", u, err)
		}
		if bad(e) {
			n++
			fmt.Fprintf(os.Stderr, "%s: %s has grants %+v\n", label, u, e.Grants)
		}
	}
	return n, nil
}

// checkCLI cross-checks a sample of the confirmed payments through the
// operator's CLI.
func (s *soak) checkCLI() (checked, wrong int) {
	confirmed := s.sender.confirmed
	if s.cfg.Caddy == "" || s.cfg.CaddyConfig == "" {
		return 0, 0
	}
	sample := append([]string{}, confirmed[:min(3, len(confirmed))]...)
	if len(confirmed) > 3 {
		sample = append(sample, confirmed[len(confirmed)-1])
	}
	for _, u := range sample {
		out, err := exec.Command(s.cfg.Caddy, "paywall", "show", "--user", u, "--json", "--config", s.cfg.CaddyConfig, "--adapter", "caddyfile").Output() // JSON on stdout, logs on stderr
		checked++
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
			wrong++
			fmt.Fprintf(os.Stderr, "CLI: caddy paywall show --user %s: %v\n%s\n", u, err, out)
		}
	}
	return checked, wrong
}

// leaks: the upstream saw no gated request from a user who had not paid.
func (s *soak) leaks() (gatedHits, leaked int) {
	paidSet := map[string]bool{}
	for _, u := range s.paid {
		paidSet[u] = true
	}
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	for u, n := range s.up.reached {
		gatedHits += n
		if !paidSet[u] {
			leaked += n
			fmt.Fprintf(os.Stderr, "LEAK: the upstream served gated pages to %q %d times\n", u, n)
		}
	}
	return gatedHits, leaked
}

// printKinds prints a line per kind of request and returns the count of
// wrong answers and errors.
func (s *soak) printKinds(elapsed time.Duration) int {
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
	return wrongTotal + errTotal
}

type kindStats struct {
	n, wrong, errors int
	statuses         map[int]int
	lat              []time.Duration
}

type soak struct {
	cfg      Config
	st       *store.Store
	run      string
	up       *Upstream
	unpaid   []string
	sender   sender
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
	sig := stripeevent.Sign(body, secret, time.Time{})
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

// event is a paid checkout.session.completed for user's pro.
func event(id, user string) []byte { return webhookload.Event(id, user, "pro") }
