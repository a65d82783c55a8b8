package store

import (
	"strconv"
	"testing"
	"time"
)

func stats(t *testing.T, s *Store, at time.Time) map[string]int64 {
	t.Helper()
	d, err := s.Stats(ctx, at, 1)
	if err != nil {
		t.Fatal(err)
	}
	return d[0].Counts
}

// A one-time payment counts once whichever path fulfils it first (success
// page, webhook, a redelivery, reconcile), with its amount.
func TestPaymentCountedOncePerSource(t *testing.T) {
	s := newStore(t)
	paid := func(event, cause string) Result {
		m := meta(event, t0)
		m.Cause = cause
		m.Tally = &Tally{Payments: 1, Amount: 900, Currency: "EUR", PerSource: true}
		return must(t)(s.Grant(ctx, GrantRequest{Meta: m, User: "ann", Product: "pro", Source: "pi_1", PaymentIntent: "pi_1"}))
	}
	paid("", "success")
	paid("evt_1", "evt_1")
	if r := paid("evt_1", "evt_1"); !r.Duplicate {
		t.Fatal("redelivery not a duplicate")
	}
	paid("", "reconcile")
	got := stats(t, s, t0)
	if got["payments"] != 1 || got["revenue:eur"] != 900 {
		t.Errorf("counters %v, want one payment of 900 eur", got)
	}
	if ttl := s.client.TTL(ctx, s.StatsKey(Day(t0))).Val(); ttl < StatsRetention-time.Minute || ttl > StatsRetention {
		t.Errorf("stats TTL %v, want %v", ttl, StatsRetention)
	}
}

// An event's tally (an invoice, a refund, a dispute) counts once per event
// id, even when the script changed nothing.
func TestEventTallyCountedOnce(t *testing.T) {
	s := newStore(t)
	for range 3 {
		m := meta("evt_refund", t0)
		m.Tally = &Tally{Refunds: 1}
		must(t)(s.Acknowledge(ctx, m))
		m = meta("evt_inv", t0)
		m.Tally = &Tally{Payments: 1, Amount: 500, Currency: "usd"}
		must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: m, User: "bo", Product: "club", Subscription: "sub_1",
			Status: "active", Live: true, LiveUntil: t0.Add(30 * day).Unix(), Payment: true}))
	}
	// Without an event id there is nothing to make a repeat a duplicate:
	// not counted.
	m := adminMeta(t0)
	m.Tally = &Tally{Disputes: 1}
	must(t)(s.Acknowledge(ctx, m))
	got := stats(t, s, t0)
	if got["refunds"] != 1 || got["payments"] != 1 || got["revenue:usd"] != 500 || got["disputes"] != 0 {
		t.Errorf("counters %v", got)
	}
}

// The holders sets follow grants, revokes, expiry and plan changes.
func TestLiveHolders(t *testing.T) {
	s := newStore(t)
	live := func(at time.Time) map[string]int64 {
		t.Helper()
		n, err := s.LiveHolders(ctx, at, []string{"pro", "club", "gold"})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	must(t)(s.AdminGrant(ctx, "admin", "ann", "pro", 0, t0))
	must(t)(s.AdminGrant(ctx, "admin", "bo", "pro", 10*day, t0))
	must(t)(s.Grant(ctx, GrantRequest{Meta: meta("evt_1", t0), User: "bo", Product: "pro", Source: "pi_2", AccessFor: 20 * day}))
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_2", t0), User: "cy", Product: "club", Subscription: "sub_1",
		Status: "active", Live: true, LiveUntil: t0.Add(30 * day).Unix()}))
	if got := live(t0); got["pro"] != 2 || got["club"] != 1 || got["gold"] != 0 {
		t.Errorf("at t0: %v", got)
	}
	// bo's purchase runs on from the admin grant's end (t0+10d) to t0+30d.
	if got := live(t0.Add(25 * day)); got["pro"] != 2 {
		t.Errorf("at t0+25d: %v", got)
	}
	if got := live(t0.Add(35 * day)); got["pro"] != 1 {
		t.Errorf("at t0+35d: %v", got)
	}
	// A plan change moves cy from club to gold; a revoke takes ann out.
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_3", t0.Add(time.Hour)), User: "cy", Product: "gold", Subscription: "sub_1",
		Status: "active", Live: true, LiveUntil: t0.Add(30 * day).Unix()}))
	must(t)(s.AdminRevoke(ctx, "admin", "ann", "pro", t0.Add(time.Hour)))
	if got := live(t0.Add(2 * time.Hour)); got["pro"] != 1 || got["club"] != 0 || got["gold"] != 1 {
		t.Errorf("after the plan change and revoke: %v", got)
	}
}

// A user's trail comes from their index, newest first, without reading
// anyone else's entries; the stream pages with a cursor.
func TestUserAuditAndPages(t *testing.T) {
	s := newStore(t)
	for i := range 5 {
		at := t0.Add(time.Duration(i) * time.Minute)
		must(t)(s.AdminGrant(ctx, "admin", "ann", "pro", time.Duration(i+1)*day, at))
		must(t)(s.AdminGrant(ctx, "admin", "bo\n<x>", "club", time.Duration(i+1)*day, at))
	}
	got, err := s.UserAudit(ctx, "bo\n<x>", 0, 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("user audit: %v %v", got, err)
	}
	for i, e := range got {
		if e.User != "bo\n<x>" || e.Detail != "expires "+itoa(t0.Add(time.Duration(4-i)*time.Minute).Add(time.Duration(5-i)*day).Unix()) {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	page, next, _, err := s.AuditPage(ctx, AuditFilter{Product: "pro"}, "", 3, 100)
	if err != nil || len(page) != 3 || next == "" || page[0].User != "ann" {
		t.Fatalf("first page: %+v %q %v", page, next, err)
	}
	page2, next2, _, err := s.AuditPage(ctx, AuditFilter{Product: "pro"}, next, 3, 100)
	if err != nil || len(page2) != 2 || next2 != "" || page2[0].ID >= page[2].ID {
		t.Fatalf("second page: %+v %q %v", page2, next2, err)
	}
	// A bounded read returns a cursor to go on from.
	page3, next3, read, err := s.AuditPage(ctx, AuditFilter{Action: "revoke"}, "", 3, 4)
	if err != nil || len(page3) != 0 || next3 == "" || read != 4 {
		t.Fatalf("bounded page: %+v %q %d %v", page3, next3, read, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
