package stripefake

import (
	"encoding/json"
	"iter"
	"slices"

	"github.com/stripe/stripe-go/v76"
)

// CreateCheckoutSession stores an open, unpaid session made from p and
// returns it. A repeated idempotency key returns the first session, as
// Stripe does.
func (f *Stripe) CreateCheckoutSession(p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateCheckoutSession", "", p); err != nil {
		return nil, err
	}
	key := ""
	if p != nil && p.IdempotencyKey != nil {
		key = *p.IdempotencyKey
	}
	if id, again := f.keys[key]; again && key != "" {
		return decode[stripe.CheckoutSession](f, "checkout.session", id, nil)
	}
	id := f.newID("cs_test")
	s := map[string]any{
		"id": id, "object": "checkout.session", "created": f.now().Unix(),
		"status": "open", "payment_status": "unpaid",
		"url": "https://checkout.stripe.fake/c/pay/" + id,
	}
	if p != nil {
		s["mode"] = deref(p.Mode)
		s["client_reference_id"] = deref(p.ClientReferenceID)
		s["customer"] = nilIfEmpty(deref(p.Customer))
		s["success_url"] = deref(p.SuccessURL)
		s["cancel_url"] = deref(p.CancelURL)
		s["metadata"] = p.Metadata
		if p.ExpiresAt != nil {
			s["expires_at"] = *p.ExpiresAt
		}
	}
	f.put(encode(s))
	if key != "" {
		f.keys[key] = id
	}
	return decode[stripe.CheckoutSession](f, "checkout.session", id, nil)
}

// GetCheckoutSession returns a stored session.
func (f *Stripe) GetCheckoutSession(id string, p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.CheckoutSession](f, "GetCheckoutSession", "checkout.session", id, p, e)
}

// ListCheckoutSessions lists stored sessions, filtered by status and
// created >=.
func (f *Stripe) ListCheckoutSessions(p *stripe.CheckoutSessionListParams) iter.Seq2[*stripe.CheckoutSession, error] {
	return list[stripe.CheckoutSession](f, "ListCheckoutSessions", "checkout.session", p, func(m map[string]json.RawMessage) bool {
		if p == nil {
			return true
		}
		return (p.Status == nil || str(m, "status") == *p.Status) && createdSince(m, p.CreatedRange)
	})
}

// GetSubscription returns a stored subscription.
func (f *Stripe) GetSubscription(id string, p *stripe.SubscriptionParams) (*stripe.Subscription, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.Subscription](f, "GetSubscription", "subscription", id, p, e)
}

// GetCharge returns a stored charge.
func (f *Stripe) GetCharge(id string, p *stripe.ChargeParams) (*stripe.Charge, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.Charge](f, "GetCharge", "charge", id, p, e)
}

// GetDispute returns a stored dispute.
func (f *Stripe) GetDispute(id string, p *stripe.DisputeParams) (*stripe.Dispute, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.Dispute](f, "GetDispute", "dispute", id, p, e)
}

// GetInvoice returns a stored invoice.
func (f *Stripe) GetInvoice(id string, p *stripe.InvoiceParams) (*stripe.Invoice, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.Invoice](f, "GetInvoice", "invoice", id, p, e)
}

// GetPrice returns a stored price; expand "product" puts the stored
// product in place of its id.
func (f *Stripe) GetPrice(id string, p *stripe.PriceParams) (*stripe.Price, error) {
	var e []*string
	if p != nil {
		e = p.Expand
	}
	return read[stripe.Price](f, "GetPrice", "price", id, p, e)
}

// CreatePortalSession returns a Billing Portal session for p's customer.
func (f *Stripe) CreatePortalSession(p *stripe.BillingPortalSessionParams) (*stripe.BillingPortalSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreatePortalSession", "", p); err != nil {
		return nil, err
	}
	id := f.newID("bps")
	s := &stripe.BillingPortalSession{ID: id, Object: "billing_portal.session", Created: f.now().Unix(),
		URL: "https://billing.stripe.fake/p/session/" + id}
	if p != nil {
		s.Customer, s.ReturnURL = deref(p.Customer), deref(p.ReturnURL)
	}
	return s, nil
}

// ListEvents lists stored events, filtered by type and created >=.
func (f *Stripe) ListEvents(p *stripe.EventListParams) iter.Seq2[*stripe.Event, error] {
	return list[stripe.Event](f, "ListEvents", "event", p, func(m map[string]json.RawMessage) bool {
		if p == nil {
			return true
		}
		typ := str(m, "type")
		return (p.Type == nil || typ == *p.Type) &&
			(len(p.Types) == 0 || slices.ContainsFunc(p.Types, func(t *string) bool { return t != nil && *t == typ })) &&
			createdSince(m, p.CreatedRange)
	})
}

// CreateWebhookEndpoint stores an enabled endpoint and returns it with its
// signing secret, which, as at Stripe, a list does not show.
func (f *Stripe) CreateWebhookEndpoint(p *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateWebhookEndpoint", "", p); err != nil {
		return nil, err
	}
	ep := &stripe.WebhookEndpoint{ID: f.newID("we"), Object: "webhook_endpoint", Created: f.now().Unix(), Status: "enabled"}
	if p != nil {
		ep.URL, ep.APIVersion, ep.Description = deref(p.URL), deref(p.APIVersion), deref(p.Description)
		for _, e := range p.EnabledEvents {
			ep.EnabledEvents = append(ep.EnabledEvents, deref(e))
		}
	}
	f.put(encode(ep))
	withSecret := *ep
	withSecret.Secret = "whsec_fake_" + ep.ID
	return &withSecret, nil
}

// ListWebhookEndpoints lists the stored endpoints.
func (f *Stripe) ListWebhookEndpoints(p *stripe.WebhookEndpointListParams) iter.Seq2[*stripe.WebhookEndpoint, error] {
	return list[stripe.WebhookEndpoint](f, "ListWebhookEndpoints", "webhook_endpoint", p, func(map[string]json.RawMessage) bool { return true })
}

// GetTaxSettings returns the stored "tax.settings" object; without one it
// answers 404, as an API without Stripe Tax does.
func (f *Stripe) GetTaxSettings(p *stripe.TaxSettingsParams) (*stripe.TaxSettings, error) {
	return read[stripe.TaxSettings](f, "GetTaxSettings", "tax.settings", "", p, nil)
}

// ListTaxRegistrations lists the stored "tax.registration" objects,
// filtered by status.
func (f *Stripe) ListTaxRegistrations(p *stripe.TaxRegistrationListParams) iter.Seq2[*stripe.TaxRegistration, error] {
	return list[stripe.TaxRegistration](f, "ListTaxRegistrations", "tax.registration", p, func(m map[string]json.RawMessage) bool {
		return p == nil || p.Status == nil || str(m, "status") == *p.Status
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
