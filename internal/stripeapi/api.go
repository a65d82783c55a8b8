package stripeapi

import (
	"iter"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// API is the part of Stripe's API the paywall calls, and nothing more:
// the gateway (Checkout, the Billing Portal, prices), the event applier
// (the objects an event names), reconcile (the session and event logs)
// and the admin commands (webhook endpoints, Stripe Tax). Client is the
// real one; tests may use an in-memory fake (package stripefake).
//
// Each call takes stripe-go's params, which carry the context and the
// idempotency key, and returns stripe-go's objects. An object read by id
// keeps Stripe's raw JSON in LastResponse.RawJSON, as stripe-go leaves
// it, so readers that decode their own types see what Stripe sent.
// A list stops at the first error, which it yields last.
type API interface {
	CreateCheckoutSession(p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error)
	GetCheckoutSession(id string, p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error)
	ListCheckoutSessions(p *stripe.CheckoutSessionListParams) iter.Seq2[*stripe.CheckoutSession, error]

	GetSubscription(id string, p *stripe.SubscriptionParams) (*stripe.Subscription, error)
	GetCharge(id string, p *stripe.ChargeParams) (*stripe.Charge, error)
	GetDispute(id string, p *stripe.DisputeParams) (*stripe.Dispute, error)
	GetInvoice(id string, p *stripe.InvoiceParams) (*stripe.Invoice, error)
	GetPrice(id string, p *stripe.PriceParams) (*stripe.Price, error)

	CreatePortalSession(p *stripe.BillingPortalSessionParams) (*stripe.BillingPortalSession, error)

	ListEvents(p *stripe.EventListParams) iter.Seq2[*stripe.Event, error]

	CreateWebhookEndpoint(p *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error)
	ListWebhookEndpoints(p *stripe.WebhookEndpointListParams) iter.Seq2[*stripe.WebhookEndpoint, error]

	// For doctor's Stripe Tax check.
	GetTaxSettings(p *stripe.TaxSettingsParams) (*stripe.TaxSettings, error)
	ListTaxRegistrations(p *stripe.TaxRegistrationListParams) iter.Seq2[*stripe.TaxRegistration, error]
}

// Client is API over a stripe-go client.
type Client struct {
	api *client.API
}

// Wrap makes c an API. New and NewRateLimited are the usual way; Wrap is
// for a client built otherwise (a test's, without network retries).
func Wrap(c *client.API) *Client { return &Client{api: c} }

func (c *Client) CreateCheckoutSession(p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error) {
	return c.api.CheckoutSessions.New(p)
}

func (c *Client) GetCheckoutSession(id string, p *stripe.CheckoutSessionParams) (*stripe.CheckoutSession, error) {
	return c.api.CheckoutSessions.Get(id, p)
}

func (c *Client) ListCheckoutSessions(p *stripe.CheckoutSessionListParams) iter.Seq2[*stripe.CheckoutSession, error] {
	return all[*stripe.CheckoutSession](func() *stripe.Iter { return c.api.CheckoutSessions.List(p).Iter })
}

func (c *Client) GetSubscription(id string, p *stripe.SubscriptionParams) (*stripe.Subscription, error) {
	return c.api.Subscriptions.Get(id, p)
}

func (c *Client) GetCharge(id string, p *stripe.ChargeParams) (*stripe.Charge, error) {
	return c.api.Charges.Get(id, p)
}

func (c *Client) GetDispute(id string, p *stripe.DisputeParams) (*stripe.Dispute, error) {
	return c.api.Disputes.Get(id, p)
}

func (c *Client) GetInvoice(id string, p *stripe.InvoiceParams) (*stripe.Invoice, error) {
	return c.api.Invoices.Get(id, p)
}

func (c *Client) GetPrice(id string, p *stripe.PriceParams) (*stripe.Price, error) {
	return c.api.Prices.Get(id, p)
}

func (c *Client) CreatePortalSession(p *stripe.BillingPortalSessionParams) (*stripe.BillingPortalSession, error) {
	return c.api.BillingPortalSessions.New(p)
}

func (c *Client) ListEvents(p *stripe.EventListParams) iter.Seq2[*stripe.Event, error] {
	return all[*stripe.Event](func() *stripe.Iter { return c.api.Events.List(p).Iter })
}

func (c *Client) CreateWebhookEndpoint(p *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error) {
	return c.api.WebhookEndpoints.New(p)
}

func (c *Client) ListWebhookEndpoints(p *stripe.WebhookEndpointListParams) iter.Seq2[*stripe.WebhookEndpoint, error] {
	return all[*stripe.WebhookEndpoint](func() *stripe.Iter { return c.api.WebhookEndpoints.List(p).Iter })
}

func (c *Client) GetTaxSettings(p *stripe.TaxSettingsParams) (*stripe.TaxSettings, error) {
	return c.api.TaxSettings.Get(p)
}

func (c *Client) ListTaxRegistrations(p *stripe.TaxRegistrationListParams) iter.Seq2[*stripe.TaxRegistration, error] {
	return all[*stripe.TaxRegistration](func() *stripe.Iter { return c.api.TaxRegistrations.List(p).Iter })
}

// all walks a stripe-go list, fetching pages as it goes; the first page
// is requested when the loop starts.
func all[T any](list func() *stripe.Iter) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		it := list()
		for it.Next() {
			if !yield(it.Current().(T), nil) {
				return
			}
		}
		if err := it.Err(); err != nil {
			var zero T
			yield(zero, err)
		}
	}
}

var _ API = (*Client)(nil)
