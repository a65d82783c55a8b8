package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// sellingProducts: a subscription with two prices and a trial, and a
// one-time product.
var sellingProducts = catalog.Catalog{
	{ID: "club", Name: "Club", Prices: []string{"price_monthly", "price_yearly"}, Mode: "subscription",
		Trial: catalog.Duration(14 * catalog.Day), Paths: []string{"/club/*"}},
	{ID: "pro", Name: "Pro articles", Prices: []string{"price_pro"}, Mode: "payment",
		Description: "Every article, for good.", Paths: []string{"/premium/*"}},
}

// checkout posts the pay page's form for product with price ("" leaves
// the price out) and returns the response.
func checkout(t *testing.T, f *fixture, user, product, price string) *httptest.ResponseRecorder {
	t.Helper()
	b := newBrowser()
	form := openPayPage(t, f, b, user, "product="+product)
	form.Set("product", product)
	if price != "" {
		form.Set("price", price)
	}
	return b.do(t, f.endpoint(user), postForm("http://shop.test/paywall/checkout", form))
}

func (f *fixture) rememberCustomer(t *testing.T, user, customer string) {
	t.Helper()
	now := time.Now()
	// A grant of a product no longer sold leaves the customer known.
	_, err := f.store.Grant(context.Background(), store.GrantRequest{
		Meta: store.Meta{Cause: "test", Created: now.Unix(), Now: now},
		User: user, Product: "old", Source: "pi_old_" + user, Customer: customer,
	})
	if err != nil {
		t.Fatal(err)
	}
	if cus, err := f.store.CustomerOf(context.Background(), user); err != nil || cus != customer {
		t.Fatalf("customer of %s: %q, %v", user, cus, err)
	}
}

func wantParams(t *testing.T, got map[string][]string, want map[string]string) {
	t.Helper()
	for k, v := range want {
		g := ""
		if len(got[k]) > 0 {
			g = got[k][0]
		}
		if g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}

// The visitor's chosen price goes to Checkout, with the trial and tax
// (request shapes checked by stripe-mock, which refuses unknown params).
func TestCheckoutChosenPriceTrialTax(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts, tax: true})
	if w := checkout(t, f, "alice", "club", "price_yearly"); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	reqs := f.stripe.requests("/v1/checkout/sessions")
	if len(reqs) != 1 {
		t.Fatalf("%d session creations, want 1", len(reqs))
	}
	wantParams(t, reqs[0].Form, map[string]string{
		"mode":                                 "subscription",
		"line_items[0][price]":                 "price_yearly",
		"subscription_data[trial_period_days]": "14",
		"subscription_data[metadata][paywall_product]": "club",
		"automatic_tax[enabled]":                       "true",
		"tax_id_collection[enabled]":                   "true",
		"billing_address_collection":                   "required",
		// Subscriptions create a customer anyway; Stripe refuses these in
		// subscription mode.
		"customer_creation":         "",
		"invoice_creation[enabled]": "",
		"customer":                  "",
		"customer_update[address]":  "",
	})

	// No price chosen: the first one.
	if w := checkout(t, f, "bob", "club", ""); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout without a price: %d %s", w.Code, w.Body)
	}
	if got := f.stripe.requests("/v1/checkout/sessions")[1].Form.Get("line_items[0][price]"); got != "price_monthly" {
		t.Errorf("default price %q, want price_monthly", got)
	}
}

// A price that is not one of the product's is refused before Stripe.
func TestCheckoutRefusesOtherPrices(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts})
	for _, price := range []string{"price_pro", "price_elsewhere", "price_monthly "} {
		w := checkout(t, f, "alice", "club", price)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "This price is not offered") {
			t.Errorf("price %q: %d, want 400 naming the price\n%s", price, w.Code, w.Body)
		}
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != 0 {
		t.Fatalf("%d sessions created for prices the product does not have", n)
	}
}

// A one-time buyer gets a Customer and a receipt (issue 9, item 4); a
// returning one keeps their Customer, whose address and name Checkout
// updates for tax.
func TestCheckoutPaymentCustomerAndInvoice(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts, tax: true})
	if w := checkout(t, f, "alice", "pro", ""); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	f.rememberCustomer(t, "bob", "cus_bob")
	if w := checkout(t, f, "bob", "pro", "price_pro"); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout, returning customer: %d %s", w.Code, w.Body)
	}
	reqs := f.stripe.requests("/v1/checkout/sessions")
	if len(reqs) != 2 {
		t.Fatalf("%d session creations, want 2", len(reqs))
	}
	wantParams(t, reqs[0].Form, map[string]string{
		"mode":                      "payment",
		"customer_creation":         "always",
		"invoice_creation[enabled]": "true",
		"customer":                  "",
		"customer_update[address]":  "",
		"customer_update[name]":     "",
		"automatic_tax[enabled]":    "true",
	})
	wantParams(t, reqs[1].Form, map[string]string{
		"customer":                  "cus_bob",
		"customer_creation":         "", // Stripe refuses it beside customer
		"invoice_creation[enabled]": "true",
		"customer_update[address]":  "auto",
		"customer_update[name]":     "auto",
	})
}

