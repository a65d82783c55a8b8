// Package webhookload measures how many verified Stripe webhook events a
// running gateway applies per second: it posts checkout.session.completed
// events (each a new user, session, payment intent and event id, signed
// with stripe-go's webhook.GenerateTestSignedPayload as Stripe signs them)
// to the gateway's webhook endpoint from concurrent senders, and prints
// the rate. Every delivery must be answered 200 with outcome "applied"
// (the grant was written to Redis).
package webhookload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// Config is one load.
type Config struct {
	URL         string // the gateway's webhook URL
	Secret      string // the webhook signing secret configured in the paywall
	Events      int    // events to send
	Concurrency int    // concurrent senders (connections)
	Product     string // the product the events pay for
	Prefix      string // prefix of the generated ids and users (users are <Prefix>-u<i>)
}

// result is what the senders saw.
type result struct {
	mu        sync.Mutex
	statuses  map[int]int
	outcomes  map[string]int
	failures  []string
	latencies []time.Duration
}

// Run sends the events and prints the rate and latencies; it fails
// unless every event was answered 200 with outcome applied.
func Run(cfg Config) error {
	bodies := make([][]byte, cfg.Events)
	for i := range bodies {
		bodies[i] = Event(fmt.Sprintf("%s_%d", cfg.Prefix, i), fmt.Sprintf("%s-u%d", cfg.Prefix, i), cfg.Product)
	}
	res := &result{statuses: map[int]int{}, outcomes: map[string]int{}, latencies: make([]time.Duration, cfg.Events)}
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency, DisableCompression: true},
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range cfg.Concurrency {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < cfg.Events; i = int(next.Add(1) - 1) {
				res.send(client, cfg, i, bodies[i])
			}
		})
	}
	wg.Wait()
	return res.report(cfg, time.Since(start))
}

// send posts event i, signed at sending time as Stripe does (5-minute
// tolerance), and records the answer.
func (res *result) send(client *http.Client, cfg Config, i int, body []byte) {
	sig := stripeevent.Sign(body, cfg.Secret, time.Time{})
	req, _ := http.NewRequest(http.MethodPost, cfg.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	t0 := time.Now()
	resp, err := client.Do(req)
	status, outcome := 0, ""
	if err == nil {
		var out struct {
			Outcome string `json:"outcome"`
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		_ = json.Unmarshal(b, &out)
		outcome = out.Outcome
		if status != http.StatusOK {
			err = fmt.Errorf("status %d: %s", status, bytes.TrimSpace(b))
		}
	}
	res.latencies[i] = time.Since(t0)
	res.mu.Lock()
	defer res.mu.Unlock()
	res.statuses[status]++
	res.outcomes[outcome]++
	if err != nil && len(res.failures) < 5 {
		res.failures = append(res.failures, fmt.Sprintf("event %d: %v", i, err))
	}
}

func (res *result) report(cfg Config, elapsed time.Duration) error {
	lat := res.latencies
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("   events %d  workers %d  time %.2fs  rate %.0f events/s  latency p50 %s p99 %s\n",
		cfg.Events, cfg.Concurrency, elapsed.Seconds(), float64(cfg.Events)/elapsed.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("   statuses %v  outcomes %v\n", res.statuses, res.outcomes)
	if res.statuses[http.StatusOK] != cfg.Events || res.outcomes["applied"] != cfg.Events {
		return fmt.Errorf("%d of %d events were not answered 200 with outcome applied: %s",
			cfg.Events-min(res.statuses[http.StatusOK], res.outcomes["applied"]), cfg.Events,
			strings.Join(res.failures, "; "))
	}
	return nil
}

// Event is a checkout.session.completed for a paid one-time Checkout
// Session that the paywall created (its metadata), as Stripe sends it with
// the API version stripe-go pins. The soak sends the same events.
func Event(id, user, product string) []byte {
	return stripeevent.New("evt_"+id, "checkout.session.completed", map[string]any{
		"id": "cs_test_" + id, "object": "checkout.session", "status": "complete",
		"payment_status": "paid", "mode": "payment", "client_reference_id": user,
		"payment_intent": "pi_" + id, "customer": nil, "subscription": nil,
		"metadata": map[string]string{"paywall_user": user, "paywall_product": product},
	}).MustJSON()
}
