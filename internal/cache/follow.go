package cache

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// pingEvery is how often a quiet subscription is checked, so a connection
// that died silently is noticed.
const pingEvery = 5 * time.Second

// Follow subscribes to the store's changes channel and invalidates the
// users it names, until ctx ends. The cache is live only between the
// subscription's confirmation and its first error; go-redis reconnects and
// resubscribes by itself, and each confirmation starts from an empty cache.
func (c *Cache) Follow(ctx context.Context, client redis.UniversalClient, channel string) {
	ps := client.Subscribe(ctx, channel)
	defer c.SetLive(false)
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() }) // unblocks the receive below
	defer stop()
	defer ps.Close()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isTimeout(err) {
				if perr := ps.Ping(ctx); perr == nil {
					continue
				}
			}
			c.SetLive(false)
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			c.SetLive(m.Kind == "subscribe")
		case *redis.Message:
			c.Invalidate(m.Payload)
		}
	}
}

func isTimeout(err error) bool {
	t, ok := err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
