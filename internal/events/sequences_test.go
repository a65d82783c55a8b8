package events_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
)

// The sequence table: each sequence is a set of Stripe events (with
// Stripe's `created` times, which order them) that is applied in every
// order, and then again with each event delivered twice in a row and with
// the whole sequence replayed, each run on a fresh store. Every run must
// end with the same entitlements, a duplicate delivery must be reported as
// one and change nothing, and the audit stream must hold each entry once
// (the same stream as the single-delivery run of that order).
//
// Subscription sequences run against the stateful Stripe stand-in: the
// applier fetches the subscription on every subscription-related event, so
// the stand-in is put in its final state (Stripe's state "now") before
// the events, which then arrive in every order, as Stripe may send them.

type namedEvent struct {
	name string
	body []byte
}

// want is one expected entitlement at a moment.
type want struct {
	user, product string
	at            time.Time
	live          bool
}

func (w want) String() string {
	state := "closed"
	if w.live {
		state = "live"
	}
	return fmt.Sprintf("%s's %s %s at %s", w.user, w.product, state, offsetName(w.at.Sub(t0)))
}

func live(user, product string, at time.Time) want   { return want{user, product, at, true} }
func closed(user, product string, at time.Time) want { return want{user, product, at, false} }

// subSetup makes a subscription in the stand-in (through a Checkout
// Session paid there) and then puts it in its final state.
type subSetup struct {
	// withMeta: the checkout put paywall metadata on the subscription
	// (subscription_data.metadata); without it, the user is found through
	// the mapping the checkout's completion stored.
	withMeta bool
	// state changes the fresh subscription (active on price_course, one
	// month from t0) into Stripe's current state, using the stand-in's own
	// actions (Renew moves the period on, FailRenewal too and turns it
	// past_due, as Stripe does).
	state func(t testing.TB, f *seqFixture)
}

// seqFixture is what a sequence's events and expectations are built from.
type seqFixture struct {
	world *stubWorld
	// As the API showed them right after the checkout: the events'
	// payloads, stale on purpose (the applier must fetch, not read them).
	session, subscription, firstInvoice map[string]any
	sub, customer                       string
	periodEnd                           time.Time // the first current_period_end
	// Set by state functions that renew.
	renewal, renewalCharge map[string]any // the renewal invoice and its charge, as the API shows them after state
	renewedEnd             time.Time      // current_period_end after the renewal
}

type sequence struct {
	name     string
	policies events.Policies
	sub      *subSetup
	events   func(f *seqFixture) []namedEvent
	want     func(f *seqFixture) []want
}

func at(d time.Duration) time.Time { return t0.Add(d) }

const (
	day  = 24 * time.Hour
	year = 365 * day
)

// ev is an event of the pinned API version, created d after t0; its id is
// derived from its name, which is unique within a sequence.
func ev(name, typ string, d time.Duration, object map[string]any) namedEvent {
	return namedEvent{name, eventJSON("evt_"+strings.ReplaceAll(name, ".", "_"), typ, at(d), events.PinnedAPIVersion, object)}
}

func static(evs ...namedEvent) func(*seqFixture) []namedEvent {
	return func(*seqFixture) []namedEvent { return evs }
}

func wants(ws ...want) func(*seqFixture) []want {
	return func(*seqFixture) []want { return ws }
}

