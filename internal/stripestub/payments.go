package stripestub

import (
	"fmt"
	"time"
)

// The money side: customers, payment intents, charges, disputes. Their
// ids carry _test_ so nobody mistakes them for Stripe's.

type customer struct {
	ID, Email, Name string
	Metadata        map[string]string
	Created         int64
}

func (c *customer) render() map[string]any {
	return map[string]any{
		"id": c.ID, "object": "customer", "address": nil, "balance": 0, "created": c.Created,
		"currency": nil, "default_source": nil, "delinquent": false, "description": nil,
		"discount": nil, "email": nullable(c.Email), "invoice_prefix": "STUB",
		"invoice_settings": map[string]any{"custom_fields": nil, "default_payment_method": nil,
			"footer": nil, "rendering_options": nil},
		"livemode": false, "metadata": metadata(c.Metadata), "name": nullable(c.Name),
		"phone": nil, "preferred_locales": []any{}, "shipping": nil, "tax_exempt": "none",
		"test_clock": nil,
	}
}

func (s *Stub) newCustomerLocked(email, name string, meta map[string]string) *customer {
	c := &customer{ID: newID("cus_test_", 14), Email: email, Name: name, Metadata: meta, Created: s.now().Unix()}
	s.customers[c.ID] = c
	s.customerOrder = append(s.customerOrder, c.ID)
	return c
}

// createCustomer serves POST /v1/customers, for tests that want a
// returning customer.
func (s *Stub) createCustomer(q *call) (any, *apiError) {
	if err := q.f.only("email", "name", "metadata", "description", "phone"); err != nil {
		return nil, err
	}
	meta, err := readMetadata(q.f, "metadata")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newCustomerLocked(q.f.str("email"), q.f.str("name"), meta).render(), nil
}

type paymentIntent struct {
	ID, Currency, Customer, Invoice string
	Amount                          int64
	Metadata                        map[string]string
	Status                          string // succeeded | processing | requires_payment_method
	LatestCharge                    string
	Created                         int64
}

func (pi *paymentIntent) render() map[string]any {
	received := int64(0)
	if pi.Status == "succeeded" {
		received = pi.Amount
	}
	return map[string]any{
		"id": pi.ID, "object": "payment_intent", "amount": pi.Amount, "amount_capturable": 0,
		"amount_received": received, "application": nil, "automatic_payment_methods": nil,
		"canceled_at": nil, "cancellation_reason": nil, "capture_method": "automatic",
		"client_secret": pi.ID + "_secret_stub", "confirmation_method": "automatic",
		"created": pi.Created, "currency": pi.Currency, "customer": nullable(pi.Customer),
		"description": nil, "invoice": nullable(pi.Invoice), "last_payment_error": nil,
		"latest_charge": nullable(pi.LatestCharge), "livemode": false,
		"metadata": metadata(pi.Metadata), "next_action": nil, "payment_method": "pm_card_visa",
		"payment_method_types": []any{"card"}, "status": pi.Status,
	}
}

type charge struct {
	ID, Currency, Customer, PaymentIntent, Invoice string
	Amount, AmountRefunded                         int64
	Metadata                                       map[string]string
	Status                                         string // succeeded | pending | failed
	Paid, Disputed                                 bool
	Created                                        int64
}

func (ch *charge) render() map[string]any {
	captured := int64(0)
	if ch.Paid {
		captured = ch.Amount
	}
	return map[string]any{
		"id": ch.ID, "object": "charge", "amount": ch.Amount, "amount_captured": captured,
		"amount_refunded": ch.AmountRefunded, "application": nil, "balance_transaction": nil,
		"billing_details":                 map[string]any{"address": nil, "email": nil, "name": nil, "phone": nil},
		"calculated_statement_descriptor": "CADDY PAYWALL TEST", "captured": ch.Paid,
		"created": ch.Created, "currency": ch.Currency, "customer": nullable(ch.Customer),
		"description": nil, "disputed": ch.Disputed, "failure_code": nil, "failure_message": nil,
		"fraud_details": map[string]any{}, "invoice": nullable(ch.Invoice), "livemode": false,
		"metadata": metadata(ch.Metadata), "paid": ch.Paid, "payment_intent": nullable(ch.PaymentIntent),
		"payment_method":         "pm_card_visa",
		"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"brand": "visa", "last4": "4242"}},
		"receipt_url":            nil, "refunded": ch.Amount > 0 && ch.AmountRefunded >= ch.Amount,
		"status": ch.Status,
	}
}

