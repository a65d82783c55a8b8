package store

import (
	"testing"
	"time"
)

func TestSubscriptionLifecycle(t *testing.T) {
	s := newStore(t)
	period1, period2 := t0.Add(30*day), t0.Add(60*day)
	steps := []struct {
		name    string
		state   SubscriptionState
		changed int
		audit   string // actions this step adds
		liveAt  time.Time
		live    bool
	}{
		{"created active", subscription("evt_1", "alice", "club", "sub_1", "active", true, period1, t0),
			1, "grant,subscription", t0.Add(time.Hour), true},
		{"same state again", subscription("evt_2", "alice", "club", "sub_1", "active", true, period1, t0.Add(time.Second)),
			0, "", t0.Add(time.Hour), true},
		{"renewed", subscription("evt_3", "alice", "club", "sub_1", "active", true, period2, t0.Add(30*day-time.Hour)),
			1, "", t0.Add(45 * day), true},
		{"past due in grace", subscription("evt_4", "alice", "club", "sub_1", "past_due", true, period2, t0.Add(31*day)),
			1, "subscription", t0.Add(45 * day), true},
		{"stale: older than the last", subscription("evt_5", "alice", "club", "sub_1", "canceled", false, t0, t0.Add(29*day)),
			0, "", t0.Add(45 * day), true},
		{"cancelled", subscription("evt_6", "alice", "club", "sub_1", "canceled", false, t0, t0.Add(32*day)),
			1, "revoke,subscription", t0.Add(33 * day), false},
	}
	want := ""
	for _, st := range steps {
		r := must(t)(s.SetSubscription(ctx, st.state))
		if r.Changed != st.changed {
			t.Fatalf("%s: changed %d, want %d (%+v)", st.name, r.Changed, st.changed, r)
		}
		if st.audit != "" {
			if want != "" {
				want += ","
			}
			want += st.audit
		}
		if a := auditActions(t, s, "alice"); a != want {
			t.Fatalf("%s: audit %s, want %s", st.name, a, want)
		}
		if got := live(t, s, "alice", "club", st.liveAt); got != st.live {
			t.Fatalf("%s: live %v, want %v", st.name, got, st.live)
		}
	}
	g, _ := grantOf(t, s, "alice", "club", "sub_1")
	if g.Status != "canceled" || g.RevokedBy != "subscription:canceled" || g.Subscription != "sub_1" || g.Customer != "cus_alice" {
		t.Fatalf("grant: %+v", g)
	}
	for _, id := range []string{"sub_1", "cus_alice"} {
		if m, ok, _ := s.Lookup(ctx, id); !ok || m != (Mapping{"alice", "club"}) {
			t.Fatalf("mapping of %s: %+v", id, m)
		}
	}
	if c, _ := s.CustomerOf(ctx, "alice"); c != "cus_alice" {
		t.Fatalf("customer of: %q", c)
	}
}

func TestSubscriptionLapsesWithoutRenewal(t *testing.T) {
	s := newStore(t)
	must(t)(s.SetSubscription(ctx, subscription("evt_1", "bob", "basic", "sub_2", "active", true, t0.Add(time.Hour), t0)))
	if !live(t, s, "bob", "basic", t0.Add(59*time.Minute)) || live(t, s, "bob", "basic", t0.Add(time.Hour)) {
		t.Fatal("an active subscription must lapse at its live-until time")
	}
}

func TestSubscriptionPlanChangeMovesGrant(t *testing.T) {
	s := newStore(t)
	end := t0.Add(30 * day)
	must(t)(s.SetSubscription(ctx, subscription("evt_1", "alice", "basic", "sub_1", "active", true, end, t0)))
	r := must(t)(s.SetSubscription(ctx, subscription("evt_2", "alice", "premium", "sub_1", "active", true, end, t0.Add(time.Hour))))
	if r.Changed != 2 || len(r.Changes) != 2 || r.Changes[0] != (Change{"revoke", "alice", "basic", "sub_1"}) ||
		r.Changes[1] != (Change{"grant", "alice", "premium", "sub_1"}) {
		t.Fatalf("plan change: %+v", r)
	}
	at := t0.Add(2 * time.Hour)
	if live(t, s, "alice", "basic", at) || !live(t, s, "alice", "premium", at) {
		t.Fatal("the plan change did not move the grant")
	}
	if e, _ := s.Entitlements(ctx, "alice"); len(e.Grants) != 1 {
		t.Fatalf("the old plan's grant is still there: %+v", e.Grants)
	}
	// A stale event of the old plan neither moves it back nor deletes it.
	must(t)(s.SetSubscription(ctx, subscription("evt_0", "alice", "basic", "sub_1", "active", true, end, t0.Add(time.Minute))))
	if live(t, s, "alice", "basic", at) || !live(t, s, "alice", "premium", at) {
		t.Fatal("a stale event undid the plan change")
	}
	if m, _, _ := s.Lookup(ctx, "sub_1"); m.Product != "premium" {
		t.Fatalf("mapping: %+v", m)
	}
	if a := auditActions(t, s, "alice"); a != "grant,subscription,revoke,grant" {
		t.Fatalf("audit: %s", a)
	}
}

// TestAdminRevokeOfSubscription: an admin revoke holds through later
// subscription updates and a plan change, and only a new payment
// (invoice.paid) reopens it.
func TestAdminRevokeOfSubscription(t *testing.T) {
	s := newStore(t)
	end := t0.Add(30 * day)
	must(t)(s.SetSubscription(ctx, subscription("evt_sub", "alice", "club", "sub_1", "active", true, end, t0)))
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0.Add(time.Hour)), Source: SourceAdmin, User: "alice", Product: "club"}))
	at := t0.Add(2 * time.Hour)
	if live(t, s, "alice", "club", at) {
		t.Fatal("admin revoke left access open")
	}
	must(t)(s.SetSubscription(ctx, subscription("evt_upd", "alice", "club", "sub_1", "active", true, end, at)))
	if live(t, s, "alice", "club", at) {
		t.Fatal("a subscription update undid an admin revoke")
	}
	must(t)(s.SetSubscription(ctx, subscription("evt_plan", "alice", "vip", "sub_1", "active", true, end, at.Add(time.Minute))))
	if live(t, s, "alice", "vip", at.Add(time.Minute)) {
		t.Fatal("a plan change undid an admin revoke")
	}
	g, _ := grantOf(t, s, "alice", "vip", "sub_1")
	if g.RevokedBy != "admin" || g.Status != "active" || g.Expires != end.Unix() {
		t.Fatalf("the admin-revoked grant's other fields must update: %+v", g)
	}
	paid := subscription("evt_paid", "alice", "vip", "sub_1", "active", true, t0.Add(60*day), at.Add(2*time.Minute))
	paid.Payment = true
	if r := must(t)(s.SetSubscription(ctx, paid)); r.Changed != 1 {
		t.Fatalf("the payment: %+v", r)
	}
	if !live(t, s, "alice", "vip", at.Add(3*time.Minute)) {
		t.Fatal("a new payment did not reopen access")
	}
}

func TestSubscriptionRejectsMalformed(t *testing.T) {
	s := newStore(t)
	st := subscription("evt_1", "alice", "club", "", "active", true, t0, t0)
	if _, err := s.SetSubscription(ctx, st); err == nil {
		t.Fatal("a state without a subscription id was accepted")
	}
}
