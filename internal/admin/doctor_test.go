package admin

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// withPrices is a doctor over a fake Stripe with a one-time and two
// recurring prices, and an archived one.
func withPrices() Doctor {
	fake := stripefake.New()
	fake.Put(
		`{"id":"price_pro","object":"price","active":true,"type":"one_time","currency":"eur","unit_amount":900,"product":"prod_pro"}`,
		`{"id":"price_monthly","object":"price","active":true,"type":"recurring","currency":"eur","unit_amount":900,"recurring":{"interval":"month","interval_count":1},"product":"prod_club"}`,
		`{"id":"price_yearly","object":"price","active":true,"type":"recurring","currency":"eur","unit_amount":9000,"recurring":{"interval":"year","interval_count":1},"product":"prod_club"}`,
		`{"id":"price_old","object":"price","active":false,"type":"recurring","currency":"eur","unit_amount":100,"recurring":{"interval":"month","interval_count":1},"product":"prod_old"}`,
	)
	return Doctor{API: fake, SecretKey: "sk_test_doctor"}
}

// Each of a product's prices is checked against its mode, and the check
// names the price that is wrong.
func TestDoctorChecksEachPrice(t *testing.T) {
	d := withPrices()
	ctx := context.Background()
	for _, c := range []struct {
		product catalog.Product
		price   string
		status  string
		detail  string
	}{
		{catalog.Product{ID: "club", Mode: "subscription"}, "price_monthly", "ok", "price price_monthly (recurring, subscription)"},
		{catalog.Product{ID: "club", Mode: "subscription"}, "price_yearly", "ok", "price price_yearly (recurring, subscription)"},
		{catalog.Product{ID: "club", Mode: "subscription"}, "price_pro", "error", "price price_pro is one-time but mode is subscription"},
		{catalog.Product{ID: "pro", Mode: "payment"}, "price_pro", "ok", "price price_pro (one_time, payment)"},
		{catalog.Product{ID: "pro", Mode: "payment"}, "price_yearly", "error", "price price_yearly is recurring but mode is payment"},
		{catalog.Product{ID: "club", Mode: "subscription"}, "price_nope", "error", "price price_nope: No such price: 'price_nope'"},
		{catalog.Product{ID: "club", Mode: "subscription"}, "price_old", "error", "price price_old is archived"},
	} {
		got := d.price(ctx, c.product, c.price)
		if got.Name != "product "+c.product.ID || got.Status != c.status || got.Detail != c.detail {
			t.Errorf("%s / %s: got %+v, want %s %q", c.product.ID, c.price, got, c.status, c.detail)
		}
	}

	// Every price of every product is checked.
	d.Products = catalog.Catalog{{ID: "club", Prices: []string{"price_monthly", "price_pro"}, Mode: "subscription"}}
	var details []string
	for _, c := range d.selling(ctx) {
		if c.Name == "product club" {
			details = append(details, c.Status+": "+c.Detail)
		}
	}
	want := []string{"ok: price price_monthly (recurring, subscription)", "error: price price_pro is one-time but mode is subscription"}
	if strings.Join(details, "\n") != strings.Join(want, "\n") {
		t.Errorf("run's price checks:\n%s\nwant:\n%s", strings.Join(details, "\n"), strings.Join(want, "\n"))
	}
}

// With automatic_tax on, doctor says what the API tells of Stripe Tax:
// stripe-mock serves tax settings (active, with a registration); an API
// that answers 404 (the stand-in's) does not, and doctor says it cannot
// tell rather than "ok".
func TestDoctorTax(t *testing.T) {
	ctx := context.Background()
	mock := Doctor{API: stripeapi.New("sk_test_doctor", testenv.StripeURL(t)), AutomaticTax: true}
	if got := mock.tax(ctx); got.Status != "ok" || got.Detail != "Stripe Tax is set up, with at least one active registration" {
		t.Errorf("stripe-mock: %+v", got)
	}
	none := Doctor{API: stripefake.New(), AutomaticTax: true}
	got := none.tax(ctx)
	if got.Status != "warn" || !strings.Contains(got.Detail, "does not serve tax settings") || !strings.Contains(got.Detail, "cannot tell") {
		t.Errorf("no tax settings (404): %+v", got)
	}

	// Only with automatic_tax on.
	if checks := mock.selling(ctx); len(checks) != 1 || checks[0].Name != "stripe tax" {
		t.Errorf("automatic_tax on: %+v", checks)
	}
	mock.AutomaticTax = false
	if checks := mock.selling(ctx); len(checks) != 0 {
		t.Errorf("automatic_tax off: %+v", checks)
	}
}

