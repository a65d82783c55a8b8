package stripestub

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// LineItem is one line of a Checkout Session.
type LineItem struct {
	ID       string
	Price    string
	Quantity int64
}

// Session is a snapshot of a Checkout Session.
type Session struct {
	ID            string
	Mode          string // payment | subscription
	Status        string // open | complete | expired
	PaymentStatus string // unpaid | paid | no_payment_required
	URL           string // the hosted page, while open
	SuccessURL    string // as given, with {CHECKOUT_SESSION_ID} unreplaced
	CancelURL     string

	ClientReferenceID   string
	Customer            string // given, or created on completion
	CustomerEmail       string // the customer_email parameter
	Metadata            map[string]string
	PaymentIntentMeta   map[string]string // payment_intent_data[metadata]
	SubscriptionMeta    map[string]string // subscription_data[metadata]
	LineItems           []LineItem
	AmountTotal         int64
	Currency            string
	AllowPromotionCodes bool
	TrialDays           int64 // subscription_data[trial_period_days]
	InvoiceCreation     bool  // invoice_creation[enabled] (payment mode)
	AutomaticTax        bool  // automatic_tax[enabled]
	TaxIDCollection     bool  // tax_id_collection[enabled]
	Created, ExpiresAt  int64
	IdempotencyKey      string

	// Set on completion.
	PaymentIntent, Charge, Subscription, Invoice string
	CompletedAt                                  int64
	Delayed                                      bool // paid by a delayed method
	DetailsEmail                                 string

	customerCreation string
}

func (cs *Session) clone() Session {
	c := *cs
	c.Metadata = metadata(cs.Metadata)
	c.PaymentIntentMeta = metadata(cs.PaymentIntentMeta)
	c.SubscriptionMeta = metadata(cs.SubscriptionMeta)
	c.LineItems = append([]LineItem(nil), cs.LineItems...)
	return c
}

// Session returns a snapshot of a Checkout Session.
func (s *Stub) Session(id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	cs, ok := s.sessions[id]
	if !ok {
		return Session{}, false
	}
	return cs.clone(), true
}

// Sessions returns snapshots of every Checkout Session, oldest first.
func (s *Stub) Sessions() []Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	out := make([]Session, 0, len(s.sessionOrder))
	for _, id := range s.sessionOrder {
		out = append(out, s.sessions[id].clone())
	}
	return out
}

// sessionParams are the create parameters Stripe (APIVersion) knows; the
// stub reads some and ignores the rest, and refuses any other.
var sessionParams = []string{"after_expiration", "allow_promotion_codes", "automatic_tax",
	"billing_address_collection", "cancel_url", "client_reference_id", "consent_collection",
	"currency", "custom_fields", "custom_text", "customer", "customer_creation", "customer_email",
	"customer_update", "discounts", "expires_at", "invoice_creation", "line_items", "locale",
	"metadata", "mode", "payment_intent_data", "payment_method_collection",
	"payment_method_configuration", "payment_method_options", "payment_method_types",
	"phone_number_collection", "redirect_on_completion", "return_url",
	"saved_payment_method_options", "setup_intent_data", "shipping_address_collection",
	"shipping_options", "submit_type", "subscription_data", "success_url", "tax_id_collection",
	"ui_mode"}