// One-time payments: alice buys pro with session cs_1 (payment intent
// pi_1, charge ch_1, 10.00).
var (
	paid        = ev("completed", "checkout.session.completed", 0, sessionObject("cs_1", "paid", "pi_1", "alice", "pro"))
	unpaid      = ev("completed-unpaid", "checkout.session.completed", 0, sessionObject("cs_1", "unpaid", "pi_1", "alice", "pro"))
	asyncOK     = ev("async-succeeded", "checkout.session.async_payment_succeeded", 2*day, sessionObject("cs_1", "paid", "pi_1", "alice", "pro"))
	asyncFailed = ev("async-failed", "checkout.session.async_payment_failed", 2*day, sessionObject("cs_1", "unpaid", "pi_1", "alice", "pro"))
	expired     = ev("expired", "checkout.session.expired", day, func() map[string]any {
		s := sessionObject("cs_1", "unpaid", "", "alice", "pro")
		s["status"] = "expired"
		return s
	}())
	refunded       = ev("refunded", "charge.refunded", 3*day, chargeObject("ch_1", "pi_1", "alice", "pro", 1000, 1000, true))
	refundedNoMeta = ev("refunded", "charge.refunded", 3*day, chargeObject("ch_1", "pi_1", "", "", 1000, 1000, false))
	refundedPart   = ev("refunded-part", "charge.refunded", 3*day, chargeObject("ch_1", "pi_1", "alice", "pro", 1000, 400, true))
	refundedRest   = ev("refunded-rest", "charge.refunded", 4*day, chargeObject("ch_1", "pi_1", "alice", "pro", 1000, 1000, true))
	disputed       = ev("dispute.created", "charge.dispute.created", 5*day, disputeObject("dp_1", "ch_1", "pi_1", "needs_response"))
	disputeWon     = ev("dispute.won", "charge.dispute.closed", 40*day, disputeObject("dp_1", "ch_1", "pi_1", "won"))
	disputeLost    = ev("dispute.lost", "charge.dispute.closed", 40*day, disputeObject("dp_1", "ch_1", "pi_1", "lost"))
	// Stripe's statuses: an inquiry (warning_*) is not a chargeback; one
	// can escalate (charge.dispute.updated) or close as warning_closed.
	inquiry          = ev("inquiry.created", "charge.dispute.created", 5*day, disputeObject("dp_1", "ch_1", "pi_1", "warning_needs_response"))
	inquiryReview    = ev("inquiry.under_review", "charge.dispute.updated", 8*day, disputeObject("dp_1", "ch_1", "pi_1", "warning_under_review"))
	inquiryClosed    = ev("inquiry.closed", "charge.dispute.closed", 20*day, disputeObject("dp_1", "ch_1", "pi_1", "warning_closed"))
	escalated        = ev("inquiry.escalated", "charge.dispute.updated", 10*day, disputeObject("dp_1", "ch_1", "pi_1", "needs_response"))
	chargebackReview = ev("dispute.under_review", "charge.dispute.updated", 12*day, disputeObject("dp_1", "ch_1", "pi_1", "under_review"))

	// A second purchase of pro by alice (cs_2, pi_2, ch_2), and bob's.
	paid2     = ev("completed-2", "checkout.session.completed", day, sessionObject("cs_2", "paid", "pi_2", "alice", "pro"))
	refunded2 = ev("refunded-2", "charge.refunded", 3*day, chargeObject("ch_2", "pi_2", "alice", "pro", 1000, 1000, true))
	paidBob   = ev("completed-bob", "checkout.session.completed", day, sessionObject("cs_b", "paid", "pi_b", "bob", "pro"))
	refundBob = ev("refunded-bob", "charge.refunded", 3*day, chargeObject("ch_b", "pi_b", "", "", 1000, 1000, false))

	// Time passes (access_for 720h).
	pass1         = ev("pass-1", "checkout.session.completed", 0, sessionObject("cs_p1", "paid", "pi_p1", "alice", "pass"))
	pass2         = ev("pass-2", "checkout.session.completed", time.Hour, sessionObject("cs_p2", "paid", "pi_p2", "alice", "pass"))
	pass1Refunded = ev("pass-1-refunded", "charge.refunded", day, chargeObject("ch_p1", "pi_p1", "alice", "pass", 500, 500, true))
)

// Subscription events: carol subscribes to course.
func subCompleted(f *seqFixture) namedEvent {
	return ev("completed", "checkout.session.completed", 0, f.session)
}

func subEvent(name, typ string, d time.Duration) func(f *seqFixture) namedEvent {
	return func(f *seqFixture) namedEvent { return ev(name, typ, d, f.subscription) }
}

