package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ReplicaWait bounds how long a change waits for its replicas when the
// store has a minimum (SetMinReplicas). Replication on a healthy network
// takes milliseconds; a replica further behind than this answers the
// webhook 503, and Stripe's retry waits again.
const ReplicaWait = time.Second

// ErrNotReplicated means a change was applied on the master but fewer
// replicas than required confirmed it within ReplicaWait. The change is
// not lost on the master; the caller must not report it done.
var ErrNotReplicated = errors.New("not confirmed by enough replicas")

// SetMinReplicas makes every change wait until n replicas hold it (Redis
// WAIT): each change script is followed, on the same connection, by a
// write to the wait key and WAIT n. The write is what makes a duplicate or
// a change that altered nothing wait too: WAIT covers a connection's own
// last write, and the wait key's write comes after everything the script
// saw, including a marker another gateway wrote. Call it before the store
// is used; 0 (the default) waits for nothing.
func (s *Store) SetMinReplicas(n int) { s.minReplicas = n }

// MinReplicas is what SetMinReplicas set.
func (s *Store) MinReplicas() int { return s.minReplicas }

// runScript runs a change script, and with a minimum of replicas waits
// for them on the script's connection.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args ...any) ([]any, error) {
	if s.minReplicas <= 0 {
		return sc.Run(ctx, s.client, keys, args...).Slice()
	}
	conn, err := s.masterConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	reply, err := sc.Run(ctx, conn, keys, args...).Slice()
	if err != nil {
		s.followRedirect(ctx, err)
		return nil, err
	}
	if err := s.waitReplicas(ctx, conn); err != nil {
		return nil, err
	}
	return reply, nil
}

// masterConn is one connection to the master that holds the prefix's
// keys: the pool's for one server or Sentinel, the slot's master's on a
// Cluster. WAIT counts the replicas of the connection it runs on, so it
// cannot go through a client that might pick another connection or node.
func (s *Store) masterConn(ctx context.Context) (*redis.Conn, error) {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, s.auditKey())
		if err != nil {
			return nil, err
		}
		return node.Conn(), nil
	case *redis.Client:
		return c.Conn(), nil
	}
	return nil, fmt.Errorf("waiting for replicas needs a single, Sentinel or Cluster client, not %T", s.client)
}

// followRedirect reloads a Cluster's slot map when the node answered that
// the slot moved, so the next attempt (Stripe's retry) finds its master.
func (s *Store) followRedirect(ctx context.Context, err error) {
	if c, ok := s.client.(*redis.ClusterClient); ok {
		if msg := err.Error(); strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") {
			c.ReloadState(ctx)
		}
	}
}

// waitReplicas writes the wait key and waits for minReplicas replicas to
// acknowledge the connection's writes up to it.
func (s *Store) waitReplicas(ctx context.Context, conn *redis.Conn) error {
	if err := conn.Set(ctx, s.waitKey(), time.Now().UnixMilli(), waitKeyTTL).Err(); err != nil {
		return err
	}
	n, err := conn.Wait(ctx, s.minReplicas, ReplicaWait).Result()
	if err != nil {
		return err
	}
	if int(n) < s.minReplicas {
		return fmt.Errorf("%w: %d of %d replicas within %v", ErrNotReplicated, n, s.minReplicas, ReplicaWait)
	}
	return nil
}

// waitKeyTTL lets the wait key go once redis_min_replicas is turned off.
const waitKeyTTL = 24 * time.Hour
