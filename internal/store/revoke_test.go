package store

import (
	"testing"
	"time"
)

func refund(event, source string, at time.Time) RevokeRequest {
	return RevokeRequest{Meta: meta(event, at), Source: source}
}

func TestRevokeFindsUserThroughMapping(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	must(t)(s.Grant(ctx, payment("evt_paid2", "alice", "pro", "pi_2", t0)))
	r := must(t)(s.Revoke(ctx, refund("evt_refund", "pi_1", t0.Add(time.Hour))))
	if r.Changed != 1 || len(r.Changes) != 1 || r.Changes[0] != (Change{"revoke", "alice", "pro", "pi_1"}) {
		t.Fatalf("refund: %+v", r)
	}
	g, _ := grantOf(t, s, "alice", "pro", "pi_1")
	if !g.Revoked || g.RevokedBy != "evt_refund" || g.Created != t0.Add(time.Hour).Unix() {
		t.Fatalf("revoked grant: %+v", g)
	}
	// The second purchase still holds: grants are revoked one by one.
	if !live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatal("a refund of one purchase closed another")
	}
	// Revoking it again (a dispute after the refund) changes nothing.
	if r := must(t)(s.Revoke(ctx, refund("evt_dispute", "pi_1", t0.Add(2*time.Hour)))); r.Changed != 0 || len(r.Changes) != 0 {
		t.Fatalf("second revoke: %+v", r)
	}
	must(t)(s.Revoke(ctx, refund("evt_refund2", "pi_2", t0.Add(time.Hour))))
	if live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatal("both purchases refunded, access still open")
	}
	// Fulfilling a refunded payment again (reconcile) changes nothing.
	if r := must(t)(s.Grant(ctx, payment("", "alice", "pro", "pi_1", t0.Add(3*time.Hour)))); r.Changed != 0 || live(t, s, "alice", "pro", t0.Add(3*time.Hour)) {
		t.Fatalf("re-fulfilling a refunded payment reopened it: %+v", r)
	}
	if a := auditActions(t, s, "alice"); a != "grant,grant,revoke,revoke" {
		t.Fatalf("audit: %s", a)
	}
}

func TestRevokeWithUserFromCharge(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	r := must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund", t0.Add(time.Hour)), Source: "pi_1", User: "alice", Product: "pro"}))
	if r.Changed != 1 || live(t, s, "alice", "pro", t0.Add(time.Hour)) {
		t.Fatalf("refund: %+v", r)
	}
}

// TestRefundBeforePayment: a refund or dispute that arrives before its
// payment still wins, whether its user is unknown (tombstone) or known
// from the charge (a placeholder grant and a tombstone).
func TestRefundBeforePayment(t *testing.T) {
	tests := []struct {
		name          string
		user, product string // on the revoke
		via           func(GrantRequest) GrantRequest
		audit         string
	}{
		{"user unknown", "", "", nil, "tombstone,grant-blocked"},
		{"user known", "alice", "pro", nil, "tombstone,grant-blocked"},
		{"user unknown, grant keyed by session", "", "", func(r GrantRequest) GrantRequest {
			r.Source = r.CheckoutSession // the tombstone is on the payment intent
			return r
		}, "tombstone,grant-blocked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			rv := must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund", t0.Add(time.Hour)), Source: "pi_1", User: tt.user, Product: tt.product}))
			if rv.Changed != 0 {
				t.Fatalf("revoke of nothing: %+v", rv)
			}
			ttl, err := s.Client().TTL(ctx, s.Prefix()+"tomb:pi_1").Result()
			if err != nil || ttl < TombstoneTTL-time.Minute {
				t.Fatalf("tombstone TTL %v %v", ttl, err)
			}
			p := payment("evt_paid", "alice", "pro", "pi_1", t0)
			if tt.via != nil {
				p = tt.via(p)
			}
			r := must(t)(s.Grant(ctx, p))
			if r.Changed != 0 || live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
				t.Fatalf("a refunded payment opened access: %+v", r)
			}
			g, ok := grantOf(t, s, "alice", "pro", p.Source)
			if !ok || !g.Revoked || g.RevokedBy != "evt_refund" || g.Placeholder || g.PaymentIntent != "pi_1" {
				t.Fatalf("blocked grant: %+v %v", g, ok)
			}
			if a := auditActions(t, s, ""); a != tt.audit {
				t.Fatalf("audit: %s", a)
			}
			// The mappings are written, so a later restore finds the user.
			if m, ok, _ := s.Lookup(ctx, "pi_1"); !ok || m.User != "alice" {
				t.Fatalf("mapping after a blocked grant: %+v %v", m, ok)
			}
		})
	}
}

func TestStaleRevokeIsIgnored(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, GrantRequest{Meta: adminMeta(t0.Add(time.Hour)), User: "alice", Product: "pro", Source: SourceAdmin}))
	// An admin revoke older than the admin grant (a slow command line).
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0), Source: SourceAdmin, User: "alice", Product: "pro"}))
	if !live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatal("an older revoke closed a newer grant")
	}
	// A payment event older than the grant's last change.
	must(t)(s.Grant(ctx, payment("evt_paid", "bob", "pro", "pi_1", t0.Add(2*time.Hour))))
	if r := must(t)(s.Revoke(ctx, refund("evt_old", "pi_1", t0))); r.Changed != 0 || !live(t, s, "bob", "pro", t0.Add(3*time.Hour)) {
		t.Fatalf("an older revoke applied: %+v", r)
	}
}

