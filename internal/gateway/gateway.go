// Package gateway is the paywall's HTTP side, free of Caddy: the decision
// for a gated request and the endpoints under base_path (pay, checkout,
// success, status, cancel, portal, webhook, healthz). caddymodule wires it into a
// Caddy handler.
package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/stripe/stripe-go/v76/client"
	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/crawlers"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/meter"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
)

// Config is what the operator chose.
type Config struct {
	BasePath       string
	Products       catalog.Catalog
	WebhookSecrets []string
	SessionSecret  string
	// AllowOnStoreError lets gated requests pass when Redis fails
	// (on_store_error allow); otherwise they get 503.
	AllowOnStoreError bool
	// AutomaticTax turns on Stripe Tax on Checkout (automatic_tax on).
	AutomaticTax bool
	// TaxIDCollection lets customers enter a tax id (tax_id_collection on).
	TaxIDCollection bool
	// StandIn: the Stripe API is a stand-in (stripe_api_url), so the
	// pages do not claim Stripe.
	StandIn bool
	// Shadow: requests are decided as usual but all go on (shadow on).
	Shadow bool
	// LoginURL is login_url as written (placeholders unresolved): its
	// path, on this site, is never gated.
	LoginURL string
	// HeaderIdentity: the user comes from a request header, which a
	// client can send wherever the layer setting it does not run; the
	// pages then trust only the paywall's cookie (see PassOn).
	HeaderIdentity bool
}

// Entitlements reads a user's grants: the store, or a cache in front of it.
type Entitlements interface {
	Entitlements(ctx context.Context, user string) (store.Entitlements, error)
}

// Gateway decides gated requests and serves the paywall's endpoints.
type Gateway struct {
	cfg   Config
	gates paths.Gates // each product's paths, compiled
	// loginPath is the login page's path, never gated ("" for none, or
	// one on another site).
	loginPath string
	identity  Identity
	store     *store.Store
	reader    Entitlements
	api       *client.API
	applier   *events.Applier
	sessions  *cookieSessions
	pages     *pages.Set
	prices    *priceCache
	// checkouts limits Checkout Session creation per user.
	checkouts *userLimiter
	// webhookReadTimeout bounds reading a webhook's body.
	webhookReadTimeout time.Duration
	log                *zap.Logger
	now                func() time.Time
	meter              *meter.Meter
	freeViews          map[string]meter.Limit // the products' free views, by product id
	crawlers           *crawlers.Verifier
	onWebhook          func(WebhookResult)
	console            Console
	tally              *tally.Tally
}

// Deps are the parts a Gateway works with.
type Deps struct {
	Store *store.Store
	// Reader reads entitlements on the hot path; nil means Store.
	Reader  Entitlements
	API     *client.API
	Applier *events.Applier
	Pages   *pages.Set
	Log     *zap.Logger
	Now     func() time.Time
	// Meter counts free views; nil when no product has any.
	Meter *meter.Meter
	// Crawlers verifies search crawlers; nil lets none in.
	Crawlers *crawlers.Verifier
	// Identity tells Check who is signed in; nil: nobody ever is.
	Identity Identity
	// OnWebhook, when set, is told what each webhook delivery did
	// (metrics, the console's counters).
	OnWebhook func(WebhookResult)
	// Console, when set, serves base_path/console (see console.go).
	Console Console
	// Tally, when set, counts pay pages shown and checkouts started.
	Tally *tally.Tally
}

// New builds a Gateway. It does not contact Redis or Stripe.
func New(cfg Config, d Deps) (*Gateway, error) {
	if d.Store == nil || d.API == nil || d.Applier == nil {
		return nil, errors.New("gateway: store, stripe client and applier are required")
	}
	sess, err := newSessions(cfg.SessionSecret)
	if err != nil {
		return nil, err
	}
	gates, err := compileGates(cfg.Products)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: cfg, gates: gates, loginPath: loginPath(cfg.LoginURL), identity: d.Identity, store: d.Store, reader: d.Reader, api: d.API, applier: d.Applier,
		sessions: sess, pages: d.Pages, log: d.Log, now: d.Now,
		meter: d.Meter, freeViews: freeViewLimits(cfg.Products), crawlers: d.Crawlers,
		onWebhook: d.OnWebhook, console: d.Console, tally: d.Tally,
	}
	if g.reader == nil {
		g.reader = d.Store
	}
	if g.identity == nil {
		g.identity = nobody{}
	}
	if g.pages == nil {
		g.pages = pages.Builtin()
	}
	if g.log == nil {
		g.log = zap.NewNop()
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.prices = newPriceCache(d.API, g.now)
	g.checkouts = newUserLimiter(checkoutBurst, checkoutInterval, checkoutUsers)
	g.webhookReadTimeout = webhookReadTimeout
	return g, nil
}

// freeViewLimits are the products' free views, by product id; nil when
// none has any.
func freeViewLimits(products catalog.Catalog) map[string]meter.Limit {
	var out map[string]meter.Limit
	for _, p := range products {
		if p.FreeViews == nil {
			continue
		}
		if out == nil {
			out = map[string]meter.Limit{}
		}
		out[p.ID] = meter.Limit{Views: p.FreeViews.Views, Per: p.FreeViews.Per.Std()}
	}
	return out
}

// invalidate drops a user from the entitlement cache at once, when there
// is one; other gateways learn of the change through the store's pub/sub.
func (g *Gateway) invalidate(user string) {
	if c, ok := g.reader.(interface{ Invalidate(string) }); ok {
		c.Invalidate(user)
	}
}
