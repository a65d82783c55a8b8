package caddymodule

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// The Stripe events the whole-server tests send, built by stripeevent (in
// stripe-go's API version) and signed as Stripe signs them.

// checkoutCompleted is a checkout.session.completed for a paid one-time
// session the paywall created, as Stripe sends it.
func checkoutCompleted(eventID, sessionID, paymentIntent, user, product string) []byte {
	return stripeevent.New(eventID, "checkout.session.completed", map[string]any{
		"id": sessionID, "object": "checkout.session", "status": "complete", "payment_status": "paid",
		"mode": "payment", "client_reference_id": user, "payment_intent": paymentIntent,
		"metadata": map[string]string{"paywall_user": user, "paywall_product": product},
	}).MustJSON()
}

// paidEvent is user's payment for "pro": event id, session "cs_"+id,
// payment intent "pi_"+id.
func paidEvent(id, user string) []byte {
	return checkoutCompleted(id, "cs_"+id, "pi_"+id, user, "pro")
}

// refundEvent is a charge.refunded for the payment of
// paidEvent(paymentEvent, ...): a full refund of payment intent
// "pi_"+paymentEvent.
func refundEvent(id, paymentEvent string) []byte {
	return stripeevent.New(id, "charge.refunded", map[string]any{
		"id": "ch_" + paymentEvent, "object": "charge", "amount": 900, "amount_refunded": 900,
		"refunded": true, "payment_intent": "pi_" + paymentEvent,
	}).MustJSON()
}

// signFor is the Stripe-Signature header for payload, signed now.
func signFor(payload []byte, secret string) string {
	return stripeevent.Sign(payload, secret, time.Time{})
}

// postEvent delivers evt to site's webhook through client, signed with
// secret, and returns the status and the body.
func postEvent(client *http.Client, site, secret string, evt []byte) (int, string, error) {
	r, err := http.NewRequest(http.MethodPost, site+"/paywall/webhook", bytes.NewReader(evt))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Stripe-Signature", signFor(evt, secret))
	r.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}
