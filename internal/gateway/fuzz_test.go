package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// FuzzWebhook feeds correctly signed bodies of any shape through the
// webhook: it must answer 200, 400 or 503, never panic, and never open
// access for a body that is not a paid checkout.session.completed.
func FuzzWebhook(f *testing.F) {
	f.Add(string(completedEvent("evt_seed", "alice", "pro", "pi_seed")))
	f.Add(string(stripeevent.New("evt_refund", "charge.refunded", map[string]any{"id": "ch_1", "payment_intent": "pi_seed", "refunded": true}).MustJSON()))
	f.Add(string(stripeevent.New("evt_dispute", "charge.dispute.created", map[string]any{"id": "dp_1", "payment_intent": map[string]any{"id": "pi_seed"}}).MustJSON()))
	f.Add(`{"id":"evt_x","type":"checkout.session.completed","data":{"object":{"metadata":null,"payment_intent":{"id":7}}}}`)
	f.Add(`{"id":"evt_y","type":"invoice.paid","data":{"object":{"subscription":[]}}}`)
	f.Add(`[]`)
	fx := newFixture(f, fixtureOpts{api: stripefake.New()}) // knows no object: every fetch fails
	f.Fuzz(func(t *testing.T, body string) {
		w := fx.deliver(t, []byte(body), stripeevent.Sign([]byte(body), testWebhookSecret, time.Now()))
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d for %q", w.Code, body)
		}
	})
}
