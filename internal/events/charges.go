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

// dispute revokes on charge.dispute.created (unless dispute_policy keep)
// and restores on charge.dispute.closed with status won.
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
	switch {
	case source == "":
		return a.acknowledge(ctx, evt, Ignored)
	case evt.Type == "charge.dispute.created" && !a.Policies.DisputeKeep:
		return a.result(a.Store.Revoke(ctx, store.RevokeRequest{Meta: a.meta(evt), Source: source}))
	case evt.Type == "charge.dispute.closed" && d.Status == "won":
		return a.result(a.Store.Restore(ctx, store.RestoreRequest{Meta: a.meta(evt), Source: source}))
	}
	return a.acknowledge(ctx, evt, NoChange)
}

// paymentSource is the grant source of a payment: its payment intent, else
// the charge itself.
func paymentSource(paymentIntent ID, charge string) string {
	if paymentIntent != "" {
		return string(paymentIntent)
	}
	return charge
}
