// Package events turns Stripe events into entitlement changes. It reads
// only the fields it needs, defensively, so a payload of another API
// version or an unexpected shape is refused cleanly instead of misread.
// The webhook, the success page and reconcile all fulfil a Checkout
// Session through FulfilSession, so they share one idempotency.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Event is the part of a Stripe event the gateway reads.
type Event struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	Livemode   bool   `json:"livemode"`
	APIVersion string `json:"api_version"`
	Data       struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// ErrMalformed marks a payload that is not a Stripe event of the expected
// shape; the webhook answers it 400.
var ErrMalformed = errors.New("malformed event")

// Parse reads a verified webhook body.
func Parse(body []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if e.ID == "" || e.Type == "" {
		return Event{}, fmt.Errorf("%w: missing id or type", ErrMalformed)
	}
	if len(e.Data.Object) == 0 || e.Data.Object[0] != '{' {
		return Event{}, fmt.Errorf("%w: data.object is not an object", ErrMalformed)
	}
	return e, nil
}

// decodeObject reads data.object into v.
func (e Event) decodeObject(v any) error {
	if err := json.Unmarshal(e.Data.Object, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, e.Type, err)
	}
	return nil
}

// ID is a Stripe reference that arrives either as an id string or, when
// expanded, as an object with an id.
type ID string

// UnmarshalJSON accepts "pi_123", {"id":"pi_123",...} and null.
func (id *ID) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		*id = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(s)
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("expected an id or an object with an id: %v", err)
	}
	*id = ID(obj.ID)
	return nil
}

// Session is the part of a Checkout Session the gateway reads.
type Session struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Status            string            `json:"status"`
	PaymentStatus     string            `json:"payment_status"`
	Mode              string            `json:"mode"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	PaymentIntent     ID                `json:"payment_intent"`
	Customer          ID                `json:"customer"`
	Subscription      ID                `json:"subscription"`
	Created           int64             `json:"created"`
	Livemode          bool              `json:"livemode"`
	AmountTotal       int64             `json:"amount_total"`
	Currency          string            `json:"currency"`
}

// Paid reports whether the session is complete and its money settled (or
// none was due).
func (s Session) Paid() bool {
	return s.Status == "complete" && (s.PaymentStatus == "paid" || s.PaymentStatus == "no_payment_required")
}

// User is who paid: the metadata the gateway set, else client_reference_id.
func (s Session) User() string {
	if u := s.Metadata[MetaUser]; u != "" {
		return u
	}
	return s.ClientReferenceID
}

// Metadata keys the gateway sets on sessions, payment intents and
// subscriptions.
const (
	MetaUser    = "paywall_user"
	MetaProduct = "paywall_product"
)

// Charge is the part of a Charge the gateway reads.
type Charge struct {
	ID             string            `json:"id"`
	PaymentIntent  ID                `json:"payment_intent"`
	Invoice        ID                `json:"invoice"`
	Refunded       bool              `json:"refunded"`
	Amount         int64             `json:"amount"`
	AmountRefunded int64             `json:"amount_refunded"`
	Metadata       map[string]string `json:"metadata"`
}

// Dispute is the part of a Dispute the gateway reads.
type Dispute struct {
	ID            string `json:"id"`
	Charge        ID     `json:"charge"`
	PaymentIntent ID     `json:"payment_intent"`
	Status        string `json:"status"`
}

// Invoice is the part of an Invoice the gateway reads.
type Invoice struct {
	ID            string `json:"id"`
	Subscription  ID     `json:"subscription"`
	Customer      ID     `json:"customer"`
	PaymentIntent ID     `json:"payment_intent"`
	Charge        ID     `json:"charge"`
	Paid          bool   `json:"paid"`
	AmountPaid    int64  `json:"amount_paid"`
	Currency      string `json:"currency"`
}

// Subscription is the part of a Subscription the gateway reads, as fetched
// through the pinned API version.
type Subscription struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	Customer           ID                `json:"customer"`
	CurrentPeriodStart int64             `json:"current_period_start"`
	CurrentPeriodEnd   int64             `json:"current_period_end"`
	Metadata           map[string]string `json:"metadata"`
	Items              struct {
		Data []struct {
			Price struct {
				ID string `json:"id"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}
