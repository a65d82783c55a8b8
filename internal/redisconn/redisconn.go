// Package redisconn opens the Redis client a paywall uses from its `redis`
// URL. One URL form per topology, all through go-redis's own parsers:
//
//	redis://[user:pass@]host:port/db          one server (rediss:// for TLS)
//	redis-sentinel://[user:pass@]host:port/db?master_name=mymaster&addr=host2:port2
//	                                          Sentinel: the hosts are sentinels
//	redis-cluster://[user:pass@]host:port?addr=host2:port2
//	                                          Cluster: any seed nodes
//
// Query parameters set go-redis options (dial_timeout, read_timeout, ...).
// Opening never connects: the first command does, so a paywall starts even
// while Redis is down.
package redisconn

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts used unless the URL sets its own: short, so an outage turns
// into a quick 503 rather than a hung request.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = time.Second
)

// Open returns a client for rawURL.
func Open(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis url: %v", err)
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %v", err)
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		// During an outage, answer quickly (503, Stripe retries) rather than
		// hold requests through go-redis's default five dials and three
		// command retries; one of each still rides over a blip.
		if !u.Query().Has("dialer_retries") {
			o.DialerRetries = 1
		}
		if !u.Query().Has("max_retries") {
			o.MaxRetries = 1
		}
		return redis.NewClient(o), nil
	case "redis-sentinel", "rediss-sentinel":
		o, err := redis.ParseFailoverURL(strings.Replace(rawURL, "-sentinel", "", 1))
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %v", err)
		}
		if o.MasterName == "" {
			return nil, fmt.Errorf("redis sentinel url: master_name is required")
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		return redis.NewFailoverClient(o), nil
	case "redis-cluster", "rediss-cluster":
		o, err := redis.ParseClusterURL(strings.Replace(rawURL, "-cluster", "", 1))
		if err != nil {
			return nil, fmt.Errorf("redis cluster url: %v", err)
		}
		setTimeouts(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
		return redis.NewClusterClient(o), nil
	}
	return nil, fmt.Errorf("redis url: unknown scheme %q (want redis, rediss, redis-sentinel or redis-cluster)", u.Scheme)
}

func setTimeouts(dial, read, write *time.Duration) {
	if *dial == 0 {
		*dial = dialTimeout
	}
	if *read == 0 {
		*read = ioTimeout
	}
	if *write == 0 {
		*write = ioTimeout
	}
}
