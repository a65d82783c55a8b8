package stripestub

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestCreateAndGetSession(t *testing.T) {
	e := newEnv(t)
	now := e.stub.Now()
	p := paymentParams(now)
	p.AllowPromotionCodes = stripe.Bool(true)
	p.CustomerEmail = stripe.String("alice@example.com")
	cs := e.newSession(t, p)

	if !strings.HasPrefix(cs.ID, "cs_test_") || cs.Object != "checkout.session" {
		t.Fatalf("id %q object %q", cs.ID, cs.Object)
	}
	if cs.Status != "open" || cs.PaymentStatus != "unpaid" || cs.Mode != "payment" || cs.Livemode {
		t.Errorf("status %s payment_status %s mode %s livemode %v", cs.Status, cs.PaymentStatus, cs.Mode, cs.Livemode)
	}
	if cs.URL != e.url+"/pay/"+cs.ID {
		t.Errorf("url = %q", cs.URL)
	}
	if cs.AmountTotal != 900 || cs.Currency != "eur" {
		t.Errorf("amount %d %s", cs.AmountTotal, cs.Currency)
	}
	if cs.ClientReferenceID != "alice" || cs.Metadata["paywall_user"] != "alice" || cs.Metadata["paywall_product"] != "pro" {
		t.Errorf("client_reference_id %q metadata %v", cs.ClientReferenceID, cs.Metadata)
	}
	if cs.ExpiresAt != now.Add(time.Hour).Unix() || cs.Created != now.Unix() {
		t.Errorf("created %d expires_at %d", cs.Created, cs.ExpiresAt)
	}
	if !cs.AllowPromotionCodes || cs.CustomerEmail != "alice@example.com" || cs.PaymentIntent != nil {
		t.Errorf("allow_promotion_codes %v customer_email %q payment_intent %v", cs.AllowPromotionCodes, cs.CustomerEmail, cs.PaymentIntent)
	}
	if !strings.Contains(cs.SuccessURL, "{CHECKOUT_SESSION_ID}") {
		t.Errorf("success_url should keep its template until the redirect: %s", cs.SuccessURL)
	}

	gp := &stripe.CheckoutSessionParams{}
	gp.AddExpand("line_items")
	got, err := e.api.CheckoutSessions.Get(cs.ID, gp)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != cs.ID || got.Metadata["paywall_product"] != "pro" || got.LineItems == nil ||
		len(got.LineItems.Data) != 1 || got.LineItems.Data[0].Price.ID != "price_pro" || got.LineItems.Data[0].Description != "Pro articles" {
		t.Errorf("get: %+v", got)
	}
	// The raw JSON is what the gateway decodes.
	var raw map[string]any
	if err := json.Unmarshal(got.LastResponse.RawJSON, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["payment_intent"] != nil || raw["subscription"] != nil || raw["customer"] != nil {
		t.Errorf("unpaid session references: %v %v %v", raw["payment_intent"], raw["subscription"], raw["customer"])
	}

	snap, ok := e.stub.Session(cs.ID)
	if !ok || snap.PaymentIntentMeta["paywall_user"] != "alice" || snap.IdempotencyKey == "" {
		t.Errorf("snapshot %+v", snap)
	}

	_, err = e.api.CheckoutSessions.Get("cs_test_nope", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing {
		t.Errorf("missing session: %d %s", se.HTTPStatusCode, se.Code)
	}
}

func TestCreateSessionValidation(t *testing.T) {
	e := newEnv(t)
	now := e.stub.Now()
	cases := []struct {
		name   string
		mutate func(p *stripe.CheckoutSessionParams)
		status int
		param  string
	}{
		{"unknown price", func(p *stripe.CheckoutSessionParams) { p.LineItems[0].Price = stripe.String("price_nope") }, 404, "line_items[0][price]"},
		{"archived price", func(p *stripe.CheckoutSessionParams) { p.LineItems[0].Price = stripe.String("price_old") }, 400, "line_items[0][price]"},
		{"recurring in payment mode", func(p *stripe.CheckoutSessionParams) { p.LineItems[0].Price = stripe.String("price_club") }, 400, "line_items"},
		{"one-time in subscription mode", func(p *stripe.CheckoutSessionParams) {
			p.Mode = stripe.String("subscription")
			p.PaymentIntentData = nil
		}, 400, "line_items"},
		{"payment_intent_data in subscription mode", func(p *stripe.CheckoutSessionParams) {
			p.Mode = stripe.String("subscription")
			p.LineItems[0].Price = stripe.String("price_club")
		}, 400, "payment_intent_data"},
		{"expires too soon", func(p *stripe.CheckoutSessionParams) { p.ExpiresAt = stripe.Int64(now.Add(10 * time.Minute).Unix()) }, 400, "expires_at"},
		{"expires too late", func(p *stripe.CheckoutSessionParams) { p.ExpiresAt = stripe.Int64(now.Add(25 * time.Hour).Unix()) }, 400, "expires_at"},
		{"no mode", func(p *stripe.CheckoutSessionParams) { p.Mode = nil }, 400, "mode"},
		{"no success url", func(p *stripe.CheckoutSessionParams) { p.SuccessURL = nil }, 400, "success_url"},
		{"unknown customer", func(p *stripe.CheckoutSessionParams) { p.Customer = stripe.String("cus_nope") }, 404, "customer"},
		{"customer and email", func(p *stripe.CheckoutSessionParams) {
			p.Customer = stripe.String("cus_nope")
			p.CustomerEmail = stripe.String("a@example.com")
		}, 400, "customer_email"},
		{"zero quantity", func(p *stripe.CheckoutSessionParams) { p.LineItems[0].Quantity = stripe.Int64(0) }, 400, "line_items[0][quantity]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := paymentParams(now)
			c.mutate(p)
			_, err := e.api.CheckoutSessions.New(p)
			if err == nil {
				t.Fatal("accepted")
			}
			se := stripeErr(t, err)
			if se.HTTPStatusCode != c.status || se.Param != c.param || se.Type != stripe.ErrorTypeInvalidRequest {
				t.Errorf("got %d %s param %q: %s", se.HTTPStatusCode, se.Type, se.Param, se.Msg)
			}
		})
	}
	if n := len(e.stub.Sessions()); n != 0 {
		t.Errorf("%d sessions created by refused requests", n)
	}

	// Parameters Stripe does not know are refused, as Stripe does.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/checkout/sessions", strings.NewReader("mode=payment&colour=blue"))
	req.Header.Set("Authorization", "Bearer sk_test_123")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Received unknown parameter: colour") {
		t.Errorf("unknown parameter: %d %s", resp.StatusCode, body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	now := e.stub.Now()
	p := paymentParams(now)
	p.SetIdempotencyKey("paywall-checkout-1")
	first := e.newSession(t, p)
	p2 := paymentParams(now)
	p2.SetIdempotencyKey("paywall-checkout-1")
	second := e.newSession(t, p2)
	if first.ID != second.ID {
		t.Errorf("same key gave %s and %s", first.ID, second.ID)
	}
	if second.LastResponse.Header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked Idempotent-Replayed")
	}
	if third := e.newSession(t, paymentParams(now)); third.ID == first.ID {
		t.Error("a new key (stripe-go makes one per POST) reused the session")
	}

	p3 := paymentParams(now)
	p3.ClientReferenceID = stripe.String("mallory")
	p3.SetIdempotencyKey("paywall-checkout-1")
	_, err := e.api.CheckoutSessions.New(p3)
	if se := stripeErr(t, err); se.Type != stripe.ErrorTypeIdempotency || se.HTTPStatusCode != 400 {
		t.Errorf("other params under the same key: %d %s", se.HTTPStatusCode, se.Type)
	}

	// A refused request saves nothing: the key can be used again.
	bad := paymentParams(now)
	bad.LineItems[0].Price = stripe.String("price_nope")
	bad.SetIdempotencyKey("paywall-checkout-2")
	if _, err := e.api.CheckoutSessions.New(bad); err == nil {
		t.Fatal("bad price accepted")
	}
	good := paymentParams(now)
	good.SetIdempotencyKey("paywall-checkout-2")
	e.newSession(t, good)

	if n := len(e.stub.Sessions()); n != 3 {
		t.Errorf("%d sessions, want 3", n)
	}
}

// TestIdempotencyConcurrent: a double click sends two requests with one
// key at once; each gets the one session or a 409 to retry, as Stripe.
func TestIdempotencyConcurrent(t *testing.T) {
	e := newEnv(t)
	p := paymentParams(e.stub.Now())
	body := url.Values{"mode": {"payment"}, "line_items[0][price]": {"price_pro"}, "line_items[0][quantity]": {"1"},
		"success_url": {*p.SuccessURL}}.Encode()
	var wg sync.WaitGroup
	ids := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/checkout/sessions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk_test_123")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Idempotency-Key", "double-click")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out struct{ ID string }
			_ = json.NewDecoder(resp.Body).Decode(&out)
			switch resp.StatusCode {
			case 200:
				ids <- out.ID
			case 409:
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 || len(e.stub.Sessions()) != 1 {
		t.Errorf("ids %v, %d sessions", seen, len(e.stub.Sessions()))
	}
}

func TestListSessions(t *testing.T) {
	e := newEnv(t)
	start := e.stub.Now()
	var ids []string
	for i := range 25 {
		if i == 20 {
			e.stub.AdvanceClock(time.Hour)
		}
		ids = append(ids, e.newSession(t, paymentParams(e.stub.Now())).ID)
	}

	// stripe-go's iterator pages through all of them, newest first.
	lp := &stripe.CheckoutSessionListParams{}
	lp.Limit = stripe.Int64(10)
	it := e.api.CheckoutSessions.List(lp)
	var got []string
	for it.Next() {
		got = append(got, it.CheckoutSession().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 25 {
		t.Fatalf("listed %d, want 25", len(got))
	}
	for i := range got {
		if got[i] != ids[24-i] {
			t.Fatalf("order: got[%d] = %s, want %s", i, got[i], ids[24-i])
		}
	}

	// created[gte] keeps the last five.
	lp = &stripe.CheckoutSessionListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: start.Add(30 * time.Minute).Unix()}}
	it = e.api.CheckoutSessions.List(lp)
	n := 0
	for it.Next() {
		n++
	}
	if it.Err() != nil || n != 5 {
		t.Errorf("created[gte]: %d sessions, err %v", n, it.Err())
	}

	// One page: has_more and starting_after.
	lp = &stripe.CheckoutSessionListParams{}
	lp.Limit = stripe.Int64(3)
	lp.Single = true
	lp.StartingAfter = stripe.String(ids[24])
	it = e.api.CheckoutSessions.List(lp)
	got = nil
	for it.Next() {
		got = append(got, it.CheckoutSession().ID)
	}
	if len(got) != 3 || got[0] != ids[23] || !it.Meta().HasMore {
		t.Errorf("page after newest: %v has_more %v", got, it.Meta().HasMore)
	}

	// status filter.
	if err := e.stub.Pay(ids[22]); err != nil {
		t.Fatal(err)
	}
	lp = &stripe.CheckoutSessionListParams{Status: stripe.String("complete")}
	lp.AddExpand("data.payment_intent")
	it = e.api.CheckoutSessions.List(lp)
	got = nil
	for it.Next() {
		cs := it.CheckoutSession()
		got = append(got, cs.ID)
		if cs.PaymentIntent == nil || cs.PaymentIntent.Status != "succeeded" || cs.PaymentIntent.Metadata["paywall_user"] != "alice" {
			t.Errorf("expanded payment intent: %+v", cs.PaymentIntent)
		}
	}
	if len(got) != 1 || got[0] != ids[22] {
		t.Errorf("status=complete: %v", got)
	}
}

func TestPrices(t *testing.T) {
	e := newEnv(t)
	pp := &stripe.PriceParams{}
	pp.AddExpand("product")
	price, err := e.api.Prices.Get("price_pro", pp)
	if err != nil {
		t.Fatal(err)
	}
	if price.UnitAmount != 900 || price.Currency != "eur" || price.Type != stripe.PriceTypeOneTime || !price.Active ||
		price.Product == nil || price.Product.Name != "Pro articles" || price.Product.ID != "prod_pro" || price.Recurring != nil {
		t.Errorf("price: %+v product %+v", price, price.Product)
	}

	price, err = e.api.Prices.Get("price_club", nil)
	if err != nil {
		t.Fatal(err)
	}
	if price.Type != stripe.PriceTypeRecurring || price.Recurring == nil || price.Recurring.Interval != "month" ||
		price.Product.ID != "prod_club" || price.Product.Name != "" {
		t.Errorf("recurring price unexpanded: %+v", price)
	}

	if price, err = e.api.Prices.Get("price_old", nil); err != nil || price.Active {
		t.Errorf("archived price: active %v err %v", price.Active, err)
	}

	_, err = e.api.Prices.Get("price_nope", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 || !strings.Contains(se.Msg, "No such price") {
		t.Errorf("missing price: %d %s", se.HTTPStatusCode, se.Msg)
	}

	pp = &stripe.PriceParams{}
	pp.AddExpand("nonsense")
	_, err = e.api.Prices.Get("price_pro", pp)
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 {
		t.Errorf("bad expand: %d %s", se.HTTPStatusCode, se.Msg)
	}

	it := e.api.Prices.List(&stripe.PriceListParams{Type: stripe.String("recurring")})
	n := 0
	for it.Next() {
		n++
	}
	if n != 2 || it.Err() != nil {
		t.Errorf("recurring prices listed: %d %v", n, it.Err())
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{"sk_live_123", "pk_test_123", "sk_test_"} {
		_, err := apiClient(e.url, key).Prices.Get("price_pro", nil)
		if se := stripeErr(t, err); se.HTTPStatusCode != 401 || se.Type != stripe.ErrorTypeInvalidRequest {
			t.Errorf("key %q: %d %s", key, se.HTTPStatusCode, se.Type)
		}
	}
	if _, err := apiClient(e.url, "rk_test_abc").Prices.Get("price_pro", nil); err != nil {
		t.Errorf("restricted test key: %v", err)
	}

	resp, err := http.Get(e.url + "/v1/prices/price_pro")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Type, Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || body.Error.Type != "invalid_request_error" || body.Error.Message == "" {
		t.Errorf("no key: %d %+v", resp.StatusCode, body)
	}
}

func TestUnknownRoute(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/coupons/abc"}, {"DELETE", "/v1/prices/price_pro"}, {"GET", "/nowhere"}, {"PUT", "/v1/checkout/sessions"},
	} {
		req, _ := http.NewRequest(c.method, e.url+c.path, nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Type, Message string }
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 404 || err != nil || body.Error.Type != "invalid_request_error" ||
			!strings.Contains(body.Error.Message, "Unrecognized request URL") {
			t.Errorf("%s %s: %d %+v %v", c.method, c.path, resp.StatusCode, body, err)
		}
	}
	_, err := e.api.Coupons.Get("abc", nil)
	if se := stripeErr(t, err); se.HTTPStatusCode != 404 {
		t.Errorf("stripe-go on an unserved endpoint: %d", se.HTTPStatusCode)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	e := newEnv(t)
	other := newReceiver(t)
	ep, err := e.api.WebhookEndpoints.New(&stripe.WebhookEndpointParams{
		URL:           stripe.String(other.URL + "/paywall/webhook"),
		EnabledEvents: stripe.StringSlice([]string{"checkout.session.completed", "charge.refunded"}),
		APIVersion:    stripe.String(stripe.APIVersion),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || ep.Status != "enabled" || ep.APIVersion != stripe.APIVersion || len(ep.EnabledEvents) != 2 {
		t.Errorf("created: %+v", ep)
	}
	it := e.api.WebhookEndpoints.List(nil)
	var listed []*stripe.WebhookEndpoint
	for it.Next() {
		listed = append(listed, it.WebhookEndpoint())
	}
	if it.Err() != nil || len(listed) != 1 || listed[0].ID != ep.ID || listed[0].Secret != "" || listed[0].URL != ep.URL {
		t.Errorf("listed: %+v %v", listed, it.Err())
	}

	// Events go to the configured URL and to the endpoint, each signed
	// with its own secret; the endpoint gets only the types it asked for.
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	if err := e.stub.Pay(cs.ID); err != nil {
		t.Fatal(err)
	}
	e.hook.verified(t, 0, testSecret)
	if ev := other.verified(t, 0, ep.Secret); ev.Type != "checkout.session.completed" || ev.PendingWebhooks != 2 {
		t.Errorf("endpoint got %s pending_webhooks %d", ev.Type, ev.PendingWebhooks)
	}
	if _, err := e.stub.SendEvent("customer.subscription.updated", map[string]any{"id": "sub_x", "object": "subscription"}); err != nil {
		t.Fatal(err)
	}
	if len(other.all()) != 1 || len(e.hook.all()) != 2 {
		t.Errorf("endpoint got %d, configured URL %d", len(other.all()), len(e.hook.all()))
	}

	_, err = e.api.WebhookEndpoints.New(&stripe.WebhookEndpointParams{URL: stripe.String("not a url"), EnabledEvents: stripe.StringSlice([]string{"*"})})
	if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != "url" {
		t.Errorf("bad url: %d %q", se.HTTPStatusCode, se.Param)
	}
	if _, err := e.api.WebhookEndpoints.Update(ep.ID, &stripe.WebhookEndpointParams{Disabled: stripe.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.api.WebhookEndpoints.Get(ep.ID, nil); got.Status != "disabled" {
		t.Errorf("after disabling: %s", got.Status)
	}
	if del, err := e.api.WebhookEndpoints.Del(ep.ID, nil); err != nil || !del.Deleted {
		t.Errorf("delete: %+v %v", del, err)
	}
}

func TestFormKeys(t *testing.T) {
	f, err := parseForm(url.Values{
		"line_items[1][price]": {"b"}, "line_items[0][price]": {"a"}, "line_items[10][price]": {"k"},
		"metadata[paywall_user]": {"alice"}, "expand[]": {"x", "y"}, "created[gte]": {"5"}, "mode": {"payment"},
	})
	if err != nil {
		t.Fatal(err)
	}
	items, _ := f.list("line_items")
	var prices []string
	for _, it := range items {
		prices = append(prices, it.str("price"))
	}
	if fmt.Sprint(prices) != "[a b k]" {
		t.Errorf("line items in index order: %v", prices)
	}
	if ex, _ := f.strList("expand"); fmt.Sprint(ex) != "[x y]" {
		t.Errorf("expand[]: %v", ex)
	}
	if m, _ := f.strMap("metadata"); m["paywall_user"] != "alice" {
		t.Errorf("metadata: %v", m)
	}
	gte, _ := timeFilter(f, "created")
	if gte(4) || !gte(5) {
		t.Error("created[gte]")
	}
	for _, bad := range []string{"a[b", "[a]", "a]b", "a[b]c"} {
		if _, ok := splitKey(bad); ok {
			t.Errorf("splitKey(%q) accepted", bad)
		}
	}
	if _, err := parseForm(url.Values{"a[b": {"1"}}); err == nil {
		t.Error("malformed key accepted")
	}
}

func TestPeriodEnd(t *testing.T) {
	jan31 := time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)
	for interval, want := range map[string]string{"month": "2024-02-29", "year": "2025-01-31", "week": "2024-02-07", "day": "2024-02-01"} {
		if got := periodEnd(jan31, interval).Format("2006-01-02"); got != want {
			t.Errorf("%s: %s, want %s", interval, got, want)
		}
	}
	for amount, want := range map[string]string{"eur": "€9.00", "usd": "$9.00", "jpy": "¥900", "chf": "9.00 CHF"} {
		if got := formatAmount(900, amount); got != want {
			t.Errorf("%s: %s", amount, got)
		}
	}
}

func TestMoreEndpoints(t *testing.T) {
	// No SetBaseURL: links use the Host the client called.
	stub := New(Config{Prices: testPrices})
	srv := httptest.NewServer(stub)
	defer srv.Close()
	api := apiClient(srv.URL, "sk_test_123")
	fixed := time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
	stub.SetNow(fixed)
	if d := stub.Now().Sub(fixed); d < 0 || d > time.Minute {
		t.Errorf("SetNow: %v off", d)
	}

	cus, err := api.Customers.New(&stripe.CustomerParams{Email: stripe.String("carol@example.com")})
	if err != nil || !strings.HasPrefix(cus.ID, "cus_test_") {
		t.Fatalf("customer: %+v %v", cus, err)
	}
	if got, err := api.Customers.Get(cus.ID, nil); err != nil || got.Email != "carol@example.com" {
		t.Errorf("get customer: %+v %v", got, err)
	}
	p := paymentParams(stub.Now())
	p.Customer = stripe.String(cus.ID)
	p.LineItems[0].Quantity = stripe.Int64(3)
	cs, err := api.CheckoutSessions.New(p)
	if err != nil {
		t.Fatal(err)
	}
	if cs.URL != srv.URL+"/pay/"+cs.ID || cs.AmountTotal != 2700 || cs.Created != stub.Now().Unix() {
		t.Errorf("session: url %s amount %d created %d", cs.URL, cs.AmountTotal, cs.Created)
	}
	it := api.CheckoutSessions.ListLineItems(&stripe.CheckoutSessionListLineItemsParams{Session: stripe.String(cs.ID)})
	for it.Next() {
		if li := it.LineItem(); li.Quantity != 3 || li.AmountTotal != 2700 || li.Price.ID != "price_pro" {
			t.Errorf("line item: %+v", li)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := stub.Pay(cs.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ := stub.Session(cs.ID); s.Customer != cus.ID {
		t.Errorf("given customer not kept: %s", s.Customer)
	}
	if prod, err := api.Products.Get("prod_pro", nil); err != nil || prod.Name != "Pro articles" {
		t.Errorf("product: %+v %v", prod, err)
	}

	// Events are listed too, newest first, by type; ending_before pages.
	for range 3 {
		if _, err := stub.SendEvent("charge.refunded", map[string]any{"id": "ch_x", "object": "charge"}); err != nil {
			t.Fatal(err)
		}
	}
	evs := api.Events.List(&stripe.EventListParams{Type: stripe.String("charge.refunded")})
	var ids []string
	for evs.Next() {
		ids = append(ids, evs.Event().ID)
	}
	if evs.Err() != nil || len(ids) != 3 {
		t.Fatalf("events: %v %v", ids, evs.Err())
	}
	lp := &stripe.EventListParams{}
	lp.EndingBefore = stripe.String(ids[2])
	lp.Limit = stripe.Int64(1)
	back := api.Events.List(lp)
	var newer []string // ending_before pages toward newer events
	for back.Next() {
		newer = append(newer, back.Event().ID)
	}
	if back.Err() != nil || len(newer) != 2 || newer[0] != ids[1] || newer[1] != ids[0] {
		t.Errorf("ending_before: %v (ids %v) %v", newer, ids, back.Err())
	}

	// DELETE /v1/subscriptions/{id} cancels.
	sp := subscriptionParams(stub.Now(), cus.ID)
	scs, err := api.CheckoutSessions.New(sp)
	if err != nil {
		t.Fatal(err)
	}
	if err := stub.Pay(scs.ID); err != nil {
		t.Fatal(err)
	}
	snap, _ := stub.Session(scs.ID)
	sub, err := api.Subscriptions.Cancel(snap.Subscription, nil)
	if err != nil || sub.Status != "canceled" || sub.EndedAt == 0 {
		t.Errorf("cancel via API: %+v %v", sub, err)
	}
	if err := stub.SetCancelAtPeriodEnd(snap.Subscription, true); err != nil {
		t.Error(err)
	}
	if url, err := stub.Cancel(cs.ID); err != nil || url != *p.CancelURL {
		t.Errorf("Cancel: %q %v", url, err)
	}
	if len(stub.WebhookEndpoints()) != 0 {
		t.Error("endpoints out of nowhere")
	}
}

func TestMountedBelowAPath(t *testing.T) {
	stub := New(Config{Prices: testPrices})
	srv := httptest.NewServer(stub)
	defer srv.Close()
	base := srv.URL + "/stripe"
	stub.SetBaseURL(base)
	cs, err := apiClient(base, "sk_test_123").CheckoutSessions.New(paymentParams(stub.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if cs.URL != base+"/pay/"+cs.ID {
		t.Fatalf("url %s", cs.URL)
	}
	if status, _ := get(t, cs.URL); status != 200 {
		t.Errorf("page below the prefix: %d", status)
	}
	resp, err := browser.PostForm(cs.URL, url.Values{"action": {"nonsense"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("unknown action: %d", resp.StatusCode)
	}
}
