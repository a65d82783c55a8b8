package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Check is one doctor finding.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, error
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Doctor is what a check run needs.
type Doctor struct {
	Store     *store.Store
	API       *client.API
	SecretKey string
	Products  catalog.Catalog
	// AutomaticTax: automatic_tax is on, so Stripe Tax must be set up.
	AutomaticTax bool
	BasePath     string
	// WebhookURL, when known, is probed without credentials.
	WebhookURL string
	// Whoami, when set, checks the whoami URL.
	Whoami *WhoamiCheck
	// HeaderProbe, when set, checks that the paywall's pages refuse a
	// made-up header identity.
	HeaderProbe *HeaderProbe
}

// Run performs every check.
func (d Doctor) Run(ctx context.Context) []Check {
	checks := []Check{d.redis(ctx), d.key()}
	checks = append(checks, d.selling(ctx)...)
	checks = append(checks, d.endpoints(ctx)...)
	if d.WebhookURL != "" {
		checks = append(checks, d.reachable(ctx))
	}
	return append(checks, d.IdentityChecks(ctx)...)
}

// Failed reports whether any check is an error.
func Failed(checks []Check) bool {
	return slices.ContainsFunc(checks, func(c Check) bool { return c.Status == "error" })
}

// PrintChecks writes the findings for a person.
func PrintChecks(w io.Writer, checks []Check) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-5s  %s: %s\n", strings.ToUpper(c.Status), c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "       fix: %s\n", c.Fix)
		}
	}
}

func (d Doctor) redis(ctx context.Context) Check {
	if err := d.Store.Ping(ctx); err != nil {
		return Check{"redis", "error", err.Error(), "start Redis or correct the `redis` option"}
	}
	return Check{Name: "redis", Status: "ok", Detail: "answers"}
}

func (d Doctor) key() Check {
	k := d.SecretKey
	switch {
	case strings.HasPrefix(k, "sk_test_"), strings.HasPrefix(k, "rk_test_"):
		return Check{Name: "secret key", Status: "ok", Detail: "test mode: only test-mode events open access"}
	case strings.HasPrefix(k, "sk_live_"), strings.HasPrefix(k, "rk_live_"):
		return Check{Name: "secret key", Status: "ok", Detail: "live mode: only live-mode events open access"}
	case strings.HasPrefix(k, "pk_"):
		return Check{"secret key", "error", "this is a publishable key", "use the secret key (sk_…) or a restricted key (rk_…)"}
	}
	return Check{"secret key", "error", "does not look like a Stripe secret key", "set stripe_secret_key to sk_test_… or sk_live_…"}
}

// price checks one of a product's prices: it exists, is active, and is
// recurring exactly when the product is a subscription.
func (d Doctor) price(ctx context.Context, p catalog.Product, id string) Check {
	name := "product " + p.ID
	params := &stripe.PriceParams{}
	params.Context = ctx
	price, err := d.API.Prices.Get(id, params)
	if err != nil {
		return Check{name, "error", fmt.Sprintf("price %s: %v", id, stripeMessage(err)), "check the price id and that it belongs to this key's account and mode"}
	}
	recurring := price.Type == stripe.PriceTypeRecurring
	switch {
	case !price.Active:
		return Check{name, "error", "price " + id + " is archived", "make the price active or configure another"}
	case recurring && p.Mode != "subscription":
		return Check{name, "error", "price " + id + " is recurring but mode is " + p.Mode, "set `mode subscription`, or use only one-time prices"}
	case !recurring && p.Mode == "subscription":
		return Check{name, "error", "price " + id + " is one-time but mode is subscription", "set `mode payment`, or use only recurring prices"}
	}
	return Check{Name: name, Status: "ok", Detail: fmt.Sprintf("price %s (%s, %s)", id, price.Type, p.Mode)}
}

// endpoints checks the webhook endpoints that point at this gateway.
func (d Doctor) endpoints(ctx context.Context) []Check {
	params := &stripe.WebhookEndpointListParams{}
	params.Context = ctx
	it := d.API.WebhookEndpoints.List(params)
	var found []*stripe.WebhookEndpoint
	suffix := strings.TrimRight(d.BasePath, "/") + "/webhook"
	for it.Next() {
		if ep := it.WebhookEndpoint(); strings.HasSuffix(strings.TrimRight(ep.URL, "/"), suffix) {
			found = append(found, ep)
		}
	}
	if err := it.Err(); err != nil {
		return []Check{{"webhook endpoint", "error", "listing endpoints: " + stripeMessage(err), "check the secret key's permissions (webhook endpoints: read)"}}
	}
	if len(found) == 0 {
		return []Check{{"webhook endpoint", "error", "no endpoint ends in " + suffix, "run `caddy paywall setup --url https://YOUR-SITE" + suffix + "`"}}
	}
	var out []Check
	for _, ep := range found {
		name := "webhook " + ep.URL
		var missing []string
		if !slices.Contains(ep.EnabledEvents, "*") {
			for _, t := range events.Types {
				if !slices.Contains(ep.EnabledEvents, t) {
					missing = append(missing, t)
				}
			}
		}
		switch {
		case ep.Status != "enabled":
			out = append(out, Check{name, "error", "endpoint is " + ep.Status, "enable it in the Stripe dashboard"})
		case ep.APIVersion != "" && ep.APIVersion != events.PinnedAPIVersion:
			out = append(out, Check{name, "error", "sends API version " + ep.APIVersion + ", the gateway reads " + events.PinnedAPIVersion,
				"run `caddy paywall setup` to create an endpoint with " + events.PinnedAPIVersion + ", then delete this one"})
		case len(missing) > 0:
			out = append(out, Check{name, "error", "not subscribed to " + strings.Join(missing, ", "), "add these events to the endpoint, or recreate it with `caddy paywall setup`"})
		default:
			out = append(out, Check{Name: name, Status: "ok", Detail: "enabled, every event, API version " + events.PinnedAPIVersion})
		}
	}
	return out
}

// reachable posts an unsigned body to the webhook URL: a 400 means it is
// reachable without credentials and refuses unsigned events.
func (d Doctor) reachable(ctx context.Context) Check {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.WebhookURL, strings.NewReader("{}"))
	if err != nil {
		return Check{"webhook reachable", "error", err.Error(), ""}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Check{"webhook reachable", "error", err.Error(), "check that the site is up and the URL is right"}
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusBadRequest:
		return Check{Name: "webhook reachable", Status: "ok", Detail: d.WebhookURL + " refuses unsigned events (400)"}
	case http.StatusUnauthorized, http.StatusForbidden:
		return Check{"webhook reachable", "warn", fmt.Sprintf("%s answers %d: Stripe cannot log in", d.WebhookURL, resp.StatusCode),
			"exclude " + d.BasePath + "/webhook from the site's authentication"}
	}
	return Check{"webhook reachable", "warn", fmt.Sprintf("%s answers %d", d.WebhookURL, resp.StatusCode), "is the paywall in front of this URL?"}
}

func stripeMessage(err error) string {
	if se, ok := err.(*stripe.Error); ok && se.Msg != "" {
		return se.Msg
	}
	return err.Error()
}
