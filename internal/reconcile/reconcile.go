// Package reconcile finds payments the webhook missed and applies them
// through the webhook's own code path, so running it any number of times,
// at any time, changes only what was missed.
package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// eventTypes are the events replayed from Stripe's event log: the ones
// that are not a session's completion (refunds, disputes, subscription
// changes). Stripe keeps events for 30 days.
var eventTypes = []string{
	"charge.refunded", "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
	"customer.subscription.updated", "customer.subscription.deleted",
	"invoice.paid", "invoice.payment_failed", "checkout.session.async_payment_succeeded",
}

// Report says what a run saw and changed.
type Report struct {
	Sessions  int `json:"sessions"`  // complete sessions seen
	Fulfilled int `json:"fulfilled"` // of which this run granted
	Events    int `json:"events"`    // other events seen
	Applied   int `json:"applied"`   // of which this run applied
}

// Run reconciles what happened since `since`. The applier should be built
// with a rate-limited client (stripeapi.NewRateLimited) to stay inside
// Stripe's limits: every fetch an applied event makes goes through it.
func Run(ctx context.Context, a *events.Applier, since time.Time, out io.Writer) (Report, error) {
	var rep Report
	if err := sessions(ctx, a, since, out, &rep); err != nil {
		return rep, err
	}
	if err := otherEvents(ctx, a, since, out, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// sessions fulfils every complete, paid paywall session since then that
// the store has not seen.
func sessions(ctx context.Context, a *events.Applier, since time.Time, out io.Writer, rep *Report) error {
	params := &stripe.CheckoutSessionListParams{
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
		Status:       stripe.String("complete"),
	}
	params.Context = ctx
	for cs, err := range a.API.ListCheckoutSessions(params) {
		if err != nil {
			return err
		}
		var s events.Session
		if err := json.Unmarshal(rawOrMarshal(cs.LastResponse, cs), &s); err != nil {
			return fmt.Errorf("reading session %s: %v", cs.ID, err)
		}
		if s.Metadata[events.MetaProduct] == "" || !s.Paid() {
			continue
		}
		rep.Sessions++
		// The grant is dated when the session was created, not now: a
		// refund or dispute the webhook also missed, replayed below, is
		// newer and must not be taken as stale.
		now := time.Now()
		created := s.Created
		if created == 0 {
			created = now.Unix()
		}
		res, err := a.FulfilSession(ctx, s, store.Meta{Cause: "reconcile", Created: created, Now: now})
		if err != nil {
			return fmt.Errorf("fulfilling session %s: %w", s.ID, err)
		}
		if res.Changed > 0 {
			rep.Fulfilled++
			fmt.Fprintf(out, "granted %s to %s (missed session %s)\n", s.Metadata[events.MetaProduct], s.User(), s.ID)
		}
	}
	return nil
}

// otherEvents replays refunds, disputes and subscription changes from
// Stripe's event log through Apply: an event already applied is a
// duplicate and changes nothing.
func otherEvents(ctx context.Context, a *events.Applier, since time.Time, out io.Writer, rep *Report) error {
	params := &stripe.EventListParams{
		CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: since.Unix()},
		Types:        stripe.StringSlice(eventTypes),
	}
	params.Context = ctx
	for e, err := range a.API.ListEvents(params) {
		if err != nil {
			return err
		}
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		evt, err := events.Parse(raw)
		if err != nil {
			continue
		}
		rep.Events++
		outcome, err := a.Apply(ctx, evt)
		if err != nil {
			return fmt.Errorf("applying %s (%s): %w", evt.ID, evt.Type, err)
		}
		if outcome == events.Applied {
			rep.Applied++
			fmt.Fprintf(out, "applied missed %s %s\n", evt.Type, evt.ID)
		}
	}
	return nil
}

func rawOrMarshal(resp *stripe.APIResponse, v any) []byte {
	if resp != nil && len(resp.RawJSON) > 0 {
		return resp.RawJSON
	}
	b, _ := json.Marshal(v)
	return b
}
