// Package stripeevent builds Stripe events as a webhook endpoint receives
// them, in the API version stripe-go speaks (stripe.APIVersion), and signs
// them as Stripe does. `caddy paywall trigger`, the Stripe stand-in and the
// tests all build their events here, so an event's shape and version are
// written once.
package stripeevent

import (
	"encoding/json"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Event is one Stripe event. New fills what a delivered event has.
type Event struct {
	ID   string
	Type string
	// Object is data.object: anything that encodes to a JSON object (a
	// map, a struct, json.RawMessage).
	Object any
	// PreviousAttributes is data.previous_attributes (the fields an
	// *.updated event changed, with their old values); left out when nil.
	PreviousAttributes map[string]any
	// Created is the event's time; the zero time means now.
	Created  time.Time
	Livemode bool
	// APIVersion is the version the event is rendered in; "" means
	// stripe.APIVersion. Set it only to send another version on purpose.
	APIVersion string
	// PendingWebhooks is how many endpoints have yet to receive it.
	PendingWebhooks int
	// RequestID and IdempotencyKey name the API request that caused the
	// event; empty (null) for events that no request caused.
	RequestID, IdempotencyKey string
}

// New is an event of type typ about object, created now, for one endpoint.
func New(id, typ string, object any) Event {
	return Event{ID: id, Type: typ, Object: object, Created: time.Now(), PendingWebhooks: 1}
}

// wire is the JSON of an event, its fields in Stripe's order.
type wire struct {
	ID              string  `json:"id"`
	Object          string  `json:"object"`
	APIVersion      string  `json:"api_version"`
	Created         int64   `json:"created"`
	Data            data    `json:"data"`
	Livemode        bool    `json:"livemode"`
	PendingWebhooks int     `json:"pending_webhooks"`
	Request         request `json:"request"`
	Type            string  `json:"type"`
}

type data struct {
	Object             any            `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

type request struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

// JSON is the event as Stripe sends it.
func (e Event) JSON() ([]byte, error) {
	w := wire{
		ID: e.ID, Object: "event", APIVersion: e.APIVersion, Created: e.Created.Unix(),
		Data:     data{Object: e.Object, PreviousAttributes: e.PreviousAttributes},
		Livemode: e.Livemode, PendingWebhooks: e.PendingWebhooks,
		Request: request{ID: nullable(e.RequestID), IdempotencyKey: nullable(e.IdempotencyKey)},
		Type:    e.Type,
	}
	if w.APIVersion == "" {
		w.APIVersion = stripe.APIVersion
	}
	if e.Created.IsZero() {
		w.Created = time.Now().Unix()
	}
	return json.Marshal(w)
}

// MustJSON is JSON for objects that always encode (maps of plain values,
// RawMessages); it panics otherwise.
func (e Event) MustJSON() []byte {
	b, err := e.JSON()
	if err != nil {
		panic("stripeevent: encoding event " + e.ID + ": " + err.Error())
	}
	return b
}

// Sign is the Stripe-Signature header Stripe would send with payload,
// signed with an endpoint's secret at time at (the zero time means now).
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload: payload, Secret: secret, Timestamp: at,
	}).Header
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