// Stripe Tax not set up is an error naming what is missing; set up
// without an active registration is a warning; a failing registrations
// list is a warning that says so.
func TestDoctorTaxStates(t *testing.T) {
	ctx := context.Background()
	fake := stripefake.New()
	d := Doctor{API: fake, AutomaticTax: true}
	fake.Put(`{"object":"tax.settings","status":"pending","status_details":{"pending":{"missing_fields":["head_office"]}}}`)
	if got := d.tax(ctx); got.Status != "error" || got.Detail != "automatic_tax is on, but Stripe Tax is not set up (status pending): missing head_office; Checkout will refuse to start" {
		t.Errorf("pending: %+v", got)
	}
	fake.Put(`{"object":"tax.settings","status":"active"}`)
	if got := d.tax(ctx); got.Status != "warn" || !strings.Contains(got.Detail, "no active registration") {
		t.Errorf("active, no registration: %+v", got)
	}
	fake.Put(`{"id":"taxreg_old","object":"tax.registration","status":"expired","country":"FR"}`)
	if got := d.tax(ctx); got.Status != "warn" || !strings.Contains(got.Detail, "no active registration") {
		t.Errorf("active, an expired registration only: %+v", got)
	}
	fake.Put(`{"id":"taxreg_de","object":"tax.registration","status":"active","country":"DE"}`)
	if got := d.tax(ctx); got.Status != "ok" {
		t.Errorf("active, registered: %+v", got)
	}
	fake.Fail("ListTaxRegistrations", &stripe.Error{HTTPStatusCode: 403, Msg: "The provided key does not have the required permissions"})
	if got := d.tax(ctx); got.Status != "warn" || got.Detail != "Stripe Tax is set up; listing tax registrations failed: The provided key does not have the required permissions" {
		t.Errorf("registrations unreadable: %+v", got)
	}
	fake.Fail("GetTaxSettings", &stripe.Error{HTTPStatusCode: 403, Msg: "The provided key does not have the required permissions"})
	if got := d.tax(ctx); got.Status != "error" || !strings.Contains(got.Detail, "reading the tax settings failed") {
		t.Errorf("settings unreadable: %+v", got)
	}
}

// Each endpoint that ends in base_path/webhook is checked for its status,
// its API version and the events it sends; none is an error saying how
// to make one.
func TestDoctorEndpoints(t *testing.T) {
	ctx := context.Background()
	fake := stripefake.New()
	d := Doctor{API: fake, BasePath: "/paywall"}
	if got := d.endpoints(ctx); len(got) != 1 || got[0].Status != "error" || got[0].Detail != "no endpoint ends in /paywall/webhook" {
		t.Errorf("no endpoint: %+v", got)
	}
	endpoint := func(id, url, status, version string, events ...string) map[string]any {
		return map[string]any{"id": id, "object": "webhook_endpoint", "url": url, "status": status, "api_version": version, "enabled_events": events}
	}
	fake.Put(
		endpoint("we_other", "https://elsewhere.test/hook", "enabled", events.PinnedAPIVersion, "*"),
		endpoint("we_off", "https://a.test/paywall/webhook", "disabled", events.PinnedAPIVersion, "*"),
		endpoint("we_old", "https://b.test/paywall/webhook", "enabled", "2020-08-27", "*"),
		endpoint("we_few", "https://c.test/paywall/webhook/", "enabled", events.PinnedAPIVersion, "charge.refunded"),
		endpoint("we_ok", "https://d.test/paywall/webhook", "enabled", events.PinnedAPIVersion, events.Types...),
	)
	var got []string
	for _, c := range d.endpoints(ctx) {
		got = append(got, c.Status+" "+c.Name+": "+c.Detail)
	}
	// Newest first, as Stripe lists them.
	want := []string{
		"ok webhook https://d.test/paywall/webhook: enabled, every event, API version " + events.PinnedAPIVersion,
		"error webhook https://c.test/paywall/webhook/: not subscribed to " + strings.Join(slices.DeleteFunc(slices.Clone(events.Types), func(t string) bool { return t == "charge.refunded" }), ", "),
		"error webhook https://b.test/paywall/webhook: sends API version 2020-08-27, the gateway reads " + events.PinnedAPIVersion,
		"error webhook https://a.test/paywall/webhook: endpoint is disabled",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("endpoint checks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	fake.Fail("ListWebhookEndpoints", &stripe.Error{HTTPStatusCode: 401, Msg: "Invalid API Key provided: sk_test_****"})
	if got := d.endpoints(ctx); len(got) != 1 || got[0].Detail != "listing endpoints: Invalid API Key provided: sk_test_****" {
		t.Errorf("listing fails: %+v", got)
	}
}
