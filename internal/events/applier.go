package events

import (
	"time"

	"go.uber.org/zap"

	"github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Policies are the operator's choices for refunds, disputes and late
// subscription payments.
type Policies struct {
	// RefundAny: a partial refund revokes too (refund_policy any).
	RefundAny bool
	// DisputeKeep: a dispute leaves access open (dispute_policy keep).
	DisputeKeep bool
	// PastDueGrace: how long a past_due subscription stays live after its
	// period ended.
	PastDueGrace time.Duration
}

// RenewalLeeway is how long past current_period_end a subscription stays
// live when no renewal event has arrived: Stripe settles renewal invoices
// about an hour after the period turns, so two hours leaves room for
// retries without cutting paying members off.
const RenewalLeeway = 2 * time.Hour

// Applier applies Stripe events and fulfils Checkout Sessions.
type Applier struct {
	Store    *store.Store
	API      *client.API
	Products catalog.Catalog
	Policies Policies
	// LiveMode is the mode of the secret key; events of the other mode are
	// acknowledged and ignored.
	LiveMode bool
	// Now is the clock (a seam for tests). Default: time.Now.
	Now func() time.Time
	// Log gets every grant and revoke at info. Default: none.
	Log *zap.Logger
	// Changed, when set, is told of every user a change touched, so this
	// gateway's cache drops them at once (others learn through pub/sub).
	Changed func(user string)
}

// reportChanges logs what a change wrote to the audit stream (user,
// product, source, cause and event id; never a secret or a card detail)
// and tells Changed which users it touched.
func (a *Applier) reportChanges(r store.Result) {
	for _, c := range r.Changes {
		if a.Changed != nil && c.User != "" {
			a.Changed(c.User)
		}
		if a.Log == nil {
			continue
		}
		a.Log.Info("paywall "+c.Action, zap.String("user", c.User), zap.String("product", c.Product),
			zap.String("source", c.Source), zap.String("cause", r.Meta.Cause), zap.String("event", r.Meta.EventID))
	}
}

func (a *Applier) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// meta builds the store metadata of a change caused by evt.
// Refunds and disputes are counted for the console with the event, by
// whichever script records it (a revoke or a plain acknowledgement).
func (a *Applier) meta(evt Event) store.Meta {
	m := store.Meta{EventID: evt.ID, Cause: evt.ID, Created: evt.Created, Now: a.now()}
	switch evt.Type {
	case "charge.refunded":
		m.Tally = &store.Tally{Refunds: 1}
	case "charge.dispute.created":
		m.Tally = &store.Tally{Disputes: 1}
	}
	return m
}

// Outcome says what happened to an event; it labels metrics and logs.
type Outcome string

const (
	Applied   Outcome = "applied"   // it changed at least one grant
	NoChange  Outcome = "no_change" // recorded, nothing to change (already fulfilled, stale, or nothing to do)
	Duplicate Outcome = "duplicate" // this event id was applied before
	Ignored   Outcome = "ignored"   // other livemode, or not created by this gateway
	Unhandled Outcome = "unhandled" // a type the gateway does not act on
)

func outcomeOf(r store.Result) Outcome {
	switch {
	case r.Duplicate:
		return Duplicate
	case r.Changed > 0:
		return Applied
	default:
		return NoChange
	}
}
