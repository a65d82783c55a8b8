package gateway

import (
	"sync"
	"time"
)

// Checkout creation is limited per user, so that one user (or a script
// with one user's login) cannot spend the Stripe account's API rate limit
// on Checkout Sessions. A double click reuses one session through the
// idempotency key and stays far below the limit.
const (
	checkoutBurst    = 5                // sessions a user can start at once
	checkoutInterval = 10 * time.Second // then one more per interval
	checkoutUsers    = 10000            // users remembered; past that the oldest are forgotten
)

// userLimiter is a token bucket per user, bounded in users.
type userLimiter struct {
	burst    float64
	interval time.Duration
	maxUsers int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date
}

func newUserLimiter(burst int, interval time.Duration, maxUsers int) *userLimiter {
	return &userLimiter{burst: float64(burst), interval: interval, maxUsers: maxUsers, buckets: map[string]*bucket{}}
}

// allow takes one token of user's bucket at now; when there is none it
// reports false and how long until there is.
func (l *userLimiter) allow(user string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[user]
	if !ok {
		if len(l.buckets) >= l.maxUsers {
			l.forgetFull(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[user] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
	b.at = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.interval))
	}
	b.tokens--
	return true, 0
}

// forgetFull drops the buckets that have refilled (they hold nothing a new
// bucket would not), else an arbitrary half.
func (l *userLimiter) forgetFull(now time.Time) {
	for u, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.interval) >= l.burst {
			delete(l.buckets, u)
		}
	}
	for u := range l.buckets {
		if len(l.buckets) < l.maxUsers/2 {
			return
		}
		delete(l.buckets, u)
	}
}
