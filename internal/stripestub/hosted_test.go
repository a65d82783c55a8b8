package stripestub

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

func TestPayOnHostedPage(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, paymentParams(e.stub.Now()))

	status, page := get(t, cs.URL)
	if status != 200 {
		t.Fatalf("page: %d", status)
	}
	for _, want := range []string{`<html lang="en">`, `name="viewport"`, "<h1>", "Pro articles", "€9.00",
		`value="pay"`, `value="cancel"`, ":focus-visible", "Test mode"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// No external assets, no script.
	if regexp.MustCompile(`(?i)<script|<link|<img|src=|@import|url\(`).MatchString(page) {
		t.Error("page loads something")
	}

	resp := submit(t, cs.URL, "pay")
	want := "https://shop.example/paywall/success?session_id=" + cs.ID
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("pay: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	ev := e.hook.verified(t, 0, testSecret)
	if ev.Type != "checkout.session.completed" || ev.APIVersion != stripe.APIVersion || ev.Livemode ||
		!strings.HasPrefix(ev.ID, "evt_test_") || ev.Created == 0 || ev.Request == nil {
		t.Errorf("event: %+v", ev)
	}
	obj := object(t, ev)
	if obj["id"] != cs.ID || obj["status"] != "complete" || obj["payment_status"] != "paid" || obj["url"] != nil {
		t.Errorf("session in event: %v", obj)
	}
	if meta, _ := obj["metadata"].(map[string]any); meta["paywall_user"] != "alice" || meta["paywall_product"] != "pro" {
		t.Errorf("metadata in event: %v", obj["metadata"])
	}
	piID, _ := obj["payment_intent"].(string)
	if !strings.HasPrefix(piID, "pi_test_") {
		t.Fatalf("payment_intent %v", obj["payment_intent"])
	}
	if got := e.hook.all()[0].header.Get("User-Agent"); !strings.HasPrefix(got, "Stripe/") {
		t.Errorf("User-Agent %q", got)
	}

	pi, err := e.api.PaymentIntents.Get(piID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Status != "succeeded" || pi.Amount != 900 || pi.Metadata["paywall_user"] != "alice" || pi.LatestCharge == nil {
		t.Errorf("payment intent: %+v", pi)
	}
	ch, err := e.api.Charges.Get(pi.LatestCharge.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.ID, "ch_test_") || ch.PaymentIntent.ID != piID || ch.Metadata["paywall_product"] != "pro" || !ch.Paid || ch.Refunded {
		t.Errorf("charge: %+v", ch)
	}

	gp := &stripe.CheckoutSessionParams{}
	gp.AddExpand("payment_intent")
	got, err := e.api.CheckoutSessions.Get(cs.ID, gp)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != "complete" || got.PaymentIntent == nil || got.PaymentIntent.ID != piID || got.CustomerDetails == nil {
		t.Errorf("session after pay: %+v", got)
	}

	// A second click goes on to the site; nothing is sent twice.
	if resp := submit(t, cs.URL, "pay"); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("second click: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, page := get(t, cs.URL); status != 200 || !strings.Contains(page, "Payment complete") {
		t.Errorf("page after paying: %d", status)
	}
	if d := e.stub.Deliveries(); len(d) != 1 || !d[0].OK() || d[0].EventID != ev.ID {
		t.Errorf("deliveries: %+v", d)
	}
}

func TestCancelOnHostedPage(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	resp := submit(t, cs.URL, "cancel")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://shop.example/paywall/cancel?product=pro" {
		t.Errorf("cancel: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if s, _ := e.stub.Session(cs.ID); s.Status != "open" || len(e.hook.all()) != 0 {
		t.Errorf("cancel changed state: %s, %d events", s.Status, len(e.hook.all()))
	}
	if status, _ := get(t, e.url+"/pay/cs_test_nope"); status != 404 {
		t.Errorf("unknown session page: %d", status)
	}
}

func TestWebhookFailureStillRedirects(t *testing.T) {
	e := newEnv(t)
	e.hook.setStatus(http.StatusServiceUnavailable)
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	if resp := submit(t, cs.URL, "pay"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay with a failing webhook: %d", resp.StatusCode)
	}
	d := e.stub.Deliveries()
	if len(d) != 1 || d[0].OK() || d[0].StatusCode != 503 {
		t.Errorf("deliveries: %+v", d)
	}
	if s, _ := e.stub.Session(cs.ID); s.PaymentStatus != "paid" {
		t.Errorf("session %s", s.PaymentStatus)
	}

	// Pay reports the failure; Redeliver sends the same bytes again.
	cs2 := e.newSession(t, paymentParams(e.stub.Now()))
	err := e.stub.Pay(cs2.ID)
	var de *DeliveryError
	if !errors.As(err, &de) || len(de.Failed) != 1 {
		t.Fatalf("Pay: %v", err)
	}
	e.hook.setStatus(http.StatusOK)
	if err := e.stub.Redeliver(de.Failed[0].EventID); err != nil {
		t.Fatal(err)
	}
	got := e.hook.all()
	if string(got[1].body) != string(got[2].body) {
		t.Error("redelivery changed the payload")
	}
	e.hook.verified(t, 2, testSecret)

	// Nowhere to send: unreachable URL is recorded as a transport error.
	e.stub.SetWebhook("http://127.0.0.1:1/paywall/webhook", testSecret)
	if _, err := e.stub.SendEvent("charge.refunded", map[string]any{"id": "ch_x"}); !errors.As(err, &de) || de.Failed[0].Err == "" {
		t.Errorf("unreachable webhook: %v", err)
	}
}

func TestDelayedPayment(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DelayedOption = true })
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	if _, page := get(t, cs.URL); !strings.Contains(page, `value="pay_delayed"`) {
		t.Fatal("no delayed option on the page")
	}
	if resp := submit(t, cs.URL, "pay_delayed"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pay_delayed: %d", resp.StatusCode)
	}
	obj := object(t, e.hook.verified(t, 0, testSecret))
	if obj["status"] != "complete" || obj["payment_status"] != "unpaid" {
		t.Errorf("completed with %v %v", obj["status"], obj["payment_status"])
	}
	if _, page := get(t, cs.URL); !strings.Contains(page, "Payment processing") || !strings.Contains(page, `value="settle"`) {
		t.Error("processing page")
	}
	if resp := submit(t, cs.URL, "settle"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("settle: %d", resp.StatusCode)
	}
	ev := e.hook.verified(t, 1, testSecret)
	if obj := object(t, ev); ev.Type != "checkout.session.async_payment_succeeded" || obj["payment_status"] != "paid" {
		t.Errorf("settled: %s %v", ev.Type, obj["payment_status"])
	}

	cs2 := e.newSession(t, paymentParams(e.stub.Now()))
	if err := e.stub.PayDelayed(cs2.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.stub.SettleDelayed(cs2.ID, false); err != nil {
		t.Fatal(err)
	}
	if ev := e.hook.verified(t, 3, testSecret); ev.Type != "checkout.session.async_payment_failed" {
		t.Errorf("failed: %s", ev.Type)
	}
	if _, page := get(t, cs2.URL); !strings.Contains(page, "Payment failed") {
		t.Error("failed page")
	}
	if err := e.stub.SettleDelayed(cs2.ID, true); err == nil {
		t.Error("settled twice")
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	cs := e.newSession(t, paymentParams(e.stub.Now()))
	if err := e.stub.Expire(cs.ID); err != nil {
		t.Fatal(err)
	}
	ev := e.hook.verified(t, 0, testSecret)
	if obj := object(t, ev); ev.Type != "checkout.session.expired" || obj["status"] != "expired" {
		t.Errorf("expired event: %s %v", ev.Type, obj["status"])
	}
	if err := e.stub.Pay(cs.ID); !errors.Is(err, ErrNotOpen) {
		t.Errorf("paying an expired session: %v", err)
	}
	if status, page := get(t, cs.URL); status != http.StatusGone || !strings.Contains(page, "expired") {
		t.Errorf("expired page: %d", status)
	}

	// The clock passing expires_at expires the session, silently.
	cs2 := e.newSession(t, paymentParams(e.stub.Now()))
	e.stub.AdvanceClock(61 * time.Minute)
	got, err := e.api.CheckoutSessions.Get(cs2.ID, nil)
	if err != nil || got.Status != "expired" || got.URL != "" {
		t.Errorf("after expires_at: %s %q %v", got.Status, got.URL, err)
	}
	if resp := submit(t, cs2.URL, "pay"); resp.StatusCode != http.StatusGone {
		t.Errorf("pay after expiry: %d", resp.StatusCode)
	}

	// The API's expire endpoint.
	cs3 := e.newSession(t, paymentParams(e.stub.Now()))
	got, err = e.api.CheckoutSessions.Expire(cs3.ID, nil)
	if err != nil || got.Status != "expired" {
		t.Fatalf("expire: %v", err)
	}
	ev = e.hook.verified(t, 1, testSecret)
	if ev.Request == nil || ev.Request.ID == "" {
		t.Errorf("event from an API call should name its request: %+v", ev.Request)
	}
	if _, err := e.api.CheckoutSessions.Expire(cs3.ID, nil); err == nil {
		t.Error("expired twice")
	}
}

func TestStart(t *testing.T) {
	stub := New(Config{Prices: testPrices})
	u, stop, err := stub.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if stub.BaseURL() != u {
		t.Errorf("base %q, url %q", stub.BaseURL(), u)
	}
	cs, err := apiClient(u, "sk_test_x").CheckoutSessions.New(paymentParams(stub.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cs.URL, u+"/pay/") {
		t.Errorf("url %s", cs.URL)
	}
	// No webhook configured: paying works and sends nothing.
	if err := stub.Pay(cs.ID); err != nil || len(stub.Deliveries()) != 0 {
		t.Errorf("pay without webhook: %v, %d deliveries", err, len(stub.Deliveries()))
	}
}
