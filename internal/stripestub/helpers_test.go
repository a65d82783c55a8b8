package stripestub

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"
)

const testSecret = "whsec_test_secret"

var testPrices = []Price{
	{ID: "price_pro", ProductName: "Pro articles", UnitAmount: 900, Currency: "EUR"},
	{ID: "price_club", ProductName: "Members' club", UnitAmount: 500, Currency: "eur", Recurring: "month"},
	{ID: "price_club_year", ProductName: "Members' club (yearly)", UnitAmount: 5000, Currency: "eur", Recurring: "year"},
	{ID: "price_old", ProductName: "Old offer", UnitAmount: 100, Currency: "eur", Archived: true},
}

// receiver is a webhook endpoint that records what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	body   []byte
	header http.Header
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{b, r.Header.Clone()})
		status := rc.status
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"received":true}`))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setStatus(code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status = code
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// verified checks the i-th delivery's signature as the gateway does and
// returns the event.
func (rc *receiver) verified(t *testing.T, i int, secret string) stripe.Event {
	t.Helper()
	got := rc.all()
	if len(got) <= i {
		t.Fatalf("receiver got %d deliveries, want at least %d", len(got), i+1)
	}
	ev, err := webhook.ConstructEventWithOptions(got[i].body, got[i].header.Get("Stripe-Signature"), secret,
		webhook.ConstructEventOptions{Tolerance: 5 * time.Minute})
	if err != nil {
		t.Fatalf("delivery %d does not verify: %v\n%s", i, err, got[i].body)
	}
	if ct := got[i].header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("delivery %d Content-Type = %q", i, ct)
	}
	return ev
}

// env is a stub served over HTTP, a stripe-go client pointed at it, and a
// webhook receiver.
type env struct {
	stub *Stub
	api  *client.API
	url  string
	hook *receiver
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	hook := newReceiver(t)
	cfg := Config{Prices: testPrices, WebhookURL: hook.URL, WebhookSecret: testSecret}
	for _, m := range mutate {
		m(&cfg)
	}
	stub := New(cfg)
	srv := httptest.NewServer(stub)
	t.Cleanup(srv.Close)
	stub.SetBaseURL(srv.URL)
	return &env{stub: stub, api: apiClient(srv.URL, "sk_test_123"), url: srv.URL, hook: hook}
}

func apiClient(u, key string) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(u),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
		MaxNetworkRetries: stripe.Int64(0),
	})
	return client.New(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// paymentParams is a Checkout Session as the gateway creates it.
func paymentParams(now time.Time) *stripe.CheckoutSessionParams {
	meta := map[string]string{"paywall_user": "alice", "paywall_product": "pro"}
	return &stripe.CheckoutSessionParams{
		Mode:              stripe.String("payment"),
		ClientReferenceID: stripe.String("alice"),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_pro"), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String("https://shop.example/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:         stripe.String("https://shop.example/paywall/cancel?product=pro"),
		Metadata:          meta,
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta},
		ExpiresAt:         stripe.Int64(now.Add(time.Hour).Unix()),
	}
}

func subscriptionParams(now time.Time, customer string) *stripe.CheckoutSessionParams {
	meta := map[string]string{"paywall_user": "bob", "paywall_product": "club"}
	p := &stripe.CheckoutSessionParams{
		Mode:                stripe.String("subscription"),
		ClientReferenceID:   stripe.String("bob"),
		LineItems:           []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String("price_club"), Quantity: stripe.Int64(1)}},
		SuccessURL:          stripe.String("https://shop.example/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:           stripe.String("https://shop.example/paywall/cancel?product=club"),
		Metadata:            meta,
		SubscriptionData:    &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta},
		AllowPromotionCodes: stripe.Bool(true),
		ExpiresAt:           stripe.Int64(now.Add(time.Hour).Unix()),
	}
	if customer != "" {
		p.Customer = stripe.String(customer)
	}
	return p
}

func (e *env) newSession(t *testing.T, p *stripe.CheckoutSessionParams) *stripe.CheckoutSession {
	t.Helper()
	cs, err := e.api.CheckoutSessions.New(p)
	if err != nil {
		t.Fatalf("creating checkout session: %v", err)
	}
	return cs
}

// browser is an HTTP client that does not follow redirects.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// submit posts the hosted page's form.
func submit(t *testing.T, pageURL, action string) *http.Response {
	t.Helper()
	resp, err := browser.PostForm(pageURL, url.Values{"action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stripeErr unwraps a stripe-go error.
func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("want a *stripe.Error, got %T %v", err, err)
	}
	return se
}

// object decodes an event's data.object into a map.
func object(t *testing.T, ev stripe.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
