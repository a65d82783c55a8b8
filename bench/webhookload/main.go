// Command webhookload measures how many verified Stripe webhook events a
// running gateway applies per second: it posts N checkout.session.completed
// events (each a new user, session, payment intent and event id, signed
// with stripe-go's webhook.GenerateTestSignedPayload as Stripe signs them)
// to the gateway's webhook endpoint from C concurrent workers, and prints
// the rate. Every delivery must be answered 200 with outcome "applied"
// (the grant was written to Redis); otherwise it exits 1.
//
//	go run ./bench/webhookload -url http://127.0.0.1:8080/paywall/webhook -secret whsec_... -n 20000 -c 16
//
// bench/run.sh runs it against the gateway it starts.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

func main() {
	url := flag.String("url", "", "the gateway's webhook URL, e.g. http://127.0.0.1:8080/paywall/webhook (required)")
	secret := flag.String("secret", "", "the webhook signing secret configured in the paywall (required)")
	n := flag.Int("n", 20000, "events to send")
	c := flag.Int("c", 16, "concurrent workers (connections)")
	product := flag.String("product", "pro", "the product the events pay for")
	prefix := flag.String("prefix", fmt.Sprintf("wl%d", time.Now().UnixNano()), "prefix of the generated ids and users (users are <prefix>-u<i>)")
	flag.Parse()
	if *url == "" || *secret == "" || *n <= 0 || *c <= 0 {
		flag.Usage()
		os.Exit(2)
	}

	bodies := make([][]byte, *n)
	for i := range bodies {
		bodies[i] = event(*prefix, i, *product)
	}

	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: *c, MaxIdleConnsPerHost: *c, DisableCompression: true},
	}
	var (
		next      atomic.Int64
		mu        sync.Mutex
		statuses  = map[int]int{}
		outcomes  = map[string]int{}
		failures  []string
		latencies = make([]time.Duration, *n)
		wg        sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				// Signed at sending time, as Stripe does (5-minute tolerance).
				sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: bodies[i], Secret: *secret}).Header
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(bodies[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", sig)
				t0 := time.Now()
				resp, err := client.Do(req)
				status, outcome := 0, ""
				if err == nil {
					var out struct {
						Outcome string `json:"outcome"`
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
					_ = json.Unmarshal(body, &out)
					outcome = out.Outcome
					if status != http.StatusOK {
						err = fmt.Errorf("status %d: %s", status, bytes.TrimSpace(body))
					}
				}
				latencies[i] = time.Since(t0)
				mu.Lock()
				statuses[status]++
				outcomes[outcome]++
				if err != nil && len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("event %d: %v", i, err))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	fmt.Printf("events %d  workers %d  time %.2fs  rate %.0f events/s  latency p50 %s p99 %s\n",
		*n, *c, elapsed.Seconds(), float64(*n)/elapsed.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond))
	fmt.Printf("statuses %v  outcomes %v\n", statuses, outcomes)
	if statuses[http.StatusOK] != *n || outcomes["applied"] != *n {
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, f)
		}
		fmt.Fprintf(os.Stderr, "webhookload: %d of %d events were not answered 200 with outcome applied\n",
			*n-min(statuses[http.StatusOK], outcomes["applied"]), *n)
		os.Exit(1)
	}
}

// event is a checkout.session.completed for a paid one-time Checkout
// Session that the paywall created (its metadata), as Stripe sends it with
// API version 2023-10-16.
func event(prefix string, i int, product string) []byte {
	id := fmt.Sprintf("%s_%d", prefix, i)
	user := fmt.Sprintf("%s-u%d", prefix, i)
	b, err := json.Marshal(map[string]any{
		"id": "evt_" + id, "object": "event", "type": "checkout.session.completed",
		"api_version": "2023-10-16", "created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": map[string]any{
			"id": "cs_test_" + id, "object": "checkout.session", "status": "complete",
			"payment_status": "paid", "mode": "payment", "client_reference_id": user,
			"payment_intent": "pi_" + id, "customer": nil, "subscription": nil,
			"metadata": map[string]string{"paywall_user": user, "paywall_product": product},
		}},
	})
	if err != nil {
		panic(err)
	}
	return b
}
