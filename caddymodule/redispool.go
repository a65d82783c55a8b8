package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/redisconn"
)

// redisClients are shared across config reloads: a reload provisions the
// new config before cleaning up the old one, so the new handler finds the
// same client in the pool and no connection pool is opened or closed.
var redisClients = caddy.NewUsagePool()

type pooledRedis struct{ redis.UniversalClient }

func (p pooledRedis) Destruct() error { return p.Close() }

// loadRedis returns the shared client for url, opening it on first use.
// Opening never connects.
func loadRedis(url string) (redis.UniversalClient, error) {
	v, _, err := redisClients.LoadOrNew(url, func() (caddy.Destructor, error) {
		c, err := redisconn.Open(url)
		if err != nil {
			return nil, err
		}
		return pooledRedis{c}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(pooledRedis).UniversalClient, nil
}