func (s *Stub) createSession(q *call) (any, *apiError) {
	f := q.f
	if err := f.only(sessionParams...); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	mode := f.str("mode")
	switch mode {
	case "payment", "subscription":
	case "":
		return nil, missingParam("mode")
	case "setup":
		return nil, invalid("mode", "The offline Stripe stand-in does not support setup mode.")
	default:
		return nil, invalid("mode", "Invalid mode: must be one of payment, setup, or subscription")
	}
	if ui := f.str("ui_mode"); ui != "" && ui != "hosted" {
		return nil, invalid("ui_mode", "The offline Stripe stand-in supports only ui_mode=hosted.")
	}
	cs := &Session{Mode: mode, Status: "open", PaymentStatus: "unpaid", IdempotencyKey: q.idemKey}
	if cs.SuccessURL = f.str("success_url"); cs.SuccessURL == "" {
		return nil, missingParam("success_url")
	}
	cs.CancelURL = f.str("cancel_url")
	for param, u := range map[string]string{"success_url": cs.SuccessURL, "cancel_url": cs.CancelURL} {
		if u != "" && !validURL(u) {
			return nil, invalid(param, "Not a valid URL")
		}
	}
	if cs.ClientReferenceID = f.str("client_reference_id"); len(cs.ClientReferenceID) > 200 {
		return nil, invalid("client_reference_id", "client_reference_id must be at most 200 characters.")
	}
	if cs.Metadata, err = readMetadata(f, "metadata"); err != nil {
		return nil, err
	}
	if pid := f.get("payment_intent_data"); pid != nil {
		if mode != "payment" {
			return nil, invalid("payment_intent_data", "You can not pass `payment_intent_data` in `%s` mode.", mode)
		}
		if cs.PaymentIntentMeta, err = readMetadata(pid, "metadata"); err != nil {
			err.Param = "payment_intent_data[metadata]"
			return nil, err
		}
	}
	if sd := f.get("subscription_data"); sd != nil {
		if mode != "subscription" {
			return nil, invalid("subscription_data", "You can not pass `subscription_data` in `%s` mode.", mode)
		}
		if cs.SubscriptionMeta, err = readMetadata(sd, "metadata"); err != nil {
			err.Param = "subscription_data[metadata]"
			return nil, err
		}
		days, ok, err := sd.int64("trial_period_days")
		switch {
		case err != nil:
			err.Param = "subscription_data[trial_period_days]"
			return nil, err
		case ok && (days < 1 || days > 730):
			return nil, invalid("subscription_data[trial_period_days]", "The trial period must be between 1 and 730 days.")
		}
		cs.TrialDays = days
	}
	cs.Customer, cs.CustomerEmail = f.str("customer"), f.str("customer_email")
	if cs.Customer != "" && cs.CustomerEmail != "" {
		return nil, invalid("customer_email", "You may only specify one of these parameters: customer, customer_email.")
	}
	switch cs.customerCreation = f.str("customer_creation"); {
	case cs.customerCreation == "":
	case cs.customerCreation != "always" && cs.customerCreation != "if_required":
		return nil, invalid("customer_creation", "Invalid customer_creation: must be one of always or if_required")
	case mode != "payment":
		return nil, invalid("customer_creation", "`customer_creation` can only be used in `payment` mode.")
	case cs.Customer != "":
		return nil, invalid("customer_creation", "You may only specify one of these parameters: customer, customer_creation.")
	}
	if cs.AllowPromotionCodes, _, err = f.bool("allow_promotion_codes"); err != nil {
		return nil, err
	}
	if err := cs.readSelling(f); err != nil {
		return nil, err
	}
	if cs.AllowPromotionCodes && f.has("discounts") {
		return nil, invalid("discounts", "You may only specify one of these parameters: allow_promotion_codes, discounts.")
	}
	expiresAt, hasExpiry, err := f.int64("expires_at")
	if err != nil {
		return nil, err
	}
	items, err := f.list("line_items")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, missingParam("line_items")
	}
	for i, it := range items {
		param := fmt.Sprintf("line_items[%d]", i)
		li := LineItem{ID: newID("li_test_", 24), Price: it.str("price")}
		if li.Price == "" {
			if it.has("price_data") {
				return nil, invalid(param+"[price_data]", "The offline Stripe stand-in knows only its configured prices: pass %s[price].", param)
			}
			return nil, missingParam(param + "[price]")
		}
		qty, ok, err := it.int64("quantity")
		switch {
		case err != nil:
			err.Param = param + "[quantity]"
			return nil, err
		case !ok:
			return nil, missingParam(param + "[quantity]")
		case qty < 1:
			return nil, invalid(param+"[quantity]", "This value must be greater than or equal to 1.")
		}
		li.Quantity = qty
		cs.LineItems = append(cs.LineItems, li)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	interval := ""
	for i, li := range cs.LineItems {
		param := fmt.Sprintf("line_items[%d][price]", i)
		p, ok := s.prices[li.Price]
		switch {
		case !ok:
			return nil, noSuch("price", li.Price, param)
		case p.Archived:
			return nil, invalid(param, "The price specified is inactive. This field only accepts active prices.")
		case cs.Currency != "" && p.Currency != cs.Currency:
			return nil, invalid(param, "All prices must be in the same currency (%s, not %s).", cs.Currency, p.Currency)
		case p.Recurring != "" && mode == "payment":
			return nil, invalid("line_items", "You specified `payment` mode but passed a recurring price. Either switch to `subscription` mode or use only one-time prices.")
		case p.Recurring != "" && interval != "" && p.Recurring != interval:
			return nil, invalid(param, "All recurring prices must have the same billing interval.")
		}
		if p.Recurring != "" {
			interval = p.Recurring
		}
		cs.Currency = p.Currency
		cs.AmountTotal += p.UnitAmount * li.Quantity
	}
	if mode == "subscription" && interval == "" {
		return nil, invalid("line_items", "You must provide at least one recurring price in `subscription` mode when using prices.")
	}
	if cs.Customer != "" {
		if _, ok := s.customers[cs.Customer]; !ok {
			return nil, noSuch("customer", cs.Customer, "customer")
		}
	}
	cs.Created, cs.ExpiresAt = now.Unix(), now.Add(24*time.Hour).Unix()
	if hasExpiry {
		switch {
		case expiresAt < now.Add(30*time.Minute).Unix():
			return nil, invalid("expires_at", "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.")
		case expiresAt > now.Add(24*time.Hour).Unix():
			return nil, invalid("expires_at", "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.")
		}
		cs.ExpiresAt = expiresAt
	}
	cs.ID = newID("cs_test_", 58)
	cs.URL = q.base + "/pay/" + cs.ID
	s.sessions[cs.ID] = cs
	s.sessionOrder = append(s.sessionOrder, cs.ID)
	return s.renderSessionExpandedLocked(cs, expand)
}

