// Package store keeps entitlements in Redis: each user's grants keyed by
// the source that paid for them, the Stripe id mappings that let a later
// event find its user, processed-event markers, tombstones for revokes
// that beat their payment, pending sessions and an audit stream.
//
// Reading a user's access is one HGETALL. Every change is one Lua script
// that checks the event marker, applies the change, appends the audit
// entries, publishes the user on the changes channel and sets the marker,
// so a marker never exists without its change (or the reverse) and
// concurrent deliveries of one event apply it once. The key layout is
// documented in keys.go.
package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Store is the Redis entitlement store. It is safe for concurrent use.
type Store struct {
	client      redis.UniversalClient
	prefix      string
	minReplicas int // see SetMinReplicas
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

// ChangesChannel is the pub/sub channel every change that altered a
// user's grants publishes the user id on.
func (s *Store) ChangesChannel() string { return s.prefix + "changes" }

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}
