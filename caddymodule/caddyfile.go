package caddymodule

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

func init() {
	// Registered with RegisterDirective rather than RegisterHandlerDirective,
	// which would take a first argument as a matcher: the paywall must see
	// every request (it strips spoofed X-Paywall-* headers everywhere and
	// serves its webhook), and products already choose the gated paths, so
	// `paywall /x {` is refused like any other argument.
	httpcaddyfile.RegisterDirective("paywall", parseDirective)
	// After every authentication directive has set the user, before any
	// handler that can respond: no global `order` line needed.
	httpcaddyfile.RegisterDirectiveOrder("paywall", httpcaddyfile.After, "forward_auth")
}

// parseDirective turns a `paywall` segment into a route holding the handler.
func parseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	handler, err := parseCaddyfile(h)
	if err != nil {
		return nil, err
	}
	return h.NewRoute(nil, handler), nil
}

// parseCaddyfile unmarshals a `paywall` block into a new handler.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	p := new(Paywall)
	if err := p.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return p, nil
}

// UnmarshalCaddyfile sets up the paywall from Caddyfile tokens. Syntax:
//
//	paywall {
//		stripe_secret_key     <key>
//		stripe_webhook_secret <whsec...>...    # repeatable: key rotation
//		stripe_api_url        <url>
//		redis                 <url>
//		redis_min_replicas    <n>
//		key_prefix            <prefix>
//		session_secret        <secret>
//		user                  <placeholder>
//		whoami <url> {                         # instead of user: ask the site
//			cookies      <name...>             # default: every cookie
//			user_header  <header>              # exactly one of user_header,
//			user_json    <dot.path>            # user_json and user_regex
//			user_regex   <regexp with a group>
//			ttl          <duration>            # default 1m
//			negative_ttl <duration>            # default 5s
//			timeout      <duration>            # default 2s
//		}
//		login_url             <url>
//		base_path             <path>
//		on_store_error        deny|allow
//		shadow                [on|off]
//		templates             <dir>
//		refund_policy         full|any
//		dispute_policy        revoke|keep
//		past_due_grace        <duration>
//		automatic_tax         [on|off]         # Stripe Tax on Checkout
//		tax_id_collection     [on|off]         # customers may enter a VAT or tax id
//		crawlers              google|bing... [{ # verified search crawlers read gated pages
//			resolver <host:port>               # default: the system resolver
//		}]
//
//		console {                              # base_path/console
//			admins <user...>                   # required; repeatable
//		}
//
//		product <id> {                         # repeatable
//			name   <name>
//			description <text>                 # what it opens, on the pay page
//			price  <price_id>...               # one or more; any of them opens the product
//			mode   payment|subscription
//			trial  <duration>                  # subscription mode only: whole days, 1d to 730d
//			access_for <duration>              # payment mode only
//			paths  <pattern...>                # repeatable
//			except <pattern...>                # repeatable
//			allow_promotion_codes [on|off]
//			free_views <n> per <duration>      # gated pages a signed-in visitor opens free per window
//		}
//	}
//
// stripe_secret_key, stripe_webhook_secret, session_secret, and each
// product's price and paths are required. Values holding placeholders such
// as {env.STRIPE_SECRET_KEY} are kept as written and resolved when the
// config is loaded. The directive takes no matcher: products' paths decide
// what is gated.
func (p *Paywall) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	directive := d.Token()
	if d.NextArg() {
		return d.Errf("paywall takes no arguments or matcher, got %q: each product's paths choose what is gated", d.Val())
	}

	set := make(map[string]caddyfile.Token) // single-valued options seen, for duplicates
	products := make(map[string]caddyfile.Token)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if opt != "stripe_webhook_secret" && opt != "product" && slices.Contains(paywallOptions, opt) {
			if first, ok := set[opt]; ok {
				return d.Errf("%s: set twice (first at %s)", opt, tokenPosition(first))
			}
			set[opt] = d.Token()
		}

		var err error
		switch opt {
		case "stripe_secret_key":
			p.StripeSecretKey, err = oneArg(d, opt, checkStripeKey)
		case "stripe_webhook_secret":
			var secrets []string
			secrets, err = someArgs(d, opt, checkWebhookSecret)
			p.StripeWebhookSecrets = append(p.StripeWebhookSecrets, secrets...)
		case "stripe_api_url":
			p.StripeAPIURL, err = oneArg(d, opt, checkAPIURL)
		case "redis":
			p.Redis, err = oneArg(d, opt, nil)
		case "redis_min_replicas":
			var v string
			if v, err = oneArg(d, opt, checkMinReplicas); err == nil {
				p.RedisMinReplicas, _ = strconv.Atoi(v)
			}
		case "key_prefix":
			p.KeyPrefix, err = oneArg(d, opt, nil)
		case "session_secret":
			p.SessionSecret, err = oneArg(d, opt, checkSessionSecret)
		case "user":
			p.User, err = oneArg(d, opt, nil)
		case "whoami":
			p.Whoami, err = unmarshalWhoami(d)
		case "login_url":
			p.LoginURL, err = oneArg(d, opt, nil)
		case "base_path":
			p.BasePath, err = oneArg(d, opt, checkBasePath)
		case "on_store_error":
			p.OnStoreError, err = oneArg(d, opt, oneOf(onStoreErrorValues...))
		case "shadow":
			p.Shadow, err = onOff(d, opt)
		case "templates":
			p.Templates, err = oneArg(d, opt, nil)
		case "refund_policy":
			p.RefundPolicy, err = oneArg(d, opt, oneOf(refundPolicyValues...))
		case "dispute_policy":
			p.DisputePolicy, err = oneArg(d, opt, oneOf(disputePolicyValues...))
		case "past_due_grace":
			p.PastDueGrace, err = durationArg[caddy.Duration](d, opt)
		case "automatic_tax":
			p.AutomaticTax, err = onOff(d, opt)
		case "tax_id_collection":
			p.TaxIDCollection, err = onOff(d, opt)
		case "console":
			p.Console, err = unmarshalConsole(d)
		case "crawlers":
			p.Crawlers, err = unmarshalCrawlers(d, opt)
		case "product":
			var pr catalog.Product
			pr, err = unmarshalProduct(d, products)
			p.Products = append(p.Products, pr)
		default:
			return d.Errf("unrecognized paywall option %q %s", opt, suggestOption(opt, paywallOptions))
		}
		if err != nil {
			return err
		}
	}

	if missing := p.missingSecrets("stripe_webhook_secret"); len(missing) > 0 {
		return errAt(directive, "%s", catalog.RequiredMessage(missing))
	}
	if u, w := set["user"], set["whoami"]; u.Text != "" && w.Text != "" {
		later := w
		if u.Line > w.Line {
			later = u
		}
		return errAt(later, "%s", errUserAndWhoami)
	}
	// The options were checked as they were read, with their lines; the
	// whole config gets the same check a JSON config does.
	if err := p.Validate(); err != nil {
		return errAt(directive, "%v", err)
	}
	return nil
}

