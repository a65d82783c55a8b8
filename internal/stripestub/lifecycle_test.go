package stripestub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestSubscriptionMode(t *testing.T) {
	clock := time.Date(2024, 1, 31, 10, 0, 0, 0, time.UTC)
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	cs := e.newSession(t, subscriptionParams(e.stub.Now(), ""))
	if status, page := get(t, cs.URL); status != 200 || !strings.Contains(page, "Members&#39; club") || !strings.Contains(page, "per month") {
		t.Fatalf("page: %d", status)
	}
	if resp := submit(t, cs.URL, "pay"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	obj := object(t, e.hook.verified(t, 0, testSecret))
	subID, _ := obj["subscription"].(string)
	cusID, _ := obj["customer"].(string)
	if !strings.HasPrefix(subID, "sub_test_") || !strings.HasPrefix(cusID, "cus_test_") || obj["payment_intent"] != nil {
		t.Fatalf("completed session: subscription %v customer %v payment_intent %v", obj["subscription"], obj["customer"], obj["payment_intent"])
	}

	sub, err := e.api.Subscriptions.Get(subID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != "active" || sub.Customer.ID != cusID || sub.Metadata["paywall_user"] != "bob" ||
		len(sub.Items.Data) != 1 || sub.Items.Data[0].Price.ID != "price_club" ||
		sub.CurrentPeriodStart != clock.Unix() || sub.CurrentPeriodEnd != time.Date(2024, 2, 29, 10, 0, 0, 0, time.UTC).Unix() {
		t.Errorf("subscription: %+v", sub)
	}
	if sub.LatestInvoice == nil {
		t.Fatal("no invoice")
	}
	inv, err := e.api.Invoices.Get(sub.LatestInvoice.ID, nil)
	if err != nil || !inv.Paid || inv.Subscription.ID != subID || inv.PaymentIntent == nil || inv.Charge == nil || inv.AmountPaid != 500 {
		t.Errorf("invoice: %+v %v", inv, err)
	}

	gp := &stripe.CheckoutSessionParams{}
	gp.AddExpand("subscription")
	got, err := e.api.CheckoutSessions.Get(cs.ID, gp)
	if err != nil || got.Subscription == nil || got.Subscription.Status != "active" || got.Customer.ID != cusID {
		t.Errorf("expanded subscription: %+v %v", got.Subscription, err)
	}
	it := e.api.Subscriptions.List(&stripe.SubscriptionListParams{Customer: stripe.String(cusID)})
	n := 0
	for it.Next() {
		n++
	}
	if n != 1 || it.Err() != nil {
		t.Errorf("listed %d, %v", n, it.Err())
	}

	// The returning customer subscribes again with the same customer.
	cs2 := e.newSession(t, subscriptionParams(e.stub.Now(), cusID))
	if err := e.stub.Pay(cs2.ID); err != nil {
		t.Fatal(err)
	}
	if s2, _ := e.stub.Session(cs2.ID); s2.Customer != cusID {
		t.Errorf("second subscription's customer %s", s2.Customer)
	}
	// A billing portal's plan change, with the event it sends.
	if err := e.stub.ChangePrice(subID, "price_club_year"); err != nil {
		t.Fatal(err)
	}
	ev := e.hook.verified(t, 2, testSecret)
	if obj := object(t, ev); ev.Type != "customer.subscription.updated" || ev.Data.PreviousAttributes["items"] == nil {
		t.Errorf("plan change event: %s %v", ev.Type, obj)
	}
	if sub, _ := e.api.Subscriptions.Get(subID, nil); sub.Items.Data[0].Price.ID != "price_club_year" {
		t.Errorf("plan after change: %s", sub.Items.Data[0].Price.ID)
	}
}

func TestSubscriptionControls(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, subscriptionParams(e.stub.Now(), ""))
	if err := e.stub.Complete(cs.ID); err != nil {
		t.Fatal(err)
	}
	if len(e.hook.all()) != 0 {
		t.Fatal("Complete sent an event")
	}
	snap, _ := e.stub.Session(cs.ID)
	subID := snap.Subscription
	start, _ := e.stub.Subscription(subID)

	// Set* change state and send nothing.
	if err := e.stub.SetSubscriptionStatus(subID, "past_due"); err != nil {
		t.Fatal(err)
	}
	end := e.stub.Now().Add(72 * time.Hour).Truncate(time.Second)
	if err := e.stub.SetPeriodEnd(subID, end); err != nil {
		t.Fatal(err)
	}
	if err := e.stub.SetSubscriptionPrice(subID, "price_club_year"); err != nil {
		t.Fatal(err)
	}
	if err := e.stub.SetSubscriptionPrice(subID, "price_pro"); err == nil {
		t.Error("a one-time price accepted for a subscription")
	}
	if err := e.stub.SetSubscriptionStatus(subID, "bogus"); err == nil {
		t.Error("bogus status accepted")
	}
	sub, _ := e.api.Subscriptions.Get(subID, nil)
	if sub.Status != "past_due" || sub.CurrentPeriodEnd != end.Unix() || sub.Items.Data[0].Price.ID != "price_club_year" {
		t.Errorf("after Set*: %s %d %s", sub.Status, sub.CurrentPeriodEnd, sub.Items.Data[0].Price.ID)
	}
	if len(e.hook.all()) != 0 {
		t.Fatal("a Set method sent an event")
	}

	// The test sends the event that matches.
	obj, ok := e.stub.Object(subID)
	if !ok {
		t.Fatal("no object")
	}
	id, err := e.stub.SendEvent("customer.subscription.updated", obj)
	if err != nil {
		t.Fatal(err)
	}
	ev := e.hook.verified(t, 0, testSecret)
	if ev.ID != id || object(t, ev)["status"] != "past_due" {
		t.Errorf("sent event %s: %v", ev.ID, object(t, ev)["status"])
	}
	if got, err := e.api.Events.Get(id, nil); err != nil || got.Type != "customer.subscription.updated" {
		t.Errorf("events API: %+v %v", got, err)
	}

	// Renew: period moves on, paid invoice, invoice.paid then
	// customer.subscription.updated; the subscription is active again.
	if err := e.stub.Renew(subID); err != nil {
		t.Fatal(err)
	}
	paid := e.hook.verified(t, 1, testSecret)
	inv := object(t, paid)
	if paid.Type != "invoice.paid" || inv["subscription"] != subID || inv["payment_intent"] == nil || inv["charge"] == nil || inv["billing_reason"] != "subscription_cycle" {
		t.Errorf("renewal invoice: %s %v", paid.Type, inv)
	}
	upd := e.hook.verified(t, 2, testSecret)
	renewed, _ := e.stub.Subscription(subID)
	if upd.Type != "customer.subscription.updated" || renewed.Status != "active" || renewed.CurrentPeriodStart != end.Unix() ||
		renewed.CurrentPeriodEnd != periodEnd(end, "year").Unix() || renewed.CurrentPeriodEnd <= start.CurrentPeriodEnd {
		t.Errorf("renewed: %s %+v", upd.Type, renewed)
	}
	// A refund of the renewal names its payment intent.
	if err := e.stub.Refund(inv["payment_intent"].(string), 0); err != nil {
		t.Fatal(err)
	}
	if ch := object(t, e.hook.verified(t, 3, testSecret)); ch["invoice"] != inv["id"] || ch["refunded"] != true {
		t.Errorf("refunded renewal charge: %v", ch)
	}

	if err := e.stub.FailRenewal(subID); err != nil {
		t.Fatal(err)
	}
	if ev := e.hook.verified(t, 4, testSecret); ev.Type != "invoice.payment_failed" {
		t.Errorf("failed renewal: %s", ev.Type)
	}
	if s, _ := e.stub.Subscription(subID); s.Status != "past_due" {
		t.Errorf("after failed renewal: %s", s.Status)
	}

	// Cancel: deleted event; gone from the default list, kept in status=all.
	if err := e.stub.CancelSubscription(subID); err != nil {
		t.Fatal(err)
	}
	ev = e.hook.verified(t, 6, testSecret)
	if ev.Type != "customer.subscription.deleted" || object(t, ev)["status"] != "canceled" {
		t.Errorf("cancel: %s", ev.Type)
	}
	count := func(status string) int {
		p := &stripe.SubscriptionListParams{Customer: stripe.String(renewed.Customer)}
		if status != "" {
			p.Status = stripe.String(status)
		}
		it := e.api.Subscriptions.List(p)
		n := 0
		for it.Next() {
			n++
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		return n
	}
	if count("") != 0 || count("all") != 1 || count("canceled") != 1 {
		t.Errorf("lists after cancel: default %d all %d canceled %d", count(""), count("all"), count("canceled"))
	}
}

func TestRefundAndDispute(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	if err := e.stub.Pay(cs.ID); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.stub.Session(cs.ID)

	if err := e.stub.Refund(snap.Charge, 400); err != nil {
		t.Fatal(err)
	}
	ev := e.hook.verified(t, 1, testSecret)
	ch := object(t, ev)
	if ev.Type != "charge.refunded" || ch["payment_intent"] != snap.PaymentIntent || ch["amount_refunded"] != float64(400) || ch["refunded"] != false {
		t.Errorf("partial refund: %s %v", ev.Type, ch)
	}
	if err := e.stub.Refund(snap.PaymentIntent, 0); err != nil {
		t.Fatal(err)
	}
	ch = object(t, e.hook.verified(t, 2, testSecret))
	if ch["amount_refunded"] != float64(900) || ch["refunded"] != true {
		t.Errorf("full refund: %v", ch)
	}
	if err := e.stub.Refund(snap.Charge, 0); err == nil {
		t.Error("refunded more than was paid")
	}

	cs2 := e.newSession(t, paymentParams(e.stub.Now()))
	if err := e.stub.Pay(cs2.ID); err != nil {
		t.Fatal(err)
	}
	snap2, _ := e.stub.Session(cs2.ID)
	dp, err := e.stub.Dispute(snap2.PaymentIntent)
	if err != nil {
		t.Fatal(err)
	}
	ev = e.hook.verified(t, 4, testSecret)
	if d := object(t, ev); ev.Type != "charge.dispute.created" || d["charge"] != snap2.Charge || d["payment_intent"] != snap2.PaymentIntent || d["status"] != "needs_response" {
		t.Errorf("dispute: %s %v", ev.Type, d)
	}
	if err := e.stub.CloseDispute(dp, true); err != nil {
		t.Fatal(err)
	}
	ev = e.hook.verified(t, 5, testSecret)
	if d := object(t, ev); ev.Type != "charge.dispute.closed" || d["status"] != "won" {
		t.Errorf("closed: %s %v", ev.Type, d)
	}
	if got, err := e.api.Disputes.Get(dp, nil); err != nil || got.Status != "won" || got.Charge.ID != snap2.Charge {
		t.Errorf("dispute via API: %+v %v", got, err)
	}
	if got, err := e.api.Charges.Get(snap2.Charge, nil); err != nil || !got.Disputed {
		t.Errorf("charge disputed: %v", err)
	}

	// SendEvent takes any object, e.g. one a test builds itself.
	if _, err := e.stub.SendEvent("charge.refunded", map[string]any{
		"id": "ch_made_up", "object": "charge", "payment_intent": "pi_made_up", "amount": 900, "amount_refunded": 900, "refunded": true,
	}); err != nil {
		t.Fatal(err)
	}
	if obj := object(t, e.hook.verified(t, 6, testSecret)); obj["payment_intent"] != "pi_made_up" {
		t.Errorf("made-up object: %v", obj)
	}
	if _, err := e.stub.SendEvent("x.y", []int{1}); err == nil {
		t.Error("a non-object accepted")
	}
	if err := e.stub.SendRaw([]byte(`{"id":"evt_raw","type":"checkout.session.completed","api_version":"2024-06-20"}`)); err != nil {
		t.Fatal(err)
	}
	if got := e.hook.all(); !strings.Contains(string(got[7].body), "2024-06-20") {
		t.Error("raw payload not sent as is")
	}
}

func TestPortal(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, subscriptionParams(e.stub.Now(), ""))
	if err := e.stub.Pay(cs.ID); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.stub.Session(cs.ID)
	ps, err := e.api.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{
		Customer: stripe.String(snap.Customer), ReturnURL: stripe.String("https://shop.example/club/"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ps.URL, e.url+"/portal/bps_test_") || ps.Customer != snap.Customer || ps.ReturnURL != "https://shop.example/club/" {
		t.Errorf("portal session: %+v", ps)
	}
	status, page := get(t, ps.URL)
	for _, want := range []string{"Members&#39; club", `href="https://shop.example/club/"`, `value="cancel"`, `<label for="plan-`} {
		if !strings.Contains(page, want) {
			t.Errorf("portal page lacks %q", want)
		}
	}
	if status != 200 {
		t.Errorf("portal page: %d", status)
	}

	resp, err := browser.PostForm(ps.URL, url.Values{"action": {"cancel"}, "subscription": {snap.Subscription}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("cancel in portal: %d", resp.StatusCode)
	}
	if ev := e.hook.verified(t, 1, testSecret); ev.Type != "customer.subscription.deleted" {
		t.Errorf("portal cancel sent %s", ev.Type)
	}
	if _, page := get(t, ps.URL+"?done=canceled"); !strings.Contains(page, "canceled") {
		t.Error("no notice after cancel")
	}

	_, err = e.api.BillingPortalSessions.New(&stripe.BillingPortalSessionParams{Customer: stripe.String("cus_nope")})
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || se.Param != "customer" {
		t.Errorf("unknown customer: %d %q", se.HTTPStatusCode, se.Param)
	}
	if status, _ := get(t, e.url+"/portal/bps_nope"); status != 404 {
		t.Errorf("unknown portal session page: %d", status)
	}
}
