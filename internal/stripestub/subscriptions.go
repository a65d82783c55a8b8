package stripestub

import (
	"fmt"
	"time"
)

// SubscriptionItem is one price on a subscription.
type SubscriptionItem struct {
	ID       string
	Price    string
	Quantity int64
	Created  int64
}

// Subscription is a snapshot of a subscription.
type Subscription struct {
	ID                 string
	Customer           string
	Status             string // active, past_due, canceled, ...
	Items              []SubscriptionItem
	Metadata           map[string]string // from subscription_data[metadata]
	Currency           string
	Created            int64
	CurrentPeriodStart int64
	CurrentPeriodEnd   int64
	CancelAtPeriodEnd  bool
	CanceledAt         int64
	EndedAt            int64
	LatestInvoice      string
	Session            string // the Checkout Session that created it
	TrialStart         int64  // set when the session asked for a trial
	TrialEnd           int64
}

func (sub *Subscription) clone() Subscription {
	c := *sub
	c.Items = append([]SubscriptionItem(nil), sub.Items...)
	c.Metadata = metadata(sub.Metadata)
	return c
}

// subscriptionStatuses are Stripe's.
var subscriptionStatuses = map[string]bool{"incomplete": true, "incomplete_expired": true,
	"trialing": true, "active": true, "past_due": true, "canceled": true, "unpaid": true, "paused": true}

// newSubscriptionLocked creates the subscription a subscription-mode
// session starts, with its first invoice (paid, with a payment intent and
// charge when there is anything to pay).
func (s *Stub) newSubscriptionLocked(cs *Session) *Subscription {
	now := s.now()
	sub := &Subscription{ID: newID("sub_test_", 24), Customer: cs.Customer, Status: "active",
		Metadata: metadata(cs.SubscriptionMeta), Currency: cs.Currency, Created: now.Unix(), Session: cs.ID}
	interval := ""
	for _, li := range cs.LineItems {
		if p := s.prices[li.Price]; p.Recurring != "" {
			interval = p.Recurring
			sub.Items = append(sub.Items, SubscriptionItem{ID: newID("si_test_", 14), Price: p.ID,
				Quantity: li.Quantity, Created: now.Unix()})
		}
	}
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now.Unix(), periodEnd(now, interval).Unix()
	amount := cs.AmountTotal
	if cs.TrialDays > 0 {
		// The trial is the first period; its invoice is for nothing.
		sub.Status, amount = "trialing", 0
		sub.TrialStart, sub.TrialEnd = now.Unix(), now.AddDate(0, 0, int(cs.TrialDays)).Unix()
		sub.CurrentPeriodEnd = sub.TrialEnd
	}
	s.subscriptions[sub.ID] = sub
	s.subOrder = append(s.subOrder, sub.ID)
	in := s.newInvoiceLocked(sub, "subscription_create", amount, true)
	sub.LatestInvoice = in.ID
	return sub
}

func (s *Stub) intervalLocked(sub *Subscription) string {
	for _, it := range sub.Items {
		if p, ok := s.prices[it.Price]; ok && p.Recurring != "" {
			return p.Recurring
		}
	}
	return "month"
}

func (s *Stub) renderSubscriptionLocked(sub *Subscription) map[string]any {
	items := []any{}
	for _, it := range sub.Items {
		items = append(items, map[string]any{
			"id": it.ID, "object": "subscription_item", "billing_thresholds": nil, "created": it.Created,
			"metadata": map[string]string{}, "price": s.renderPriceLocked(s.prices[it.Price]),
			"quantity": it.Quantity, "subscription": sub.ID, "tax_rates": []any{},
		})
	}
	reason := any(nil)
	if sub.Status == "canceled" {
		reason = "cancellation_requested"
	}
	return map[string]any{
		"id": sub.ID, "object": "subscription", "application": nil, "application_fee_percent": nil,
		"automatic_tax":        map[string]any{"enabled": false, "liability": nil},
		"billing_cycle_anchor": sub.Created, "billing_thresholds": nil, "cancel_at": nil,
		"cancel_at_period_end": sub.CancelAtPeriodEnd, "canceled_at": nullableInt(sub.CanceledAt),
		"cancellation_details": map[string]any{"comment": nil, "feedback": nil, "reason": reason},
		"collection_method":    "charge_automatically", "created": sub.Created, "currency": sub.Currency,
		"current_period_end": sub.CurrentPeriodEnd, "current_period_start": sub.CurrentPeriodStart,
		"customer": sub.Customer, "days_until_due": nil, "default_payment_method": nil,
		"default_source": nil, "default_tax_rates": []any{}, "description": nil, "discount": nil,
		"ended_at": nullableInt(sub.EndedAt),
		"items": map[string]any{"object": "list", "data": items, "has_more": false,
			"total_count": len(items), "url": "/v1/subscription_items?subscription=" + sub.ID},
		"latest_invoice": nullable(sub.LatestInvoice), "livemode": false,
		"metadata": metadata(sub.Metadata), "next_pending_invoice_item_invoice": nil,
		"on_behalf_of": nil, "pause_collection": nil, "pending_invoice_item_interval": nil,
		"pending_setup_intent": nil, "pending_update": nil, "schedule": nil,
		"start_date": sub.Created, "status": sub.Status, "test_clock": nil, "transfer_data": nil,
		"trial_end": nullableInt(sub.TrialEnd), "trial_start": nullableInt(sub.TrialStart),
	}
}

