package caddymodule

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
)

// The set-up the in-process tests and benchmarks share.

// serveStripeStub serves the Stripe stand-in, with prices, until the test
// ends.
func serveStripeStub(t *testing.T, prices ...stripestub.Price) (*stripestub.Stub, string) {
	stub := stripestub.New(stripestub.Config{Prices: prices})
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	stub.SetBaseURL(srv.URL)
	return stub, srv.URL
}

// globalOptions head every Caddyfile a test serves in this process: no
// admin endpoint, no certificates, nothing written to disk.
const globalOptions = `{
	admin off
	auto_https off
	persist_config off
}
`

// startSite runs a real Caddy server in this process from site blocks,
// under globalOptions.
func startSite(t *testing.T, sites string) {
	t.Helper()
	startCaddy(t, globalOptions+sites)
}

// newCaddyContext is a Caddy context cancelled when the test ends.
func newCaddyContext(tb testing.TB) caddy.Context {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	tb.Cleanup(cancel)
	return ctx
}

// provisioned provisions p as Caddy does and cleans it up when the test
// ends.
func provisioned(tb testing.TB, p *Paywall) *Paywall {
	tb.Helper()
	if err := p.Provision(newCaddyContext(tb)); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Cleanup() })
	return p
}

// discardLogs sets p's logger to Caddy's default level, info, and drops
// what it writes: outside a running Caddy, ctx.Logger() is a development
// logger at debug level.
func discardLogs(p *Paywall) {
	p.logger = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zap.InfoLevel))
}

// grantInRedis grants user each product under prefix, as an admin does,
// and deletes the prefix's keys when the test ends.
func grantInRedis(tb testing.TB, redisURL, prefix, user string, products ...string) {
	tb.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		tb.Fatal(err)
	}
	rc := redis.NewClient(opt)
	tb.Cleanup(func() {
		keys, _ := rc.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rc.Unlink(context.Background(), keys...)
		}
		rc.Close()
	})
	now := time.Now()
	for _, product := range products {
		if _, err := store.New(rc, prefix).Grant(context.Background(), store.GrantRequest{
			Meta: store.Meta{Cause: "test", Created: now.Unix(), Now: now},
			User: user, Product: product, Source: "admin",
		}); err != nil {
			tb.Fatal(err)
		}
	}
}

// waitCacheLive calls serve (a request that checks its own answer) until
// one is answered from the entitlement cache: the cache's pub/sub
// subscription is live and the cache holds that user.
func waitCacheLive(tb testing.TB, p *Paywall, serve func()) {
	tb.Helper()
	hits := p.metrics.cache.WithLabelValues("hit")
	for deadline := time.Now().Add(10 * time.Second); ; {
		before := counterValue(hits)
		serve()
		if counterValue(hits) > before {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("the entitlement cache did not turn live within 10s (pub/sub subscription)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
