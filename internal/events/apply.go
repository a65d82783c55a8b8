package events

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Types lists the event types the gateway acts on; `caddy paywall setup`
// subscribes the webhook endpoint to exactly these.
var Types = []string{
	"checkout.session.completed",
	"checkout.session.async_payment_succeeded",
	"checkout.session.async_payment_failed",
	"checkout.session.expired",
	"charge.refunded",
	"charge.dispute.created",
	"charge.dispute.updated",
	"charge.dispute.closed",
	"customer.subscription.created",
	"customer.subscription.updated",
	"customer.subscription.deleted",
	"invoice.paid",
	"invoice.payment_failed",
}

// PinnedAPIVersion is the Stripe API version stripe-go v76 speaks. Objects
// of events sent with another version are re-fetched through the client.
var PinnedAPIVersion = stripe.APIVersion

// Apply applies one verified event. An error means the event must be
// retried (the webhook answers 503, or 400 for ErrMalformed); nothing is
// half-written, because every change is one atomic store script.
func (a *Applier) Apply(ctx context.Context, evt Event) (Outcome, error) {
	if evt.Livemode != a.LiveMode {
		return Ignored, nil
	}
	switch evt.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		return a.sessionCompleted(ctx, evt)
	case "checkout.session.async_payment_failed":
		return a.sessionFailed(ctx, evt)
	case "checkout.session.expired":
		return a.sessionExpired(ctx, evt)
	case "charge.refunded":
		return a.chargeRefunded(ctx, evt)
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
		return a.dispute(ctx, evt)
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		return a.subscriptionEvent(ctx, evt)
	case "invoice.paid", "invoice.payment_failed":
		return a.invoiceEvent(ctx, evt)
	}
	return Unhandled, nil
}

// reshaped reports whether the event was sent with another API version, so
// its object must be re-fetched rather than read.
func (e Event) reshaped() bool {
	return e.APIVersion != "" && e.APIVersion != PinnedAPIVersion
}

// acknowledge records an event that changes nothing, so its retry is a
// duplicate too.
func (a *Applier) acknowledge(ctx context.Context, evt Event, o Outcome) (Outcome, error) {
	r, err := a.Store.Acknowledge(ctx, a.meta(evt))
	if err != nil {
		return "", fmt.Errorf("recording %s: %w", evt.ID, err)
	}
	if r.Duplicate {
		return Duplicate, nil
	}
	return o, nil
}

// result logs what a change did and names its outcome.
func (a *Applier) result(r store.Result, err error) (Outcome, error) {
	if err != nil {
		return "", err
	}
	a.reportChanges(r)
	return outcomeOf(r), nil
}
