package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGrant(t *testing.T) {
	s := newStore(t)
	r := must(t)(s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)))
	if r.Duplicate || r.Changed != 1 || len(r.Changes) != 1 || r.Changes[0] != (Change{"grant", "alice", "pro", "pi_1"}) {
		t.Fatalf("first grant: %+v", r)
	}
	if r.Meta.EventID != "evt_1" || !r.Meta.Now.Equal(t0) {
		t.Fatalf("result meta: %+v", r.Meta)
	}
	if !live(t, s, "alice", "pro", t0) || live(t, s, "alice", "course", t0) || live(t, s, "bob", "pro", t0) {
		t.Fatal("wrong entitlements after one grant")
	}
	g, _ := grantOf(t, s, "alice", "pro", "pi_1")
	want := Grant{Product: "pro", Source: "pi_1", Created: t0.Unix(), Cause: "evt_1", Customer: "cus_alice",
		PaymentIntent: "pi_1", Updated: t0.Unix()}
	if g != want {
		t.Fatalf("grant as stored:\n got %+v\nwant %+v", g, want)
	}
	for _, id := range []string{"pi_1", "cs_pi_1", "cus_alice"} {
		if m, ok, err := s.Lookup(ctx, id); err != nil || !ok || m != (Mapping{"alice", "pro"}) {
			t.Fatalf("mapping of %s: %+v %v %v", id, m, ok, err)
		}
	}
	if c, _ := s.CustomerOf(ctx, "alice"); c != "cus_alice" {
		t.Fatalf("customer of alice: %q", c)
	}
	if c, _ := s.CustomerOf(ctx, "bob"); c != "" {
		t.Fatalf("customer of bob: %q", c)
	}
	entries, err := s.Audit(ctx, "alice", 0)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit: %+v %v", entries, err)
	}
	if e := entries[0]; e.Action != "grant" || e.User != "alice" || e.Product != "pro" || e.Source != "pi_1" ||
		e.Cause != "evt_1" || !e.Time.Equal(t0) {
		t.Fatalf("audit entry: %+v", e)
	}
	ttl, err := s.Client().TTL(ctx, s.Prefix()+"event:evt_1").Result()
	if err != nil || ttl < EventTTL-time.Minute || ttl > EventTTL {
		t.Fatalf("event marker TTL %v %v, want %v", ttl, err, EventTTL)
	}
}

func TestGrantRejectsMalformedRequests(t *testing.T) {
	s := newStore(t)
	ok := payment("evt_ok", "alice", "pro", "pi_ok", t0)
	tests := []struct {
		name string
		edit func(*GrantRequest)
	}{
		{"no user", func(r *GrantRequest) { r.User = "" }},
		{"no product", func(r *GrantRequest) { r.Product = "" }},
		{"product with a separator", func(r *GrantRequest) { r.Product = "pro|x" }},
		{"product with a dot", func(r *GrantRequest) { r.Product = "pro.plus" }},
		{"no source", func(r *GrantRequest) { r.Source = "" }},
		{"source with a newline", func(r *GrantRequest) { r.Source = "pi_1\n" }},
		{"source not UTF-8", func(r *GrantRequest) { r.Source = "pi_\xff" }},
		{"source too long", func(r *GrantRequest) { r.Source = "pi_" + strings.Repeat("x", 300) }},
		{"event id with a NUL", func(r *GrantRequest) { r.EventID = "evt\x001" }},
		{"customer with a tab", func(r *GrantRequest) { r.Customer = "cus\t1" }},
		{"negative pass", func(r *GrantRequest) { r.AccessFor = -time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.edit(&r)
			if _, err := s.Grant(ctx, r); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
	if a := auditActions(t, s, ""); a != "" {
		t.Fatalf("a rejected request wrote %q", a)
	}
}

func TestDuplicateEventIsAppliedOnce(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_dup", "alice", "pro", "pi_1", t0)))
	r := must(t)(s.Grant(ctx, payment("evt_dup", "alice", "pro", "pi_1", t0)))
	if !r.Duplicate || r.Changed != 0 || len(r.Changes) != 0 {
		t.Fatalf("second delivery: %+v", r)
	}
	// The same event id cannot apply something else either.
	r = must(t)(s.Grant(ctx, payment("evt_dup", "bob", "pro", "pi_2", t0)))
	if !r.Duplicate || live(t, s, "bob", "pro", t0) {
		t.Fatalf("a reused event id applied: %+v", r)
	}
	if a := auditActions(t, s, ""); a != "grant" {
		t.Fatalf("audit: %s", a)
	}
}

// TestSamePaymentThroughEveryPath: the webhook, the success page and
// reconcile all fulfil one session; only the first changes anything.
func TestSamePaymentThroughEveryPath(t *testing.T) {
	s := newStore(t)
	success := payment("", "alice", "pro", "pi_1", t0)
	success.Cause = "success"
	webhook := payment("evt_paid", "alice", "pro", "pi_1", t0)
	reconcile := payment("", "alice", "pro", "pi_1", t0.Add(time.Hour))
	reconcile.Cause = "reconcile"
	results := []Result{must(t)(s.Grant(ctx, success)), must(t)(s.Grant(ctx, webhook)), must(t)(s.Grant(ctx, reconcile))}
	if results[0].Changed != 1 || results[1].Changed != 0 || results[1].Duplicate || results[2].Changed != 0 {
		t.Fatalf("results: %+v", results)
	}
	if a := auditActions(t, s, "alice"); a != "grant" {
		t.Fatalf("audit: %s", a)
	}
	// The webhook's event id is marked, though it changed nothing.
	if r := must(t)(s.Acknowledge(ctx, meta("evt_paid", t0))); !r.Duplicate {
		t.Fatal("the no-op event was not marked processed")
	}
}

func TestConcurrentDeliveryGrantsOnce(t *testing.T) {
	tests := []struct {
		name  string
		event func(i int) string
	}{
		{"one event delivered 50 times", func(int) string { return "evt_race" }},
		{"one payment through 50 events and paths", func(i int) string {
			if i%2 == 0 {
				return ""
			}
			return fmt.Sprintf("evt_%d", i)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			var wg sync.WaitGroup
			var applied, changed atomic.Int64
			start := make(chan struct{})
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := s.Grant(ctx, payment(tt.event(i), "alice", "pro", "pi_race", t0))
					if err != nil {
						t.Error(err)
						return
					}
					if !r.Duplicate {
						applied.Add(1)
					}
					changed.Add(int64(r.Changed))
				}()
			}
			close(start)
			wg.Wait()
			if changed.Load() != 1 {
				t.Fatalf("changed %d grants in all, want 1", changed.Load())
			}
			if tt.event(0) == "evt_race" && applied.Load() != 1 {
				t.Fatalf("applied %d times, want 1", applied.Load())
			}
			e, _ := s.Entitlements(ctx, "alice")
			if len(e.Grants) != 1 {
				t.Fatalf("grants: %+v", e.Grants)
			}
			if a := auditActions(t, s, ""); a != "grant" {
				t.Fatalf("audit: %s", a)
			}
		})
	}
}

func TestPassExtends(t *testing.T) {
	tests := []struct {
		name      string
		purchases []time.Duration // when each 30-day pass was bought, after t0
		liveUntil time.Duration   // access ends then
	}{
		{"one pass", []time.Duration{0}, 30 * day},
		{"second bought while the first runs", []time.Duration{0, 10 * day}, 60 * day},
		{"three in a row", []time.Duration{0, time.Hour, 2 * time.Hour}, 90 * day},
		{"second bought after the first lapsed", []time.Duration{0, 40 * day}, 70 * day},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, at := range tt.purchases {
				r := payment(fmt.Sprintf("evt_%d", i), "alice", "pro", fmt.Sprintf("pi_%d", i), t0.Add(at))
				r.AccessFor = 30 * day
				must(t)(s.Grant(ctx, r))
			}
			end := t0.Add(tt.liveUntil)
			if !live(t, s, "alice", "pro", end.Add(-time.Second)) || live(t, s, "alice", "pro", end) {
				t.Fatalf("access must end at t0+%v", tt.liveUntil)
			}
		})
	}
}

