package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// paidSession has user pay for product in the stand-in and returns the
// session's id. complete=false leaves it open; delayed pays by a delayed
// method (complete, unpaid). The checkout.session.completed the stand-in
// raises is not delivered: the test reads it from feed when it wants it.
func paidSession(t testing.TB, w *stubWorld, user, product, price, mode string, pay string) string {
	t.Helper()
	id := w.checkout(t, user, product, price, mode, true)
	var err error
	switch pay {
	case "open":
	case "pay":
		err = w.Stub.Pay(id)
	case "delayed":
		err = w.Stub.PayDelayed(id)
	default:
		t.Fatalf("unknown payment %q", pay)
	}
	if err != nil {
		t.Fatalf("%s in the stand-in: %v", pay, err)
	}
	return id
}

// eventOf returns the newest event of type typ the stand-in raised.
func eventOf(t testing.TB, feed *stubEvents, typ string) []byte {
	t.Helper()
	var found []byte
	for _, e := range feed.next(t) {
		if mustParse(t, e).Type == typ {
			found = e
		}
	}
	if found == nil {
		t.Fatalf("the stand-in raised no %s", typ)
	}
	return found
}

// TestConcurrentDelivery delivers one event from 50 goroutines at once
// (several gateways behind one Redis, Stripe retrying while the first
// delivery is in flight): it is applied exactly once.
func TestConcurrentDelivery(t *testing.T) {
	world := newStubWorld(t)
	cases := []struct {
		name  string
		event func(t *testing.T) (body []byte, user, product string)
	}{
		{"checkout.session.completed", func(t *testing.T) ([]byte, string, string) {
			return paid.body, "alice", "pro"
		}},
		{"checkout.session.completed(subscription)", func(t *testing.T) ([]byte, string, string) {
			feed := &stubEvents{world: world, seen: map[string]bool{}}
			paidSession(t, world, "carol", "course", "price_course", "subscription", "pay")
			return eventOf(t, feed, "checkout.session.completed"), "carol", "course"
		}},
		{"customer.subscription.created", func(t *testing.T) ([]byte, string, string) {
			f := &seqFixture{world: world}
			f.subscribe(t, &subSetup{withMeta: true})
			return subCreated(f).body, "carol", "course"
		}},
		{"checkout.session.async_payment_succeeded", func(t *testing.T) ([]byte, string, string) {
			return asyncOK.body, "alice", "pro"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, user, product := c.event(t)
			st := newStore(t)
			a := newApplier(st, world.API, events.Policies{})
			const n = 50
			outcomes := make([]events.Outcome, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					outcomes[i], errs[i] = a.Apply(ctx, mustParse(t, body))
				}()
			}
			close(start)
			wg.Wait()
			count := map[events.Outcome]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("delivery %d: %v", i, errs[i])
				}
				count[outcomes[i]]++
			}
			if count[events.Applied] != 1 || count[events.Duplicate] != n-1 {
				t.Errorf("outcomes %v, want 1 applied and %d duplicates", count, n-1)
			}
			if e, _ := st.Entitlements(ctx, user); len(e.Grants) != 1 || !e.Live(product, t0) {
				t.Errorf("want one live grant of %s; grants: %s", product, grantsOf(t, st, user))
			}
			// The audit holds what one delivery writes: one "grant" (and,
			// for a subscription, its status), nothing twice.
			ref := newStore(t)
			apply(t, newApplier(ref, world.API, events.Policies{}), body)
			lines, want := auditLines(t, st), auditLines(t, ref)
			if strings.Join(lines, "\n") != strings.Join(want, "\n") || grantEntries(lines) != 1 {
				t.Errorf("audit after %d concurrent deliveries:\n  %s\nwant (one delivery):\n  %s",
					n, strings.Join(lines, "\n  "), strings.Join(want, "\n  "))
			}
			if product == "pro" && len(lines) != 1 {
				t.Errorf("%d audit entries for a one-time payment, want 1", len(lines))
			}
		})
	}
}

// grantEntries counts the audit lines that open access.
func grantEntries(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "grant |") {
			n++
		}
	}
	return n
}