// unmarshalProduct reads `product <id> { ... }`; products holds the ids
// already defined, with where.
func unmarshalProduct(d *caddyfile.Dispenser, products map[string]caddyfile.Token) (catalog.Product, error) {
	var pr catalog.Product
	start := d.Token()
	args := d.RemainingArgs()
	switch {
	case len(args) == 0:
		return pr, d.Errf("product: missing product id")
	case len(args) > 1:
		return pr, d.Errf("product: too many values (want 1, the product id, got %d)", len(args))
	}
	pr.ID = args[0]
	if err := catalog.CheckID(pr.ID); err != nil {
		return pr, d.Errf("product: %v", err)
	}
	if first, ok := products[pr.ID]; ok {
		return pr, d.Errf("product %q: defined twice (first at %s)", pr.ID, tokenPosition(first))
	}
	products[pr.ID] = start

	set := make(map[string]caddyfile.Token) // where each single-valued option was set
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if opt != "paths" && opt != "except" && slices.Contains(productOptions, opt) {
			if first, ok := set[opt]; ok {
				return pr, d.Errf("product %q: %s: set twice (first at %s)", pr.ID, opt, tokenPosition(first))
			}
			set[opt] = d.Token()
		}

		var err error
		switch opt {
		case "name":
			pr.Name, err = oneArg(d, opt, nil)
		case "description":
			pr.Description, err = oneArg(d, opt, nil)
		case "price":
			var prices []string
			if prices, err = someArgs(d, opt, catalog.CheckPriceID); err == nil {
				if err = catalog.CheckPrices(prices); err != nil {
					err = d.Errf("price: %v", err)
				}
			}
			if len(prices) == 1 {
				pr.Price = prices[0]
			} else {
				pr.Prices = prices
			}
		case "trial":
			if pr.Trial, err = durationArg[catalog.Duration](d, opt); err == nil {
				if err = catalog.CheckTrial(pr.Trial.Std(), d.Val()); err != nil {
					err = d.Errf("trial: %v", err)
				}
			}
		case "mode":
			pr.Mode, err = oneArg(d, opt, oneOf(catalog.Modes...))
		case "access_for":
			pr.AccessFor, err = durationArg[catalog.Duration](d, opt)
			if err == nil && pr.AccessFor == 0 {
				err = d.Errf("access_for: must be more than 0 (leave it out for access that never ends)")
			}
		case "paths":
			var patterns []string
			patterns, err = someArgs(d, opt, catalog.CheckPattern)
			pr.Paths = append(pr.Paths, patterns...)
		case "except":
			var patterns []string
			patterns, err = someArgs(d, opt, catalog.CheckPattern)
			pr.Except = append(pr.Except, patterns...)
		case "allow_promotion_codes":
			pr.AllowPromotionCodes, err = onOff(d, opt)
		case "free_views":
			pr.FreeViews, err = unmarshalFreeViews(d, opt)
		default:
			return pr, d.Errf("product %q: unrecognized option %q %s", pr.ID, opt, suggestOption(opt, productOptions))
		}
		if err != nil {
			return pr, fmt.Errorf("product %q: %w", pr.ID, err)
		}
	}

	// The rules between options (what is required, what needs which
	// mode) are the ones JSON configs get: the error points at the option
	// it names, else at the product.
	if err := pr.Validate(); err != nil {
		at := start
		var oe *catalog.OptionError
		if errors.As(err, &oe) {
			if tok, ok := set[oe.Option]; ok {
				at = tok
			}
		}
		return pr, errAt(at, "product %q: %v", pr.ID, err)
	}
	return pr, nil
}

