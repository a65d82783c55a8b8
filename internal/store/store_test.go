package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

var ctx = context.Background()

// t0 is the tests' clock: every change passes its own time.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newStore(t testing.TB) *Store {
	t.Helper()
	return newStoreAt(t, testenv.RedisURL(t))
}

func newStoreAt(t testing.TB, url string) *Store {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return New(c, testenv.UniquePrefix())
}

func meta(event string, at time.Time) Meta {
	return Meta{EventID: event, Cause: orCause(event), Created: at.Unix(), Now: at}
}

func orCause(event string) string {
	if event == "" {
		return "test"
	}
	return event
}

func must(t *testing.T) func(Result, error) Result {
	return func(r Result, err error) Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func live(t *testing.T, s *Store, user, product string, at time.Time) bool {
	t.Helper()
	e, err := s.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return e.Live(product, at)
}

func auditActions(t *testing.T, s *Store, user string) string {
	t.Helper()
	entries, err := s.Audit(ctx, user, 100)
	if err != nil {
		t.Fatal(err)
	}
	var a []string
	for i := len(entries) - 1; i >= 0; i-- {
		a = append(a, entries[i].Action)
	}
	return strings.Join(a, ",")
}

func payment(event, user, product, pi string, at time.Time) GrantRequest {
	return GrantRequest{Meta: meta(event, at), User: user, Product: product, Source: pi, PaymentIntent: pi, Customer: "cus_" + user}
}

func TestGrantAndRead(t *testing.T) {
	s := newStore(t)
	r := must(t)(s.Grant(ctx, payment("evt_1", "alice", "pro", "pi_1", t0)))
	if r.Duplicate || r.Changed != 1 {
		t.Fatalf("first grant: %+v", r)
	}
	if !live(t, s, "alice", "pro", t0) || live(t, s, "alice", "course", t0) || live(t, s, "bob", "pro", t0) {
		t.Fatal("wrong entitlements after one grant")
	}
	e, _ := s.Entitlements(ctx, "alice")
	g := e.Grants[0]
	if g.Product != "pro" || g.Source != "pi_1" || g.Cause != "evt_1" || g.Created != t0.Unix() || g.Customer != "cus_alice" {
		t.Fatalf("grant as stored: %+v", g)
	}
	if m, ok, _ := s.Lookup(ctx, "pi_1"); !ok || m != (Mapping{"alice", "pro"}) {
		t.Fatalf("payment intent mapping: %+v %v", m, ok)
	}
	if c, _ := s.CustomerOf(ctx, "alice"); c != "cus_alice" {
		t.Fatalf("customer of alice: %q", c)
	}
	if a := auditActions(t, s, "alice"); a != "grant" {
		t.Fatalf("audit: %s", a)
	}
}

func TestDuplicateEventIsAppliedOnce(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_dup", "alice", "pro", "pi_1", t0)))
	r := must(t)(s.Grant(ctx, payment("evt_dup", "alice", "pro", "pi_1", t0)))
	if !r.Duplicate || r.Changed != 0 {
		t.Fatalf("second delivery: %+v", r)
	}
	// The same payment through another path (success page, reconcile):
	// no event id, no change, no second audit entry.
	r = must(t)(s.Grant(ctx, payment("", "alice", "pro", "pi_1", t0.Add(time.Minute))))
	if r.Duplicate || r.Changed != 0 {
		t.Fatalf("same payment again: %+v", r)
	}
	if a := auditActions(t, s, "alice"); a != "grant" {
		t.Fatalf("audit: %s", a)
	}
}

func TestConcurrentDeliveryGrantsOnce(t *testing.T) {
	s := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	applied := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Grant(ctx, payment("evt_race", "alice", "pro", "pi_race", t0))
			if err != nil {
				t.Error(err)
				return
			}
			if !r.Duplicate {
				mu.Lock()
				applied++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if applied != 1 {
		t.Fatalf("applied %d times, want 1", applied)
	}
	if a := auditActions(t, s, "alice"); a != "grant" {
		t.Fatalf("audit: %s", a)
	}
}

func TestRefundBeforePaymentStaysRevoked(t *testing.T) {
	s := newStore(t)
	// The refund's charge carries no metadata: nobody is known yet.
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund", t0.Add(time.Hour)), Source: "pi_1"}))
	r := must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	if r.Changed != 0 || live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatalf("a refunded payment opened access: %+v", r)
	}
	if a := auditActions(t, s, "alice"); a != "grant-blocked" {
		t.Fatalf("audit: %s", a)
	}
}

func TestRevokeFindsUserThroughMapping(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	must(t)(s.Grant(ctx, payment("evt_paid2", "alice", "pro", "pi_2", t0)))
	r := must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund", t0.Add(time.Hour)), Source: "pi_1"}))
	if r.Changed != 1 {
		t.Fatalf("refund: %+v", r)
	}
	// The second purchase still holds: grants are revoked one by one.
	if !live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatal("a refund of one purchase closed another")
	}
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_refund2", t0.Add(time.Hour)), Source: "pi_2"}))
	if live(t, s, "alice", "pro", t0.Add(2*time.Hour)) {
		t.Fatal("both purchases refunded, access still open")
	}
	// A replayed payment event for a refunded purchase changes nothing.
	must(t)(s.Grant(ctx, payment("", "alice", "pro", "pi_1", t0.Add(3*time.Hour))))
	if live(t, s, "alice", "pro", t0.Add(3*time.Hour)) {
		t.Fatal("re-fulfilling a refunded payment reopened it")
	}
}