// readMetadata reads and checks a metadata hash; empty values are
// dropped, as Stripe drops them.
func readMetadata(f *form, key string) (map[string]string, *apiError) {
	m, err := f.strMap(key)
	if err != nil {
		return nil, err
	}
	if err := validMetadata(key, m); err != nil {
		return nil, err
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m, nil
}

func validURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

func (s *Stub) getSession(q *call) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	cs, ok := s.sessions[id]
	if !ok {
		return nil, noSuch("checkout.session", id, "session")
	}
	return s.renderSessionExpandedLocked(cs, expand)
}

func (s *Stub) renderSessionExpandedLocked(cs *Session, expand []string) (map[string]any, *apiError) {
	obj := s.renderSessionLocked(cs)
	for _, p := range expand {
		if p == "line_items" || strings.HasPrefix(p, "line_items.") {
			obj["line_items"] = s.lineItemsLocked(cs, len(cs.LineItems))
		}
	}
	if err := s.expandLocked(obj, expand); err != nil {
		return nil, err
	}
	return obj, nil
}

func (s *Stub) lineItemsLocked(cs *Session, limit int) map[string]any {
	data := []any{}
	for i, li := range cs.LineItems {
		if i >= limit {
			break
		}
		p := s.prices[li.Price]
		amount := p.UnitAmount * li.Quantity
		data = append(data, map[string]any{
			"id": li.ID, "object": "item", "amount_discount": 0, "amount_subtotal": amount,
			"amount_tax": 0, "amount_total": amount, "currency": p.Currency,
			"description": s.products[p.ProductID].Name, "price": s.renderPriceLocked(p),
			"quantity": li.Quantity,
		})
	}
	return listEnvelope("/v1/checkout/sessions/"+cs.ID+"/line_items", data, len(cs.LineItems) > limit)
}

