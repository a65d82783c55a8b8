package events_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
)

type ctxKey struct{}

// Each Fetch reads its object through the client with the caller's
// context and decodes it into the gateway's type (a reference given as an
// expanded object reads as its id); an unknown object is an error that
// names it and wraps Stripe's, and is not a malformed event.
func TestFetch(t *testing.T) {
	fake := stripefake.New()
	fake.Put(
		`{"id":"cs_1","object":"checkout.session","status":"complete","payment_status":"paid","mode":"subscription","subscription":{"id":"sub_1","object":"subscription"},"metadata":{"paywall_user":"alice","paywall_product":"club"}}`,
		`{"id":"sub_1","object":"subscription","status":"active","customer":"cus_1","current_period_end":1700000000,"items":{"object":"list","data":[{"id":"si_1","object":"subscription_item","price":{"id":"price_club","object":"price"}}]}}`,
		`{"id":"ch_1","object":"charge","payment_intent":"pi_1","refunded":true,"amount":900,"amount_refunded":900}`,
		`{"id":"dp_1","object":"dispute","charge":"ch_1","payment_intent":"pi_1","status":"needs_response"}`,
		`{"id":"in_1","object":"invoice","subscription":"sub_1","paid":true,"amount_paid":900,"currency":"eur"}`,
	)
	a := &events.Applier{API: fake}
	c := context.WithValue(context.Background(), ctxKey{}, "mine")

	s, err := a.FetchSession(c, "cs_1")
	if err != nil || s.User() != "alice" || !s.Paid() || s.Subscription != "sub_1" {
		t.Errorf("session: %+v, %v", s, err)
	}
	sub, err := a.FetchSubscription(c, "sub_1")
	if err != nil || sub.Status != "active" || sub.Customer != "cus_1" || sub.CurrentPeriodEnd != 1700000000 ||
		len(sub.Items.Data) != 1 || sub.Items.Data[0].Price.ID != "price_club" {
		t.Errorf("subscription: %+v, %v", sub, err)
	}
	ch, err := a.FetchCharge(c, "ch_1")
	if err != nil || ch.PaymentIntent != "pi_1" || !ch.Refunded || ch.AmountRefunded != 900 {
		t.Errorf("charge: %+v, %v", ch, err)
	}
	dp, err := a.FetchDispute(c, "dp_1")
	if err != nil || dp.Charge != "ch_1" || dp.Status != "needs_response" {
		t.Errorf("dispute: %+v, %v", dp, err)
	}
	inv, err := a.FetchInvoice(c, "in_1")
	if err != nil || inv.Subscription != "sub_1" || !inv.Paid || inv.AmountPaid != 900 {
		t.Errorf("invoice: %+v, %v", inv, err)
	}
	for _, call := range fake.Calls() {
		p, ok := call.Params.(interface{ GetParams() *stripe.Params })
		if !ok || p.GetParams().Context != c {
			t.Errorf("%s %s was not given the caller's context", call.Method, call.ID)
		}
	}

	_, err = a.FetchCharge(c, "ch_nope")
	var se *stripe.Error
	if err == nil || !strings.HasPrefix(err.Error(), "fetching charge ch_nope from stripe: ") ||
		!errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Msg != "No such charge: 'ch_nope'" || errors.Is(err, events.ErrMalformed) {
		t.Errorf("unknown charge: %v", err)
	}
	down := errors.New("connection refused")
	fake.Fail("GetInvoice", down)
	if _, err := a.FetchInvoice(c, "in_1"); !errors.Is(err, down) || err.Error() != "fetching invoice in_1 from stripe: connection refused" {
		t.Errorf("Stripe down: %v", err)
	}
}
