package gateway

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Checkout creation is limited per user, so that one user (or a script
// with one user's login) cannot spend the Stripe account's API rate limit
// on Checkout Sessions. A double click reuses one session through the
// idempotency key and stays far below the limit.
const (
	checkoutBurst    = 5                // sessions a user can start at once
	checkoutInterval = 10 * time.Second // then one more per interval
	checkoutUsers    = 10000            // users remembered; past that the idle ones are forgotten
)

// userLimiter is a token bucket (x/time/rate) per user, bounded in users.
type userLimiter struct {
	burst    int
	every    rate.Limit
	maxUsers int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

func newUserLimiter(burst int, interval time.Duration, maxUsers int) *userLimiter {
	return &userLimiter{burst: burst, every: rate.Every(interval), maxUsers: maxUsers, limiters: map[string]*rate.Limiter{}}
}

// allow takes one token of user's bucket at now; when there is none it
// reports false and how long until there is.
func (l *userLimiter) allow(user string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.limiters[user]
	if !ok {
		if len(l.limiters) >= l.maxUsers {
			l.forgetIdle(now)
		}
		lim = rate.NewLimiter(l.every, l.burst)
		l.limiters[user] = lim
	}
	r := lim.ReserveN(now, 1)
	if wait := r.DelayFrom(now); wait > 0 {
		r.CancelAt(now)
		return false, wait
	}
	return true, 0
}

// forgetIdle drops the buckets that have refilled (they hold nothing a new
// bucket would not), else an arbitrary half.
func (l *userLimiter) forgetIdle(now time.Time) {
	for u, lim := range l.limiters {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.limiters, u)
		}
	}
	for u := range l.limiters {
		if len(l.limiters) < l.maxUsers/2 {
			return
		}
		delete(l.limiters, u)
	}
}
