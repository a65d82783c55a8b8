package caddymodule

import (
	"context"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/cache"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// Provision sets the paywall up. It never contacts Redis or Stripe, so a
// restart during an outage still serves the ungated site.
func (p *Paywall) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	p.metrics = newMetrics(ctx.GetMetricsRegistry())
	p.applyDefaults()

	if err := p.resolveSecrets(); err != nil {
		return err
	}

	p.productValues = make(map[string]any, len(p.Products))
	for _, pr := range p.Products {
		p.productValues[pr.ID] = pr.ID
	}
	p.userPlaceholder = singlePlaceholder(p.User)
	if field, ok := cutHeaderPlaceholder(p.userPlaceholder); ok {
		p.userHeader = field
	}
	if err := p.provisionIdentity(ctx.GetMetricsRegistry()); err != nil {
		return err
	}

	client, err := loadRedis(p.resolved.redisURL)
	if err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	p.redisKey = p.resolved.redisURL
	st := p.newStore(client)
	reader, changed := p.entitlementReader(client, st)
	parts := p.buildParts(st, changed)
	console, err := p.provisionConsole(st)
	if err != nil {
		return err
	}

	pageSet, err := pages.Load(p.Templates)
	if err != nil {
		return fmt.Errorf("paywall: templates: %v", err)
	}
	if p.resolved.apiURL != "" {
		// Another Stripe (the stand-in) hosts its checkout page on its own
		// origin; the pay form's redirect must be allowed to go there.
		if pageSet, err = pageSet.WithFormAction(p.resolved.apiURL); err != nil {
			return fmt.Errorf("paywall: stripe_api_url: %v", err)
		}
	}
	verifier, err := p.crawlerVerifier()
	if err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	p.gateway, err = gateway.New(gateway.Config{
		BasePath:          p.BasePath,
		Products:          p.Products,
		WebhookSecrets:    p.resolved.webhookSecrets,
		SessionSecret:     p.resolved.sessionSecret,
		AllowOnStoreError: p.OnStoreError == "allow",
		AutomaticTax:      p.AutomaticTax,
		TaxIDCollection:   p.TaxIDCollection,
		StandIn:           stripeapi.IsStandIn(p.resolved.apiURL),
		Shadow:            p.Shadow,
		HeaderIdentity:    p.headerIdentity,
		LoginURL:          p.LoginURL,
	}, gateway.Deps{
		Identity: gateIdentity{p},
		Store:    parts.store, Reader: reader,
		API: parts.api, Applier: parts.applier, Pages: pageSet, Log: p.logger,
		Meter: p.freeViewMeter(client), Crawlers: verifier,
		OnWebhook: p.webhookDone, Console: console, Tally: p.tally,
	})
	if err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	return nil
}

// webhookDone counts what a webhook delivery did: in the metrics, and in
// the console's counters when there is a console.
func (p *Paywall) webhookDone(r gateway.WebhookResult) {
	p.metrics.webhook(r)
	if p.tally != nil {
		p.tally.Webhook(r.Type, r.Outcome)
	}
}

// resolveSecrets resolves the placeholders ({env.*}, {file.*}) in the
// secrets and URLs once, at provision time.
func (p *Paywall) resolveSecrets() error {
	repl := caddy.NewReplacer()
	r := resolvedSecrets{
		stripeKey:     repl.ReplaceAll(p.StripeSecretKey, ""),
		sessionSecret: repl.ReplaceAll(p.SessionSecret, ""),
		redisURL:      repl.ReplaceAll(p.Redis, ""),
		apiURL:        repl.ReplaceAll(p.StripeAPIURL, ""),
	}
	for _, s := range p.StripeWebhookSecrets {
		if s = repl.ReplaceAll(s, ""); s != "" {
			r.webhookSecrets = append(r.webhookSecrets, s)
		}
	}
	p.resolved = r
	return p.validateResolved()
}

// parts are what both the handler and the CLI commands work with.
type parts struct {
	store   *store.Store
	api     *client.API
	applier *events.Applier
}

// newStore is the paywall's store on rc, from a resolved config.
func (p *Paywall) newStore(rc redis.UniversalClient) *store.Store {
	st := store.New(rc, p.KeyPrefix)
	st.SetMinReplicas(p.RedisMinReplicas)
	return st
}

// buildParts builds the Stripe client and the event applier on st from a
// resolved config; changed, when set, is told of every user a change
// touched (the entitlement cache). It contacts neither Redis nor Stripe.
func (p *Paywall) buildParts(st *store.Store, changed func(user string)) parts {
	api := stripeapi.New(p.resolved.stripeKey, p.resolved.apiURL)
	return parts{store: st, api: api, applier: &events.Applier{
		Store:    st,
		API:      api,
		Products: p.Products,
		Policies: events.Policies{
			RefundAny:    p.RefundPolicy == "any",
			DisputeKeep:  p.DisputePolicy == "keep",
			PastDueGrace: time.Duration(p.PastDueGrace),
		},
		LiveMode: stripeapi.LiveMode(p.resolved.stripeKey),
		Log:      p.logger,
		Changed:  changed,
	}}
}

// entitlementReader is what the gate reads entitlements through: the
// cache (following the store's changes) unless it is off, timed for the
// store latency histogram. changed drops a user from the cache at once
// (nil without a cache): this gateway's own changes need not wait for
// pub/sub.
func (p *Paywall) entitlementReader(rc redis.UniversalClient, st *store.Store) (reader gateway.Entitlements, changed func(user string)) {
	timed := timedReader{inner: st, hist: p.metrics.store}
	cc := p.EntitlementCache
	if cc != nil && cc.Off {
		return timed, nil
	}
	if cc == nil {
		cc = &CacheConfig{}
	}
	c := cache.New(timed, cache.Options{
		Size: cc.Size, TTL: time.Duration(cc.TTL), NegativeTTL: time.Duration(cc.NegativeTTL),
		OnHit: p.metrics.cacheHit, OnMiss: p.metrics.cacheMiss,
	})
	ctx, cancel := context.WithCancel(context.Background())
	p.stopFollow = cancel
	go c.Follow(ctx, rc, st.ChangesChannel())
	return c, c.Invalidate
}

// Cleanup releases the shared Redis client; it works after a Provision
// that failed half-way.
func (p *Paywall) Cleanup() error {
	if p.whoami != nil {
		p.whoami.Close()
	}
	p.stopConsole()
	if p.stopFollow != nil {
		p.stopFollow()
		p.stopFollow = nil
	}
	if p.redisKey != "" {
		_, err := redisClients.Delete(p.redisKey)
		p.redisKey = ""
		return err
	}
	return nil
}

// singlePlaceholder returns "x" for "{x}", so the hot path can ask the
// replacer for one value instead of scanning a template.
func singlePlaceholder(s string) string {
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && !strings.ContainsAny(s[1:len(s)-1], "{}") {
		return s[1 : len(s)-1]
	}
	return ""
}

// cutHeaderPlaceholder returns the canonical header name of a request
// header placeholder ("http.request.header.x-user": "X-User").
func cutHeaderPlaceholder(name string) (string, bool) {
	field, ok := strings.CutPrefix(name, "http.request.header.")
	if !ok || field == "" {
		return "", false
	}
	return textproto.CanonicalMIMEHeaderKey(field), true
}
