package events

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/stripe/stripe-go/v76"
)

// The Fetch methods read objects through the pinned client and decode the
// raw response into the gateway's own types, so every path reads one
// shape. A failure is returned as is: the webhook answers 503 and Stripe
// retries.

// FetchSession retrieves a Checkout Session.
func (a *Applier) FetchSession(ctx context.Context, id string) (Session, error) {
	return fetch[Session](ctx, "checkout session", id, a.API.GetCheckoutSession)
}

// FetchSubscription retrieves a Subscription.
func (a *Applier) FetchSubscription(ctx context.Context, id string) (Subscription, error) {
	return fetch[Subscription](ctx, "subscription", id, a.API.GetSubscription)
}

// FetchCharge retrieves a Charge.
func (a *Applier) FetchCharge(ctx context.Context, id string) (Charge, error) {
	return fetch[Charge](ctx, "charge", id, a.API.GetCharge)
}

// FetchDispute retrieves a Dispute.
func (a *Applier) FetchDispute(ctx context.Context, id string) (Dispute, error) {
	return fetch[Dispute](ctx, "dispute", id, a.API.GetDispute)
}

// FetchInvoice retrieves an Invoice.
func (a *Applier) FetchInvoice(ctx context.Context, id string) (Invoice, error) {
	return fetch[Invoice](ctx, "invoice", id, a.API.GetInvoice)
}

// fetch gets the object id of a kind with ctx and decodes it into T. P is
// the call's stripe-go params type; O the object it returns.
func fetch[T any, P any, PP interface {
	*P
	GetParams() *stripe.Params
}, O any](ctx context.Context, kind, id string, get func(string, PP) (*O, error)) (T, error) {
	p := PP(new(P))
	p.GetParams().Context = ctx
	obj, err := get(id, p)
	var v T
	if err != nil {
		return v, fetchError(kind, id, err)
	}
	return v, decodeFetched(kind, id, lastResponse(obj), obj, &v)
}

// lastResponse is the response a stripe-go object was read from: every
// object embeds stripe.APIResource, which has no getter for it.
func lastResponse(obj any) *stripe.APIResponse {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	f := v.Elem().FieldByName("LastResponse")
	if !f.IsValid() {
		return nil
	}
	r, _ := f.Interface().(*stripe.APIResponse)
	return r
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