// Without the tax options, no tax parameter is sent.
func TestCheckoutNoTaxByDefault(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts})
	f.rememberCustomer(t, "bob", "cus_bob")
	if w := checkout(t, f, "bob", "club", ""); w.Code != http.StatusSeeOther {
		t.Fatalf("checkout: %d %s", w.Code, w.Body)
	}
	got := f.stripe.requests("/v1/checkout/sessions")[0].Form
	for _, k := range []string{"automatic_tax[enabled]", "tax_id_collection[enabled]", "billing_address_collection",
		"customer_update[address]", "customer_update[name]"} {
		if got.Get(k) != "" {
			t.Errorf("%s = %q, want it unset", k, got.Get(k))
		}
	}
	if got.Get("customer") != "cus_bob" {
		t.Errorf("customer %q, want cus_bob", got.Get("customer"))
	}
}

// The pay page offers each price with its amount and interval, the trial
// first, what the product opens and the tax notes.
func TestPayPageSells(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts, tax: true})
	b := newBrowser()
	w := b.do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=club&product=pro", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("pay page: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	// stripe-mock answers every price as $20.00 a month.
	for _, want := range []string{
		`<legend>Choose how to pay</legend>`,
		`name="price" value="price_monthly" checked>`,
		`name="price" value="price_yearly">`,
		`14 days free, then $20 a month`,
		`Opens everything under /club/.`,
		`Every article, for good.`,
		`<input type="hidden" name="price" value="price_pro">`,
		`Tax is added at checkout where it applies, from your billing address.`,
		`You can enter a VAT or tax id at checkout.`,
		`id="pay-club">Start the free trial of Club</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("pay page lacks %q", want)
		}
	}
	if strings.Count(body, `days free, then`) != 2 {
		t.Errorf("want the trial on each of club's two prices:\n%s", body)
	}
}

// The 402 body lists every price of each product.
func TestPaymentRequiredListsEveryPrice(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts})
	r := httptest.NewRequest(http.MethodGet, "http://shop.test/club/a", nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	f.gw.Deny(w, r, Decision{Outcome: Pay, User: "alice", Products: []string{"club"}}, nil)
	if w.Code != http.StatusPaymentRequired {
		t.Fatalf("status %d, want 402", w.Code)
	}
	var body struct {
		Products []struct {
			ID, Price string
			TrialDays int64 `json:"trial_days"`
			Prices    []struct{ ID string }
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Products) != 1 {
		t.Fatalf("products: %s", w.Body)
	}
	p := body.Products[0]
	if p.ID != "club" || p.Price != "price_monthly" || p.TrialDays != 14 || len(p.Prices) != 2 ||
		p.Prices[0].ID != "price_monthly" || p.Prices[1].ID != "price_yearly" {
		t.Fatalf("402 body: %s", w.Body)
	}
}

func TestDescribePaths(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{"/club/*"}, "Opens everything under /club/."},
		{[]string{"/premium/*", "*.pdf", "/about"}, "Opens everything under /premium/, every .pdf file and the page /about."},
		{[]string{"/*"}, "Opens the whole site."},
		{[]string{"*secret*", "/doc*"}, "Opens pages whose address contains secret and pages starting with /doc."},
	} {
		if got := describePaths(c.in); got != c.want {
			t.Errorf("describePaths(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A one-time buyer has a customer (customer_creation=always), so the
// portal opens for them to find their receipts; without a customer,
// a plain page says there is none yet.
func TestPortalForOneTimeBuyer(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts})
	f.rememberCustomer(t, "bob", "cus_bob")
	b := newBrowser()
	w := b.do(t, f.endpoint("bob"), httptest.NewRequest(http.MethodGet, "http://shop.test/paywall/portal", nil))
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "https://") {
		t.Fatalf("portal for a one-time buyer: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	reqs := f.stripe.requests("/v1/billing_portal/sessions")
	if len(reqs) != 1 || reqs[0].Form.Get("customer") != "cus_bob" || reqs[0].Form.Get("return_url") != "http://shop.test/" {
		t.Fatalf("portal sessions: %+v", reqs)
	}

	w = newBrowser().do(t, f.endpoint("carol"), httptest.NewRequest(http.MethodGet, "http://shop.test/paywall/portal", nil))
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "made with your first purchase") {
		t.Fatalf("portal without a customer: %d\n%s", w.Code, w.Body)
	}
}

// When Stripe does not answer, the pay page still offers distinct choices.
func TestPayPagePricesUnknown(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: sellingProducts, noStripe: true})
	w := newBrowser().do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=club", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("pay page: %d %s", w.Code, w.Body)
	}
	for _, want := range []string{
		"Option 1: 14 days free, then the price shown at checkout",
		"Option 2: 14 days free, then the price shown at checkout",
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("pay page lacks %q:\n%s", want, w.Body)
		}
	}
}
