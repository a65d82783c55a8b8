package stripefake

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

// Pay completes a session as the hosted page's Pay button does: the
// payment (or the subscription) is created, the session is complete, and
// a signed checkout.session.completed goes to the webhook. With delayed
// set, the session completes unpaid (a delayed payment method) and
// Settle pays it later.
func (s *Stub) Pay(id string, delayed bool) error {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok || sess["status"] != "open" {
		s.mu.Unlock()
		return fmt.Errorf("session %s is not open", id)
	}
	now := s.cfg.Now()
	sess["status"] = "complete"
	sess["payment_status"] = "paid"
	if delayed {
		sess["payment_status"] = "unpaid"
	}
	if sess["mode"] == "subscription" {
		if sess["customer"] == nil {
			sess["customer"] = newID("cus_test_")
		}
		sub := s.newSubscription(sess, now)
		sess["subscription"] = sub["id"]
	} else {
		sess["payment_intent"] = newID("pi_test_")
	}
	obj := public(sess)
	s.mu.Unlock()
	_, err := s.SendEvent("checkout.session.completed", obj)
	return err
}

// Settle pays a session that completed unpaid and sends
// checkout.session.async_payment_succeeded.
func (s *Stub) Settle(id string) error {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok || sess["payment_status"] != "unpaid" || sess["status"] != "complete" {
		s.mu.Unlock()
		return fmt.Errorf("session %s is not awaiting payment", id)
	}
	sess["payment_status"] = "paid"
	obj := public(sess)
	s.mu.Unlock()
	_, err := s.SendEvent("checkout.session.async_payment_succeeded", obj)
	return err
}

// Cancel expires a session (the visitor gave up and it timed out).
func (s *Stub) Expire(id string) error {
	s.mu.Lock()
	sess, ok := s.sessions[id]
	if !ok || sess["status"] != "open" {
		s.mu.Unlock()
		return fmt.Errorf("session %s is not open", id)
	}
	sess["status"] = "expired"
	obj := public(sess)
	s.mu.Unlock()
	_, err := s.SendEvent("checkout.session.expired", obj)
	return err
}

// SendEvent sends a signed event of type typ about object to the webhook,
// as Stripe would (API version 2023-10-16), and returns its id.
func (s *Stub) SendEvent(typ string, object map[string]any) (string, error) {
	s.mu.Lock()
	url, secret := s.cfg.WebhookURL, s.cfg.WebhookSecret
	now := s.cfg.Now()
	s.mu.Unlock()
	id := newID("evt_test_")
	evt := map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": now.Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object},
	}
	payload, err := jsonMarshal(evt)
	if err != nil {
		return id, err
	}
	s.mu.Lock()
	s.events = append(s.events, evt)
	s.mu.Unlock()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: time.Now()})
	if url == "" {
		return id, errors.New("no webhook URL configured")
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return id, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", signed.Header)
	d := Delivery{EventID: id, Type: typ}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err == nil {
		resp.Body.Close()
		d.Status = resp.StatusCode
		if resp.StatusCode/100 != 2 {
			err = fmt.Errorf("webhook answered %d", resp.StatusCode)
		}
	}
	d.Err = err
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return id, err
}
