package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Lookup returns what a Stripe id (payment intent, charge, customer,
// subscription, checkout session) points to.
func (s *Store) Lookup(ctx context.Context, stripeID string) (Mapping, bool, error) {
	m, ok, err := s.readMapping(ctx, s.mapKey(stripeID))
	if err != nil {
		return Mapping{}, false, fmt.Errorf("store: looking up %s: %w", stripeID, err)
	}
	return m, ok, nil
}

// Pending returns the user and product of a completed but unpaid session.
func (s *Store) Pending(ctx context.Context, sessionID string) (Mapping, bool, error) {
	m, ok, err := s.readMapping(ctx, s.pendingKey(sessionID))
	if err != nil {
		return Mapping{}, false, fmt.Errorf("store: reading pending %s: %w", sessionID, err)
	}
	return m, ok, nil
}

func (s *Store) readMapping(ctx context.Context, key string) (Mapping, bool, error) {
	v, err := s.client.HMGet(ctx, key, "user", "product").Result()
	if err != nil {
		return Mapping{}, false, err
	}
	u, _ := v[0].(string)
	p, _ := v[1].(string)
	if u == "" {
		return Mapping{}, false, nil
	}
	return Mapping{User: u, Product: p}, true, nil
}

// RememberMapping records what a Stripe id points to (for instance the
// payment intent and charge of a paid subscription invoice, so a dispute
// on a renewal finds its user). It is idempotent and writes no audit.
func (s *Store) RememberMapping(ctx context.Context, stripeID string, m Mapping) error {
	if err := checkID("stripe id", stripeID); err != nil {
		return fmt.Errorf("store: remembering mapping: %w", err)
	}
	if m.User == "" {
		return fmt.Errorf("store: remembering mapping of %s: %w: no user", stripeID, ErrInvalid)
	}
	if err := s.client.HSet(ctx, s.mapKey(stripeID), "user", m.User, "product", m.Product).Err(); err != nil {
		return fmt.Errorf("store: remembering mapping of %s: %w", stripeID, err)
	}
	return nil
}

// CustomerOf returns the user's Stripe customer, "" if none is known.
func (s *Store) CustomerOf(ctx context.Context, user string) (string, error) {
	v, err := s.client.Get(ctx, s.customerKey(user)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: reading customer of %q: %w", user, err)
	}
	return v, nil
}
