package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
)

const (
	// maxWebhookBody caps what Stripe may send; larger bodies get 413.
	maxWebhookBody = 1 << 20
	// signatureTolerance is how old a signed timestamp may be.
	signatureTolerance = 5 * time.Minute
	// webhookReadTimeout bounds how long the body may take to arrive:
	// Stripe sends at most a few KB at once, so a slow body is not Stripe,
	// and must not hold a connection for the server's own, longer limit.
	webhookReadTimeout = 10 * time.Second
)

// WebhookResult is what the webhook did with one delivery; caddymodule
// counts it.
type WebhookResult struct {
	Type    string
	Outcome string // an events.Outcome, or "bad_signature", "malformed", "too_large", "store_error"
}

// serveWebhook verifies and applies one Stripe event. It answers 2xx only
// once the event is recorded (or deliberately ignored), 400 for anything
// not signed by Stripe or not an event, and 503 when the store or Stripe
// failed, so Stripe retries.
func (g *Gateway) serveWebhook(w http.ResponseWriter, r *http.Request) {
	res := g.handleWebhook(w, r)
	if g.onWebhook != nil {
		g.onWebhook(res)
	}
}

func (g *Gateway) handleWebhook(w http.ResponseWriter, r *http.Request) WebhookResult {
	// Not every ResponseWriter can set deadlines (tests' recorders); the
	// server's own read timeout then applies.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(g.webhookReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return WebhookResult{Outcome: "too_large"}
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			w.Header().Set("Connection", "close")
			http.Error(w, "body too slow", http.StatusRequestTimeout)
			return WebhookResult{Outcome: "malformed"}
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return WebhookResult{Outcome: "malformed"}
	}
	if !g.signedByStripe(body, r.Header.Get("Stripe-Signature")) {
		http.Error(w, "invalid signature", http.StatusBadRequest)
		return WebhookResult{Outcome: "bad_signature"}
	}
	evt, err := events.Parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return WebhookResult{Outcome: "malformed"}
	}
	outcome, err := g.applier.Apply(r.Context(), evt)
	switch {
	case errors.Is(err, events.ErrMalformed):
		g.log.Warn("webhook: malformed event", field("event", evt.ID), field("type", evt.Type), zapErr(err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return WebhookResult{Type: evt.Type, Outcome: "malformed"}
	case err != nil:
		g.log.Error("webhook: event not applied; stripe will retry", field("event", evt.ID), field("type", evt.Type), zapErr(err))
		http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
		return WebhookResult{Type: evt.Type, Outcome: "store_error"}
	}
	g.log.Debug("webhook", field("event", evt.ID), field("type", evt.Type), field("outcome", string(outcome)))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"received": true, "outcome": outcome})
	return WebhookResult{Type: evt.Type, Outcome: string(outcome)}
}

// signedByStripe checks the signature against every configured secret, so
// a secret can be rotated without dropping events.
func (g *Gateway) signedByStripe(body []byte, header string) bool {
	if header == "" {
		return false
	}
	for _, secret := range g.cfg.WebhookSecrets {
		if webhook.ValidatePayloadWithTolerance(body, header, secret, signatureTolerance) == nil {
			return true
		}
	}
	return false
}
