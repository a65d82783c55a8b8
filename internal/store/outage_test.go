package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// durableRedis is a private redis-server that writes every change to its
// append-only file before answering, so a kill loses nothing acknowledged.
func durableRedis(t *testing.T) (*testenv.Redis, *Store) {
	r := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	return r, newStoreAt(t, r.URL())
}

func TestStoreDownEveryMethodFails(t *testing.T) {
	r, s := durableRedis(t)
	must(t)(s.Grant(ctx, payment("evt_before", "bob", "pro", "pi_b", t0)))
	r.Stop()
	m := meta("evt_during", t0)
	calls := map[string]func() error{
		"Ping":         func() error { return s.Ping(ctx) },
		"Entitlements": func() error { _, err := s.Entitlements(ctx, "bob"); return err },
		"Grant":        func() error { _, err := s.Grant(ctx, payment("evt_during", "alice", "pro", "pi_a", t0)); return err },
		"Revoke":       func() error { _, err := s.Revoke(ctx, refund("evt_during", "pi_b", t0)); return err },
		"Restore": func() error {
			_, err := s.Restore(ctx, RestoreRequest{Meta: m, Source: "pi_b"})
			return err
		},
		"SetSubscription": func() error {
			_, err := s.SetSubscription(ctx, subscription("evt_during", "bob", "club", "sub_1", "active", true, t0.Add(day), t0))
			return err
		},
		"MarkPending":     func() error { _, err := s.MarkPending(ctx, m, "cs_1", "bob", "pro"); return err },
		"ForgetPending":   func() error { _, err := s.ForgetPending(ctx, m, "cs_1"); return err },
		"RecordFailure":   func() error { _, err := s.RecordFailure(ctx, m, "cs_1", "bob", "pro"); return err },
		"Acknowledge":     func() error { _, err := s.Acknowledge(ctx, m); return err },
		"Pending":         func() error { _, _, err := s.Pending(ctx, "cs_1"); return err },
		"Lookup":          func() error { _, _, err := s.Lookup(ctx, "pi_b"); return err },
		"RememberMapping": func() error { return s.RememberMapping(ctx, "ch_1", Mapping{User: "bob", Product: "pro"}) },
		"CustomerOf":      func() error { _, err := s.CustomerOf(ctx, "bob"); return err },
		"Audit":           func() error { _, err := s.Audit(ctx, "", 10); return err },
		"Users":           func() error { _, err := s.Users(ctx, ""); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s with Redis down reported success", name)
		}
	}
	r.Start()
	if !live(t, s, "bob", "pro", t0) {
		t.Fatal("the restarted Redis lost acknowledged data")
	}
	// Nothing of the failed calls was written: the event is not marked, so
	// Stripe's retry applies it.
	if n, _ := s.Client().Exists(ctx, s.Prefix()+"event:evt_during").Result(); n != 0 {
		t.Fatal("a failed call left its event marker")
	}
	res := must(t)(s.Grant(ctx, payment("evt_during", "alice", "pro", "pi_a", t0)))
	if res.Duplicate || res.Changed != 1 {
		t.Fatalf("the retried event after the outage: %+v", res)
	}
}

// TestKilledUnderLoadLeavesNoHalfWrite kills redis-server (SIGKILL) while
// many gateways write, restarts it from its append-only file, and checks
// every event: its marker exists exactly when its grant and its audit
// entry do, and every change that was acknowledged is there.
func TestKilledUnderLoadLeavesNoHalfWrite(t *testing.T) {
	r, s := durableRedis(t)
	const workers, perWorker = 8, 400
	var acked sync.Map
	var started atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				n := w*perWorker + i
				started.Add(1)
				req := payment(fmt.Sprintf("evt_%d", n), fmt.Sprintf("u%d", n), "pro", fmt.Sprintf("pi_%d", n), t0)
				if _, err := s.Grant(ctx, req); err != nil {
					return // Redis is gone
				}
				acked.Store(n, true)
			}
		}()
	}
	for started.Load() < workers*perWorker/4 {
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	wg.Wait()
	r.Start()

	audited := map[string]int{}
	entries, err := s.Audit(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		audited[e.User]++
	}
	applied := 0
	for n := 0; n < workers*perWorker; n++ {
		user := fmt.Sprintf("u%d", n)
		marked, err := s.Client().Exists(ctx, s.Prefix()+fmt.Sprintf("event:evt_%d", n)).Result()
		if err != nil {
			t.Fatal(err)
		}
		granted := live(t, s, user, "pro", t0)
		_, mapped, _ := s.Lookup(ctx, fmt.Sprintf("pi_%d", n))
		if (marked == 1) != granted || granted != mapped || (audited[user] == 1) != granted || audited[user] > 1 {
			t.Fatalf("event %d: marker %v, grant %v, mapping %v, audit entries %d", n, marked == 1, granted, mapped, audited[user])
		}
		if _, ok := acked.Load(n); ok && !granted {
			t.Fatalf("event %d was acknowledged but is lost", n)
		}
		if granted {
			applied++
		}
	}
	if applied == 0 || applied == workers*perWorker {
		t.Fatalf("%d of %d applied: the kill did not land mid-load", applied, workers*perWorker)
	}
	t.Logf("%d of %d events applied before the kill", applied, workers*perWorker)
}
