package events

import (
	"context"
	"fmt"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

func (a *Applier) sessionFromEvent(ctx context.Context, evt Event) (Session, error) {
	var s Session
	if err := evt.decodeObject(&s); err != nil {
		return s, err
	}
	if evt.reshaped() && s.ID != "" {
		return a.FetchSession(ctx, s.ID)
	}
	return s, nil
}

func (a *Applier) sessionCompleted(ctx context.Context, evt Event) (Outcome, error) {
	s, err := a.sessionFromEvent(ctx, evt)
	if err != nil {
		return "", err
	}
	if s.Metadata[MetaProduct] == "" || s.User() == "" {
		return a.acknowledge(ctx, evt, Ignored) // not a paywall session
	}
	if !s.Paid() {
		if s.Status == "complete" && s.PaymentStatus == "unpaid" {
			return a.result(a.Store.MarkPending(ctx, a.meta(evt), s.ID, s.User(), s.Metadata[MetaProduct]))
		}
		return a.acknowledge(ctx, evt, NoChange)
	}
	return a.result(a.fulfil(ctx, s, a.meta(evt)))
}

func (a *Applier) sessionFailed(ctx context.Context, evt Event) (Outcome, error) {
	s, err := a.sessionFromEvent(ctx, evt)
	if err != nil {
		return "", err
	}
	if s.Metadata[MetaProduct] == "" {
		return a.acknowledge(ctx, evt, Ignored)
	}
	return a.result(a.Store.RecordFailure(ctx, a.meta(evt), s.ID, s.User(), s.Metadata[MetaProduct]))
}

func (a *Applier) sessionExpired(ctx context.Context, evt Event) (Outcome, error) {
	s, err := a.sessionFromEvent(ctx, evt)
	if err != nil {
		return "", err
	}
	return a.result(a.Store.ForgetPending(ctx, a.meta(evt), s.ID))
}

// FulfilSession grants what a paid Checkout Session bought. The webhook,
// the success page and reconcile all call it; the grant is keyed by the
// session's payment (payment intent, else session id, or subscription), so
// whichever comes first grants and the others change nothing.
func (a *Applier) FulfilSession(ctx context.Context, s Session, m store.Meta) (store.Result, error) {
	r, err := a.fulfil(ctx, s, m)
	if err == nil {
		a.reportChanges(r)
	}
	return r, err
}

func (a *Applier) fulfil(ctx context.Context, s Session, m store.Meta) (store.Result, error) {
	if !s.Paid() {
		return store.Result{}, fmt.Errorf("session %s is not paid", s.ID)
	}
	user, productID := s.User(), s.Metadata[MetaProduct]
	if user == "" || productID == "" {
		return store.Result{}, fmt.Errorf("%w: session %s has no paywall_user/paywall_product metadata", ErrMalformed, s.ID)
	}
	if s.Mode == "subscription" && s.Subscription != "" {
		sub, err := a.FetchSubscription(ctx, string(s.Subscription))
		if err != nil {
			return store.Result{}, err
		}
		// The product is the subscription's price as Stripe has it now: a
		// plan change may have been applied before this (late) completion.
		if p, ok := a.subscriptionProduct(sub); ok {
			productID = p
		}
		state := a.subscriptionState(sub, user, productID, m)
		state.Payment = true
		return a.Store.SetSubscription(ctx, state)
	}
	source := string(s.PaymentIntent)
	if source == "" {
		source = s.ID
	}
	p, _ := a.Products.ByID(productID)
	// A subscription's payments are counted from its invoices.
	m.Tally = &store.Tally{Payments: 1, Amount: s.AmountTotal, Currency: s.Currency, PerSource: true}
	return a.Store.Grant(ctx, store.GrantRequest{
		Meta:            m,
		User:            user,
		Product:         productID,
		Source:          source,
		AccessFor:       p.AccessFor.Std(),
		PaymentIntent:   string(s.PaymentIntent),
		Customer:        string(s.Customer),
		CheckoutSession: s.ID,
	})
}
