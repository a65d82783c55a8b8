package stripefake

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// An object read by id comes back typed, with what was Put as its raw
// response, and expanded where asked; a missing one is Stripe's 404.
func TestGetReadsWhatWasPut(t *testing.T) {
	f := New()
	price := `{"id":"price_pro","object":"price","active":true,"type":"recurring","currency":"eur","unit_amount":900,"recurring":{"interval":"month","interval_count":1},"product":"prod_pro"}`
	f.Put(price, map[string]any{"id": "prod_pro", "object": "product", "name": "Pro"})

	got, err := f.GetPrice("price_pro", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.UnitAmount != 900 || got.Type != stripe.PriceTypeRecurring || got.Product.ID != "prod_pro" || got.Product.Name != "" {
		t.Errorf("price: %+v, product %+v", got, got.Product)
	}
	if string(got.LastResponse.RawJSON) != price {
		t.Errorf("raw JSON %s, want what was put", got.LastResponse.RawJSON)
	}

	p := &stripe.PriceParams{}
	p.AddExpand("product")
	if got, err = f.GetPrice("price_pro", p); err != nil || got.Product.Name != "Pro" {
		t.Errorf("expanded: %+v, %v", got, err)
	}

	_, err = f.GetPrice("price_nope", nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing || se.Msg != "No such price: 'price_nope'" {
		t.Errorf("missing price: %v", err)
	}
	if _, err := f.GetTaxSettings(nil); !errors.As(err, &se) || se.HTTPStatusCode != 404 {
		t.Errorf("tax settings never put: %v", err)
	}
}

// A Checkout Session is created open and unpaid from its params, once per
// idempotency key, and can be read back.
func TestCreateCheckoutSession(t *testing.T) {
	f := New()
	f.Now = func() time.Time { return time.Unix(1700000000, 0) }
	p := &stripe.CheckoutSessionParams{Mode: stripe.String("payment"), ClientReferenceID: stripe.String("alice"),
		Metadata: map[string]string{"paywall_user": "alice", "paywall_product": "pro"}}
	p.SetIdempotencyKey("k1")
	first, err := f.CreateCheckoutSession(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first.ID, "cs_test_") || first.URL == "" || first.Status != "open" || first.Mode != "payment" ||
		first.ClientReferenceID != "alice" || first.Metadata["paywall_product"] != "pro" || first.Created != 1700000000 {
		t.Errorf("created: %+v", first)
	}
	again, err := f.CreateCheckoutSession(p)
	if err != nil || again.ID != first.ID {
		t.Errorf("same idempotency key: %v, %v; want %s", again.ID, err, first.ID)
	}
	p.SetIdempotencyKey("k2")
	if other, _ := f.CreateCheckoutSession(p); other.ID == first.ID {
		t.Error("another idempotency key gave the same session")
	}
	if got, err := f.GetCheckoutSession(first.ID, nil); err != nil || got.ClientReferenceID != "alice" {
		t.Errorf("read back: %+v, %v", got, err)
	}
	var methods []string
	for _, c := range f.Calls() {
		methods = append(methods, c.Method)
	}
	if strings.Join(methods, ",") != "CreateCheckoutSession,CreateCheckoutSession,CreateCheckoutSession,GetCheckoutSession" {
		t.Errorf("calls: %v", methods)
	}
}

// Lists are newest first and filtered as the paywall asks; a failure set
// with Fail ends the list with that error.
func TestLists(t *testing.T) {
	f := New()
	f.Put(
		`{"id":"cs_old","object":"checkout.session","status":"complete","created":100}`,
		`{"id":"cs_open","object":"checkout.session","status":"open","created":300}`,
		`{"id":"cs_new","object":"checkout.session","status":"complete","created":200}`,
		stripeevent.Event{ID: "evt_1", Type: "charge.refunded", Created: time.Unix(200, 0)}.MustJSON(),
		stripeevent.Event{ID: "evt_2", Type: "invoice.paid", Created: time.Unix(200, 0)}.MustJSON(),
		stripeevent.Event{ID: "evt_3", Type: "charge.refunded", Created: time.Unix(50, 0)}.MustJSON(),
	)
	lp := &stripe.CheckoutSessionListParams{Status: stripe.String("complete"), CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: 150}}
	var ids []string
	for cs, err := range f.ListCheckoutSessions(lp) {
		if err != nil {
			t.Fatal(err)
		}
		if cs.LastResponse != nil {
			t.Error("a list item has a response of its own; stripe-go's do not")
		}
		ids = append(ids, cs.ID)
	}
	if strings.Join(ids, ",") != "cs_new" {
		t.Errorf("complete sessions since 150: %v", ids)
	}

	ids = nil
	ep := &stripe.EventListParams{Types: stripe.StringSlice([]string{"charge.refunded"}), CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: 100}}
	for e, err := range f.ListEvents(ep) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "evt_1" {
		t.Errorf("refunds since 100: %v", ids)
	}

	boom := errors.New("boom")
	f.Fail("ListEvents", boom)
	var gotErr error
	for _, err := range f.ListEvents(nil) {
		gotErr = err
	}
	if gotErr != boom {
		t.Errorf("failing list: %v", gotErr)
	}
	f.Fail("ListEvents", nil)
	n := 0
	for range f.ListEvents(nil) {
		n++
	}
	if n != 3 {
		t.Errorf("after Fail(nil): %d events", n)
	}
}

// A webhook endpoint's secret is shown when it is created, never listed.
func TestWebhookEndpoints(t *testing.T) {
	f := New()
	ep, err := f.CreateWebhookEndpoint(&stripe.WebhookEndpointParams{URL: stripe.String("https://shop.test/paywall/webhook"),
		EnabledEvents: stripe.StringSlice([]string{"charge.refunded"}), APIVersion: stripe.String(stripe.APIVersion)})
	if err != nil || !strings.HasPrefix(ep.Secret, "whsec_") || ep.APIVersion != stripe.APIVersion {
		t.Fatalf("created: %+v, %v", ep, err)
	}
	var listed []*stripe.WebhookEndpoint
	for e, err := range f.ListWebhookEndpoints(nil) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, e)
	}
	if len(listed) != 1 || listed[0].ID != ep.ID || listed[0].URL != ep.URL || listed[0].Secret != "" ||
		strings.Join(listed[0].EnabledEvents, ",") != "charge.refunded" {
		t.Errorf("listed: %+v", listed)
	}
}