func TestRestore(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	must(t)(s.Revoke(ctx, refund("evt_dispute", "pi_1", t0.Add(2*time.Hour))))
	// The dispute's win, created before the dispute itself, is stale.
	if r := must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_old_restore", t0.Add(time.Hour)), Source: "pi_1"})); r.Changed != 0 {
		t.Fatalf("stale restore: %+v", r)
	}
	if live(t, s, "alice", "pro", t0.Add(3*time.Hour)) {
		t.Fatal("an older event undid a newer revoke")
	}
	r := must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_won", t0.Add(3*time.Hour)), Source: "pi_1"}))
	if r.Changed != 1 || !live(t, s, "alice", "pro", t0.Add(4*time.Hour)) {
		t.Fatalf("a won dispute did not restore access: %+v", r)
	}
	g, _ := grantOf(t, s, "alice", "pro", "pi_1")
	if g.Revoked || g.RevokedBy != "" || g.Cause != "evt_won" {
		t.Fatalf("restored grant: %+v", g)
	}
	// Restoring an open grant changes nothing.
	if r := must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_won2", t0.Add(4*time.Hour)), Source: "pi_1"})); r.Changed != 0 || len(r.Changes) != 0 {
		t.Fatalf("restore of an open grant: %+v", r)
	}
	if a := auditActions(t, s, "alice"); a != "grant,revoke,restore" {
		t.Fatalf("audit: %s", a)
	}
}

func TestRestoreBeforePayment(t *testing.T) {
	for _, known := range []bool{false, true} {
		s := newStore(t)
		rv := refund("evt_dispute", "pi_1", t0.Add(time.Hour))
		if known {
			rv.User, rv.Product = "alice", "pro"
		}
		must(t)(s.Revoke(ctx, rv))
		must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_won", t0.Add(2*time.Hour)), Source: "pi_1"}))
		if live(t, s, "alice", "pro", t0.Add(3*time.Hour)) {
			t.Fatalf("known=%v: a restore opened access before any payment", known)
		}
		// The payment, when it comes, grants as usual with its own expiry.
		p := payment("evt_paid", "alice", "pro", "pi_1", t0)
		p.AccessFor = day
		must(t)(s.Grant(ctx, p))
		if !live(t, s, "alice", "pro", t0.Add(3*time.Hour)) || live(t, s, "alice", "pro", t0.Add(day)) {
			t.Fatalf("known=%v: after a won dispute the payment must grant its day", known)
		}
	}
}

func TestAdminRevoke(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)))
	must(t)(s.Grant(ctx, payment("evt_2", "alice", "pro", "pi_2", t0)))
	must(t)(s.Grant(ctx, payment("evt_3", "alice", "course", "pi_3", t0)))
	must(t)(s.Revoke(ctx, refund("evt_dispute", "pi_2", t0.Add(time.Minute))))
	r := must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0.Add(time.Hour)), Source: SourceAdmin, User: "alice", Product: "pro"}))
	if r.Changed != 1 || len(r.Changes) != 1 || r.Changes[0] != (Change{"revoke", "alice", "pro", "pi_1"}) {
		t.Fatalf("admin revoke: %+v", r)
	}
	at := t0.Add(2 * time.Hour)
	if live(t, s, "alice", "pro", at) || !live(t, s, "alice", "course", at) {
		t.Fatal("an admin revoke must close the product and only it")
	}
	e, _ := s.Entitlements(ctx, "alice")
	for _, g := range e.Grants {
		if g.Product == "pro" && (!g.Revoked || g.RevokedBy != "admin") {
			t.Fatalf("after an admin revoke: %+v", g)
		}
	}
	if g, ok := grantOf(t, s, "alice", "pro", SourceAdmin); !ok || !g.Revoked {
		t.Fatalf("no admin record: %+v", g)
	}
	// A dispute won later does not reopen what the admin closed.
	must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_won", t0.Add(3*time.Hour)), Source: "pi_2"}))
	if live(t, s, "alice", "pro", t0.Add(4*time.Hour)) {
		t.Fatal("a restore undid an admin revoke")
	}
	// Revoking again changes nothing.
	if r := must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0.Add(5 * time.Hour)), Source: SourceAdmin, User: "alice", Product: "pro"})); r.Changed != 0 {
		t.Fatalf("second admin revoke: %+v", r)
	}
	// A new payment (a new source) opens it again, and so does an admin grant.
	must(t)(s.Grant(ctx, payment("evt_4", "alice", "pro", "pi_4", t0.Add(6*time.Hour))))
	if !live(t, s, "alice", "pro", t0.Add(7*time.Hour)) {
		t.Fatal("a new payment after an admin revoke did not open access")
	}
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0.Add(8 * time.Hour)), Source: SourceAdmin, User: "alice", Product: "pro"}))
	must(t)(s.Grant(ctx, GrantRequest{Meta: adminMeta(t0.Add(9 * time.Hour)), User: "alice", Product: "pro", Source: SourceAdmin}))
	if !live(t, s, "alice", "pro", t0.Add(10*time.Hour)) {
		t.Fatal("an admin grant after an admin revoke did not open access")
	}
	if a := auditActions(t, s, "alice"); a != "grant,grant,grant,revoke,revoke,grant,revoke,grant" {
		t.Fatalf("audit: %s", a)
	}
}

func TestAdminRevokeOfNothing(t *testing.T) {
	s := newStore(t)
	r := must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0), Source: SourceAdmin, User: "bob", Product: "pro"}))
	if r.Changed != 0 {
		t.Fatalf("%+v", r)
	}
	if g, ok := grantOf(t, s, "bob", "pro", SourceAdmin); !ok || !g.Revoked || g.RevokedBy != "admin" {
		t.Fatalf("admin record: %+v %v", g, ok)
	}
	if _, err := s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0), Source: SourceAdmin, User: "bob"}); err == nil {
		t.Fatal("an admin revoke without a product was accepted")
	}
}
