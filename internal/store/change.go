package store

import (
	"context"
	"time"
)

// The request bodies the scripts read (ARGV[3], JSON). The user id is not
// in them: JSON would replace invalid UTF-8, so it travels as ARGV[4].
type (
	grantArgs struct {
		Product         string `json:"product"`
		Source          string `json:"source"`
		AccessFor       int64  `json:"access_for"` // seconds
		Expires         int64  `json:"expires"`
		PaymentIntent   string `json:"payment_intent"`
		Customer        string `json:"customer"`
		Subscription    string `json:"subscription"`
		CheckoutSession string `json:"checkout_session"`
	}
	sourceArgs struct { // revoke, restore
		Product string `json:"product"`
		Source  string `json:"source"`
	}
	subscriptionArgs struct {
		Product      string `json:"product"`
		Subscription string `json:"subscription"`
		Customer     string `json:"customer"`
		Status       string `json:"status"`
		LiveUntil    int64  `json:"live_until"`
		Live         bool   `json:"live"`
		Payment      bool   `json:"payment"`
	}
	pendingArgs struct {
		Op      string `json:"op"` // mark, forget, fail, ack
		Session string `json:"session"`
		Product string `json:"product"`
	}
)

// Grant opens a product for a user from one source (see GrantRequest). A
// source is applied once: fulfilling the same payment again (webhook,
// success page, reconcile) changes nothing, whatever became of it since.
// A tombstone for the source keeps the grant revoked ("grant-blocked").
func (s *Store) Grant(ctx context.Context, r GrantRequest) (Result, error) {
	const what = "granting"
	if err := check(what, r.Meta, needUser(r.User), needProduct(r.Product), needID("source", r.Source),
		maybeID("payment intent", r.PaymentIntent), maybeID("customer", r.Customer),
		maybeID("subscription", r.Subscription), maybeID("checkout session", r.CheckoutSession)); err != nil {
		return Result{}, err
	}
	if r.AccessFor < 0 || r.Expires < 0 {
		return Result{}, invalid(what, "negative expiry")
	}
	return s.run(ctx, grantScript, what, r.Meta, r.User, grantArgs{
		Product: r.Product, Source: r.Source,
		AccessFor: int64((r.AccessFor + time.Second - 1) / time.Second), Expires: r.Expires,
		PaymentIntent: r.PaymentIntent, Customer: r.Customer,
		Subscription: r.Subscription, CheckoutSession: r.CheckoutSession,
	})
}

// Revoke closes what a source granted (see RevokeRequest): a refund or
// lost dispute closes one payment's grant; an admin revoke closes every
// grant of the product. A revoke whose payment is not known yet is kept
// as a tombstone.
func (s *Store) Revoke(ctx context.Context, r RevokeRequest) (Result, error) {
	const what = "revoking"
	checks := []func() error{needID("source", r.Source), maybeProduct(r.Product)}
	if r.Source == SourceAdmin {
		checks = append(checks, needUser(r.User), needProduct(r.Product))
	}
	if err := check(what, r.Meta, checks...); err != nil {
		return Result{}, err
	}
	return s.run(ctx, revokeScript, what, r.Meta, r.User, sourceArgs{Product: r.Product, Source: r.Source})
}

// Restore reopens what a revoke from the same source closed (a dispute
// that was won) and lifts its tombstone. An admin revoke stays.
func (s *Store) Restore(ctx context.Context, r RestoreRequest) (Result, error) {
	const what = "restoring"
	if err := check(what, r.Meta, needID("source", r.Source), maybeProduct(r.Product)); err != nil {
		return Result{}, err
	}
	if r.Source == SourceAdmin {
		return Result{}, invalid(what, "an admin revoke is undone by an admin grant, not a restore")
	}
	return s.run(ctx, restoreScript, what, r.Meta, r.User, sourceArgs{Product: r.Product, Source: r.Source})
}

// SetSubscription stores a subscription's state as fetched from Stripe in
// the grant keyed by the subscription id, moving it when the product
// changed (a plan change). An admin revoke holds until a new payment.
func (s *Store) SetSubscription(ctx context.Context, st SubscriptionState) (Result, error) {
	const what = "storing subscription"
	if err := check(what, st.Meta, needUser(st.User), needProduct(st.Product), needID("subscription", st.Subscription),
		maybeID("customer", st.Customer)); err != nil {
		return Result{}, err
	}
	return s.run(ctx, subscriptionScript, what, st.Meta, st.User, subscriptionArgs{
		Product: st.Product, Subscription: st.Subscription, Customer: st.Customer,
		Status: st.Status, LiveUntil: st.LiveUntil, Live: st.Live, Payment: st.Payment,
	})
}

// MarkPending records a completed but unpaid Checkout Session (a delayed
// payment method); it grants nothing. A session already fulfilled is not
// marked.
func (s *Store) MarkPending(ctx context.Context, m Meta, sessionID, user, product string) (Result, error) {
	const what = "marking pending"
	if err := check(what, m, needID("session", sessionID), needUser(user), needProduct(product)); err != nil {
		return Result{}, err
	}
	return s.run(ctx, pendingScript, what, m, user, pendingArgs{Op: "mark", Session: sessionID, Product: product})
}

// ForgetPending drops an expired session's pending record.
func (s *Store) ForgetPending(ctx context.Context, m Meta, sessionID string) (Result, error) {
	const what = "forgetting pending"
	if err := check(what, m, needID("session", sessionID)); err != nil {
		return Result{}, err
	}
	return s.run(ctx, pendingScript, what, m, "", pendingArgs{Op: "forget", Session: sessionID})
}

// RecordFailure audits a failed delayed payment and drops the pending
// record; it grants nothing. user and product may be "" (then the pending
// record's are used).
func (s *Store) RecordFailure(ctx context.Context, m Meta, sessionID, user, product string) (Result, error) {
	const what = "recording failure"
	if err := check(what, m, needID("session", sessionID), maybeProduct(product)); err != nil {
		return Result{}, err
	}
	return s.run(ctx, pendingScript, what, m, user, pendingArgs{Op: "fail", Session: sessionID, Product: product})
}

// Acknowledge marks an event processed without changing anything else
// (Duplicate if it was already). It writes no audit entry.
func (s *Store) Acknowledge(ctx context.Context, m Meta) (Result, error) {
	const what = "acknowledging"
	if err := check(what, m); err != nil {
		return Result{}, err
	}
	return s.run(ctx, pendingScript, what, m, "", pendingArgs{Op: "ack"})
}
