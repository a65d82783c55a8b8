package whoami

import (
	"sync"
	"time"
)

// entryOverhead approximates what an entry costs besides its user id: the
// key (twice: map and queue), the map slot and the entry struct.
const entryOverhead = 128

// cache maps a keyed hash of a visitor's cookies to who the site said they
// are, until the answer expires. It is bounded in entries and in bytes;
// when full, the oldest answers go first (every answer expires within ttl
// anyway, so first in is close to least useful).
type cache struct {
	mu         sync.RWMutex
	m          map[[32]byte]entry
	queue      []queued // insertion order, with stale items skipped
	seq        uint64
	bytes      int
	maxEntries int
	maxBytes   int
}

type entry struct {
	user    string // "" is signed out
	expires int64  // unix nanoseconds
	seq     uint64
}

type queued struct {
	key [32]byte
	seq uint64
}

func newCache(maxEntries, maxBytes int) *cache {
	return &cache{m: make(map[[32]byte]entry), maxEntries: maxEntries, maxBytes: maxBytes}
}

func (c *cache) get(key [32]byte, now time.Time) (string, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || now.UnixNano() >= e.expires {
		return "", false
	}
	return e.user, true
}

func (c *cache) put(key [32]byte, user string, expires time.Time) {
	size := entryOverhead + len(user)
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		c.bytes -= entryOverhead + len(old.user)
		delete(c.m, key)
	}
	for len(c.m) >= c.maxEntries || c.bytes+size > c.maxBytes {
		c.evictOldest()
	}
	c.seq++
	c.m[key] = entry{user: user, expires: expires.UnixNano(), seq: c.seq}
	c.bytes += size
	c.queue = append(c.queue, queued{key: key, seq: c.seq})
	if len(c.queue) > 2*len(c.m)+64 {
		c.compact()
	}
}

// evictOldest drops the entry inserted first; the caller holds mu.
func (c *cache) evictOldest() {
	for len(c.queue) > 0 {
		q := c.queue[0]
		c.queue = c.queue[1:]
		if e, ok := c.m[q.key]; ok && e.seq == q.seq {
			delete(c.m, q.key)
			c.bytes -= entryOverhead + len(e.user)
			return
		}
	}
}

// compact drops queue items whose entry was replaced or evicted, so the
// queue stays proportional to the map.
func (c *cache) compact() {
	live := make([]queued, 0, len(c.m))
	for _, q := range c.queue {
		if e, ok := c.m[q.key]; ok && e.seq == q.seq {
			live = append(live, q)
		}
	}
	c.queue = live
}

// size is the entries and bytes held (tests).
func (c *cache) size() (entries, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m), c.bytes
}