// TestReturnBeforeWebhook: the visitor is back on the success page before
// Stripe's webhook. The page fetches the session and fulfils it through
// FulfilSession; the webhook, whenever it comes, changes nothing (and the
// other way round).
func TestReturnBeforeWebhook(t *testing.T) {
	world := newStubWorld(t)
	success := func(t *testing.T, a *events.Applier, id string) (store.Result, error) {
		t.Helper()
		s, err := a.FetchSession(ctx, id)
		if err != nil {
			t.Fatalf("fetching the session: %v", err)
		}
		return a.FulfilSession(ctx, s, store.Meta{Cause: "success", Created: t0.Unix(), Now: t0})
	}
	cases := []struct {
		name, user, product, price, mode string
		// steps: "success" (must change), "success-again" (must not),
		// "webhook" (the completed event; must not be a change when it
		// follows a success).
		steps []string
	}{
		{"success,webhook", "alice", "pro", "price_pro", "payment", []string{"success", "webhook"}},
		{"webhook,success", "alice", "pro", "price_pro", "payment", []string{"webhook", "success"}},
		{"success,success,webhook", "alice", "pro", "price_pro", "payment", []string{"success", "success", "webhook"}},
		{"subscription:success,webhook", "carol", "course", "price_course", "subscription", []string{"success", "webhook"}},
		{"subscription:webhook,success", "carol", "course", "price_course", "subscription", []string{"webhook", "success"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			a := newApplier(st, world.API, events.Policies{})
			feed := &stubEvents{world: world, seen: map[string]bool{}}
			feed.next(t) // skip what earlier cases raised
			id := paidSession(t, world, c.user, c.product, c.price, c.mode, "pay")
			webhook := eventOf(t, feed, "checkout.session.completed")
			changes := 0
			for i, step := range c.steps {
				switch step {
				case "success":
					r, err := success(t, a, id)
					if err != nil {
						t.Fatalf("step %d, success page: %v", i, err)
					}
					changes += r.Changed
				case "webhook":
					o := apply(t, a, webhook)
					if o == events.Applied {
						changes++
					}
				}
				if i == 0 && changes != 1 {
					t.Fatalf("the first fulfilment (%s) changed %d grants, want 1", step, changes)
				}
			}
			if changes != 1 {
				t.Errorf("%d changes over %v, want exactly 1", changes, c.steps)
			}
			if e, _ := st.Entitlements(ctx, c.user); len(e.Grants) != 1 || !e.Live(c.product, t0) {
				t.Errorf("want one live grant; grants: %s", grantsOf(t, st, c.user))
			}
			// One "grant" entry (a subscription's status entry aside), whichever
			// path fulfilled it.
			lines := auditLines(t, st)
			noRepeats(t, lines)
			if grantEntries(lines) != 1 || (c.mode == "payment" && len(lines) != 1) {
				t.Errorf("audit:\n  %s\nwant one grant entry", strings.Join(lines, "\n  "))
			}
		})
	}

	t.Run("success_and_webhook_concurrently", func(t *testing.T) {
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		feed := &stubEvents{world: world, seen: map[string]bool{}}
		feed.next(t)
		id := paidSession(t, world, "alice", "pro", "price_pro", "payment", "pay")
		webhook := eventOf(t, feed, "checkout.session.completed")
		s, err := a.FetchSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = a.FulfilSession(ctx, s, store.Meta{Cause: "success", Created: t0.Unix(), Now: t0})
				} else {
					_, err = a.Apply(ctx, mustParse(t, webhook))
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if e, _ := st.Entitlements(ctx, "alice"); len(e.Grants) != 1 || !e.Live("pro", t0) {
			t.Errorf("want one live grant; grants: %s", grantsOf(t, st, "alice"))
		}
		if lines := auditLines(t, st); len(lines) != 1 {
			t.Errorf("%d audit entries, want 1:\n  %s", len(lines), strings.Join(lines, "\n  "))
		}
	})

	for _, pay := range []string{"open", "delayed"} {
		t.Run("not_yet_paid:"+pay, func(t *testing.T) {
			st := newStore(t)
			a := newApplier(st, world.API, events.Policies{})
			id := paidSession(t, world, "alice", "pro", "price_pro", "payment", pay)
			s, err := a.FetchSession(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s.Paid() {
				t.Fatalf("session status %q, payment_status %q reads as paid", s.Status, s.PaymentStatus)
			}
			if _, err := a.FulfilSession(ctx, s, store.Meta{Cause: "success", Created: t0.Unix(), Now: t0}); err == nil {
				t.Fatal("an unpaid session was fulfilled")
			}
			if keys := keysOf(t, st); len(keys) != 0 {
				t.Fatalf("fulfilling an unpaid session wrote %v", keys)
			}
			if pay != "delayed" {
				return
			}
			// The bank transfer settles: now the success page's refresh
			// fulfils it, and the webhook that follows changes nothing.
			feed := &stubEvents{world: world, seen: map[string]bool{}}
			feed.next(t)
			if err := world.Stub.SettleDelayed(id, true); err != nil {
				t.Fatal(err)
			}
			if r, err := success(t, a, id); err != nil || r.Changed != 1 {
				t.Fatalf("after settlement: %+v, %v; want one change", r, err)
			}
			if o := apply(t, a, eventOf(t, feed, "checkout.session.async_payment_succeeded")); o != events.NoChange {
				t.Errorf("async_payment_succeeded after the success page: outcome %q, want %q", o, events.NoChange)
			}
			if !isLive(t, st, "alice", "pro", t0) {
				t.Errorf("not granted: %s", grantsOf(t, st, "alice"))
			}
			if lines := auditLines(t, st); len(lines) != 1 {
				t.Errorf("%d audit entries, want 1:\n  %s", len(lines), strings.Join(lines, "\n  "))
			}
		})
	}
}

// TestStripeMockShapes: every fetch the applier makes decodes stripe-mock's
// fixtures (the real API's shapes, from Stripe's OpenAPI spec), and the
// paths that fetch run end to end against it.
func TestStripeMockShapes(t *testing.T) {
	api := stripeapi.New("sk_test_123", testenv.StripeURL(t))
	st := newStore(t)
	a := newApplier(st, api, events.Policies{})
	fetches := []struct {
		name  string
		fetch func() (string, error)
	}{
		{"FetchSession", func() (string, error) { s, err := a.FetchSession(ctx, "cs_test_123"); return s.ID, err }},
		{"FetchSubscription", func() (string, error) { s, err := a.FetchSubscription(ctx, "sub_123"); return s.ID, err }},
		{"FetchCharge", func() (string, error) { c, err := a.FetchCharge(ctx, "ch_123"); return c.ID, err }},
		{"FetchDispute", func() (string, error) { d, err := a.FetchDispute(ctx, "dp_123"); return d.ID, err }},
		{"FetchInvoice", func() (string, error) { i, err := a.FetchInvoice(ctx, "in_123"); return i.ID, err }},
	}
	for _, f := range fetches {
		t.Run(f.name, func(t *testing.T) {
			id, err := f.fetch()
			if err != nil {
				t.Fatalf("%v", err)
			}
			if id == "" {
				t.Fatal("decoded an object without an id")
			}
		})
	}
	// Events whose handling fetches: none may fail on stripe-mock's shapes
	// (its fixtures belong to no paywall user, so they change nothing).
	applies := []struct {
		name, typ, apiVersion string
		object                map[string]any
	}{
		{"reshaped_checkout.session.completed", "checkout.session.completed", otherAPIVer, map[string]any{"id": "cs_test_123", "object": "checkout.session"}},
		{"reshaped_charge.refunded", "charge.refunded", otherAPIVer, map[string]any{"id": "ch_123", "object": "charge"}},
		{"reshaped_charge.dispute.created", "charge.dispute.created", otherAPIVer, map[string]any{"id": "dp_123", "object": "dispute"}},
		{"reshaped_invoice.paid", "invoice.paid", otherAPIVer, map[string]any{"id": "in_123", "object": "invoice"}},
		{"customer.subscription.updated", "customer.subscription.updated", events.PinnedAPIVersion, map[string]any{"id": "sub_123", "object": "subscription"}},
		{"invoice.paid", "invoice.paid", events.PinnedAPIVersion, map[string]any{"id": "in_123", "object": "invoice", "subscription": "sub_123", "paid": true}},
	}
	for i, c := range applies {
		t.Run("Apply:"+c.name, func(t *testing.T) {
			body := eventJSON(fmt.Sprintf("evt_mock_%d", i), c.typ, t0, c.apiVersion, c.object)
			if _, err := a.Apply(ctx, mustParse(t, body)); err != nil {
				t.Fatalf("%v", err)
			}
		})
	}
}

// TestReshapedEvents: an event of another API version is verified, then
// its object is re-fetched through the pinned client instead of read; a
// fetch failure is an error (the webhook answers 503 and Stripe retries),
// with nothing written, so the retry is not taken for a duplicate.
func TestReshapedEvents(t *testing.T) {
	world := newStubWorld(t)

	t.Run("checkout.session.completed:fetched", func(t *testing.T) {
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		id := paidSession(t, world, "alice", "pro", "price_pro", "payment", "pay")
		// Whatever the new version's payload says, only its id is trusted.
		body := eventJSON("evt_reshaped_cs", "checkout.session.completed", t0, otherAPIVer,
			map[string]any{"id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid"})
		before := world.requests.Load()
		if o := apply(t, a, body); o != events.Applied {
			t.Fatalf("outcome %q, want %q", o, events.Applied)
		}
		if world.requests.Load() == before {
			t.Error("the session was not fetched")
		}
		if !isLive(t, st, "alice", "pro", t0) {
			t.Errorf("not granted: %s", grantsOf(t, st, "alice"))
		}
	})

	t.Run("pinned_version:not_fetched", func(t *testing.T) {
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		before := world.requests.Load()
		if o := apply(t, a, paid.body); o != events.Applied {
			t.Fatalf("outcome %q", o)
		}
		if n := world.requests.Load() - before; n != 0 {
			t.Errorf("a one-time payment of the pinned version made %d API requests, want 0", n)
		}
	})

	t.Run("charge.refunded:fetched", func(t *testing.T) {
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		feed := &stubEvents{world: world, seen: map[string]bool{}}
		feed.next(t)
		id := paidSession(t, world, "alice", "pro", "price_pro", "payment", "pay")
		apply(t, a, eventOf(t, feed, "checkout.session.completed"))
		cs, _ := world.Stub.Session(id)
		if err := world.Stub.Refund(cs.PaymentIntent, 0); err != nil {
			t.Fatal(err)
		}
		body := eventJSON("evt_reshaped_refund", "charge.refunded", t0.Add(day), otherAPIVer,
			map[string]any{"id": cs.Charge, "object": "charge", "refunded": false})
		if o := apply(t, a, body); o != events.Applied {
			t.Fatalf("outcome %q, want %q", o, events.Applied)
		}
		if isLive(t, st, "alice", "pro", t0.Add(2*day)) {
			t.Errorf("a refund re-fetched from Stripe did not revoke: %s", grantsOf(t, st, "alice"))
		}
	})

	t.Run("charge.dispute.created:fetched", func(t *testing.T) {
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		feed := &stubEvents{world: world, seen: map[string]bool{}}
		feed.next(t)
		id := paidSession(t, world, "alice", "pro", "price_pro", "payment", "pay")
		apply(t, a, eventOf(t, feed, "checkout.session.completed"))
		cs, _ := world.Stub.Session(id)
		dp, err := world.Stub.Dispute(cs.Charge)
		if err != nil {
			t.Fatal(err)
		}
		body := eventJSON("evt_reshaped_dispute", "charge.dispute.created", t0.Add(day), otherAPIVer,
			map[string]any{"id": dp, "object": "dispute"})
		if o := apply(t, a, body); o != events.Applied {
			t.Fatalf("outcome %q, want %q", o, events.Applied)
		}
		if isLive(t, st, "alice", "pro", t0.Add(2*day)) {
			t.Errorf("a dispute re-fetched from Stripe did not revoke: %s", grantsOf(t, st, "alice"))
		}
	})

	// Newer versions moved the invoice's subscription (and payment intent,
	// charge) under parent.subscription_details: read from the payload, the
	// renewal would look like no subscription's and be ignored.
	t.Run("invoice.paid:fetched", func(t *testing.T) {
		f := &seqFixture{world: world}
		f.subscribe(t, &subSetup{withMeta: true, state: renew(true, false)})
		st := newStore(t)
		a := newApplier(st, world.API, events.Policies{})
		inv, _ := f.renewal["id"].(string)
		body := eventJSON("evt_reshaped_invoice", "invoice.paid", t0.Add(31*day), otherAPIVer, map[string]any{
			"id": inv, "object": "invoice", "parent": map[string]any{"type": "subscription_details",
				"subscription_details": map[string]any{"subscription": f.sub}},
		})
		if o := apply(t, a, body); o != events.Applied {
			t.Fatalf("outcome %q, want %q; grants: %s", o, events.Applied, grantsOf(t, st, "carol"))
		}
		if !isLive(t, st, "carol", "course", f.periodEnd.Add(leeway+time.Second)) {
			t.Errorf("the renewal did not extend access: %s", grantsOf(t, st, "carol"))
		}
		pi, _ := f.renewal["payment_intent"].(string)
		if m, ok, _ := st.Lookup(ctx, pi); !ok || m.User != "carol" {
			t.Errorf("the renewal's payment intent %s does not lead to carol: %+v", pi, m)
		}
	})

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	failures := []struct {
		name   string
		apiURL string
		typ    string
		object map[string]any
	}{
		{"unknown_session", world.URL, "checkout.session.completed", map[string]any{"id": "cs_test_nosuchsession", "object": "checkout.session"}},
		{"stripe_unreachable", downURL, "checkout.session.completed", map[string]any{"id": "cs_test_any", "object": "checkout.session"}},
		{"unknown_charge", world.URL, "charge.refunded", map[string]any{"id": "ch_test_nosuchcharge", "object": "charge"}},
		{"unknown_dispute", world.URL, "charge.dispute.closed", map[string]any{"id": "dp_test_nosuchdispute", "object": "dispute"}},
		{"unknown_invoice", world.URL, "invoice.paid", map[string]any{"id": "in_test_nosuchinvoice", "object": "invoice", "subscription": "sub_x"}},
		{"subscription_unreachable", downURL, "customer.subscription.updated", map[string]any{"id": "sub_test_any", "object": "subscription"}},
	}
	for _, c := range failures {
		t.Run("fetch_fails:"+c.name, func(t *testing.T) {
			st := newStore(t)
			a := newApplier(st, stripeapi.New(testKey, c.apiURL), events.Policies{})
			body := eventJSON("evt_fails_"+c.name, c.typ, t0, otherAPIVer, c.object)
			_, err := a.Apply(ctx, mustParse(t, body))
			if err == nil {
				t.Fatal("a failed fetch was not an error")
			}
			if errors.Is(err, events.ErrMalformed) {
				t.Fatalf("a failed fetch is not a malformed event (that would be a 400, never retried): %v", err)
			}
			if keys := keysOf(t, st); len(keys) != 0 {
				t.Fatalf("a failed event wrote %v: its retry would be a duplicate", keys)
			}
		})
	}
}

// TestMalformed: payloads of the wrong shape are refused with an error
// wrapping ErrMalformed (the webhook's 400), and nothing is written.
func TestMalformed(t *testing.T) {
	parse := []struct{ name, body string }{
		{"not_json", `{"id": "evt_x", "type":`},
		{"object_is_a_string", `{"id":"evt_x","type":"checkout.session.completed","data":{"object":"cs_1"}}`},
		{"object_is_null", `{"id":"evt_x","type":"checkout.session.completed","data":{"object":null}}`},
		{"no_data", `{"id":"evt_x","type":"checkout.session.completed"}`},
		{"no_id", `{"type":"checkout.session.completed","data":{"object":{}}}`},
		{"no_type", `{"id":"evt_x","data":{"object":{}}}`},
		{"created_is_a_string", `{"id":"evt_x","type":"charge.refunded","created":"yesterday","data":{"object":{}}}`},
		{"an_array", `[]`},
	}
	for _, c := range parse {
		t.Run("Parse:"+c.name, func(t *testing.T) {
			_, err := events.Parse([]byte(c.body))
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("error %v, want one wrapping ErrMalformed", err)
			}
		})
	}

	session := func(change func(map[string]any)) map[string]any {
		s := sessionObject("cs_m", "paid", "pi_m", "alice", "pro")
		change(s)
		return s
	}
	applyCases := []struct {
		name, typ string
		object    map[string]any
	}{
		{"metadata_is_an_array", "checkout.session.completed", session(func(s map[string]any) { s["metadata"] = []int{1} })},
		{"payment_intent_is_a_number", "checkout.session.completed", session(func(s map[string]any) { s["payment_intent"] = 7 })},
		{"payment_intent_is_an_array", "checkout.session.completed", session(func(s map[string]any) { s["payment_intent"] = []string{"pi_1"} })},
		{"status_is_an_object", "checkout.session.async_payment_succeeded", session(func(s map[string]any) { s["status"] = map[string]any{} })},
		{"failed_session_metadata_is_a_string", "checkout.session.async_payment_failed", session(func(s map[string]any) { s["metadata"] = "x" })},
		{"expired_session_id_is_a_number", "checkout.session.expired", map[string]any{"id": 5}},
		{"refund_amount_is_a_string", "charge.refunded", map[string]any{"id": "ch_m", "payment_intent": "pi_m", "amount": "10.00", "refunded": true}},
		{"refund_payment_intent_is_a_number", "charge.refunded", map[string]any{"id": "ch_m", "payment_intent": 1, "refunded": true}},
		{"dispute_charge_is_an_array", "charge.dispute.created", map[string]any{"id": "dp_m", "charge": []string{"ch_m"}}},
		{"dispute_status_is_a_number", "charge.dispute.closed", map[string]any{"id": "dp_m", "charge": "ch_m", "status": 1}},
		{"subscription_id_is_a_number", "customer.subscription.updated", map[string]any{"id": 5}},
		{"subscription_without_id", "customer.subscription.deleted", map[string]any{"object": "subscription"}},
		{"invoice_subscription_is_a_number", "invoice.paid", map[string]any{"id": "in_m", "subscription": 5}},
		{"invoice_paid_is_a_string", "invoice.payment_failed", map[string]any{"id": "in_m", "subscription": "sub_m", "paid": "no"}},
	}
	world := newStubWorld(t)
	for _, c := range applyCases {
		t.Run("Apply:"+c.name, func(t *testing.T) {
			st := newStore(t)
			a := newApplier(st, world.API, events.Policies{})
			evt, err := events.Parse(eventJSON("evt_malformed", c.typ, t0, events.PinnedAPIVersion, c.object))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			o, err := a.Apply(ctx, evt)
			if !errors.Is(err, events.ErrMalformed) {
				t.Fatalf("outcome %q, error %v; want an error wrapping ErrMalformed", o, err)
			}
			if keys := keysOf(t, st); len(keys) != 0 {
				t.Fatalf("a malformed event wrote %v", keys)
			}
		})
	}
}