func (s *Stub) listSessionLineItems(q *call) (any, *apiError) {
	if err := q.f.only("limit", "starting_after", "ending_before"); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sessions[id]
	if !ok {
		return nil, noSuch("checkout.session", id, "session")
	}
	ids := make([]string, len(cs.LineItems))
	byID := map[string]any{}
	all := s.lineItemsLocked(cs, len(cs.LineItems))["data"].([]any)
	for i, li := range cs.LineItems {
		ids[i] = li.ID
		byID[li.ID] = all[i]
	}
	ids, more, err := page(ids, q.f, "item")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = byID[id]
	}
	out := listEnvelope("/v1/checkout/sessions/"+cs.ID+"/line_items", data, more)
	return out, s.expandLocked(out, expand)
}

func (s *Stub) listSessions(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("created", "customer", "customer_details", "ending_before", "limit",
		"payment_intent", "payment_link", "starting_after", "status", "subscription"); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	created, err := timeFilter(f, "created")
	if err != nil {
		return nil, err
	}
	status := f.str("status")
	switch status {
	case "", "open", "complete", "expired":
	default:
		return nil, invalid("status", "Invalid status: must be one of open, complete, or expired")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	var ids []string
	for i := len(s.sessionOrder) - 1; i >= 0; i-- {
		cs := s.sessions[s.sessionOrder[i]]
		switch {
		case !created(cs.Created),
			status != "" && cs.Status != status,
			f.str("customer") != "" && cs.Customer != f.str("customer"),
			f.str("payment_intent") != "" && cs.PaymentIntent != f.str("payment_intent"),
			f.str("subscription") != "" && cs.Subscription != f.str("subscription"):
			continue
		}
		ids = append(ids, cs.ID)
	}
	ids, more, err := page(ids, f, "checkout.session")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = s.renderSessionLocked(s.sessions[id])
	}
	out := listEnvelope("/v1/checkout/sessions", data, more)
	return out, s.expandLocked(out, expand)
}

func (s *Stub) expireSession(q *call) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	cs, ok := s.sessions[id]
	if !ok {
		return nil, noSuch("checkout.session", id, "session")
	}
	if cs.Status != "open" {
		return nil, invalid("", "Only Checkout Sessions with a status in [\"open\"] can be expired.")
	}
	cs.Status = "expired"
	q.send = append(q.send, s.newEventLocked("checkout.session.expired", s.renderSessionLocked(cs), nil, q))
	return s.renderSessionExpandedLocked(cs, expand)
}

// expireDueLocked marks open sessions past their expires_at as expired.
// (Stripe would also send checkout.session.expired; the stub sends events
// only from verbs, so call Expire for that.)
func (s *Stub) expireDueLocked() {
	now := s.now().Unix()
	for _, cs := range s.sessions {
		if cs.Status == "open" && cs.ExpiresAt <= now {
			cs.Status = "expired"
		}
	}
}

