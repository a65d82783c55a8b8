// Package store keeps entitlements in Redis: grants by source, the Stripe
// id mappings that let later events find their user, processed-event
// markers, tombstones and an audit stream. Every change is one Lua script,
// so the event marker and the change it records are written together or
// not at all, and concurrent deliveries of one event apply it once.
package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is the Redis entitlement store.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// New returns a store on client; prefix "" means DefaultPrefix.
func New(client redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}
}

// Client is the Redis client.
func (s *Store) Client() redis.UniversalClient { return s.client }

// Prefix is the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// ChangesChannel is the pub/sub channel every change publishes its user on.
func (s *Store) ChangesChannel() string { return s.prefix + "changes" }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Entitlements reads all of a user's grants in one round trip.
func (s *Store) Entitlements(ctx context.Context, user string) (Entitlements, error) {
	m, err := s.client.HGetAll(ctx, s.userKey(user)).Result()
	if err != nil {
		return Entitlements{}, fmt.Errorf("store: reading entitlements: %w", err)
	}
	e := Entitlements{User: user, Grants: make([]Grant, 0, len(m))}
	for field, raw := range m {
		var g Grant
		if err := jsonUnmarshal(raw, &g); err != nil {
			return Entitlements{}, fmt.Errorf("store: grant %q of %q: %w", field, user, err)
		}
		if g.Product == "" || g.Source == "" {
			g.Product, g.Source, _ = strings.Cut(field, "|")
		}
		e.Grants = append(e.Grants, g)
	}
	sort.Slice(e.Grants, func(i, j int) bool {
		a, b := e.Grants[i], e.Grants[j]
		return a.Product < b.Product || a.Product == b.Product && a.Source < b.Source
	})
	return e, nil
}

// Grant opens a product for a user from one source.
func (s *Store) Grant(ctx context.Context, r GrantRequest) (Result, error) {
	if r.User == "" || r.Product == "" || r.Source == "" {
		return Result{}, errors.New("store: grant needs a user, a product and a source")
	}
	return s.run(ctx, grantScript, "granting", r.Meta, map[string]any{
		"user": r.User, "product": r.Product, "source": r.Source,
		"access_for": int64(r.AccessFor / time.Second), "expires": r.Expires,
		"payment_intent": r.PaymentIntent, "customer": r.Customer,
		"subscription": r.Subscription, "checkout_session": r.CheckoutSession,
	})
}

// Revoke closes what a source granted (see RevokeRequest).
func (s *Store) Revoke(ctx context.Context, r RevokeRequest) (Result, error) {
	if r.Source == "" || (r.Source == SourceAdmin && (r.User == "" || r.Product == "")) {
		return Result{}, errors.New("store: revoke needs a source (and a user and product for admin)")
	}
	return s.run(ctx, revokeScript, "revoking", r.Meta, map[string]any{
		"user": r.User, "product": r.Product, "source": r.Source,
	})
}

// Restore reopens what a revoke by the same source closed.
func (s *Store) Restore(ctx context.Context, r RestoreRequest) (Result, error) {
	if r.Source == "" {
		return Result{}, errors.New("store: restore needs a source")
	}
	return s.run(ctx, restoreScript, "restoring", r.Meta, map[string]any{
		"user": r.User, "product": r.Product, "source": r.Source,
	})
}

// SetSubscription stores a subscription's state.
func (s *Store) SetSubscription(ctx context.Context, st SubscriptionState) (Result, error) {
	if st.User == "" || st.Product == "" || st.Subscription == "" {
		return Result{}, errors.New("store: subscription state needs a user, a product and a subscription")
	}
	return s.run(ctx, subscriptionScript, "storing subscription", st.Meta, map[string]any{
		"user": st.User, "product": st.Product, "subscription": st.Subscription,
		"customer": st.Customer, "status": st.Status, "live_until": st.LiveUntil,
		"live": st.Live, "payment": st.Payment,
	})
}

// MarkPending records a completed but unpaid session (delayed methods).
func (s *Store) MarkPending(ctx context.Context, m Meta, sessionID, user, product string) (Result, error) {
	return s.run(ctx, pendingScript, "marking pending", m, map[string]any{"op": "mark", "session": sessionID, "user": user, "product": product})
}

// ForgetPending drops an expired session's pending record.
func (s *Store) ForgetPending(ctx context.Context, m Meta, sessionID string) (Result, error) {
	return s.run(ctx, pendingScript, "forgetting pending", m, map[string]any{"op": "forget", "session": sessionID})
}

// RecordFailure audits a failed delayed payment; it grants nothing.
func (s *Store) RecordFailure(ctx context.Context, m Meta, sessionID, user, product string) (Result, error) {
	return s.run(ctx, pendingScript, "recording failure", m, map[string]any{"op": "fail", "session": sessionID, "user": user, "product": product})
}

// Acknowledge marks an event processed without changing anything.
func (s *Store) Acknowledge(ctx context.Context, m Meta) (Result, error) {
	return s.run(ctx, pendingScript, "acknowledging", m, map[string]any{"op": "ack"})
}

// Pending returns an unpaid session's user and product.
func (s *Store) Pending(ctx context.Context, sessionID string) (Mapping, bool, error) {
	return s.hashMapping(ctx, s.prefix+"pending:"+sessionID)
}

// Lookup returns what a Stripe id points to.
func (s *Store) Lookup(ctx context.Context, stripeID string) (Mapping, bool, error) {
	return s.hashMapping(ctx, s.prefix+"map:"+stripeID)
}

func (s *Store) hashMapping(ctx context.Context, key string) (Mapping, bool, error) {
	v, err := s.client.HMGet(ctx, key, "user", "product").Result()
	if err != nil {
		return Mapping{}, false, fmt.Errorf("store: lookup: %w", err)
	}
	u, _ := v[0].(string)
	p, _ := v[1].(string)
	if u == "" {
		return Mapping{}, false, nil
	}
	return Mapping{User: u, Product: p}, true, nil
}

// RememberMapping records what a Stripe id points to.
func (s *Store) RememberMapping(ctx context.Context, stripeID string, m Mapping) error {
	if err := s.client.HSet(ctx, s.prefix+"map:"+stripeID, "user", m.User, "product", m.Product).Err(); err != nil {
		return fmt.Errorf("store: remembering %s: %w", stripeID, err)
	}
	return nil
}

// CustomerOf returns the user's Stripe customer, "" if none.
func (s *Store) CustomerOf(ctx context.Context, user string) (string, error) {
	v, err := s.client.Get(ctx, s.prefix+"customer-of:"+EncodeUser(user)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: customer of %q: %w", user, err)
	}
	return v, nil
}