func invoicePaid(f *seqFixture) namedEvent {
	return ev("invoice.paid", "invoice.paid", 0, f.firstInvoice)
}

func renewalEvent(name, typ string) func(f *seqFixture) namedEvent {
	return func(f *seqFixture) namedEvent {
		if f.renewal == nil {
			panic("sequence uses the renewal invoice but its state does not renew")
		}
		return ev(name, typ, 31*day, f.renewal)
	}
}

var (
	subCreated   = subEvent("subscription.created", "customer.subscription.created", 0)
	subUpdated   = subEvent("subscription.updated", "customer.subscription.updated", 31*day)
	subDeleted   = subEvent("subscription.deleted", "customer.subscription.deleted", 31*day)
	renewalPaid  = renewalEvent("invoice.paid-renewal", "invoice.paid")
	renewalFails = renewalEvent("invoice.payment_failed", "invoice.payment_failed")
)

func subEvents(fs ...func(*seqFixture) namedEvent) func(*seqFixture) []namedEvent {
	return func(f *seqFixture) []namedEvent {
		out := make([]namedEvent, len(fs))
		for i, fn := range fs {
			out[i] = fn(f)
		}
		return out
	}
}

// renewalRefunded is the charge.refunded of the renewal's charge, fully
// refunded in the stand-in.
func renewalRefunded(f *seqFixture) namedEvent {
	return ev("renewal-refunded", "charge.refunded", 32*day, f.renewalCharge)
}

func setStatus(status string) func(testing.TB, *seqFixture) {
	return func(t testing.TB, f *seqFixture) {
		if err := f.world.Stub.SetSubscriptionStatus(f.sub, status); err != nil {
			t.Fatal(err)
		}
	}
}

func setPrice(price string) func(testing.TB, *seqFixture) {
	return func(t testing.TB, f *seqFixture) {
		if err := f.world.Stub.SetSubscriptionPrice(f.sub, price); err != nil {
			t.Fatal(err)
		}
	}
}

// renew bills the next period (paid or failed) and keeps the invoice;
// refund then refunds its charge in full.
func renew(paid, refund bool) func(testing.TB, *seqFixture) {
	return func(t testing.TB, f *seqFixture) {
		do := f.world.Stub.Renew
		if !paid {
			do = f.world.Stub.FailRenewal
		}
		if err := do(f.sub); err != nil {
			t.Fatal(err)
		}
		sub, _ := f.world.Stub.Subscription(f.sub)
		if refund {
			pi, _ := f.world.object(t, sub.LatestInvoice)["payment_intent"].(string)
			if err := f.world.Stub.Refund(pi, 0); err != nil {
				t.Fatal(err)
			}
		}
		f.renewal = f.world.object(t, sub.LatestInvoice)
		ch, _ := f.renewal["charge"].(string)
		f.renewalCharge = f.world.object(t, ch)
		f.renewedEnd = time.Unix(sub.CurrentPeriodEnd, 0)
	}
}

const leeway = events.RenewalLeeway