// The options, in the order the syntax lists them; unrecognized-option
// errors name the closest one or list them all.
var (
	paywallOptions = []string{
		"stripe_secret_key", "stripe_webhook_secret", "stripe_api_url", "redis", "redis_min_replicas", "key_prefix",
		"session_secret", "user", "whoami", "login_url", "base_path", "on_store_error", "shadow",
		"templates", "refund_policy", "dispute_policy", "past_due_grace", "automatic_tax",
		"tax_id_collection", "crawlers", "product", "console",
	}
	productOptions = []string{
		"name", "description", "price", "mode", "trial", "access_for", "paths", "except",
		"allow_promotion_codes", "free_views",
	}
)

// oneArg reads the single value of opt, refusing none, several, a block
// after it, or a value check refuses.
func oneArg(d *caddyfile.Dispenser, opt string, check func(string) error) (string, error) {
	vals, err := optionValues(d, opt)
	if err != nil {
		return "", err
	}
	if len(vals) > 1 {
		// The values are not echoed: they may be pieces of a secret.
		return "", d.Errf("%s: too many values (want 1, got %d)", opt, len(vals))
	}
	if check != nil {
		if err := check(vals[0]); err != nil {
			return "", d.Errf("%s: %v", opt, err)
		}
	}
	return vals[0], nil
}

// someArgs reads the one or more values of opt, each passing check.
func someArgs(d *caddyfile.Dispenser, opt string, check func(string) error) ([]string, error) {
	vals, err := optionValues(d, opt)
	if err != nil {
		return nil, err
	}
	for _, v := range vals {
		if err := check(v); err != nil {
			return nil, d.Errf("%s: %v", opt, err)
		}
	}
	return vals, nil
}

// optionValues reads the values of opt: at least one, and no block after them.
func optionValues(d *caddyfile.Dispenser, opt string) ([]string, error) {
	args := d.RemainingArgs()
	if err := noBlock(d, opt); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, d.Errf("%s: missing value", opt)
	}
	return args, nil
}

// noBlock refuses a block opening after the values of opt. (NextBlock
// would skip an empty one without a word.)
func noBlock(d *caddyfile.Dispenser, opt string) error {
	file, line := d.File(), d.Line()
	if !d.Next() {
		return nil
	}
	// A quoted "{" was taken as a value, so this one opens a block.
	if d.Val() == "{" && d.File() == file && d.Line() == line {
		return d.Errf("%s: unexpected '{': this option takes no block", opt)
	}
	d.Prev()
	return nil
}

// onOff reads a flag: bare means on.
func onOff(d *caddyfile.Dispenser, opt string) (bool, error) {
	args := d.RemainingArgs()
	if err := noBlock(d, opt); err != nil {
		return false, err
	}
	switch {
	case len(args) == 0:
		return true, nil
	case len(args) > 1:
		return false, d.Errf("%s: too many values (want on or off, got %d values)", opt, len(args))
	case args[0] == "on":
		return true, nil
	case args[0] == "off":
		return false, nil
	}
	return false, d.Errf("%s: unknown value %q (want on or off)", opt, args[0])
}

// durationArg reads a Go duration, with Caddy's "d" for days; negative ones
// are refused.
func durationArg[D ~int64](d *caddyfile.Dispenser, opt string) (D, error) {
	v, err := oneArg(d, opt, nil)
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return 0, d.Errf("%s: invalid duration %q (want a number and a unit, such as 720h or 30d)", opt, v)
	}
	if dur < 0 {
		return 0, d.Errf("%s: invalid duration %q: must not be negative", opt, v)
	}
	return D(dur), nil
}

// oneOf returns a check accepting only allowed.
func oneOf(allowed ...string) func(string) error {
	return func(v string) error { return catalog.CheckEnum(v, allowed...) }
}

// errAt is d.Errf for an earlier token, so that an error found at the end
// of a block points at the line it is about.
func errAt(tok caddyfile.Token, format string, args ...any) error {
	d := caddyfile.NewDispenser([]caddyfile.Token{tok})
	d.Next()
	return d.Errf(format, args...)
}

// tokenPosition is "file:line", as Caddy's errors print it.
func tokenPosition(tok caddyfile.Token) string {
	return fmt.Sprintf("%s:%d", tok.File, tok.Line)
}

// suggestOption names the known option closest to a misspelt one, or lists them
// all when none is close.
func suggestOption(opt string, known []string) string {
	best, bestDist := "", 3 // at most two edits away
	for _, k := range known {
		if dist := editDistance(opt, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("(did you mean %q?)", best)
	}
	return "(known: " + strings.Join(known, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Paywall)(nil)
)
