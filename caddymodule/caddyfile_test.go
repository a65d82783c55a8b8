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

// designExample is the paywall block of DESIGN.md's Caddyfile, verbatim.
const designExample = `paywall {
	stripe_secret_key     {env.STRIPE_SECRET_KEY}
	stripe_webhook_secret {env.STRIPE_WEBHOOK_SECRET}  # repeatable: key rotation
	stripe_api_url        http://127.0.0.1:12111       # optional; tests and stripe-mock
	redis                 redis://127.0.0.1:6379/0     # URL; sentinel/cluster forms too
	session_secret        {env.PAYWALL_SESSION_SECRET}
	user                  {http.auth.user.id}          # the default
	login_url             /accounts/login/?next={http.paywall.return_to}
	base_path             /paywall                     # the default

	product pro {
		name   "Pro articles"
		price  price_1Nabc                # a Stripe Price ID
		mode   payment                    # payment (one-time) | subscription
		access_for 720h                   # optional: a time pass for one-time payments
		paths  /premium/* /downloads/*    # Caddy path-matcher patterns
	}
	product course {
		price price_1Nxyz
		mode  subscription
		paths /course/*
	}

	on_store_error deny    # deny (503, the default) | allow
	shadow off             # on: log what would be blocked, block nothing
}`

// goodCaddyfiles parse, and what they parse to passes Validate.
var goodCaddyfiles = []struct {
	name  string
	input string
	want  Paywall
}{
	{
		name:  "design example",
		input: designExample,
		want: Paywall{
			StripeSecretKey:      "{env.STRIPE_SECRET_KEY}",
			StripeWebhookSecrets: []string{"{env.STRIPE_WEBHOOK_SECRET}"},
			StripeAPIURL:         "http://127.0.0.1:12111",
			Redis:                "redis://127.0.0.1:6379/0",
			SessionSecret:        "{env.PAYWALL_SESSION_SECRET}",
			User:                 "{http.auth.user.id}",
			LoginURL:             "/accounts/login/?next={http.paywall.return_to}",
			BasePath:             "/paywall",
			Products: catalog.Catalog{
				{
					ID:        "pro",
					Name:      "Pro articles",
					Price:     "price_1Nabc",
					Mode:      "payment",
					AccessFor: catalog.Duration(720 * time.Hour),
					Paths:     []string{"/premium/*", "/downloads/*"},
				},
				{ID: "course", Price: "price_1Nxyz", Mode: "subscription", Paths: []string{"/course/*"}},
			},
			OnStoreError: "deny",
		},
	},
	{
		name: "minimal",
		input: `paywall {
				stripe_secret_key     sk_test_123
				stripe_webhook_secret whsec_123
				session_secret        0123456789abcdef0123456789abcdef
			}`,
		want: Paywall{
			StripeSecretKey:      "sk_test_123",
			StripeWebhookSecrets: []string{"whsec_123"},
			SessionSecret:        "0123456789abcdef0123456789abcdef",
		},
	},
	{
		name: "every option",
		input: `paywall {
				stripe_secret_key     rk_live_abc
				stripe_webhook_secret whsec_new whsec_old
				stripe_webhook_secret whsec_older
				stripe_api_url        https://stripe.internal:8443/
				redis                 redis-sentinel://10.0.0.1:26379/0?master_name=main
				redis_min_replicas    2
				key_prefix            {shop}:
				session_secret        "a secret with spaces, 32+ bytes long"
				user                  {http.request.header.X-User}
				login_url             https://id.example.com/login?next={http.paywall.return_to}
				base_path             /_billing
				on_store_error        allow
				shadow
				templates             /etc/caddy/paywall-pages
				refund_policy         any
				dispute_policy        keep
				past_due_grace        3d
				product day-pass {
					name       "Day pass"
					price      price_day
					mode       payment
					access_for 24h
					paths      /premium/*
					paths      *.pdf
					except     /premium/free/* /premium/index.html
					allow_promotion_codes
				}
				product club_2 {
					price  price_club
					mode   subscription
					paths  /club/*
					allow_promotion_codes off
				}
			}`,
		want: Paywall{
			StripeSecretKey:      "rk_live_abc",
			StripeWebhookSecrets: []string{"whsec_new", "whsec_old", "whsec_older"},
			StripeAPIURL:         "https://stripe.internal:8443/",
			Redis:                "redis-sentinel://10.0.0.1:26379/0?master_name=main",
			RedisMinReplicas:     2,
			KeyPrefix:            "{shop}:",
			SessionSecret:        "a secret with spaces, 32+ bytes long",
			User:                 "{http.request.header.X-User}",
			LoginURL:             "https://id.example.com/login?next={http.paywall.return_to}",
			BasePath:             "/_billing",
			OnStoreError:         "allow",
			Shadow:               true,
			Templates:            "/etc/caddy/paywall-pages",
			RefundPolicy:         "any",
			DisputePolicy:        "keep",
			PastDueGrace:         caddy.Duration(72 * time.Hour),
			Products: catalog.Catalog{
				{
					ID:                  "day-pass",
					Name:                "Day pass",
					Price:               "price_day",
					Mode:                "payment",
					AccessFor:           catalog.Duration(24 * time.Hour),
					Paths:               []string{"/premium/*", "*.pdf"},
					Except:              []string{"/premium/free/*", "/premium/index.html"},
					AllowPromotionCodes: true,
				},
				{ID: "club_2", Price: "price_club", Mode: "subscription", Paths: []string{"/club/*"}},
			},
		},
	},
	{
		name: "flags spelt out",
		input: `paywall {
				stripe_secret_key     {env.KEY}
				stripe_webhook_secret {env.WHSEC}
				session_secret        {env.SECRET}
				shadow on
				product p {
					price price_p
					paths /p
					allow_promotion_codes on
				}
			}`,
		want: Paywall{
			StripeSecretKey:      "{env.KEY}",
			StripeWebhookSecrets: []string{"{env.WHSEC}"},
			SessionSecret:        "{env.SECRET}",
			Shadow:               true,
			Products:             catalog.Catalog{{ID: "p", Price: "price_p", Paths: []string{"/p"}, AllowPromotionCodes: true}},
		},
	},
	{
		// The form's checks skip values resolved at load time.
		name: "placeholders inside values",
		input: `paywall {
				stripe_secret_key     sk_{env.MODE}_key
				stripe_webhook_secret {env.WHSEC_A} {env.WHSEC_B}
				session_secret        short{env.PEPPER}
				stripe_api_url        {env.STRIPE_URL}
			}`,
		want: Paywall{
			StripeSecretKey:      "sk_{env.MODE}_key",
			StripeWebhookSecrets: []string{"{env.WHSEC_A}", "{env.WHSEC_B}"},
			SessionSecret:        "short{env.PEPPER}",
			StripeAPIURL:         "{env.STRIPE_URL}",
		},
	},
	{
		// DESIGN.md "Selling": several prices, a trial, tax.
		name: "selling",
		input: `paywall {
				stripe_secret_key     sk_test_123
				stripe_webhook_secret whsec_123
				session_secret        0123456789abcdef0123456789abcdef
				product club {
					name       "Club"
					price      price_monthly price_yearly   # one or more Prices
					mode       subscription
					trial      14d                          # days free before the first charge
					paths      /club/*
				}
				product pro {
					description "Every article, for good"
					price       price_pro
					paths       /premium/*
				}
				automatic_tax     on
				tax_id_collection
			}`,
		want: Paywall{
			StripeSecretKey:      "sk_test_123",
			StripeWebhookSecrets: []string{"whsec_123"},
			SessionSecret:        "0123456789abcdef0123456789abcdef",
			Products: catalog.Catalog{
				{ID: "club", Name: "Club", Prices: []string{"price_monthly", "price_yearly"}, Mode: "subscription",
					Trial: catalog.Duration(14 * 24 * time.Hour), Paths: []string{"/club/*"}},
				{ID: "pro", Description: "Every article, for good", Price: "price_pro", Paths: []string{"/premium/*"}},
			},
			AutomaticTax:    true,
			TaxIDCollection: true,
		},
	},
}