var sequences = []sequence{
	// Checkout, one-time payments.
	{name: "paid", events: static(paid),
		want: wants(live("alice", "pro", t0), live("alice", "pro", at(10*year)), closed("bob", "pro", t0), closed("alice", "course", t0))},
	{name: "unpaid", events: static(unpaid), want: wants(closed("alice", "pro", t0))},
	{name: "unpaid+async_succeeded", events: static(unpaid, asyncOK), want: wants(live("alice", "pro", at(3*day)))},
	{name: "unpaid+async_failed", events: static(unpaid, asyncFailed), want: wants(closed("alice", "pro", at(3*day)))},
	{name: "expired", events: static(expired), want: wants(closed("alice", "pro", t0))},

	// Refunds.
	{name: "paid+refunded", events: static(paid, refunded), want: wants(closed("alice", "pro", at(4*day)))},
	{name: "paid+refunded_without_charge_metadata", events: static(paid, refundedNoMeta), want: wants(closed("alice", "pro", at(4*day)))},
	{name: "paid+partial_refund", events: static(paid, refundedPart), want: wants(live("alice", "pro", at(4*day)))},
	{name: "paid+partial_refund(refund_policy_any)", policies: events.Policies{RefundAny: true},
		events: static(paid, refundedPart), want: wants(closed("alice", "pro", at(4*day)))},
	{name: "paid+partial_refund+rest_refunded", events: static(paid, refundedPart, refundedRest), want: wants(closed("alice", "pro", at(5*day)))},
	{name: "unpaid+async_succeeded+refunded", events: static(unpaid, asyncOK, refunded), want: wants(closed("alice", "pro", at(4*day)))},
	{name: "two_purchases+one_refunded", events: static(paid, paid2, refunded), want: wants(live("alice", "pro", at(4*day)))},
	{name: "two_purchases+both_refunded", events: static(paid, paid2, refunded, refunded2), want: wants(closed("alice", "pro", at(4*day)))},
	{name: "two_users+one_refunded", events: static(paid, paidBob, refundBob),
		want: wants(live("alice", "pro", at(4*day)), closed("bob", "pro", at(4*day)))},

	// Disputes.
	{name: "paid+dispute_created", events: static(paid, disputed), want: wants(closed("alice", "pro", at(6*day)))},
	{name: "paid+dispute_created(dispute_policy_keep)", policies: events.Policies{DisputeKeep: true},
		events: static(paid, disputed), want: wants(live("alice", "pro", at(6*day)))},
	// The dispute closes (created 40 days in) after it opened (5 days in):
	// whatever order the three arrive in, the newest word, "won", stands.
	{name: "paid+dispute_created+dispute_won", events: static(paid, disputed, disputeWon), want: wants(live("alice", "pro", at(41*day)))},
	{name: "paid+dispute_created+dispute_lost", events: static(paid, disputed, disputeLost), want: wants(closed("alice", "pro", at(41*day)))},
	{name: "paid+dispute_created+under_review", events: static(paid, disputed, chargebackReview), want: wants(closed("alice", "pro", at(13*day)))},
	{name: "paid+dispute_created+under_review+won", events: static(paid, disputed, chargebackReview, disputeWon),
		want: wants(live("alice", "pro", at(41*day)))},
	// Inquiries close nothing, whatever their order.
	{name: "paid+inquiry", events: static(paid, inquiry), want: wants(live("alice", "pro", at(6*day)))},
	{name: "paid+inquiry+under_review", events: static(paid, inquiry, inquiryReview), want: wants(live("alice", "pro", at(9*day)))},
	{name: "paid+inquiry+warning_closed", events: static(paid, inquiry, inquiryReview, inquiryClosed),
		want: wants(live("alice", "pro", at(21*day)))},
	// An inquiry escalated to a chargeback closes access, per dispute_policy.
	{name: "paid+inquiry+escalated", events: static(paid, inquiry, escalated), want: wants(closed("alice", "pro", at(11*day)))},
	{name: "paid+inquiry+escalated(dispute_policy_keep)", policies: events.Policies{DisputeKeep: true},
		events: static(paid, inquiry, escalated), want: wants(live("alice", "pro", at(11*day)))},
	{name: "paid+inquiry+escalated+won", events: static(paid, inquiry, escalated, disputeWon),
		want: wants(live("alice", "pro", at(41*day)))},
	{name: "paid+inquiry+escalated+lost", events: static(paid, inquiry, escalated, disputeLost),
		want: wants(closed("alice", "pro", at(41*day)))},

	// Time passes.
	{name: "pass", events: static(pass1), want: wants(
		live("alice", "pass", t0), live("alice", "pass", at(passFor-time.Second)), closed("alice", "pass", at(passFor+time.Second)))},
	{name: "pass+second_pass_extends", events: static(pass1, pass2), want: wants(
		live("alice", "pass", at(passFor+time.Second)), live("alice", "pass", at(2*passFor-time.Second)), closed("alice", "pass", at(2*passFor+time.Second)))},
	{name: "pass+refunded", events: static(pass1, pass1Refunded), want: wants(closed("alice", "pass", at(2*day)))},

	// Subscriptions. Stripe's state is set first; the events only say
	// "fetch it".
	{name: "subscription:completed+created+invoice_paid", sub: &subSetup{withMeta: true},
		events: subEvents(subCompleted, subCreated, invoicePaid),
		want: func(f *seqFixture) []want {
			return []want{live("carol", "course", t0), live("carol", "course", f.periodEnd.Add(leeway-time.Second)),
				closed("carol", "course", f.periodEnd.Add(leeway+time.Second)), closed("carol", "course2", t0)}
		}},
	{name: "subscription_without_metadata:completed+created+invoice_paid", sub: &subSetup{withMeta: false},
		events: subEvents(subCompleted, subCreated, invoicePaid),
		want:   wants(live("carol", "course", t0))},
	{name: "subscription:trialing", sub: &subSetup{withMeta: true, state: setStatus("trialing")},
		events: subEvents(subCompleted, subCreated),
		want:   wants(live("carol", "course", t0))},
	{name: "subscription:past_due", sub: &subSetup{withMeta: true, state: setStatus("past_due")},
		events: subEvents(subCompleted, subCreated, invoicePaid, subUpdated),
		want:   wants(closed("carol", "course", t0))},
	// A failed renewal: Stripe moves the period on, then the subscription
	// turns past_due. Without grace, access closes; with past_due_grace it
	// lasts that long after the paid period ended (the renewal), not after
	// the unpaid period's end.
	{name: "subscription:renewal_failed", sub: &subSetup{withMeta: true, state: renew(false, false)},
		events: subEvents(subCompleted, subCreated, renewalFails, subUpdated),
		want:   wants(closed("carol", "course", t0))},
	{name: "subscription:renewal_failed(past_due_grace_72h)", sub: &subSetup{withMeta: true, state: renew(false, false)},
		policies: events.Policies{PastDueGrace: 72 * time.Hour},
		events:   subEvents(subCompleted, subCreated, renewalFails, subUpdated),
		want: func(f *seqFixture) []want {
			return []want{live("carol", "course", t0), live("carol", "course", f.periodEnd.Add(72*time.Hour-time.Second)),
				closed("carol", "course", f.periodEnd.Add(72*time.Hour+time.Second))}
		}},
	{name: "subscription:canceled", sub: &subSetup{withMeta: true, state: setStatus("canceled")},
		events: subEvents(subCompleted, subCreated, invoicePaid, subDeleted),
		want:   wants(closed("carol", "course", t0))},
	{name: "subscription:unpaid", sub: &subSetup{withMeta: true, state: setStatus("unpaid")},
		events: subEvents(subCompleted, subCreated, subUpdated),
		want:   wants(closed("carol", "course", t0))},
	{name: "subscription:renewed", sub: &subSetup{withMeta: true, state: renew(true, false)},
		events: subEvents(subCompleted, subCreated, subUpdated, renewalPaid),
		want: func(f *seqFixture) []want {
			next := f.renewedEnd
			return []want{live("carol", "course", f.periodEnd.Add(leeway+time.Second)),
				live("carol", "course", next.Add(leeway-time.Second)), closed("carol", "course", next.Add(leeway+time.Second))}
		}},
	{name: "subscription:plan_changed", sub: &subSetup{withMeta: true, state: setPrice("price_course2")},
		events: subEvents(subCompleted, subCreated, invoicePaid, subUpdated),
		want:   wants(live("carol", "course2", t0), closed("carol", "course", t0))},
	{name: "subscription:renewal_refunded", sub: &subSetup{withMeta: true, state: renew(true, true)},
		events: subEvents(subCompleted, subCreated, renewalPaid, renewalRefunded),
		want: func(f *seqFixture) []want {
			return []want{live("carol", "course", f.periodEnd.Add(leeway+time.Second))}
		}},
}