// TestAcknowledged: events that change nothing still answer without error,
// and what they are is reported.
func TestAcknowledged(t *testing.T) {
	foreign := sessionObject("cs_f", "paid", "pi_f", "alice", "pro")
	foreign["metadata"] = map[string]string{}
	foreign["client_reference_id"] = nil
	var e map[string]any
	_ = json.Unmarshal(eventJSON("evt_live", "checkout.session.completed", t0, events.PinnedAPIVersion,
		sessionObject("cs_l", "paid", "pi_l", "alice", "pro")), &e)
	e["livemode"] = true
	liveBody, _ := json.Marshal(e)
	cases := []struct {
		name   string
		body   []byte
		want   events.Outcome
		marked bool // the event id is recorded, so a retry is a duplicate
	}{
		{"other_livemode", liveBody, events.Ignored, false},
		{"unhandled_type", eventJSON("evt_u", "customer.created", t0, events.PinnedAPIVersion, map[string]any{"id": "cus_1"}), events.Unhandled, false},
		{"session_of_another_integration", eventJSON("evt_f", "checkout.session.completed", t0, events.PinnedAPIVersion, foreign), events.Ignored, true},
		{"partial_refund", refundedPart.body, events.NoChange, true},
		{"dispute_lost", disputeLost.body, events.NoChange, true},
		{"invoice_without_subscription", eventJSON("evt_i", "invoice.paid", t0, events.PinnedAPIVersion, map[string]any{"id": "in_1", "paid": true}), events.Ignored, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			a := newApplier(st, nil, events.Policies{})
			if o := apply(t, a, c.body); o != c.want {
				t.Fatalf("outcome %q, want %q", o, c.want)
			}
			again := apply(t, a, c.body)
			if c.marked && again != events.Duplicate {
				t.Errorf("retry: outcome %q, want %q", again, events.Duplicate)
			}
			if e, _ := st.Entitlements(ctx, "alice"); len(e.Grants) != 0 {
				t.Errorf("granted: %s", grantsOf(t, st, "alice"))
			}
			if !c.marked {
				if keys := keysOf(t, st); len(keys) != 0 {
					t.Errorf("wrote %v", keys)
				}
			}
		})
	}
}
