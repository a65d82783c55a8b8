package store

import (
	"testing"
	"time"
)

func TestPendingAndFailure(t *testing.T) {
	s := newStore(t)
	r := must(t)(s.MarkPending(ctx, meta("evt_p", t0), "cs_1", "alice", "pro"))
	if r.Changed != 0 || len(r.Changes) != 1 || r.Changes[0].Action != "pending" {
		t.Fatalf("mark pending: %+v", r)
	}
	if m, ok, err := s.Pending(ctx, "cs_1"); err != nil || !ok || m != (Mapping{"alice", "pro"}) {
		t.Fatalf("pending: %+v %v %v", m, ok, err)
	}
	ttl, _ := s.Client().TTL(ctx, s.Prefix()+"pending:cs_1").Result()
	if ttl < PendingTTL-time.Minute || ttl > PendingTTL {
		t.Fatalf("pending TTL %v", ttl)
	}
	if live(t, s, "alice", "pro", t0) {
		t.Fatal("an unpaid session granted access")
	}
	must(t)(s.RecordFailure(ctx, meta("evt_f", t0), "cs_1", "", ""))
	if _, ok, _ := s.Pending(ctx, "cs_1"); ok {
		t.Fatal("a failed payment is still pending")
	}
	must(t)(s.MarkPending(ctx, meta("evt_p2", t0), "cs_2", "alice", "pro"))
	must(t)(s.ForgetPending(ctx, meta("evt_x", t0), "cs_2"))
	// Forgetting what is not pending writes nothing.
	must(t)(s.ForgetPending(ctx, meta("evt_y", t0), "cs_3"))
	if a := auditActions(t, s, "alice"); a != "pending,payment-failed,pending,pending-expired" {
		t.Fatalf("audit: %s", a)
	}
	entries, _ := s.Audit(ctx, "alice", 3)
	if entries[1].Product != "pro" || entries[1].Source != "cs_2" {
		t.Fatalf("the failure's entry must name the pending session's product: %+v", entries[1])
	}
	if live(t, s, "alice", "pro", t0) {
		t.Fatal("a pending record granted access")
	}
	// Duplicates of each.
	for _, r := range []Result{
		must(t)(s.MarkPending(ctx, meta("evt_p", t0), "cs_1", "alice", "pro")),
		must(t)(s.RecordFailure(ctx, meta("evt_f", t0), "cs_1", "alice", "pro")),
		must(t)(s.ForgetPending(ctx, meta("evt_x", t0), "cs_2")),
	} {
		if !r.Duplicate {
			t.Fatalf("a replayed event applied: %+v", r)
		}
	}
}

func TestPendingAfterFulfilmentIsNotMarked(t *testing.T) {
	s := newStore(t)
	// async_payment_succeeded handled before the late completed (unpaid).
	must(t)(s.Grant(ctx, payment("evt_ok", "alice", "pro", "pi_1", t0)))
	must(t)(s.MarkPending(ctx, meta("evt_done", t0), "cs_pi_1", "alice", "pro"))
	if _, ok, _ := s.Pending(ctx, "cs_pi_1"); ok {
		t.Fatal("a fulfilled session was marked pending")
	}
}

func TestAcknowledge(t *testing.T) {
	s := newStore(t)
	r := must(t)(s.Acknowledge(ctx, meta("evt_ack", t0)))
	if r.Duplicate || r.Changed != 0 {
		t.Fatalf("first: %+v", r)
	}
	if r := must(t)(s.Acknowledge(ctx, meta("evt_ack", t0))); !r.Duplicate {
		t.Fatalf("second: %+v", r)
	}
	// An acknowledged event is not applied later either.
	if r := must(t)(s.Grant(ctx, payment("evt_ack", "alice", "pro", "pi_1", t0))); !r.Duplicate {
		t.Fatalf("grant after ack: %+v", r)
	}
	if a := auditActions(t, s, ""); a != "" {
		t.Fatalf("audit: %s", a)
	}
	// Without an event id it marks nothing.
	if r := must(t)(s.Acknowledge(ctx, Meta{Now: t0})); r.Duplicate {
		t.Fatalf("%+v", r)
	}
}