// deliveryModes: how each order is delivered. "once" is the reference run.
var deliveryModes = []string{"once", "each_twice", "replayed"}

func schedule(order []int, mode string) []int {
	switch mode {
	case "each_twice":
		var out []int
		for _, i := range order {
			out = append(out, i, i)
		}
		return out
	case "replayed":
		return append(append([]int(nil), order...), order...)
	}
	return order
}

func TestSequences(t *testing.T) {
	world := newStubWorld(t)
	for _, seq := range sequences {
		t.Run(seq.name, func(t *testing.T) {
			f := &seqFixture{world: world}
			if seq.sub != nil {
				f.subscribe(t, seq.sub)
			}
			evs := seq.events(f)
			ws := seq.want(f)
			for _, order := range permutations(len(evs)) {
				names := make([]string, len(order))
				for i, j := range order {
					names[i] = evs[j].name
				}
				t.Run(strings.Join(names, ","), func(t *testing.T) {
					var reference []string
					for _, mode := range deliveryModes {
						t.Run(mode, func(t *testing.T) {
							st := newStore(t)
							a := newApplier(st, world.API, seq.policies)
							delivered := map[int]bool{}
							for _, i := range schedule(order, mode) {
								o := apply(t, a, evs[i].body)
								if delivered[i] && o != events.Duplicate {
									t.Errorf("second delivery of %s: outcome %q, want %q", evs[i].name, o, events.Duplicate)
								}
								if !delivered[i] && o == events.Duplicate {
									t.Errorf("first delivery of %s reported as a duplicate", evs[i].name)
								}
								delivered[i] = true
							}
							for _, w := range ws {
								if got := isLive(t, st, w.user, w.product, w.at); got != w.live {
									t.Errorf("want %s; grants: %s", w, grantsOf(t, st, w.user))
								}
							}
							lines := auditLines(t, st)
							noRepeats(t, lines)
							if mode == "once" {
								reference = lines
							} else if strings.Join(lines, "\n") != strings.Join(reference, "\n") {
								t.Errorf("audit stream differs from the single delivery's:\n got:\n  %s\n want:\n  %s",
									strings.Join(lines, "\n  "), strings.Join(reference, "\n  "))
							}
						})
					}
				})
			}
		})
	}
}

