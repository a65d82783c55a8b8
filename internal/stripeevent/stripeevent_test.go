package stripeevent_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// An event built and signed here is one stripe-go's own webhook code
// accepts: the signature verifies and the API version is stripe-go's.
func TestEventIsWhatStripeGoAccepts(t *testing.T) {
	at := time.Unix(1700000000, 0)
	e := stripeevent.New("evt_1", "checkout.session.completed", map[string]any{"id": "cs_1", "object": "checkout.session"})
	e.Created = at
	body := e.MustJSON()
	sig := stripeevent.Sign(body, "whsec_x", time.Time{})
	got, err := webhook.ConstructEvent(body, sig, "whsec_x")
	if err != nil {
		t.Fatalf("stripe-go rejects the event: %v\n%s", err, body)
	}
	if got.ID != "evt_1" || got.Type != "checkout.session.completed" || got.APIVersion != stripe.APIVersion ||
		got.Created != at.Unix() || got.Livemode || got.PendingWebhooks != 1 || got.Object != "event" ||
		got.Data.Object["id"] != "cs_1" || got.Data.PreviousAttributes != nil {
		t.Fatalf("event read back as %+v", got)
	}
	if got.Request == nil || got.Request.ID != "" || got.Request.IdempotencyKey != "" {
		t.Fatalf("request %+v, want nulls", got.Request)
	}
	if !strings.HasPrefix(string(body), `{"id":"evt_1","object":"event","api_version":"`+stripe.APIVersion+`"`) {
		t.Fatalf("not in Stripe's field order: %s", body)
	}
	if _, err := webhook.ConstructEvent(body, sig, "whsec_other"); err == nil {
		t.Fatal("a signature with another secret verified")
	}
}

func TestEventFields(t *testing.T) {
	e := stripeevent.Event{
		ID: "evt_2", Type: "customer.subscription.updated", Object: json.RawMessage(`{"id":"sub_1"}`),
		PreviousAttributes: map[string]any{"status": "trialing"}, Livemode: true, PendingWebhooks: 3,
		RequestID: "req_1", IdempotencyKey: "idem_1",
	}
	before := time.Now().Unix()
	var got struct {
		Created int64 `json:"created"`
		Data    struct {
			Object   map[string]any `json:"object"`
			Previous map[string]any `json:"previous_attributes"`
		} `json:"data"`
		Livemode bool `json:"livemode"`
		Pending  int  `json:"pending_webhooks"`
		Request  struct {
			ID             *string `json:"id"`
			IdempotencyKey *string `json:"idempotency_key"`
		} `json:"request"`
	}
	body := e.MustJSON()
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Created < before || got.Created > time.Now().Unix() {
		t.Errorf("zero Created became %d, want now", got.Created)
	}
	if got.Data.Object["id"] != "sub_1" || got.Data.Previous["status"] != "trialing" || !got.Livemode || got.Pending != 3 {
		t.Errorf("read back %+v from %s", got, body)
	}
	if got.Request.ID == nil || *got.Request.ID != "req_1" || got.Request.IdempotencyKey == nil || *got.Request.IdempotencyKey != "idem_1" {
		t.Errorf("request %s", body)
	}

	// Another version is sent as it is, and stripe-go refuses it.
	e.APIVersion = "2020-08-27"
	body = e.MustJSON()
	if !bytes.Contains(body, []byte(`"api_version":"2020-08-27"`)) {
		t.Fatalf("api_version not kept: %s", body)
	}
	if _, err := webhook.ConstructEvent(body, stripeevent.Sign(body, "whsec_x", time.Now()), "whsec_x"); err == nil {
		t.Fatal("stripe-go accepted another API version")
	}
}

func TestJSONReportsAnObjectThatCannotEncode(t *testing.T) {
	if _, err := stripeevent.New("evt_3", "x", map[string]any{"f": func() {}}).JSON(); err == nil {
		t.Fatal("no error for an object that cannot encode")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustJSON did not panic")
		}
	}()
	stripeevent.New("evt_3", "x", make(chan int)).MustJSON()
}