func TestUnmarshalCaddyfile(t *testing.T) {
	for _, tc := range goodCaddyfiles {
		t.Run(tc.name, func(t *testing.T) {
			var got Paywall
			if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input)); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(tc.want, "", "  ")
				t.Errorf("got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	// Line 1 is `paywall {`; the required options are on lines 2 to 4, so
	// a problem on line 5 is the first one the parser meets.
	const head = "paywall {\n" +
		"\tstripe_secret_key     sk_test_123\n" +
		"\tstripe_webhook_secret whsec_123\n" +
		"\tsession_secret        0123456789abcdef0123456789abcdef\n"
	for _, tc := range []struct {
		name  string
		input string
		want  string
	}{
		// the directive
		{"argument", "paywall /premium/* {\n}",
			`paywall takes no arguments or matcher, got "/premium/*": each product's paths choose what is gated, at Testfile:1`},
		{"named matcher", "paywall @members {\n}",
			`paywall takes no arguments or matcher, got "@members": each product's paths choose what is gated, at Testfile:1`},

		// unknown options
		{"misspelt option", head + "\tstripe_webhook_secrets whsec_456\n}",
			`unrecognized paywall option "stripe_webhook_secrets" (did you mean "stripe_webhook_secret"?), at Testfile:5`},
		{"unknown option", head + "\tcolour blue\n}",
			`unrecognized paywall option "colour" (known: stripe_secret_key, stripe_webhook_secret, stripe_api_url, redis, redis_min_replicas, key_prefix, session_secret, user, whoami, login_url, base_path, on_store_error, shadow, templates, refund_policy, dispute_policy, past_due_grace, automatic_tax, tax_id_collection, crawlers, product, console), at Testfile:5`},
		{"misspelt product option", head + "\tproduct pro {\n\t\tprice price_1\n\t\tpath /premium/*\n\t}\n}",
			`product "pro": unrecognized option "path" (did you mean "paths"?), at Testfile:7`},
		{"unknown product option", head + "\tproduct pro {\n\t\tcurrency eur\n\t}\n}",
			`product "pro": unrecognized option "currency" (known: name, description, price, mode, trial, access_for, paths, except, allow_promotion_codes, free_views), at Testfile:6`},

		// argument counts
		{"missing value", head + "\tredis\n}",
			`redis: missing value, at Testfile:5`},
		{"missing secret", "paywall {\n\tstripe_secret_key\n}",
			`stripe_secret_key: missing value, at Testfile:2`},
		{"missing webhook secret", head + "\tstripe_webhook_secret\n}",
			`stripe_webhook_secret: missing value, at Testfile:5`},
		{"extra value, not echoed", "paywall {\n\tsession_secret correct horse battery staple but unquoted\n}",
			`session_secret: too many values (want 1, got 6), at Testfile:2`},
		{"extra value", head + "\tbase_path /a /b\n}",
			`base_path: too many values (want 1, got 2), at Testfile:5`},
		{"block after an option", head + "\tredis redis://localhost {\n\t}\n}",
			`redis: unexpected '{': this option takes no block, at Testfile:5`},
		{"set twice", head + "\tredis redis://a\n\tredis redis://b\n}",
			`redis: set twice (first at Testfile:5), at Testfile:6`},
		{"secret key set twice", head + "\tstripe_secret_key sk_test_456\n}",
			`stripe_secret_key: set twice (first at Testfile:2), at Testfile:5`},
		{"flag with two values", head + "\tshadow on off\n}",
			`shadow: too many values (want on or off, got 2 values), at Testfile:5`},

		// values
		{"on_store_error", head + "\ton_store_error block\n}",
			`on_store_error: unknown value "block" (want deny or allow), at Testfile:5`},
		{"refund_policy", head + "\trefund_policy partial\n}",
			`refund_policy: unknown value "partial" (want full or any), at Testfile:5`},
		{"dispute_policy", head + "\tdispute_policy ignore\n}",
			`dispute_policy: unknown value "ignore" (want revoke or keep), at Testfile:5`},
		{"shadow", head + "\tshadow yes\n}",
			`shadow: unknown value "yes" (want on or off), at Testfile:5`},
		{"bad duration", head + "\tpast_due_grace 3 days\n}",
			`past_due_grace: too many values (want 1, got 2), at Testfile:5`},
		{"bad duration unit", head + "\tpast_due_grace 3w\n}",
			`past_due_grace: invalid duration "3w" (want a number and a unit, such as 720h or 30d), at Testfile:5`},
		{"negative redis_min_replicas", head + "\tredis_min_replicas -1\n}",
			`redis_min_replicas: -1 is negative (want 0 or more replicas), at Testfile:5`},
		{"non-integer redis_min_replicas", head + "\tredis_min_replicas 1.5\n}",
			`redis_min_replicas: "1.5" is not a whole number of replicas (want 0 or more), at Testfile:5`},
		{"redis_min_replicas word", head + "\tredis_min_replicas one\n}",
			`redis_min_replicas: "one" is not a whole number of replicas (want 0 or more), at Testfile:5`},
		{"negative duration", head + "\tpast_due_grace -1h\n}",
			`past_due_grace: invalid duration "-1h": must not be negative, at Testfile:5`},
		{"publishable key", "paywall {\n\tstripe_secret_key pk_live_abc\n}",
			`stripe_secret_key: a publishable key (pk_...) cannot call the API: use a secret key (sk_...) or a restricted key (rk_...), at Testfile:2`},
		{"webhook secret as the key", "paywall {\n\tstripe_secret_key whsec_abc\n}",
			`stripe_secret_key: this is a webhook signing secret (whsec_...): it belongs in stripe_webhook_secret, at Testfile:2`},
		{"not a key", "paywall {\n\tstripe_secret_key hunter2\n}",
			`stripe_secret_key: not a Stripe secret key (want sk_test_..., sk_live_... or a restricted rk_... key), at Testfile:2`},
		{"key as the webhook secret", "paywall {\n\tstripe_webhook_secret whsec_ok sk_test_abc\n}",
			`stripe_webhook_secret: this is an API key: it belongs in stripe_secret_key; the webhook signing secret starts with whsec_, at Testfile:2`},
		{"not a webhook secret", "paywall {\n\tstripe_webhook_secret hunter2\n}",
			`stripe_webhook_secret: not a webhook signing secret (want whsec_...), at Testfile:2`},
		{"short session secret", "paywall {\n\tsession_secret hunter2\n}",
			`session_secret: must be at least 32 characters (got 7), at Testfile:2`},
		{"stripe_api_url", head + "\tstripe_api_url 127.0.0.1:12111\n}",
			`stripe_api_url: want an http:// or https:// URL, got "127.0.0.1:12111", at Testfile:5`},
		{"base_path relative", head + "\tbase_path paywall\n}",
			`base_path: "paywall" must start with "/", at Testfile:5`},
		{"base_path trailing slash", head + "\tbase_path /paywall/\n}",
			`base_path: "/paywall/" must not end with "/", at Testfile:5`},
		{"base_path root", head + "\tbase_path /\n}",
			`base_path: "/" must not end with "/", at Testfile:5`},
		{"base_path pattern", head + "\tbase_path /pay*\n}",
			`base_path: "/pay*" must be a plain path, such as /paywall, at Testfile:5`},

		// products
		{"product without id", head + "\tproduct {\n\t}\n}",
			`product: missing product id, at Testfile:5`},
		{"product with two ids", head + "\tproduct pro plus {\n\t}\n}",
			`product: too many values (want 1, the product id, got 2), at Testfile:5`},
		{"invalid product id", head + "\tproduct pro.plus {\n\t}\n}",
			`product: invalid id "pro.plus" (use only letters, digits, "-" and "_"), at Testfile:5`},
		{"duplicate product", head + "\tproduct pro {\n\t\tprice price_1\n\t\tpaths /a/*\n\t}\n\tproduct pro {\n\t}\n}",
			`product "pro": defined twice (first at Testfile:5), at Testfile:9`},
		{"unknown mode", head + "\tproduct pro {\n\t\tmode recurring\n\t}\n}",
			`product "pro": mode: unknown value "recurring" (want payment or subscription), at Testfile:6`},
		{"price set twice", head + "\tproduct pro {\n\t\tprice price_1\n\t\tprice price_2\n\t}\n}",
			`product "pro": price: set twice (first at Testfile:6), at Testfile:7`},
		{"bad access_for", head + "\tproduct pro {\n\t\taccess_for a month\n\t}\n}",
			`product "pro": access_for: too many values (want 1, got 2), at Testfile:6`},
		{"access_for unit", head + "\tproduct pro {\n\t\taccess_for 1mo\n\t}\n}",
			`product "pro": access_for: invalid duration "1mo" (want a number and a unit, such as 720h or 30d), at Testfile:6`},
		{"access_for zero", head + "\tproduct pro {\n\t\taccess_for 0s\n\t}\n}",
			`product "pro": access_for: must be more than 0 (leave it out for access that never ends), at Testfile:6`},
		{"access_for on a subscription", head + "\tproduct club {\n\t\taccess_for 720h\n\t\tprice price_1\n\t\tmode subscription\n\t\tpaths /club/*\n\t}\n}",
			`product "club": access_for applies to mode payment only: a subscription's access follows its billing period, at Testfile:6`},
		{"path pattern", head + "\tproduct pro {\n\t\tprice price_1\n\t\tpaths /premium/* premium/*\n\t}\n}",
			`product "pro": paths: path pattern "premium/*": must start with "/" or "*", at Testfile:7`},
		{"except pattern", head + "\tproduct pro {\n\t\tprice price_1\n\t\tpaths /premium/*\n\t\texcept free\n\t}\n}",
			`product "pro": except: path pattern "free": must start with "/" or "*", at Testfile:8`},
		{"placeholder in a pattern", head + "\tproduct pro {\n\t\tprice price_1\n\t\tpaths /premium/{http.vars.x}\n\t}\n}",
			`product "pro": paths: path pattern "/premium/{http.vars.x}": placeholders are not supported in paywall paths, at Testfile:7`},
		{"empty paths", head + "\tproduct pro {\n\t\tpaths\n\t}\n}",
			`product "pro": paths: missing value, at Testfile:6`},
		{"allow_promotion_codes", head + "\tproduct pro {\n\t\tallow_promotion_codes yes\n\t}\n}",
			`product "pro": allow_promotion_codes: unknown value "yes" (want on or off), at Testfile:6`},

		// selling: prices, trial, tax
		{"price listed twice", head + "\tproduct club {\n\t\tprice price_m price_y price_m\n\t}\n}",
			`product "club": price: "price_m" is listed twice, at Testfile:6`},
		{"empty price", head + "\tproduct club {\n\t\tprice price_m \"\"\n\t}\n}",
			`product "club": price: invalid price id "" (want a Stripe Price id such as price_1Nabc), at Testfile:6`},
		{"no price", head + "\tproduct club {\n\t\tprice\n\t}\n}",
			`product "club": price: missing value, at Testfile:6`},
		{"trial in hours", head + "\tproduct club {\n\t\tprice price_m\n\t\tmode subscription\n\t\ttrial 36h\n\t}\n}",
			`product "club": trial: 36h is not a whole number of days (Checkout counts trials in days: write 14d or 336h), at Testfile:8`},
		{"trial zero", head + "\tproduct club {\n\t\ttrial 0d\n\t}\n}",
			`product "club": trial: 0d is too short: Stripe's shortest trial is 1 day, at Testfile:6`},
		{"trial too long", head + "\tproduct club {\n\t\ttrial 731d\n\t}\n}",
			`product "club": trial: 731d is 731 days: Stripe's longest trial is 730 days, at Testfile:6`},
		{"trial not a duration", head + "\tproduct club {\n\t\ttrial 2weeks\n\t}\n}",
			`product "club": trial: invalid duration "2weeks" (want a number and a unit, such as 720h or 30d), at Testfile:6`},
		{"trial negative", head + "\tproduct club {\n\t\ttrial -14d\n\t}\n}",
			`product "club": trial: invalid duration "-14d": must not be negative, at Testfile:6`},
		{"trial on a payment", head + "\tproduct pro {\n\t\tprice price_1\n\t\ttrial 14d\n\t\tpaths /premium/*\n\t}\n}",
			`product "pro": trial applies to mode subscription only: a one-time payment has no period to start later, at Testfile:7`},
		{"trial set twice", head + "\tproduct club {\n\t\ttrial 14d\n\t\ttrial 7d\n\t}\n}",
			`product "club": trial: set twice (first at Testfile:6), at Testfile:7`},
		{"description without value", head + "\tproduct club {\n\t\tdescription\n\t}\n}",
			`product "club": description: missing value, at Testfile:6`},
		{"automatic_tax", head + "\tautomatic_tax yes\n}",
			`automatic_tax: unknown value "yes" (want on or off), at Testfile:5`},
		{"tax_id_collection", head + "\ttax_id_collection on off\n}",
			`tax_id_collection: too many values (want on or off, got 2 values), at Testfile:5`},
		{"automatic_tax set twice", head + "\tautomatic_tax on\n\tautomatic_tax off\n}",
			`automatic_tax: set twice (first at Testfile:5), at Testfile:6`},
		{"automatic_tax in a product", head + "\tproduct pro {\n\t\tautomatic_tax on\n\t}\n}",
			`product "pro": unrecognized option "automatic_tax" (known: name, description, price, mode, trial, access_for, paths, except, allow_promotion_codes, free_views), at Testfile:6`},

		// what is missing, found at the end of a block, points at its start
		{"product without price", head + "\tproduct pro {\n\t\tpaths /premium/*\n\t}\n}",
			`product "pro": price is required, at Testfile:5`},
		{"product without paths", head + "\tproduct pro {\n\t\tprice price_1\n\t}\n}",
			`product "pro": paths is required, at Testfile:5`},
		{"product without block", head + "\tproduct pro\n}",
			`product "pro": price and paths are required, at Testfile:5`},
		{"no secret key", "paywall {\n\tstripe_webhook_secret whsec_123\n\tsession_secret 0123456789abcdef0123456789abcdef\n}",
			`stripe_secret_key is required, at Testfile:1`},
		{"no webhook secret", "paywall {\n\tstripe_secret_key sk_test_123\n\tsession_secret 0123456789abcdef0123456789abcdef\n}",
			`stripe_webhook_secret is required, at Testfile:1`},
		{"no session secret", "\n\npaywall {\n\tstripe_secret_key sk_test_123\n\tstripe_webhook_secret whsec_123\n}",
			`session_secret is required, at Testfile:3`},
		{"empty block", "paywall {\n}",
			`stripe_secret_key, stripe_webhook_secret and session_secret are required, at Testfile:1`},
		{"no block", "paywall",
			`stripe_secret_key, stripe_webhook_secret and session_secret are required, at Testfile:1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Paywall
			err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("wrong error\n got: %s\nwant: %s", err, tc.want)
			}
		})
	}
}

func TestCaddyfileSuggest(t *testing.T) {
	known := []string{"paths", "price", "except"}
	for opt, want := range map[string]string{
		"path":    `(did you mean "paths"?)`,
		"prices":  `(did you mean "price"?)`,
		"exept":   `(did you mean "except"?)`,
		"Paths":   `(did you mean "paths"?)`,
		"exclude": `(known: paths, price, except)`,
	} {
		if got := suggestOption(opt, known); got != want {
			t.Errorf("suggestOption(%q) = %s, want %s", opt, got, want)
		}
	}
}
