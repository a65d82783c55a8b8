package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// The Fetch methods read objects through the pinned client and decode the
// raw response into the gateway's own types, so every path reads one
// shape. A failure is returned as is: the webhook answers 503 and Stripe
// retries.

// FetchSession retrieves a Checkout Session.
func (a *Applier) FetchSession(ctx context.Context, id string) (Session, error) {
	p := &stripe.CheckoutSessionParams{}
	p.Context = ctx
	obj, err := a.API.GetCheckoutSession(id, p)
	var s Session
	if err != nil {
		return s, fetchError("checkout session", id, err)
	}
	return s, decodeFetched("checkout session", id, obj.LastResponse, obj, &s)
}

// FetchSubscription retrieves a Subscription.
func (a *Applier) FetchSubscription(ctx context.Context, id string) (Subscription, error) {
	p := &stripe.SubscriptionParams{}
	p.Context = ctx
	obj, err := a.API.GetSubscription(id, p)
	var s Subscription
	if err != nil {
		return s, fetchError("subscription", id, err)
	}
	return s, decodeFetched("subscription", id, obj.LastResponse, obj, &s)
}

// FetchCharge retrieves a Charge.
func (a *Applier) FetchCharge(ctx context.Context, id string) (Charge, error) {
	p := &stripe.ChargeParams{}
	p.Context = ctx
	obj, err := a.API.GetCharge(id, p)
	var c Charge
	if err != nil {
		return c, fetchError("charge", id, err)
	}
	return c, decodeFetched("charge", id, obj.LastResponse, obj, &c)
}

// FetchDispute retrieves a Dispute.
func (a *Applier) FetchDispute(ctx context.Context, id string) (Dispute, error) {
	p := &stripe.DisputeParams{}
	p.Context = ctx
	obj, err := a.API.GetDispute(id, p)
	var d Dispute
	if err != nil {
		return d, fetchError("dispute", id, err)
	}
	return d, decodeFetched("dispute", id, obj.LastResponse, obj, &d)
}

// FetchInvoice retrieves an Invoice.
func (a *Applier) FetchInvoice(ctx context.Context, id string) (Invoice, error) {
	p := &stripe.InvoiceParams{}
	p.Context = ctx
	obj, err := a.API.GetInvoice(id, p)
	var inv Invoice
	if err != nil {
		return inv, fetchError("invoice", id, err)
	}
	return inv, decodeFetched("invoice", id, obj.LastResponse, obj, &inv)
}

func fetchError(kind, id string, err error) error {
	return fmt.Errorf("fetching %s %s from stripe: %w", kind, id, err)
}

// decodeFetched decodes the response's raw JSON (what Stripe sent), else
// the typed object re-encoded.
func decodeFetched(kind, id string, resp *stripe.APIResponse, obj any, into any) error {
	var raw []byte
	if resp != nil {
		raw = resp.RawJSON
	}
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(obj); err != nil {
			return fmt.Errorf("reading %s %s: %w", kind, id, err)
		}
	}
	if err := json.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("%w: %s %s: %v", ErrMalformed, kind, id, err)
	}
	return nil
}