// invoice is a subscription invoice.
type invoice struct {
	ID, Customer, Subscription, Currency, BillingReason string
	PaymentIntent, Charge                               string
	Amount                                              int64
	Paid                                                bool
	PeriodStart, PeriodEnd, Created                     int64
	Lines                                               []SubscriptionItem
}

// newInvoiceLocked bills sub's current period; paid creates the payment.
func (s *Stub) newInvoiceLocked(sub *Subscription, reason string, amount int64, paid bool) *invoice {
	in := &invoice{ID: newID("in_test_", 24), Customer: sub.Customer, Subscription: sub.ID,
		Currency: sub.Currency, BillingReason: reason, Amount: amount, Created: s.now().Unix(),
		PeriodStart: sub.CurrentPeriodStart, PeriodEnd: sub.CurrentPeriodEnd,
		Lines: append([]SubscriptionItem(nil), sub.Items...)}
	if amount > 0 {
		// A subscription's payment intent carries no metadata of its own:
		// Stripe does not copy the subscription's.
		pi, ch := s.newPaymentLocked(amount, sub.Currency, sub.Customer, in.ID, nil, false)
		if !paid {
			pi.Status, ch.Status, ch.Paid = "requires_payment_method", "failed", false
		}
		in.PaymentIntent, in.Charge = pi.ID, ch.ID
	}
	in.Paid = paid
	s.invoices[in.ID] = in
	return in
}

func (s *Stub) renderInvoiceLocked(in *invoice) map[string]any {
	lines := []any{}
	for _, it := range in.Lines {
		p := s.prices[it.Price]
		lines = append(lines, map[string]any{
			"id": newLineID(in.ID, it.ID), "object": "line_item", "amount": p.UnitAmount * it.Quantity,
			"currency": p.Currency, "description": fmt.Sprintf("%d × %s", it.Quantity, s.products[p.ProductID].Name),
			"period": map[string]any{"start": in.PeriodStart, "end": in.PeriodEnd},
			"price":  s.renderPriceLocked(p), "proration": false, "quantity": it.Quantity,
			"subscription": in.Subscription, "subscription_item": it.ID, "type": "subscription",
		})
	}
	status, paidAmount := "open", int64(0)
	if in.Paid {
		status, paidAmount = "paid", in.Amount
	}
	var email any
	if c, ok := s.customers[in.Customer]; ok {
		email = nullable(c.Email)
	}
	var subMeta map[string]string
	if sub, ok := s.subscriptions[in.Subscription]; ok {
		subMeta = sub.Metadata
	}
	return map[string]any{
		"id": in.ID, "object": "invoice", "account_country": "US", "amount_due": in.Amount,
		"amount_paid": paidAmount, "amount_remaining": in.Amount - paidAmount, "attempt_count": 1,
		"attempted": true, "billing_reason": in.BillingReason, "charge": nullable(in.Charge),
		"collection_method": "charge_automatically", "created": in.Created, "currency": in.Currency,
		"customer": in.Customer, "customer_email": email, "hosted_invoice_url": nil,
		"lines": map[string]any{"object": "list", "data": lines, "has_more": false,
			"total_count": len(lines), "url": "/v1/invoices/" + in.ID + "/lines"},
		"livemode": false, "metadata": map[string]string{}, "paid": in.Paid,
		"payment_intent": nullable(in.PaymentIntent), "period_end": in.Created,
		"period_start": in.Created, "status": status, "subscription": nullable(in.Subscription),
		"subscription_details": map[string]any{"metadata": metadata(subMeta)},
		"subtotal":             in.Amount, "total": in.Amount,
	}
}

func newLineID(invoiceID, itemID string) string { return "il_" + invoiceID[len("in_"):] + "_" + itemID }