// subscribe has carol pay for course in the stand-in, which creates the
// subscription and its first invoice, then puts it in the sequence's
// state.
func (f *seqFixture) subscribe(t testing.TB, s *subSetup) {
	t.Helper()
	id := f.world.checkout(t, "carol", "course", "price_course", "subscription", s.withMeta)
	if err := f.world.Stub.Pay(id); err != nil {
		t.Fatalf("paying in the stand-in: %v", err)
	}
	f.session = f.world.object(t, id)
	f.sub, _ = f.session["subscription"].(string)
	f.customer, _ = f.session["customer"].(string)
	sub, ok := f.world.Stub.Subscription(f.sub)
	if f.sub == "" || !ok {
		t.Fatalf("the paid session has no subscription: %v", f.session)
	}
	f.subscription = f.world.object(t, f.sub)
	f.firstInvoice = f.world.object(t, sub.LatestInvoice)
	f.periodEnd = time.Unix(sub.CurrentPeriodEnd, 0)
	if s.state != nil {
		s.state(t, f)
	}
}

// stubEvents reads the events the stand-in raised since the last call,
// oldest first, through its /v1/events API.
type stubEvents struct {
	world   *stubWorld
	seen    map[string]bool
	session string
}

func (se *stubEvents) next(t testing.TB) [][]byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, se.world.URL+"/v1/events?limit=100", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for i := len(list.Data) - 1; i >= 0; i-- {
		var head struct{ ID string }
		_ = json.Unmarshal(list.Data[i], &head)
		if !se.seen[head.ID] {
			se.seen[head.ID] = true
			out = append(out, list.Data[i])
		}
	}
	return out
}

