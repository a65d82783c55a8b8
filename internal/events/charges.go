package events

import (
	"context"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// chargeRefunded revokes what a refunded payment granted. A refund of a
// subscription invoice does not revoke: the subscription's status decides.
func (a *Applier) chargeRefunded(ctx context.Context, evt Event) (Outcome, error) {
	var c Charge
	if err := evt.decodeObject(&c); err != nil {
		return "", err
	}
	if evt.reshaped() && c.ID != "" {
		var err error
		if c, err = a.FetchCharge(ctx, c.ID); err != nil {
			return "", err
		}
	}
	full := c.Refunded || (c.Amount > 0 && c.AmountRefunded >= c.Amount)
	if c.Invoice != "" || (!full && !a.Policies.RefundAny) {
		return a.acknowledge(ctx, evt, NoChange)
	}
	return a.result(a.Store.Revoke(ctx, store.RevokeRequest{
		Meta:    a.meta(evt),
		Source:  paymentSource(c.PaymentIntent, c.ID),
		User:    c.Metadata[MetaUser],
		Product: c.Metadata[MetaProduct],
	}))
}

// dispute follows Stripe's dispute statuses, on charge.dispute.created,
// .updated (an inquiry escalated to a chargeback) and .closed: an inquiry
// (warning_needs_response, warning_under_review) is not a chargeback and
// closes nothing; a chargeback (needs_response, under_review) revokes what
// the payment granted, unless dispute_policy keep; won and warning_closed
// restore it; lost leaves it closed. The store orders these by the event's
// created time, so a late chargeback cannot undo a newer win.
func (a *Applier) dispute(ctx context.Context, evt Event) (Outcome, error) {
	var d Dispute
	if err := evt.decodeObject(&d); err != nil {
		return "", err
	}
	if evt.reshaped() && d.ID != "" {
		var err error
		if d, err = a.FetchDispute(ctx, d.ID); err != nil {
			return "", err
		}
	}
	source := paymentSource(d.PaymentIntent, string(d.Charge))
	if source == "" {
		return a.acknowledge(ctx, evt, Ignored)
	}
	switch disputeEffect(d.Status) {
	case disputeRevokes:
		if !a.Policies.DisputeKeep {
			return a.result(a.Store.Revoke(ctx, store.RevokeRequest{Meta: a.meta(evt), Source: source}))
		}
	case disputeRestores:
		return a.result(a.Store.Restore(ctx, store.RestoreRequest{Meta: a.meta(evt), Source: source}))
	}
	return a.acknowledge(ctx, evt, NoChange)
}

// What a dispute's status does to the access its payment opened.
type disputeEffectKind int

const (
	disputeNothing  disputeEffectKind = iota // an inquiry, lost, or a status Stripe may add
	disputeRevokes                           // a chargeback is open
	disputeRestores                          // the chargeback was won or the inquiry closed
)

func disputeEffect(status string) disputeEffectKind {
	switch status {
	case "needs_response", "under_review":
		return disputeRevokes
	case "won", "warning_closed":
		return disputeRestores
	}
	// warning_needs_response and warning_under_review are inquiries: no
	// money has moved. lost leaves the revoke of the chargeback in place.
	return disputeNothing
}

// paymentSource is the grant source of a payment: its payment intent, else
// the charge itself.
func paymentSource(paymentIntent ID, charge string) string {
	if paymentIntent != "" {
		return string(paymentIntent)
	}
	return charge
}