func TestOlderEventNeverOverwritesNewer(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_paid", "alice", "pro", "pi_1", t0)))
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: meta("evt_dispute", t0.Add(2*time.Hour)), Source: "pi_1"}))
	// The dispute's win, created before the dispute itself, is stale.
	must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_old_restore", t0.Add(time.Hour)), Source: "pi_1"}))
	if live(t, s, "alice", "pro", t0.Add(3*time.Hour)) {
		t.Fatal("an older event undid a newer revoke")
	}
	must(t)(s.Restore(ctx, RestoreRequest{Meta: meta("evt_won", t0.Add(3*time.Hour)), Source: "pi_1"}))
	if !live(t, s, "alice", "pro", t0.Add(4*time.Hour)) {
		t.Fatal("a won dispute did not restore access")
	}
}

func TestPassExtends(t *testing.T) {
	s := newStore(t)
	day := 24 * time.Hour
	first := payment("evt_1", "alice", "pro", "pi_1", t0)
	first.AccessFor = 30 * day
	must(t)(s.Grant(ctx, first))
	second := payment("evt_2", "alice", "pro", "pi_2", t0.Add(10*day))
	second.AccessFor = 30 * day
	must(t)(s.Grant(ctx, second))
	if !live(t, s, "alice", "pro", t0.Add(59*day)) || live(t, s, "alice", "pro", t0.Add(60*day+time.Second)) {
		t.Fatal("a second pass must run from the end of the first: 60 days in all")
	}
	// Bought after the first lapsed: runs from the purchase.
	third := payment("evt_3", "bob", "pro", "pi_3", t0)
	third.AccessFor = day
	must(t)(s.Grant(ctx, third))
	fourth := payment("evt_4", "bob", "pro", "pi_4", t0.Add(5*day))
	fourth.AccessFor = day
	must(t)(s.Grant(ctx, fourth))
	if !live(t, s, "bob", "pro", t0.Add(5*day+23*time.Hour)) || live(t, s, "bob", "pro", t0.Add(6*day+time.Second)) {
		t.Fatal("a pass bought after the last lapsed must run from its purchase")
	}
}

func TestAdminRevokeAndGrant(t *testing.T) {
	s := newStore(t)
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_sub", t0), User: "alice", Product: "club",
		Subscription: "sub_1", Customer: "cus_1", Status: "active", Live: true, LiveUntil: t0.Add(30 * 24 * time.Hour).Unix()}))
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: Meta{Cause: "admin", Created: t0.Add(time.Hour).Unix(), Now: t0.Add(time.Hour)},
		Source: SourceAdmin, User: "alice", Product: "club"}))
	at := t0.Add(2 * time.Hour)
	if live(t, s, "alice", "club", at) {
		t.Fatal("admin revoke left access open")
	}
	// A subscription update that is not a payment does not undo it...
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_upd", at), User: "alice", Product: "club",
		Subscription: "sub_1", Status: "active", Live: true, LiveUntil: t0.Add(30 * 24 * time.Hour).Unix()}))
	if live(t, s, "alice", "club", at) {
		t.Fatal("an unrelated event undid an admin revoke")
	}
	// ...a renewal payment does.
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_paid", at.Add(time.Minute)), User: "alice", Product: "club",
		Subscription: "sub_1", Status: "active", Live: true, Payment: true, LiveUntil: t0.Add(60 * 24 * time.Hour).Unix()}))
	if !live(t, s, "alice", "club", at.Add(2*time.Minute)) {
		t.Fatal("a new payment did not reopen access")
	}
	// An admin grant after an admin revoke opens again.
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: Meta{Cause: "admin", Now: at.Add(time.Hour)}, Source: SourceAdmin, User: "bob", Product: "pro"}))
	must(t)(s.Grant(ctx, GrantRequest{Meta: Meta{Cause: "admin", Now: at.Add(2 * time.Hour)}, User: "bob", Product: "pro", Source: SourceAdmin}))
	if !live(t, s, "bob", "pro", at.Add(3*time.Hour)) {
		t.Fatal("an admin grant did not open access")
	}
}