func (s *Stub) renderSessionLocked(cs *Session) map[string]any {
	var details any
	if cs.Status == "complete" {
		details = map[string]any{"address": nil, "email": nullable(cs.DetailsEmail), "name": nil,
			"phone": nil, "tax_exempt": "none", "tax_ids": []any{}}
	}
	var promo any
	if cs.AllowPromotionCodes {
		promo = true
	}
	var creation any
	switch {
	case cs.Mode == "payment" && cs.customerCreation != "":
		creation = cs.customerCreation
	case cs.Mode == "payment":
		creation = "if_required"
	default:
		creation = "always"
	}
	var pageURL any
	if cs.Status == "open" {
		pageURL = cs.URL
	}
	pmc := any(nil)
	if cs.Mode == "subscription" {
		pmc = "always"
	}
	var invoiceCreation any
	if cs.Mode == "payment" {
		invoiceCreation = map[string]any{"enabled": cs.InvoiceCreation, "invoice_data": map[string]any{
			"account_tax_ids": nil, "custom_fields": nil, "description": nil, "footer": nil,
			"metadata": map[string]string{}, "rendering_options": nil}}
	}
	billing := any(nil)
	if cs.AutomaticTax {
		billing = "required"
	}
	return map[string]any{
		"id": cs.ID, "object": "checkout.session", "after_expiration": nil,
		"allow_promotion_codes": promo, "amount_subtotal": cs.AmountTotal, "amount_total": cs.AmountTotal,
		"automatic_tax":              map[string]any{"enabled": cs.AutomaticTax, "liability": nil, "status": nil},
		"billing_address_collection": billing, "cancel_url": nullable(cs.CancelURL),
		"client_reference_id": nullable(cs.ClientReferenceID), "client_secret": nil,
		"consent": nil, "consent_collection": nil, "created": cs.Created, "currency": cs.Currency,
		"currency_conversion": nil, "custom_fields": []any{},
		"custom_text": map[string]any{"after_submit": nil, "shipping_address": nil, "submit": nil,
			"terms_of_service_acceptance": nil},
		"customer": nullable(cs.Customer), "customer_creation": creation,
		"customer_details": details, "customer_email": nullable(cs.CustomerEmail),
		"expires_at": cs.ExpiresAt, "invoice": nullable(cs.Invoice), "invoice_creation": invoiceCreation,
		"livemode": false, "locale": nil, "metadata": metadata(cs.Metadata), "mode": cs.Mode,
		"payment_intent": nullable(cs.PaymentIntent), "payment_link": nil,
		"payment_method_collection": pmc, "payment_method_configuration_details": nil,
		"payment_method_options": map[string]any{}, "payment_method_types": []any{"card"},
		"payment_status": cs.PaymentStatus, "phone_number_collection": map[string]any{"enabled": false},
		"recovered_from": nil, "setup_intent": nil, "shipping_address_collection": nil,
		"shipping_cost": nil, "shipping_details": nil, "shipping_options": []any{},
		"status": cs.Status, "submit_type": nil, "subscription": nullable(cs.Subscription),
		"tax_id_collection": map[string]any{"enabled": cs.TaxIDCollection},
		"success_url":       cs.SuccessURL,
		"total_details":     map[string]any{"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
		"ui_mode":           "hosted", "url": pageURL,
	}
}

// successRedirect is success_url with the session id substituted, as
// Checkout redirects.
func (cs *Session) successRedirect() string {
	return strings.ReplaceAll(cs.SuccessURL, "{CHECKOUT_SESSION_ID}", cs.ID)
}

// ErrNotOpen is returned when a session can no longer be paid.
var ErrNotOpen = errors.New("stripestub: checkout session is not open")

// completeLocked pays an open session: it creates the customer, payment
// intent and charge, or subscription and invoice, that Stripe would.
// delayed (payment mode only) leaves the payment processing and the
// session unpaid.
func (s *Stub) completeLocked(cs *Session, delayed bool) error {
	if cs.Status != "open" {
		return fmt.Errorf("%w: %s is %s", ErrNotOpen, cs.ID, cs.Status)
	}
	if delayed && cs.Mode != "payment" {
		return errors.New("stripestub: delayed payment is simulated in payment mode only")
	}
	now := s.now().Unix()
	email := cs.CustomerEmail
	if c, ok := s.customers[cs.Customer]; ok && email == "" {
		email = c.Email
	}
	if email == "" {
		email = "customer@example.com"
	}
	if cs.Customer == "" && (cs.Mode == "subscription" || cs.customerCreation == "always") {
		cs.Customer = s.newCustomerLocked(email, "", nil).ID
	}
	cs.DetailsEmail = email
	switch {
	case cs.Mode == "subscription":
		sub := s.newSubscriptionLocked(cs)
		cs.Subscription, cs.Invoice = sub.ID, sub.LatestInvoice
		cs.PaymentStatus = "paid"
		if cs.AmountTotal == 0 || cs.TrialDays > 0 {
			cs.PaymentStatus = "no_payment_required"
		}
	case cs.AmountTotal == 0:
		cs.PaymentStatus = "no_payment_required"
	default:
		invoiceID := ""
		if cs.InvoiceCreation {
			invoiceID = newID("in_test_", 24)
		}
		pi, ch := s.newPaymentLocked(cs.AmountTotal, cs.Currency, cs.Customer, invoiceID, cs.PaymentIntentMeta, delayed)
		cs.PaymentIntent, cs.Charge = pi.ID, ch.ID
		if invoiceID != "" {
			cs.Invoice = s.newSessionInvoiceLocked(cs, invoiceID, !delayed).ID
		}
		cs.PaymentStatus = "paid"
		if delayed {
			cs.PaymentStatus = "unpaid"
		}
	}
	cs.Status, cs.CompletedAt, cs.Delayed = "complete", now, delayed
	return nil
}

// Complete pays a session as the Pay button does but sends no event, so
// a test can deliver checkout.session.completed when it chooses (e.g.
// after the visitor is back on the success page).
func (s *Stub) Complete(id string) error {
	return s.act(func() ([]*event, error) {
		cs, ok := s.sessions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no checkout session %s", id)
		}
		return nil, s.completeLocked(cs, false)
	})
}

