// Package tally counts what the gate and the paywall's pages do, for the
// console: in memory on the hot path (one atomic add, no allocation, no
// lock) and flushed to Redis about once a second by one goroutine, as
// HINCRBY on the day's counters hash (store.StatsKey), so several gateways
// add up, the counts survive restarts, and no request writes to Redis.
// Webhook deliveries (not the hot path) are kept the same way: the last
// one and the failures by reason, per hour.
package tally

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Counter is one thing counted.
type Counter int

// The counters, and their fields in the day's hash (Fields).
const (
	Pass       Counter = iota // a gated request passed
	Login                     // a gated request was sent to log in
	Pay                       // a gated request was sent to the pay page (or 402)
	StoreError                // a gated request met a store failure
	PayPage                   // the pay page was shown
	Checkout                  // a Checkout Session was created
	numCounters
)

// Fields are the counters' names in the day's hash.
var Fields = [numCounters]string{"pass", "login", "pay", "store_error", "pay_page", "checkout"}

// webhookFailures are the webhook outcomes that are failures.
var webhookFailures = map[string]bool{"bad_signature": true, "malformed": true, "too_large": true, "store_error": true}

// Tally is one gateway's counts since the last flush. A nil *Tally counts
// nothing, so a gateway without a console pays one nil check.
type Tally struct {
	// Each counter on its own cache line: gated requests on different
	// cores add to different outcomes without sharing a line.
	n [numCounters]struct {
		v atomic.Int64
		_ [56]byte
	}

	mu      sync.Mutex
	webhook webhookState

	st    *store.Store
	now   func() time.Time
	every time.Duration

	stop chan struct{}
	done chan struct{}
}

type webhookState struct {
	last, lastFailure   time.Time
	lastType, lastOut   string
	failType, failOut   string
	failures            map[string]map[string]int64 // hour -> reason -> count
	seen, failureToSave bool
}

// New returns a Tally that flushes to st every interval (default 1s) once
// Start is called. now is the clock (nil: time.Now).
func New(st *store.Store, every time.Duration, now func() time.Time) *Tally {
	if every <= 0 {
		every = time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Tally{st: st, every: every, now: now}
}

// Add counts one c. It is safe on a nil Tally.
func (t *Tally) Add(c Counter) {
	if t == nil {
		return
	}
	t.n[c].v.Add(1)
}

// Webhook records one webhook delivery: its event type ("" when it was
// not read) and outcome. It is safe on a nil Tally.
func (t *Tally) Webhook(typ, outcome string) {
	if t == nil {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := &t.webhook
	w.last, w.lastType, w.lastOut, w.seen = now, typ, outcome, true
	if webhookFailures[outcome] {
		w.lastFailure, w.failType, w.failOut, w.failureToSave = now, typ, outcome, true
		if w.failures == nil {
			w.failures = map[string]map[string]int64{}
		}
		h := store.Hour(now)
		if w.failures[h] == nil {
			w.failures[h] = map[string]int64{}
		}
		w.failures[h][outcome]++
	}
}

// Start runs the flusher until Stop.
func (t *Tally) Start() {
	t.stop, t.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(t.done)
		tick := time.NewTicker(t.every)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), t.every)
				_ = t.Flush(ctx) // kept for the next round on failure
				cancel()
			}
		}
	}()
}

// Stop ends the flusher and flushes what is left, waiting at most timeout
// for Redis.
func (t *Tally) Stop(timeout time.Duration) error {
	if t.stop != nil {
		close(t.stop)
		<-t.done
		t.stop = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return t.Flush(ctx)
}

// Flush writes the counts since the last flush in one pipeline. On
// failure they are put back, to be written by a later flush.
func (t *Tally) Flush(ctx context.Context) error {
	var counts [numCounters]int64
	any := false
	for i := range counts {
		counts[i] = t.n[i].v.Swap(0)
		any = any || counts[i] != 0
	}
	t.mu.Lock()
	w := t.webhook
	t.webhook.seen, t.webhook.failureToSave, t.webhook.failures = false, false, nil
	t.mu.Unlock()
	if !any && !w.seen {
		return nil
	}

	now := t.now()
	_, err := t.st.Client().Pipelined(ctx, func(pipe redis.Pipeliner) error {
		if any {
			k := t.st.StatsKey(store.Day(now))
			for i, n := range counts {
				if n != 0 {
					pipe.HIncrBy(ctx, k, Fields[i], n)
				}
			}
			pipe.Expire(ctx, k, store.StatsRetention)
		}
		if w.seen {
			pipe.HSet(ctx, t.st.WebhookLastKey(), "time", w.last.UnixMilli(), "type", w.lastType, "outcome", w.lastOut)
		}
		if w.failureToSave {
			pipe.HSet(ctx, t.st.WebhookLastKey(), "failure_time", w.lastFailure.UnixMilli(),
				"failure_type", w.failType, "failure_reason", w.failOut)
		}
		for h, reasons := range w.failures {
			k := t.st.WebhookFailuresKey(h)
			for r, n := range reasons {
				pipe.HIncrBy(ctx, k, r, n)
			}
			pipe.Expire(ctx, k, store.WebhookFailureRetention)
		}
		return nil
	})
	if err != nil {
		t.putBack(counts, w)
	}
	return err
}

// putBack returns what a failed flush took, so it is not lost.
func (t *Tally) putBack(counts [numCounters]int64, w webhookState) {
	for i, n := range counts {
		t.n[i].v.Add(n)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := &t.webhook
	if w.seen && !cur.seen {
		cur.last, cur.lastType, cur.lastOut, cur.seen = w.last, w.lastType, w.lastOut, true
	}
	if w.failureToSave && !cur.failureToSave {
		cur.lastFailure, cur.failType, cur.failOut, cur.failureToSave = w.lastFailure, w.failType, w.failOut, true
	}
	for h, reasons := range w.failures {
		if cur.failures == nil {
			cur.failures = map[string]map[string]int64{}
		}
		if cur.failures[h] == nil {
			cur.failures[h] = map[string]int64{}
		}
		for r, n := range reasons {
			cur.failures[h][r] += n
		}
	}
}