// TestSubscriptionLifecycle tells one subscription's story in the order it
// happens: each step is the stand-in's own action (which changes Stripe's
// state and raises the events Stripe would), then those events, read back
// from /v1/events, are applied. The clock moves with the story.
func TestSubscriptionLifecycle(t *testing.T) {
	for _, grace := range []time.Duration{0, 72 * time.Hour} {
		t.Run(fmt.Sprintf("past_due_grace_%s", grace), func(t *testing.T) {
			var now atomic.Int64
			now.Store(t0.Unix())
			tick := func() time.Time { return time.Unix(now.Load(), 0) }
			world := newStubWorldAt(t, tick)
			st := newStore(t)
			a := newApplier(st, world.API, events.Policies{PastDueGrace: grace})
			a.Now = tick
			feed := &stubEvents{world: world, seen: map[string]bool{}}
			step := func(name string, action func() error, ws ...func() want) {
				t.Helper()
				if err := action(); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				evs := feed.next(t)
				if len(evs) == 0 {
					t.Fatalf("%s: the stand-in raised no event", name)
				}
				for _, e := range evs {
					apply(t, a, e)
				}
				for _, w := range ws {
					w := w()
					if got := isLive(t, st, w.user, w.product, w.at); got != w.live {
						t.Errorf("%s: want %s; grants: %s", name, w, grantsOf(t, st, "carol"))
					}
				}
			}
			period := func() (start, end time.Time) {
				sub, _ := world.Stub.Subscription(feed.sub(t))
				return time.Unix(sub.CurrentPeriodStart, 0), time.Unix(sub.CurrentPeriodEnd, 0)
			}
			c := func(product string, at func() time.Time, isLive bool) func() want {
				return func() want { return want{"carol", product, at(), isLive} }
			}
			nowPlus := func(d time.Duration) func() time.Time { return func() time.Time { return tick().Add(d) } }
			endPlus := func(d time.Duration) func() time.Time {
				return func() time.Time { _, e := period(); return e.Add(d) }
			}
			startPlus := func(d time.Duration) func() time.Time {
				return func() time.Time { s, _ := period(); return s.Add(d) }
			}

			step("subscribe", func() error {
				feed.session = world.checkout(t, "carol", "course", "price_course", "subscription", true)
				return world.Stub.Pay(feed.session)
			}, c("course", tick, true), c("course", endPlus(leeway-time.Second), true), c("course", endPlus(leeway+time.Second), false))

			_, end := period()
			now.Store(end.Unix())
			step("renewed", func() error { return world.Stub.Renew(feed.sub(t)) },
				c("course", nowPlus(leeway+time.Second), true), c("course", endPlus(leeway-time.Second), true))

			now.Add(int64(10 * day / time.Second))
			step("plan changed", func() error { return world.Stub.ChangePrice(feed.sub(t), "price_course2") },
				c("course2", tick, true), c("course", tick, false))

			_, end = period()
			now.Store(end.Unix())
			if grace == 0 {
				step("renewal failed", func() error { return world.Stub.FailRenewal(feed.sub(t)) },
					c("course2", tick, false))
			} else {
				step("renewal failed", func() error { return world.Stub.FailRenewal(feed.sub(t)) },
					c("course2", tick, true), c("course2", startPlus(grace-time.Second), true),
					c("course2", startPlus(grace+time.Second), false))
			}

			now.Add(int64(time.Hour / time.Second))
			step("canceled", func() error { return world.Stub.CancelSubscription(feed.sub(t)) },
				c("course2", tick, false), c("course", tick, false))

			noRepeats(t, auditLines(t, st))
		})
	}
}

// sub is the subscription the session created.
func (se *stubEvents) sub(t testing.TB) string {
	t.Helper()
	s, ok := se.world.Stub.Session(se.session)
	if !ok || s.Subscription == "" {
		t.Fatalf("session %s has no subscription", se.session)
	}
	return s.Subscription
}
