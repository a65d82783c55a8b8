package events

import (
	"context"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// subscriptionEvent stores the subscription's current state as fetched
// from Stripe: subscription events arrive in any order within a second, so
// the payload is only a pointer to what to fetch.
func (a *Applier) subscriptionEvent(ctx context.Context, evt Event) (Outcome, error) {
	var obj struct {
		ID string `json:"id"`
	}
	if err := evt.decodeObject(&obj); err != nil {
		return "", err
	}
	return a.applySubscription(ctx, evt, obj.ID, false, nil)
}

// invoiceEvent records a subscription invoice's payment intent and charge,
// so a refund or dispute on a renewal finds its user, then refreshes the
// subscription. invoice.paid is a new payment: it may reopen a grant an
// admin revoked.
func (a *Applier) invoiceEvent(ctx context.Context, evt Event) (Outcome, error) {
	var inv Invoice
	if err := evt.decodeObject(&inv); err != nil {
		return "", err
	}
	// Re-fetch first: newer API versions moved the invoice's subscription,
	// payment intent and charge elsewhere in the payload.
	if evt.reshaped() && inv.ID != "" {
		var err error
		if inv, err = a.FetchInvoice(ctx, inv.ID); err != nil {
			return "", err
		}
	}
	if inv.Subscription == "" {
		return a.acknowledge(ctx, evt, Ignored)
	}
	paid := evt.Type == "invoice.paid"
	if paid {
		sub, err := a.FetchSubscription(ctx, string(inv.Subscription))
		if err != nil {
			return "", err
		}
		user, product, ok := a.subscriptionOwner(ctx, sub)
		if !ok {
			return a.acknowledge(ctx, evt, Ignored)
		}
		for _, id := range []ID{inv.PaymentIntent, inv.Charge} {
			if id != "" {
				if err := a.Store.RememberMapping(ctx, string(id), store.Mapping{User: user, Product: product}); err != nil {
					return "", err
				}
			}
		}
	}
	var t *store.Tally
	if paid {
		t = &store.Tally{Payments: 1, Amount: inv.AmountPaid, Currency: inv.Currency}
	}
	return a.applySubscription(ctx, evt, string(inv.Subscription), paid, t)
}

func (a *Applier) applySubscription(ctx context.Context, evt Event, id string, payment bool, t *store.Tally) (Outcome, error) {
	if id == "" {
		return "", ErrMalformed
	}
	sub, err := a.FetchSubscription(ctx, id)
	if err != nil {
		return "", err
	}
	user, product, ok := a.subscriptionOwner(ctx, sub)
	if !ok {
		return a.acknowledge(ctx, evt, Ignored)
	}
	m := a.meta(evt)
	m.Tally = t
	state := a.subscriptionState(sub, user, product, m)
	state.Payment = payment
	return a.result(a.Store.SetSubscription(ctx, state))
}

// subscriptionOwner finds who holds a subscription and which product it
// is: the product from the item's price (so a plan change moves it), the
// user from the metadata the checkout set, else the stored mappings.
func (a *Applier) subscriptionOwner(ctx context.Context, sub Subscription) (user, product string, ok bool) {
	product, found := a.subscriptionProduct(sub)
	if !found {
		product = sub.Metadata[MetaProduct]
	}
	user = sub.Metadata[MetaUser]
	for _, id := range []string{sub.ID, string(sub.Customer)} {
		if user != "" || id == "" {
			break
		}
		if m, found, err := a.Store.Lookup(ctx, id); err == nil && found {
			user = m.User
		}
	}
	return user, product, user != "" && product != ""
}

// subscriptionProduct is the product of the subscription's (first known)
// item price.
func (a *Applier) subscriptionProduct(sub Subscription) (string, bool) {
	for _, it := range sub.Items.Data {
		if p, found := a.Products.ByPrice(it.Price.ID); found {
			return p.ID, true
		}
	}
	return "", false
}

// subscriptionState applies the liveness policy to a fetched subscription.
// The state is Stripe's as of now, so it is ordered by the fetch time, not
// by the event that prompted the fetch.
func (a *Applier) subscriptionState(sub Subscription, user, product string, m store.Meta) store.SubscriptionState {
	now := a.now()
	m.Created = now.Unix()
	st := store.SubscriptionState{
		Meta: m, User: user, Product: product,
		Subscription: sub.ID, Customer: string(sub.Customer), Status: sub.Status,
	}
	periodEnd := time.Unix(sub.CurrentPeriodEnd, 0)
	switch sub.Status {
	case "active", "trialing":
		st.LiveUntil = periodEnd.Add(RenewalLeeway).Unix()
		st.Live = now.Before(periodEnd.Add(RenewalLeeway))
	case "past_due":
		// Stripe moves the period on when it bills the renewal, before the
		// payment fails: the paid period ended at current_period_start, and
		// the grace counts from there (else from the period end).
		paidUntil := periodEnd
		if sub.CurrentPeriodStart > 0 {
			paidUntil = time.Unix(sub.CurrentPeriodStart, 0)
		}
		if a.Policies.PastDueGrace > 0 {
			st.LiveUntil = paidUntil.Add(a.Policies.PastDueGrace).Unix()
			st.Live = now.Before(paidUntil.Add(a.Policies.PastDueGrace))
		}
	}
	return st
}