func TestSubscriptionPlanChangeMovesGrant(t *testing.T) {
	s := newStore(t)
	end := t0.Add(30 * 24 * time.Hour).Unix()
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_1", t0), User: "alice", Product: "basic",
		Subscription: "sub_1", Status: "active", Live: true, LiveUntil: end}))
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_2", t0.Add(time.Hour)), User: "alice", Product: "premium",
		Subscription: "sub_1", Status: "active", Live: true, LiveUntil: end}))
	at := t0.Add(2 * time.Hour)
	if live(t, s, "alice", "basic", at) || !live(t, s, "alice", "premium", at) {
		t.Fatal("the plan change did not move the grant")
	}
	// Cancelled: closed; its period end no longer matters.
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_3", t0.Add(3*time.Hour)), User: "alice", Product: "premium",
		Subscription: "sub_1", Status: "canceled", Live: false}))
	if live(t, s, "alice", "premium", t0.Add(4*time.Hour)) {
		t.Fatal("a cancelled subscription kept access")
	}
	// Expiry without a renewal event.
	must(t)(s.SetSubscription(ctx, SubscriptionState{Meta: meta("evt_4", t0), User: "bob", Product: "basic",
		Subscription: "sub_2", Status: "active", Live: true, LiveUntil: t0.Add(time.Hour).Unix()}))
	if !live(t, s, "bob", "basic", t0.Add(59*time.Minute)) || live(t, s, "bob", "basic", t0.Add(61*time.Minute)) {
		t.Fatal("an active subscription must lapse at its live-until time")
	}
}

func TestPendingAndFailure(t *testing.T) {
	s := newStore(t)
	must(t)(s.MarkPending(ctx, meta("evt_p", t0), "cs_1", "alice", "pro"))
	if m, ok, _ := s.Pending(ctx, "cs_1"); !ok || m.User != "alice" {
		t.Fatalf("pending: %+v %v", m, ok)
	}
	if live(t, s, "alice", "pro", t0) {
		t.Fatal("an unpaid session granted access")
	}
	must(t)(s.RecordFailure(ctx, meta("evt_f", t0), "cs_1", "alice", "pro"))
	if _, ok, _ := s.Pending(ctx, "cs_1"); ok {
		t.Fatal("a failed payment is still pending")
	}
	must(t)(s.MarkPending(ctx, meta("evt_p2", t0), "cs_2", "alice", "pro"))
	must(t)(s.ForgetPending(ctx, meta("evt_x", t0), "cs_2"))
	if a := auditActions(t, s, "alice"); a != "pending,payment-failed,pending,pending-expired" {
		t.Fatalf("audit: %s", a)
	}
	if r := must(t)(s.Acknowledge(ctx, meta("evt_x", t0))); !r.Duplicate {
		t.Fatal("an applied event's id was not remembered")
	}
}

func TestUserIDsCannotReachOtherKeys(t *testing.T) {
	s := newStore(t)
	hostile := []string{"alice:x", "alice%3Ax", "alice|pro", "a}b", "{paywall}:user:alice", "a\nb", "a\x00b", "ålice", "*", "alice"}
	for i, u := range hostile {
		must(t)(s.Grant(ctx, payment(fmt.Sprintf("evt_%d", i), u, fmt.Sprintf("p%d", i), fmt.Sprintf("pi_%d", i), t0)))
	}
	for i, u := range hostile {
		e, err := s.Entitlements(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Grants) != 1 || e.Grants[0].Product != fmt.Sprintf("p%d", i) {
			t.Fatalf("%q sees %+v", u, e.Grants)
		}
	}
	users, err := s.Users(ctx, "")
	if err != nil || len(users) != len(hostile) {
		t.Fatalf("Users: %v %v", users, err)
	}
	for _, u := range hostile {
		if dec, err := DecodeUser(EncodeUser(u)); err != nil || dec != u {
			t.Fatalf("round trip of %q: %q %v", u, dec, err)
		}
	}
}

func TestStoreDownWritesNothingHalfway(t *testing.T) {
	r := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	s := newStoreAt(t, r.URL())
	must(t)(s.Grant(ctx, payment("evt_before", "bob", "pro", "pi_b", t0)))
	r.Stop()
	if _, err := s.Grant(ctx, payment("evt_during", "alice", "pro", "pi_a", t0)); err == nil {
		t.Fatal("a grant with Redis down reported success")
	}
	if _, err := s.Entitlements(ctx, "bob"); err == nil {
		t.Fatal("a read with Redis down reported success")
	}
	r.Start()
	if !live(t, s, "bob", "pro", t0) {
		t.Fatal("the restarted Redis lost acknowledged data")
	}
	res := must(t)(s.Grant(ctx, payment("evt_during", "alice", "pro", "pi_a", t0)))
	if res.Duplicate || res.Changed != 1 {
		t.Fatalf("the retried event after the outage: %+v", res)
	}
}

func TestChangesArePublished(t *testing.T) {
	s := newStore(t)
	sub := s.Client().Subscribe(ctx, s.ChangesChannel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	must(t)(s.Grant(ctx, payment("evt_1", "alice:1", "pro", "pi_1", t0)))
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil || msg.Payload != "alice:1" {
		t.Fatalf("published %v %v", msg, err)
	}
}
