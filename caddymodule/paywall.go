// Package caddymodule registers the paywall handler with Caddy: the
// `paywall` Caddyfile directive, its JSON config, provisioning, ServeHTTP and
// the `caddy paywall` commands. The logic lives in internal/, free of Caddy.
package caddymodule

import (
	"context"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
	"github.com/caddy-paywall/caddy-paywall/internal/whoami"
)

func init() {
	caddy.RegisterModule(Paywall{})
}

// Paywall gates paths of a site behind a Stripe payment. A logged-in visitor
// (see User) who asks for a gated path without a live entitlement is sent to
// the pay page and on to Stripe Checkout; Stripe's signed webhook records the
// payment in Redis, and from then on the visitor's requests pass.
//
// Placeholders set on requests that pass a gate (and, with whoami, on every
// request whoami found a user for, which also sets {http.auth.user.id}
// when it is empty):
//
//	{http.paywall.user}      the paying user's id
//	{http.paywall.products}  the products the user holds among those gating the path, comma-separated
//
// Request headers set upstream on a pass: X-Paywall-User and
// X-Paywall-Products; on a free view X-Paywall-User and
// X-Paywall-Free-View ("N of M"); for a verified crawler X-Paywall-Crawler.
//
// and, while the login redirect is built, {http.paywall.return_to}: the
// request's path and query, query-escaped.
type Paywall struct {
	// The Stripe secret (or restricted) key: sk_test_…, sk_live_…, rk_….
	// Required. Its mode (test or live) decides which webhook events count:
	// an event whose livemode differs is acknowledged and ignored.
	StripeSecretKey string `json:"stripe_secret_key,omitempty"`

	// Webhook signing secrets (whsec_…). At least one is required; list
	// several while rotating: an event signed with any of them is accepted.
	StripeWebhookSecrets []string `json:"stripe_webhook_secrets,omitempty"`

	// Base URL of the Stripe API. Default: https://api.stripe.com. Set it to
	// stripe-mock or the offline stand-in for tests and demos.
	StripeAPIURL string `json:"stripe_api_url,omitempty"`

	// Redis URL: redis://[user:pass@]host:port/db, rediss:// for TLS, or
	// redis-sentinel:// and redis-cluster:// forms (see the README).
	// Default: redis://127.0.0.1:6379/0.
	Redis string `json:"redis,omitempty"`

	// How many Redis replicas must hold each change before the paywall
	// reports it done: the webhook answers 2xx, the success page and
	// reconcile report a grant. Each change, including the event marker
	// that makes a redelivery a duplicate, is followed by Redis
	// `WAIT <n> 1000` on the master; fewer replicas within 1s answer the
	// webhook 503 (Stripe retries, and the retry waits again), the success
	// page "processing", reconcile an error. Pair it with the master's
	// min-replicas-to-write. Default: 0 (no wait: replication is
	// asynchronous, and a failover can lose a change acknowledged just
	// before it).
	RedisMinReplicas int `json:"redis_min_replicas,omitempty"`

	// Prefix of every Redis key the paywall writes. Keep one {hash tag} in
	// it so the atomic scripts also run on Redis Cluster. Default: {paywall}:
	KeyPrefix string `json:"key_prefix,omitempty"`

	// Secret that signs and encrypts the paywall's session cookie (at least
	// 32 characters). Required.
	SessionSecret string `json:"session_secret,omitempty"`

	// Who the visitor is: a placeholder set by a Caddy authentication
	// module that runs before the paywall. An empty value means not logged
	// in. A placeholder that reads the request ({http.request.header.X-User})
	// is only as safe as the layer that sets it; the paywall's own pages
	// then take the user only from the paywall's cookie. Cannot be set
	// together with whoami. Default: {http.auth.user.id}.
	User string `json:"user,omitempty"`

	// Ask the site itself who is signed in, with the visitor's login
	// cookie, instead of reading User (see WhoamiConfig). Default: off.
	Whoami *WhoamiConfig `json:"whoami,omitempty"`

	// Where a visitor who is not logged in is sent (302). The placeholder
	// {http.paywall.return_to} is the requested path and query,
	// query-escaped. Never gated. Without it, browsers get 401 like machines.
	LoginURL string `json:"login_url,omitempty"`

	// Path under which the paywall serves its endpoints (pay, checkout,
	// success, status, cancel, portal, webhook, healthz). Never gated.
	// Default: /paywall.
	BasePath string `json:"base_path,omitempty"`

	// The products for sale, each with the paths it gates.
	Products catalog.Catalog `json:"products,omitempty"`

	// What gated requests get when Redis cannot be reached: "deny" answers
	// 503, "allow" lets them pass. Ungated paths never touch Redis.
	// Default: deny.
	OnStoreError string `json:"on_store_error,omitempty"`

	// Which refunds close access: "full" (only a charge refunded in full)
	// or "any" (a partial refund too). Default: full.
	RefundPolicy string `json:"refund_policy,omitempty"`

	// What a dispute (chargeback) does: "revoke" closes access until the
	// dispute is won, "keep" leaves it open. Default: revoke.
	DisputePolicy string `json:"dispute_policy,omitempty"`

	// How long a past_due subscription keeps access after its period ends,
	// as a Go duration. Default: 0 (past_due closes access).
	PastDueGrace caddy.Duration `json:"past_due_grace,omitempty"`

	// When true, requests are decided, logged and counted as usual but all
	// pass: for trying the paywall on live traffic. Default: false.
	Shadow bool `json:"shadow,omitempty"`

	// The in-process entitlement cache in front of Redis. Invalidated
	// through Redis pub/sub on every grant and revoke by any gateway, and
	// flushed and bypassed while that subscription is down. Default: on,
	// 100000 users, ttl 30s, negative_ttl 5s.
	EntitlementCache *CacheConfig `json:"entitlement_cache,omitempty"`

	// Verified search crawlers that may read gated pages. Default: none.
	Crawlers *Crawlers `json:"crawlers,omitempty"`

	// Stripe Tax on Checkout: tax is calculated from the billing address,
	// which Checkout then always collects. Needs Stripe Tax set up on the
	// account (`caddy paywall doctor` tells). Default: false.
	AutomaticTax bool `json:"automatic_tax,omitempty"`

	// Let business customers enter a VAT or other tax id on Checkout; it
	// is shown on their invoices and receipts. Default: false.
	TaxIDCollection bool `json:"tax_id_collection,omitempty"`

	// Directory of html/template files that replace the built-in pages
	// (pay.html, processing.html, cancel.html, success.html, error.html and
	// optionally layout.html; see the README).
	// Default: the built-in pages.
	Templates string `json:"templates,omitempty"`

	// The site owner's console at base_path/console. Default: off.
	Console *ConsoleConfig `json:"console,omitempty"`

	gateway         *gateway.Gateway
	resolved        resolvedSecrets
	userPlaceholder string         // "x" when User is exactly "{x}"
	userHeader      string         // "X-User" when User is exactly "{http.request.header.X-User}", canonical
	productValues   map[string]any // each product ID as the {http.paywall.products} value, boxed once
	redisKey        string         // this instance's key in redisClients
	logger          *zap.Logger
	metrics         *metrics
	stopFollow      context.CancelFunc // ends the cache's subscription
	whoami          *whoami.Resolver   // set when Whoami is
	headerIdentity  bool               // User reads the request: endpoints trust only the paywall's cookie
	identity        *identityMetrics
	tally           *tally.Tally // the console's counters; nil without a console
}

// resolvedSecrets are the secrets with their placeholders resolved.
type resolvedSecrets struct {
	stripeKey      string
	webhookSecrets []string
	sessionSecret  string
	redisURL       string
	apiURL         string
}

// CacheConfig sizes the entitlement cache.
type CacheConfig struct {
	// Turns the cache off: every gated request reads Redis.
	Off bool `json:"off,omitempty"`
	// The most users kept. Default: 100000.
	Size int `json:"size,omitempty"`
	// How long an entry with a live grant is kept at most, should an
	// invalidation be lost. Default: 30s.
	TTL caddy.Duration `json:"ttl,omitempty"`
	// How long an entry with no live grant is kept. Default: 5s.
	NegativeTTL caddy.Duration `json:"negative_ttl,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Paywall) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.paywall",
		New: func() caddy.Module { return new(Paywall) },
	}
}
