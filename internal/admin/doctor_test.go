package admin

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// standIn is the Stripe stand-in with a one-time and two recurring prices.
func standIn(t *testing.T) Doctor {
	t.Helper()
	stub := stripestub.New(stripestub.Config{Prices: []stripestub.Price{
		{ID: "price_pro", ProductName: "Pro", UnitAmount: 900, Currency: "eur"},
		{ID: "price_monthly", ProductName: "Club", ProductID: "prod_club", UnitAmount: 900, Currency: "eur", Recurring: "month"},
		{ID: "price_yearly", ProductName: "Club", ProductID: "prod_club", UnitAmount: 9000, Currency: "eur", Recurring: "year"},
		{ID: "price_old", ProductName: "Old", UnitAmount: 100, Currency: "eur", Recurring: "month", Archived: true},
	}})
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	stub.SetBaseURL(srv.URL)
	return Doctor{API: stripeapi.New("sk_test_doctor", srv.URL), SecretKey: "sk_test_doctor"}
}

// Each of a product's prices is checked against its mode, and the check
// names the price that is wrong.
func TestDoctorChecksEachPrice(t *testing.T) {
	d := standIn(t)
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
// stripe-mock serves tax settings (active, with a registration); the
// stand-in does not, and doctor says it cannot tell rather than "ok".
func TestDoctorTax(t *testing.T) {
	ctx := context.Background()
	mock := Doctor{API: stripeapi.New("sk_test_doctor", testenv.StripeURL(t)), AutomaticTax: true}
	if got := mock.tax(ctx); got.Status != "ok" || got.Detail != "Stripe Tax is set up, with at least one active registration" {
		t.Errorf("stripe-mock: %+v", got)
	}
	stub := standIn(t)
	got := stub.tax(ctx)
	if got.Status != "warn" || !strings.Contains(got.Detail, "does not serve tax settings") || !strings.Contains(got.Detail, "cannot tell") {
		t.Errorf("stand-in: %+v", got)
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
