// Package admin is what the `caddy paywall` commands do, free of Caddy:
// build and send signed test events, show and list entitlements, and check
// a deployment (doctor).
package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// TriggerTypes are the events `trigger` can send.
var TriggerTypes = map[string]func(t Trigger) map[string]any{
	"checkout.session.completed":               func(t Trigger) map[string]any { return t.session("complete", "paid") },
	"checkout.session.async_payment_succeeded": func(t Trigger) map[string]any { return t.session("complete", "paid") },
	"checkout.session.async_payment_failed":    func(t Trigger) map[string]any { return t.session("complete", "unpaid") },
	"checkout.session.expired":                 func(t Trigger) map[string]any { return t.session("expired", "unpaid") },
	"charge.refunded":                          func(t Trigger) map[string]any { return t.charge(true) },
	"charge.dispute.created":                   func(t Trigger) map[string]any { return t.dispute("needs_response") },
	"charge.dispute.closed":                    func(t Trigger) map[string]any { return t.dispute("won") },
}

// TriggerTypeNames lists TriggerTypes, sorted.
func TriggerTypeNames() []string {
	var out []string
	for k := range TriggerTypes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Trigger describes a test event.
type Trigger struct {
	Type, User, Product string
	// PaymentIntent ties a refund or dispute to an earlier trigger's
	// payment; a new id is made when empty.
	PaymentIntent string
	Livemode      bool
	Now           time.Time
}

// Event builds the event's JSON, as Stripe sends it in the API version
// stripe-go speaks.
func (t Trigger) Event() ([]byte, error) {
	build, ok := TriggerTypes[t.Type]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q (want one of %v)", t.Type, TriggerTypeNames())
	}
	if t.PaymentIntent == "" {
		t.PaymentIntent = "pi_trigger_" + randomID()
	}
	if t.Now.IsZero() {
		t.Now = time.Now()
	}
	e := stripeevent.New("evt_trigger_"+randomID(), t.Type, build(t))
	e.Created, e.Livemode = t.Now, t.Livemode
	return e.JSON()
}

func (t Trigger) metadata() map[string]string {
	return map[string]string{"paywall_user": t.User, "paywall_product": t.Product}
}

func (t Trigger) session(status, paymentStatus string) map[string]any {
	return map[string]any{
		"id": "cs_trigger_" + randomID(), "object": "checkout.session", "status": status,
		"payment_status": paymentStatus, "mode": "payment", "client_reference_id": t.User,
		"payment_intent": t.PaymentIntent, "customer": nil, "subscription": nil,
		"created": t.Now.Unix(), "livemode": t.Livemode, "metadata": t.metadata(),
	}
}

func (t Trigger) charge(refunded bool) map[string]any {
	return map[string]any{
		"id": "ch_trigger_" + randomID(), "object": "charge", "payment_intent": t.PaymentIntent,
		"amount": 1000, "amount_refunded": 1000, "refunded": refunded, "invoice": nil,
		"metadata": t.metadata(), "livemode": t.Livemode,
	}
}

func (t Trigger) dispute(status string) map[string]any {
	return map[string]any{
		"id": "dp_trigger_" + randomID(), "object": "dispute", "charge": "ch_trigger_" + randomID(),
		"payment_intent": t.PaymentIntent, "status": status, "livemode": t.Livemode,
	}
}

// WebhookAnswer reports whether body is the paywall webhook's answer
// ({"received": true, ...}), not some other page that answered 200.
func WebhookAnswer(body string) bool {
	var a struct {
		Received bool `json:"received"`
	}
	return json.Unmarshal([]byte(body), &a) == nil && a.Received
}

// Send posts payload to a webhook URL, signed with secret as Stripe signs.
func Send(ctx context.Context, url, secret string, payload []byte) (int, string, error) {
	sig := stripeevent.Sign(payload, secret, time.Time{})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(body), nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