func (s *Stub) getSubscription(q *call) (any, *apiError) {
	return s.retrieve(q, "subscription", func(id string) (map[string]any, bool) {
		sub, ok := s.subscriptions[id]
		if !ok {
			return nil, false
		}
		return s.renderSubscriptionLocked(sub), true
	})
}

// listSubscriptions: by customer, price and status ("all" includes
// canceled ones, which are left out by default, as Stripe does).
func (s *Stub) listSubscriptions(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("customer", "price", "status", "created", "limit", "starting_after",
		"ending_before", "collection_method", "current_period_end", "current_period_start"); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	status := f.str("status")
	if status != "" && status != "all" && status != "ended" && !subscriptionStatuses[status] {
		return nil, invalid("status", "Invalid status: %s", status)
	}
	created, err := timeFilter(f, "created")
	if err != nil {
		return nil, err
	}
	periodEndFilter, err := timeFilter(f, "current_period_end")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := len(s.subOrder) - 1; i >= 0; i-- {
		sub := s.subscriptions[s.subOrder[i]]
		hasPrice := f.str("price") == ""
		for _, it := range sub.Items {
			hasPrice = hasPrice || it.Price == f.str("price")
		}
		switch {
		case f.str("customer") != "" && sub.Customer != f.str("customer"),
			!hasPrice, !created(sub.Created), !periodEndFilter(sub.CurrentPeriodEnd),
			status == "" && sub.Status == "canceled",
			status == "ended" && sub.Status != "canceled" && sub.Status != "incomplete_expired",
			status != "" && status != "all" && status != "ended" && sub.Status != status:
			continue
		}
		ids = append(ids, sub.ID)
	}
	ids, more, err := page(ids, f, "subscription")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = s.renderSubscriptionLocked(s.subscriptions[id])
	}
	out := listEnvelope("/v1/subscriptions", data, more)
	return out, s.expandLocked(out, expand)
}

// deleteSubscription cancels at once (DELETE /v1/subscriptions/{id}) and
// sends customer.subscription.deleted.
func (s *Stub) deleteSubscription(q *call) (any, *apiError) {
	if err := q.f.only("invoice_now", "prorate", "cancellation_details"); err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[id]
	if !ok {
		return nil, noSuch("subscription", id, "id")
	}
	if sub.Status == "canceled" {
		return nil, invalid("", "A canceled subscription can only update its cancellation_details and metadata.")
	}
	q.send = append(q.send, s.cancelSubscriptionLocked(sub, q))
	return s.renderSubscriptionLocked(sub), nil
}

func (s *Stub) cancelSubscriptionLocked(sub *Subscription, q *call) *event {
	now := s.now().Unix()
	sub.Status, sub.CanceledAt, sub.EndedAt, sub.CancelAtPeriodEnd = "canceled", now, now, false
	return s.newEventLocked("customer.subscription.deleted", s.renderSubscriptionLocked(sub), nil, q)
}

// Subscription returns a snapshot of a subscription.
func (s *Stub) Subscription(id string) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[id]
	if !ok {
		return Subscription{}, false
	}
	return sub.clone(), true
}

// update changes a subscription under the lock, sending nothing.
func (s *Stub) update(id string, fn func(sub *Subscription) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[id]
	if !ok {
		return fmt.Errorf("stripestub: no subscription %s", id)
	}
	return fn(sub)
}

// SetSubscriptionStatus sets a subscription's status (active, past_due,
// unpaid, canceled, trialing, ...) without sending an event.
func (s *Stub) SetSubscriptionStatus(id, status string) error {
	if !subscriptionStatuses[status] {
		return fmt.Errorf("stripestub: %q is not a subscription status", status)
	}
	return s.update(id, func(sub *Subscription) error {
		sub.Status = status
		if status == "canceled" && sub.EndedAt == 0 {
			now := s.now().Unix()
			sub.CanceledAt, sub.EndedAt = now, now
		}
		return nil
	})
}

// SetSubscriptionPrice moves a subscription's first item to another
// recurring price (a plan change) without sending an event.
func (s *Stub) SetSubscriptionPrice(id, priceID string) error {
	return s.update(id, func(sub *Subscription) error {
		p, ok := s.prices[priceID]
		if !ok || p.Recurring == "" {
			return fmt.Errorf("stripestub: %s is not a configured recurring price", priceID)
		}
		if len(sub.Items) == 0 {
			sub.Items = []SubscriptionItem{{ID: newID("si_test_", 14), Quantity: 1, Created: s.now().Unix()}}
		}
		sub.Items[0].Price = priceID
		return nil
	})
}