// newPaymentLocked creates a payment intent and its charge. A charge
// carries its payment intent's metadata, as Stripe copies it.
func (s *Stub) newPaymentLocked(amount int64, currency, cus, invoice string, meta map[string]string, pending bool) (*paymentIntent, *charge) {
	now := s.now().Unix()
	pi := &paymentIntent{ID: newID("pi_test_", 24), Amount: amount, Currency: currency, Customer: cus,
		Invoice: invoice, Metadata: metadata(meta), Status: "succeeded", Created: now}
	ch := &charge{ID: newID("ch_test_", 24), Amount: amount, Currency: currency, Customer: cus,
		PaymentIntent: pi.ID, Invoice: invoice, Metadata: metadata(meta), Status: "succeeded", Paid: true, Created: now}
	if pending {
		pi.Status, ch.Status, ch.Paid = "processing", "pending", false
	}
	pi.LatestCharge = ch.ID
	s.paymentIntents[pi.ID] = pi
	s.charges[ch.ID] = ch
	return pi, ch
}

// chargeLocked finds a charge by its id or its payment intent's.
func (s *Stub) chargeLocked(id string) (*charge, error) {
	if ch, ok := s.charges[id]; ok {
		return ch, nil
	}
	if pi, ok := s.paymentIntents[id]; ok {
		if ch, ok := s.charges[pi.LatestCharge]; ok {
			return ch, nil
		}
	}
	return nil, fmt.Errorf("stripestub: no charge or payment intent %s", id)
}

// Refund refunds amount (0: all that is left) of a charge, named by its
// id or its payment intent's, and sends charge.refunded with the charge
// (amount_refunded, and refunded once it is all refunded).
func (s *Stub) Refund(chargeOrPaymentIntent string, amount int64) error {
	return s.act(func() ([]*event, error) {
		ch, err := s.chargeLocked(chargeOrPaymentIntent)
		if err != nil {
			return nil, err
		}
		left := ch.Amount - ch.AmountRefunded
		if amount == 0 {
			amount = left
		}
		if !ch.Paid || amount <= 0 || amount > left {
			return nil, fmt.Errorf("stripestub: cannot refund %d of charge %s (%d left, paid %v)", amount, ch.ID, left, ch.Paid)
		}
		ch.AmountRefunded += amount
		return []*event{s.newEventLocked("charge.refunded", ch.render(), nil, nil)}, nil
	})
}

type dispute struct {
	ID, Charge, PaymentIntent, Currency, Status string
	Amount, Created                             int64
}

func (d *dispute) render() map[string]any {
	return map[string]any{
		"id": d.ID, "object": "dispute", "amount": d.Amount, "balance_transactions": []any{},
		"charge": d.Charge, "created": d.Created, "currency": d.Currency, "evidence": map[string]any{},
		"evidence_details": map[string]any{"due_by": d.Created + int64(7*24*time.Hour/time.Second),
			"has_evidence": false, "past_due": false, "submission_count": 0},
		"is_charge_refundable": false, "livemode": false, "metadata": map[string]string{},
		"payment_intent": nullable(d.PaymentIntent), "reason": "fraudulent", "status": d.Status,
	}
}

// Dispute opens a dispute on a charge (or its payment intent) and sends
// charge.dispute.created. It returns the dispute's id.
func (s *Stub) Dispute(chargeOrPaymentIntent string) (string, error) {
	var id string
	err := s.act(func() ([]*event, error) {
		ch, err := s.chargeLocked(chargeOrPaymentIntent)
		if err != nil {
			return nil, err
		}
		d := &dispute{ID: newID("dp_test_", 24), Charge: ch.ID, PaymentIntent: ch.PaymentIntent,
			Currency: ch.Currency, Status: "needs_response", Amount: ch.Amount, Created: s.now().Unix()}
		s.disputes[d.ID] = d
		ch.Disputed = true
		id = d.ID
		return []*event{s.newEventLocked("charge.dispute.created", d.render(), nil, nil)}, nil
	})
	return id, err
}

// CloseDispute closes a dispute, won or lost, and sends
// charge.dispute.closed.
func (s *Stub) CloseDispute(id string, won bool) error {
	return s.act(func() ([]*event, error) {
		d, ok := s.disputes[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no dispute %s", id)
		}
		if d.Status == "won" || d.Status == "lost" {
			return nil, fmt.Errorf("stripestub: dispute %s is already %s", id, d.Status)
		}
		d.Status = "lost"
		if won {
			d.Status = "won"
		}
		return []*event{s.newEventLocked("charge.dispute.closed", d.render(), nil, nil)}, nil
	})
}
