package store

import "time"

// Source kinds a grant can come from. A grant's source is the Stripe object
// that paid for it ("pi_…" for a one-time payment, "cs_…" for a session with
// no payment intent, "sub_…" for a subscription) or SourceAdmin.
const SourceAdmin = "admin"

// Grant is one source's claim to a product for a user. A user holds a
// product while any of its grants is live.
type Grant struct {
	Product string `json:"product"`
	Source  string `json:"source"`
	// Revoked is set by a refund, a lost dispute or an admin revoke.
	Revoked bool `json:"revoked,omitempty"`
	// RevokedBy is the cause of the revoke ("admin", an event id,
	// "subscription:<status>", ...).
	RevokedBy string `json:"revoked_by,omitempty"`
	// Placeholder marks a record a refund or dispute wrote before its
	// payment was seen (the user and product were known from the charge):
	// it is always revoked and holds the revoke until the payment arrives,
	// which then fills it in and stays revoked.
	Placeholder bool `json:"placeholder,omitempty"`
	// Expires is when the grant lapses (unix seconds); 0 means never.
	Expires int64 `json:"expires,omitempty"`
	// Created orders changes: the Stripe event `created` (unix seconds) of
	// the change that last wrote this grant; an older change is ignored.
	Created int64 `json:"created"`
	// Cause names what last changed it: an event id, "admin", "success",
	// "reconcile".
	Cause string `json:"cause"`
	// Status is a subscription's Stripe status ("active", "past_due", ...);
	// empty for one-time grants.
	Status string `json:"status,omitempty"`
	// Customer and Subscription and PaymentIntent are the Stripe ids the
	// grant came with, when known.
	Customer      string `json:"customer,omitempty"`
	Subscription  string `json:"subscription,omitempty"`
	PaymentIntent string `json:"payment_intent,omitempty"`
	// Updated is the wall-clock time of the last write (unix seconds).
	Updated int64 `json:"updated"`
}

// LiveAt reports whether the grant opens access at now.
func (g Grant) LiveAt(now time.Time) bool {
	return !g.Revoked && (g.Expires == 0 || now.Unix() < g.Expires)
}

// Entitlements are all grants a user has, for every product.
type Entitlements struct {
	User   string
	Grants []Grant
}

// Live reports whether any grant for product is live at now.
func (e Entitlements) Live(product string, now time.Time) bool {
	for _, g := range e.Grants {
		if g.Product == product && g.LiveAt(now) {
			return true
		}
	}
	return false
}

// LiveProducts lists the products with a live grant at now, each once, in
// the order first seen.
func (e Entitlements) LiveProducts(now time.Time) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range e.Grants {
		if g.LiveAt(now) && !seen[g.Product] {
			seen[g.Product] = true
			out = append(out, g.Product)
		}
	}
	return out
}

// Meta is what every change carries: which event caused it and when.
type Meta struct {
	// EventID, when set, is marked processed in the same atomic script as
	// the change; a second change with the same EventID does nothing and
	// reports Duplicate. Empty for admin, success-page and reconcile
	// changes, which are idempotent through their source instead.
	EventID string
	// Cause goes to the audit stream and the grant: the event id, "admin",
	// "success", "reconcile".
	Cause string
	// Created is the Stripe event's created time (unix seconds), or now for
	// changes that are not events. Used for ordering.
	Created int64
	// Now is the wall clock (a seam for tests).
	Now time.Time
	// Tally, when set, is added to the day's counters (stats.go) by the
	// same script: once per event id, or once per source (PerSource).
	Tally *Tally
}

// Result says what a change did.
type Result struct {
	// Duplicate: the event id was already processed; nothing changed.
	Duplicate bool
	// Changed: the number of grants whose state changed: opened, closed,
	// a new expiry or subscription status, moved to another product (0
	// when the change was stale, already applied through another path, or
	// only recorded something, such as a payment a tombstone blocked).
	Changed int
	// Changes are what went to the audit stream, for the log.
	Changes []Change
	// Meta is what caused it.
	Meta Meta
}

// Change is one audit entry a change wrote.
type Change struct {
	Action, User, Product, Source string
}

// GrantRequest opens a product for a user from one source (a payment).
type GrantRequest struct {
	Meta
	User, Product string
	// Source keys the grant: the payment intent, else the session id, else
	// "sub_…" or "admin".
	Source string
	// AccessFor, when set, makes the grant a time pass: it expires AccessFor
	// after the later of Now and the latest expiry of the user's other live
	// grants of this product (a second purchase extends the first).
	AccessFor time.Duration
	// Expires, when set (and AccessFor is not), is the absolute expiry.
	Expires int64
	// Stripe ids remembered in the grant and in the id → user mappings, so a
	// refund, dispute or subscription event finds this user and product.
	PaymentIntent, Customer, Subscription, CheckoutSession string
}

// RevokeRequest closes the grant(s) that one source opened.
type RevokeRequest struct {
	Meta
	// Source is the payment intent, session or subscription whose grant is
	// revoked. For an admin revoke, Source is SourceAdmin and User and
	// Product are required: every grant of that product is revoked.
	Source string
	// User and Product, when known (charge metadata); otherwise the mapping
	// the grant stored is used. If neither is known the revoke is kept as a
	// tombstone keyed by Source, so a payment arriving later stays revoked.
	User, Product string
}

// RestoreRequest reopens what a revoke by the same source closed (a dispute
// that was won). An admin revoke is not undone by it.
type RestoreRequest struct {
	Meta
	Source        string
	User, Product string
}

// SubscriptionState is a subscription as fetched from Stripe: it replaces
// the grant keyed by the subscription id. A product change (plan change in
// the portal) moves the grant to the new product.
type SubscriptionState struct {
	Meta
	User, Product          string
	Subscription, Customer string
	Status                 string
	// LiveUntil is when access ends if nothing else arrives (period end plus
	// leeway), unix seconds; 0 for closed states.
	LiveUntil int64
	// Live is the policy's verdict on Status (active, trialing, past_due in
	// grace).
	Live bool
	// Payment is set for invoice.paid: a new payment, which may reopen a
	// grant an admin revoked.
	Payment bool
}

// Mapping is what a Stripe id (payment intent, customer, subscription,
// checkout session) points to.
type Mapping struct {
	User, Product string
}

// AuditEntry is one grant or revoke in the audit stream.
type AuditEntry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Action: grant, grant-blocked, revoke, tombstone, restore,
	// subscription, pending, pending-expired, payment-failed.
	Action  string `json:"action"`
	User    string `json:"user"`
	Product string `json:"product"`
	Source  string `json:"source"`
	Cause   string `json:"cause"`
	Detail  string `json:"detail,omitempty"`
}