// SetPeriodEnd sets current_period_end without sending an event.
func (s *Stub) SetPeriodEnd(id string, end time.Time) error {
	return s.update(id, func(sub *Subscription) error {
		sub.CurrentPeriodEnd = end.Unix()
		return nil
	})
}

// SetCancelAtPeriodEnd sets cancel_at_period_end without sending an
// event.
func (s *Stub) SetCancelAtPeriodEnd(id string, cancel bool) error {
	return s.update(id, func(sub *Subscription) error {
		sub.CancelAtPeriodEnd = cancel
		return nil
	})
}

// CancelSubscription cancels at once and sends
// customer.subscription.deleted.
func (s *Stub) CancelSubscription(id string) error {
	return s.act(func() ([]*event, error) {
		sub, ok := s.subscriptions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no subscription %s", id)
		}
		if sub.Status == "canceled" {
			return nil, fmt.Errorf("stripestub: subscription %s is already canceled", id)
		}
		return []*event{s.cancelSubscriptionLocked(sub, nil)}, nil
	})
}

// ChangePrice is a plan change as the Billing Portal makes it: the first
// item moves to priceID and customer.subscription.updated is sent.
func (s *Stub) ChangePrice(id, priceID string) error {
	return s.act(func() ([]*event, error) {
		sub, ok := s.subscriptions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no subscription %s", id)
		}
		return s.changePriceLocked(sub, priceID)
	})
}

func (s *Stub) changePriceLocked(sub *Subscription, priceID string) ([]*event, error) {
	p, ok := s.prices[priceID]
	if !ok || p.Recurring == "" || p.Archived {
		return nil, fmt.Errorf("stripestub: %s is not an active recurring price", priceID)
	}
	if sub.Status == "canceled" || len(sub.Items) == 0 {
		return nil, fmt.Errorf("stripestub: subscription %s cannot change plans", sub.ID)
	}
	if sub.Items[0].Price == priceID {
		return nil, fmt.Errorf("stripestub: subscription %s is already on %s", sub.ID, priceID)
	}
	before := s.renderSubscriptionLocked(sub)["items"]
	sub.Items[0].Price = priceID
	return []*event{s.newEventLocked("customer.subscription.updated", s.renderSubscriptionLocked(sub),
		map[string]any{"items": before}, nil)}, nil
}

// Renew bills the next period as Stripe does when a period ends: the
// period moves on by one interval, a paid invoice (with payment intent
// and charge) is created, and invoice.paid then
// customer.subscription.updated are sent.
func (s *Stub) Renew(id string) error { return s.renew(id, true) }

// FailRenewal is a renewal whose payment fails: the period moves on, the
// invoice stays open, the subscription turns past_due, and
// invoice.payment_failed then customer.subscription.updated are sent.
func (s *Stub) FailRenewal(id string) error { return s.renew(id, false) }

func (s *Stub) renew(id string, paid bool) error {
	return s.act(func() ([]*event, error) {
		sub, ok := s.subscriptions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no subscription %s", id)
		}
		if sub.Status == "canceled" || sub.Status == "incomplete_expired" {
			return nil, fmt.Errorf("stripestub: subscription %s is %s", id, sub.Status)
		}
		prev := map[string]any{"current_period_start": sub.CurrentPeriodStart,
			"current_period_end": sub.CurrentPeriodEnd, "latest_invoice": nullable(sub.LatestInvoice)}
		start := time.Unix(sub.CurrentPeriodEnd, 0).In(s.now().Location())
		sub.CurrentPeriodStart, sub.CurrentPeriodEnd = start.Unix(), periodEnd(start, s.intervalLocked(sub)).Unix()
		var amount int64
		for _, it := range sub.Items {
			amount += s.prices[it.Price].UnitAmount * it.Quantity
		}
		in := s.newInvoiceLocked(sub, "subscription_cycle", amount, paid)
		sub.LatestInvoice = in.ID
		typ := "invoice.paid"
		if paid {
			if sub.Status == "past_due" || sub.Status == "unpaid" || sub.Status == "trialing" {
				prev["status"] = sub.Status
				sub.Status = "active"
			}
		} else {
			typ = "invoice.payment_failed"
			if sub.Status != "past_due" {
				prev["status"] = sub.Status
				sub.Status = "past_due"
			}
		}
		return []*event{
			s.newEventLocked(typ, s.renderInvoiceLocked(in), nil, nil),
			s.newEventLocked("customer.subscription.updated", s.renderSubscriptionLocked(sub), prev, nil),
		}, nil
	})
}
