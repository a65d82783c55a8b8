package events_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
)

// TestTrialThenPlanChangesKeepClub: a product with a monthly and a yearly
// price, bought with a 14-day trial. The trial opens it (trialing is
// live) until the trial ends; the first charge renews it; plan changes
// between the two prices in the portal keep it open, since either price
// is the product's.
func TestTrialThenPlanChangesKeepClub(t *testing.T) {
	var now atomic.Int64
	now.Store(t0.Unix())
	tick := func() time.Time { return time.Unix(now.Load(), 0) }
	world := newStubWorldAt(t, tick)
	st := newStore(t)
	a := newApplier(st, world.API, events.Policies{})
	a.Now = tick
	feed := &stubEvents{world: world, seen: map[string]bool{}}
	step := func(name string, action func() error) {
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
	}
	check := func(name string, at time.Time, wantLive bool) {
		t.Helper()
		if got := isLive(t, st, "carol", "club", at); got != wantLive {
			t.Errorf("%s: club live at %s = %v, want %v; grants: %s", name, at, got, wantLive, grantsOf(t, st, "carol"))
		}
	}

	step("subscribe with a trial", func() error {
		meta := map[string]string{events.MetaUser: "carol", events.MetaProduct: "club"}
		p := &stripe.CheckoutSessionParams{
			Mode:              stripe.String("subscription"),
			ClientReferenceID: stripe.String("carol"),
			SuccessURL:        stripe.String("https://shop.example/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
			LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_club_monthly"), Quantity: stripe.Int64(1)}},
			Metadata:          meta,
			SubscriptionData:  &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta, TrialPeriodDays: stripe.Int64(14)},
		}
		s, err := world.API.CreateCheckoutSession(p)
		if err != nil {
			return err
		}
		feed.session = s.ID
		return world.Stub.Pay(s.ID)
	})
	sub, _ := world.Stub.Subscription(feed.sub(t))
	trialEnd := t0.Add(14 * day)
	if sub.Status != "trialing" || sub.TrialEnd != trialEnd.Unix() || sub.CurrentPeriodEnd != trialEnd.Unix() {
		t.Fatalf("subscription after a 14-day trial: status %s, trial_end %d, period end %d (want trialing, %d)",
			sub.Status, sub.TrialEnd, sub.CurrentPeriodEnd, trialEnd.Unix())
	}
	if s, _ := world.Stub.Session(feed.session); s.PaymentStatus != "no_payment_required" {
		t.Errorf("trial session payment_status %s, want no_payment_required", s.PaymentStatus)
	}
	check("trialing", tick(), true)
	check("trialing, just before the trial's end and leeway", trialEnd.Add(leeway-time.Second), true)
	check("trial over, never charged", trialEnd.Add(leeway+time.Second), false)

	now.Store(trialEnd.Unix())
	step("first charge after the trial", func() error { return world.Stub.Renew(feed.sub(t)) })
	if sub, _ := world.Stub.Subscription(feed.sub(t)); sub.Status != "active" {
		t.Fatalf("after the first charge: %s, want active", sub.Status)
	}
	check("active", tick(), true)

	now.Add(int64(3 * day / time.Second))
	step("monthly to yearly in the portal", func() error { return world.Stub.ChangePrice(feed.sub(t), "price_club_yearly") })
	check("yearly", tick(), true)
	now.Add(int64(day / time.Second))
	step("and back to monthly", func() error { return world.Stub.ChangePrice(feed.sub(t), "price_club_monthly") })
	check("monthly again", tick(), true)

	now.Add(int64(time.Hour / time.Second))
	step("canceled", func() error { return world.Stub.CancelSubscription(feed.sub(t)) })
	check("canceled", tick(), false)
	noRepeats(t, auditLines(t, st))
}

// TestOneTimeBuyerGetsCustomerAndReceipt: a payment-mode session with
// customer_creation=always and invoice_creation (issue 9, item 4) grants
// the product with a customer the store remembers (so the portal opens),
// and the receipt's invoice.paid, which belongs to no subscription,
// changes nothing.
func TestOneTimeBuyerGetsCustomerAndReceipt(t *testing.T) {
	world := newStubWorldAt(t, clock)
	st := newStore(t)
	a := newApplier(st, world.API, events.Policies{})
	feed := &stubEvents{world: world, seen: map[string]bool{}}
	meta := map[string]string{events.MetaUser: "dave", events.MetaProduct: "pro"}
	s, err := world.API.CreateCheckoutSession(&stripe.CheckoutSessionParams{
		Mode:              stripe.String("payment"),
		ClientReferenceID: stripe.String("dave"),
		SuccessURL:        stripe.String("https://shop.example/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_pro"), Quantity: stripe.Int64(1)}},
		Metadata:          meta,
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta},
		CustomerCreation:  stripe.String("always"),
		InvoiceCreation:   &stripe.CheckoutSessionInvoiceCreationParams{Enabled: stripe.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Stub.Pay(s.ID); err != nil {
		t.Fatal(err)
	}
	evs := feed.next(t)
	var types []string
	outcomes := map[string]events.Outcome{}
	for _, e := range evs {
		ev := mustParse(t, e)
		types = append(types, ev.Type)
		outcomes[ev.Type] = apply(t, a, e)
	}
	if outcomes["checkout.session.completed"] != events.Applied || outcomes["invoice.paid"] != events.Ignored {
		t.Fatalf("events %v: outcomes %v, want the session applied and the receipt's invoice.paid ignored", types, outcomes)
	}
	paid, _ := world.Stub.Session(s.ID)
	if paid.Customer == "" || paid.Invoice == "" {
		t.Fatalf("paid session: customer %q, invoice %q; want both", paid.Customer, paid.Invoice)
	}
	if !isLive(t, st, "dave", "pro", clock()) {
		t.Fatalf("pro not granted: %s", grantsOf(t, st, "dave"))
	}
	if cus, err := st.CustomerOf(ctx, "dave"); err != nil || cus != paid.Customer {
		t.Fatalf("customer of dave: %q, %v; want %s", cus, err, paid.Customer)
	}
}
