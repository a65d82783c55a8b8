package caddymodule

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

// validConfig is a raw JSON config that passes Validate, for each case to
// break in one place.
func validConfig() *Paywall {
	return &Paywall{
		StripeSecretKey:      "sk_test_123",
		StripeWebhookSecrets: []string{"whsec_new", "whsec_old"},
		SessionSecret:        "0123456789abcdef0123456789abcdef",
		Products: catalog.Catalog{
			{ID: "pro", Price: "price_pro", Paths: []string{"/premium/*"}},
			{ID: "club", Price: "price_club", Mode: "subscription", Paths: []string{"/club/*"}},
		},
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p *Paywall)
		want   string // "" when the config is valid
	}{
		{"valid", func(p *Paywall) {}, ""},
		{"valid after defaults", func(p *Paywall) { p.applyDefaults() }, ""},
		{"placeholders are not checked", func(p *Paywall) {
			p.StripeSecretKey = "{env.STRIPE_SECRET_KEY}"
			p.StripeWebhookSecrets = []string{"{env.WHSEC}"}
			p.SessionSecret = "{env.SESSION_SECRET}"
			p.StripeAPIURL = "{env.STRIPE_URL}"
		}, ""},
		{"every option", func(p *Paywall) {
			p.StripeSecretKey = "rk_live_123"
			p.StripeAPIURL = "http://127.0.0.1:12111"
			p.Redis = "redis-cluster://10.0.0.1:7000"
			p.KeyPrefix = "{shop}:"
			p.User = "{http.request.header.X-User}"
			p.LoginURL = "/login?next={http.paywall.return_to}"
			p.BasePath = "/_billing"
			p.OnStoreError = "allow"
			p.RefundPolicy = "any"
			p.DisputePolicy = "keep"
			p.PastDueGrace = caddy.Duration(72 * time.Hour)
			p.Shadow = true
			p.Templates = "/etc/caddy/pages"
			p.Products[0].Mode = "payment"
			p.Products[0].AccessFor = catalog.Duration(24 * time.Hour)
			p.Products[0].Except = []string{"/premium/free/*", "*.txt"}
			p.Products[0].AllowPromotionCodes = true
		}, ""},
		{"no products", func(p *Paywall) { p.Products = nil }, ""},
		{"one-time products may share a price", func(p *Paywall) {
			p.Products[1].Mode = "payment"
			p.Products[1].Price = "price_pro"
		}, ""},

		// required
		{"nothing", func(p *Paywall) { *p = Paywall{} },
			`paywall: stripe_secret_key, stripe_webhook_secrets and session_secret are required`},
		{"no secret key", func(p *Paywall) { p.StripeSecretKey = "" },
			`paywall: stripe_secret_key is required`},
		{"no webhook secrets", func(p *Paywall) { p.StripeWebhookSecrets = []string{} },
			`paywall: stripe_webhook_secrets is required`},
		{"empty webhook secret", func(p *Paywall) { p.StripeWebhookSecrets = []string{"whsec_1", ""} },
			`paywall: stripe_webhook_secrets[1] is empty`},
		{"no session secret", func(p *Paywall) { p.SessionSecret = "" },
			`paywall: session_secret is required`},

		// forms
		{"publishable key", func(p *Paywall) { p.StripeSecretKey = "pk_test_123" },
			`paywall: stripe_secret_key: a publishable key (pk_...) cannot call the API: use a secret key (sk_...) or a restricted key (rk_...)`},
		{"not a key", func(p *Paywall) { p.StripeSecretKey = "hunter2" },
			`paywall: stripe_secret_key: not a Stripe secret key (want sk_test_..., sk_live_... or a restricted rk_... key)`},
		{"not a webhook secret", func(p *Paywall) { p.StripeWebhookSecrets[1] = "secret" },
			`paywall: stripe_webhook_secrets[1]: not a webhook signing secret (want whsec_...)`},
		{"short session secret", func(p *Paywall) { p.SessionSecret = "0123456789abcdef0123456789abcde" },
			`paywall: session_secret: must be at least 32 characters (got 31)`},
		{"stripe_api_url scheme", func(p *Paywall) { p.StripeAPIURL = "ftp://stripe.internal" },
			`paywall: stripe_api_url: want an http:// or https:// URL, got "ftp://stripe.internal"`},
		{"stripe_api_url without host", func(p *Paywall) { p.StripeAPIURL = "http:///v1" },
			`paywall: stripe_api_url: want an http:// or https:// URL, got "http:///v1"`},
		{"stripe_api_url unparsable", func(p *Paywall) { p.StripeAPIURL = "http://[::1" },
			`paywall: stripe_api_url: want an http:// or https:// URL, got "http://[::1"`},
		{"base_path relative", func(p *Paywall) { p.BasePath = "paywall" },
			`paywall: base_path: "paywall" must start with "/"`},
		{"base_path trailing slash", func(p *Paywall) { p.BasePath = "/paywall/" },
			`paywall: base_path: "/paywall/" must not end with "/"`},
		{"on_store_error", func(p *Paywall) { p.OnStoreError = "Deny" },
			`paywall: on_store_error: unknown value "Deny" (want deny or allow)`},
		{"refund_policy", func(p *Paywall) { p.RefundPolicy = "partial" },
			`paywall: refund_policy: unknown value "partial" (want full or any)`},
		{"dispute_policy", func(p *Paywall) { p.DisputePolicy = "ignore" },
			`paywall: dispute_policy: unknown value "ignore" (want revoke or keep)`},
		{"negative redis_min_replicas", func(p *Paywall) { p.RedisMinReplicas = -2 },
			`paywall: redis_min_replicas: -2 is negative (want 0 or more replicas)`},
		{"negative past_due_grace", func(p *Paywall) { p.PastDueGrace = caddy.Duration(-time.Hour) },
			`paywall: past_due_grace must not be negative`},

		// products
		{"product without id", func(p *Paywall) { p.Products[1].ID = "" },
			`paywall: products[1]: id is required`},
		{"invalid product id", func(p *Paywall) { p.Products[1].ID = "club/plus" },
			`paywall: products[1]: invalid id "club/plus" (use only letters, digits, "-" and "_")`},
		{"duplicate product id", func(p *Paywall) { p.Products[1].ID = "pro" },
			`paywall: product "pro" is defined twice`},
		{"product without price", func(p *Paywall) { p.Products[0].Price = "" },
			`paywall: product "pro": price is required`},
		{"product without paths", func(p *Paywall) { p.Products[0].Paths = nil },
			`paywall: product "pro": paths is required`},
		{"product without anything", func(p *Paywall) { p.Products[0] = catalog.Product{ID: "pro"} },
			`paywall: product "pro": price and paths are required`},
		{"unknown mode", func(p *Paywall) { p.Products[0].Mode = "one-time" },
			`paywall: product "pro": mode: unknown value "one-time" (want payment or subscription)`},
		{"negative access_for", func(p *Paywall) { p.Products[0].AccessFor = catalog.Duration(-time.Hour) },
			`paywall: product "pro": access_for must not be negative`},
		{"access_for on a subscription", func(p *Paywall) { p.Products[1].AccessFor = catalog.Duration(time.Hour) },
			`paywall: product "club": access_for applies to mode payment only: a subscription's access follows its billing period`},
		{"path pattern", func(p *Paywall) { p.Products[0].Paths = []string{"/premium/*", "premium/*"} },
			`paywall: product "pro": paths[1]: path pattern "premium/*": must start with "/" or "*"`},
		{"empty path pattern", func(p *Paywall) { p.Products[0].Paths = []string{""} },
			`paywall: product "pro": paths[0]: path pattern "": empty`},
		{"except pattern", func(p *Paywall) { p.Products[0].Except = []string{"free"} },
			`paywall: product "pro": except[0]: path pattern "free": must start with "/" or "*"`},
		{"several prices, a trial, tax", func(p *Paywall) {
			p.Products[1].Prices = []string{"price_club_yearly"}
			p.Products[1].Trial = catalog.Duration(14 * 24 * time.Hour)
			p.Products[1].Description = "The club's pages"
			p.AutomaticTax, p.TaxIDCollection = true, true
		}, ""},
		{"prices without price", func(p *Paywall) {
			p.Products[1].Price, p.Products[1].Prices = "", []string{"price_m", "price_y"}
		}, ""},
		{"price listed twice", func(p *Paywall) { p.Products[1].Prices = []string{"price_y", "price_club"} },
			`paywall: product "club": price: "price_club" is listed twice`},
		{"empty price in prices", func(p *Paywall) { p.Products[1].Prices = []string{""} },
			`paywall: product "club": prices[0]: invalid price id "" (want a Stripe Price id such as price_1Nabc)`},
		{"trial on a payment", func(p *Paywall) { p.Products[0].Trial = catalog.Duration(14 * 24 * time.Hour) },
			`paywall: product "pro": trial applies to mode subscription only: a one-time payment has no period to start later`},
		{"trial in part days", func(p *Paywall) { p.Products[1].Trial = catalog.Duration(36 * time.Hour) },
			`paywall: product "club": trial: 36h0m0s is not a whole number of days (Checkout counts trials in days: write 14d or 336h)`},
		{"trial too long", func(p *Paywall) { p.Products[1].Trial = catalog.Duration(731 * 24 * time.Hour) },
			`paywall: product "club": trial: 17544h0m0s is 731 days: Stripe's longest trial is 730 days`},
		{"negative trial", func(p *Paywall) { p.Products[1].Trial = catalog.Duration(-24 * time.Hour) },
			`paywall: product "club": trial: -24h0m0s is too short: Stripe's shortest trial is 1 day`},
		{"subscriptions sharing one of their prices", func(p *Paywall) {
			p.Products = append(p.Products, catalog.Product{ID: "club-2", Prices: []string{"price_other", "price_club"}, Mode: "subscription", Paths: []string{"/club2/*"}})
		}, `paywall: products "club" and "club-2" are subscriptions with the same price "price_club": their subscriptions could not be told apart`},
		{"subscriptions sharing a price", func(p *Paywall) {
			p.Products = append(p.Products, catalog.Product{ID: "club-2", Price: "price_club", Mode: "subscription", Paths: []string{"/club2/*"}})
		}, `paywall: products "club" and "club-2" are subscriptions with the same price "price_club": their subscriptions could not be told apart`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validConfig()
			tc.change(p)
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("no error, want %q", tc.want)
			case tc.want != "" && err.Error() != tc.want:
				t.Errorf("wrong error\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}
}

func TestValidateApplyDefaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in, want Paywall
	}{
		{
			name: "empty options get their defaults",
			in:   Paywall{Products: catalog.Catalog{{ID: "a"}, {ID: "b", Mode: "subscription"}}},
			want: Paywall{
				User:          "{http.auth.user.id}",
				BasePath:      "/paywall",
				Redis:         "redis://127.0.0.1:6379/0",
				KeyPrefix:     "{paywall}:",
				OnStoreError:  "deny",
				RefundPolicy:  "full",
				DisputePolicy: "revoke",
				Products:      catalog.Catalog{{ID: "a", Mode: "payment"}, {ID: "b", Mode: "subscription"}},
			},
		},
		{
			name: "set options are kept",
			in: Paywall{
				User: "{http.request.header.X-User}", BasePath: "/_pay", Redis: "rediss://r:6380/1",
				KeyPrefix: "{shop}:", OnStoreError: "allow", RefundPolicy: "any", DisputePolicy: "keep",
				StripeAPIURL: "http://127.0.0.1:12111",
			},
			want: Paywall{
				User: "{http.request.header.X-User}", BasePath: "/_pay", Redis: "rediss://r:6380/1",
				KeyPrefix: "{shop}:", OnStoreError: "allow", RefundPolicy: "any", DisputePolicy: "keep",
				StripeAPIURL: "http://127.0.0.1:12111",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.applyDefaults()
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(tc.want, "", "  ")
				t.Errorf("got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// The Caddyfile and Validate agree: what the Caddyfile accepts passes
// Validate, before and after the defaults.
func TestCaddyfileConfigsValidate(t *testing.T) {
	for _, tc := range goodCaddyfiles {
		t.Run(tc.name, func(t *testing.T) {
			p := new(Paywall)
			if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("as parsed: %v", err)
			}
			p.applyDefaults()
			if err := p.Validate(); err != nil {
				t.Errorf("with defaults: %v", err)
			}
		})
	}
}