func TestPassIgnoresOtherProductsAndRevokedPasses(t *testing.T) {
	s := newStore(t)
	other := payment("evt_o", "alice", "course", "pi_o", t0)
	other.AccessFor = 100 * day
	must(t)(s.Grant(ctx, other))
	refunded := payment("evt_r", "alice", "pro", "pi_r", t0)
	refunded.AccessFor = 50 * day
	must(t)(s.Grant(ctx, refunded))
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund", t0.Add(time.Hour)), Source: "pi_r"}))
	pass := payment("evt_p", "alice", "pro", "pi_p", t0.Add(2*time.Hour))
	pass.AccessFor = 10 * day
	must(t)(s.Grant(ctx, pass))
	g, _ := grantOf(t, s, "alice", "pro", "pi_p")
	if want := t0.Add(2*time.Hour + 10*day).Unix(); g.Expires != want {
		t.Fatalf("expires %d, want %d (from now, not from another product or a refunded pass)", g.Expires, want)
	}
}

func TestGrantAbsoluteExpiry(t *testing.T) {
	s := newStore(t)
	r := payment("evt_1", "alice", "pro", "pi_1", t0)
	r.Expires = t0.Add(time.Hour).Unix()
	must(t)(s.Grant(ctx, r))
	if !live(t, s, "alice", "pro", t0.Add(59*time.Minute)) || live(t, s, "alice", "pro", t0.Add(time.Hour)) {
		t.Fatal("an absolute expiry was not kept")
	}
}

func TestAdminGrant(t *testing.T) {
	s := newStore(t)
	admin := func(at time.Time, access time.Duration) GrantRequest {
		return GrantRequest{Meta: adminMeta(at), User: "alice", Product: "pro", Source: SourceAdmin, AccessFor: access}
	}
	if r := must(t)(s.Grant(ctx, admin(t0, 0))); r.Changed != 1 {
		t.Fatalf("admin grant: %+v", r)
	}
	if r := must(t)(s.Grant(ctx, admin(t0.Add(time.Minute), 0))); r.Changed != 0 {
		t.Fatalf("the same admin grant again changed something: %+v", r)
	}
	// An admin grant older than the current one is ignored.
	if r := must(t)(s.Grant(ctx, admin(t0.Add(-time.Hour), day))); r.Changed != 0 {
		t.Fatalf("a stale admin grant: %+v", r)
	}
	// A newer one with a term replaces it.
	if r := must(t)(s.Grant(ctx, admin(t0.Add(time.Hour), day))); r.Changed != 1 {
		t.Fatalf("an admin grant with a term: %+v", r)
	}
	if !live(t, s, "alice", "pro", t0.Add(day)) || live(t, s, "alice", "pro", t0.Add(day+time.Hour)) {
		t.Fatal("the admin pass does not run a day from its grant")
	}
	if a := auditActions(t, s, "alice"); a != "grant,grant" {
		t.Fatalf("audit: %s", a)
	}
	if _, ok, _ := s.Lookup(ctx, "admin"); ok {
		t.Fatal("an admin grant wrote a mapping for \"admin\"")
	}
}
