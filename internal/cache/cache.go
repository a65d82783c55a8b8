// Package cache keeps users' entitlements in memory in front of Redis, so
// a paid request costs no network round trip. It is bounded, collapses a
// burst of misses for one user into one read (singleflight), and is
// invalidated by the store's pub/sub channel on every change made by any
// gateway. While that subscription is down the cache is flushed and
// bypassed, so it never serves access that Redis no longer grants.
package cache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Reader reads a user's entitlements (the store).
type Reader interface {
	Entitlements(ctx context.Context, user string) (store.Entitlements, error)
}

// Options size the cache.
type Options struct {
	// Size is the most users kept. Default: 100000.
	Size int
	// MaxBytes bounds the memory the entries hold (user ids and grants,
	// estimated), so that long user ids cannot grow the cache past it.
	// Default: 32 MiB.
	MaxBytes int
	// TTL bounds how long an entry with a live grant is kept, should an
	// invalidation be lost. Default: 30s.
	TTL time.Duration
	// NegativeTTL is how long an entry with no live grant is kept.
	// Default: 5s.
	NegativeTTL time.Duration
	// OnHit and OnMiss, when set, are told of each lookup while the cache
	// is live (metrics).
	OnHit, OnMiss func()
}

const shardCount = 64

// Cache is an entitlement cache. The zero value is not usable; use New.
type Cache struct {
	inner  Reader
	opts   Options
	shards [shardCount]shard
	seed   maphash.Seed
	group  singleflight.Group
	now    func() time.Time

	// live is set while the invalidation subscription is confirmed; the
	// cache is bypassed otherwise.
	live atomic.Bool
	// gen counts invalidations, so a read that raced one is not stored.
	gen atomic.Uint64

	hits, misses atomic.Uint64
}

type shard struct {
	mu    sync.RWMutex
	m     map[string]entry
	bytes int // the sum of the entries' sizes
}

type entry struct {
	ents    store.Entitlements
	expires time.Time
	size    int
}

// entryOverhead estimates what an entry costs beyond its strings: the map
// slot, the entry, the slice and each grant's fixed fields.
const (
	entryOverhead = 96
	grantOverhead = 120
)

// sizeOf estimates the memory an entry for user holds.
func sizeOf(user string, ents store.Entitlements) int {
	n := entryOverhead + len(user) + len(ents.User)
	for _, g := range ents.Grants {
		n += grantOverhead + len(g.Product) + len(g.Source) + len(g.RevokedBy) + len(g.Cause) +
			len(g.Status) + len(g.Customer) + len(g.Subscription) + len(g.PaymentIntent)
	}
	return n
}

// New returns a cache in front of inner. It is bypassed until Follow (or
// SetLive) confirms the invalidation subscription.
func New(inner Reader, o Options) *Cache {
	if o.Size <= 0 {
		o.Size = 100000
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 5 * time.Second
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 32 << 20
	}
	c := &Cache{inner: inner, opts: o, seed: maphash.MakeSeed(), now: time.Now}
	for i := range c.shards {
		c.shards[i].m = make(map[string]entry)
	}
	return c
}

func (c *Cache) shard(user string) *shard {
	return &c.shards[maphash.String(c.seed, user)%shardCount]
}

// Entitlements returns the user's entitlements, from memory when it can.
func (c *Cache) Entitlements(ctx context.Context, user string) (store.Entitlements, error) {
	if !c.live.Load() {
		return c.inner.Entitlements(ctx, user)
	}
	s := c.shard(user)
	now := c.now()
	s.mu.RLock()
	e, ok := s.m[user]
	s.mu.RUnlock()
	if ok && now.Before(e.expires) {
		c.hits.Add(1)
		if c.opts.OnHit != nil {
			c.opts.OnHit()
		}
		return e.ents, nil
	}
	c.misses.Add(1)
	if c.opts.OnMiss != nil {
		c.opts.OnMiss()
	}
	v, err, _ := c.group.Do(user, func() (any, error) {
		gen := c.gen.Load()
		ents, err := c.inner.Entitlements(ctx, user)
		if err != nil {
			return ents, err
		}
		c.store(user, ents, gen)
		return ents, nil
	})
	if err != nil {
		return store.Entitlements{}, err
	}
	return v.(store.Entitlements), nil
}

// store keeps ents unless an invalidation happened since gen was read.
func (c *Cache) store(user string, ents store.Entitlements, gen uint64) {
	now := c.now()
	ttl := c.opts.NegativeTTL
	if len(ents.LiveProducts(now)) > 0 {
		ttl = c.opts.TTL
	}
	e := entry{ents: ents, expires: now.Add(ttl), size: sizeOf(user, ents)}
	maxEntries, maxBytes := c.opts.Size/shardCount+1, c.opts.MaxBytes/shardCount+1
	if e.size > maxBytes {
		return // larger than a shard's share: read from Redis each time
	}
	s := c.shard(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.gen.Load() != gen || !c.live.Load() {
		return
	}
	s.remove(user)
	s.dropExpired(now, 2) // a couple at every store keeps expired entries from lingering
	if len(s.m) >= maxEntries || s.bytes+e.size > maxBytes {
		s.dropExpired(now, len(s.m))
	}
	for k := range s.m { // still full: evict arbitrary entries, cheap and bounded
		if len(s.m) < maxEntries && s.bytes+e.size <= maxBytes {
			break
		}
		s.remove(k)
	}
	s.m[user] = e
	s.bytes += e.size
}

// dropExpired removes expired entries among the first n the map yields
// (Go's map order is random, so repeated calls sample the whole shard).
func (s *shard) dropExpired(now time.Time, n int) {
	for k, e := range s.m {
		if n--; n < 0 {
			return
		}
		if !now.Before(e.expires) {
			s.remove(k)
		}
	}
}

func (s *shard) remove(user string) {
	if e, ok := s.m[user]; ok {
		s.bytes -= e.size
		delete(s.m, user)
	}
}

// Invalidate forgets a user (a grant or revoke anywhere).
func (c *Cache) Invalidate(user string) {
	c.gen.Add(1)
	s := c.shard(user)
	s.mu.Lock()
	s.remove(user)
	s.mu.Unlock()
	c.group.Forget(user)
}

// Flush forgets everyone.
func (c *Cache) Flush() {
	c.gen.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.bytes = 0
		s.mu.Unlock()
	}
}

// SetLive turns the cache on (the subscription is confirmed) or flushes
// and bypasses it (the subscription is down).
func (c *Cache) SetLive(live bool) {
	c.Flush()
	c.live.Store(live)
	c.Flush()
}

// Live reports whether the cache is in use.
func (c *Cache) Live() bool { return c.live.Load() }

// Stats are the hit and miss counts since start.
func (c *Cache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// Bytes is the estimated memory the entries hold.
func (c *Cache) Bytes() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.bytes
		s.mu.RUnlock()
	}
	return n
}

// Len is the number of users cached.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