// Pay does what the hosted page's Pay button does: completes the session
// and sends checkout.session.completed. A failed delivery is recorded and
// returned as a *DeliveryError; the session is paid all the same.
func (s *Stub) Pay(id string) error { return s.pay(id, false) }

// PayDelayed completes a payment-mode session with a delayed method:
// status complete, payment_status unpaid, and checkout.session.completed
// is sent. SettleDelayed finishes it.
func (s *Stub) PayDelayed(id string) error { return s.pay(id, true) }

func (s *Stub) pay(id string, delayed bool) error {
	return s.act(func() ([]*event, error) {
		cs, ok := s.sessions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no checkout session %s", id)
		}
		if err := s.completeLocked(cs, delayed); err != nil {
			return nil, err
		}
		evs := []*event{s.newEventLocked("checkout.session.completed", s.renderSessionLocked(cs), nil, nil)}
		if in, ok := s.invoices[cs.Invoice]; ok && cs.Mode == "payment" && in.Paid {
			// The receipt invoice_creation asks for: paid with the session.
			evs = append(evs, s.newEventLocked("invoice.paid", s.renderInvoiceLocked(in), nil, nil))
		}
		return evs, nil
	})
}

// SettleDelayed ends a delayed payment: succeeded marks the session paid
// and sends checkout.session.async_payment_succeeded; otherwise the
// payment fails and checkout.session.async_payment_failed is sent.
func (s *Stub) SettleDelayed(id string, succeeded bool) error {
	return s.act(func() ([]*event, error) {
		cs, ok := s.sessions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no checkout session %s", id)
		}
		pi := s.paymentIntents[cs.PaymentIntent]
		if cs.Status != "complete" || !cs.Delayed || pi == nil || pi.Status != "processing" {
			return nil, fmt.Errorf("stripestub: checkout session %s has no pending delayed payment", id)
		}
		ch := s.charges[pi.LatestCharge]
		typ := "checkout.session.async_payment_failed"
		if succeeded {
			pi.Status, ch.Status, ch.Paid = "succeeded", "succeeded", true
			cs.PaymentStatus = "paid"
			typ = "checkout.session.async_payment_succeeded"
		} else {
			pi.Status, ch.Status = "requires_payment_method", "failed"
		}
		return []*event{s.newEventLocked(typ, s.renderSessionLocked(cs), nil, nil)}, nil
	})
}

// Cancel is the visitor leaving the hosted page: nothing changes (the
// session stays open until it expires) and the cancel URL is returned.
func (s *Stub) Cancel(id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.sessions[id]
	if !ok {
		return "", fmt.Errorf("stripestub: no checkout session %s", id)
	}
	return cs.CancelURL, nil
}

// Expire expires an open session now and sends checkout.session.expired.
func (s *Stub) Expire(id string) error {
	return s.act(func() ([]*event, error) {
		cs, ok := s.sessions[id]
		if !ok {
			return nil, fmt.Errorf("stripestub: no checkout session %s", id)
		}
		if cs.Status != "open" {
			return nil, fmt.Errorf("%w: %s is %s", ErrNotOpen, id, cs.Status)
		}
		cs.Status = "expired"
		return []*event{s.newEventLocked("checkout.session.expired", s.renderSessionLocked(cs), nil, nil)}, nil
	})
}

// act runs fn under the lock, then delivers the events it raised.
func (s *Stub) act(fn func() ([]*event, error)) error {
	s.mu.Lock()
	s.expireDueLocked()
	evs, err := fn()
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.deliverAll(evs)
}
