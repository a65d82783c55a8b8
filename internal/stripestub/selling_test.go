package stripestub

import (
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// The selling parameters the gateway sends are read, and the
// combinations Stripe refuses are refused.
func TestSessionSellingParams(t *testing.T) {
	e := newEnv(t)
	now := e.stub.Now()
	for _, c := range []struct {
		name   string
		params func() *stripe.CheckoutSessionParams
		param  string
	}{
		{"trial of 0 days", func() *stripe.CheckoutSessionParams {
			p := subscriptionParams(now, "")
			p.SubscriptionData.TrialPeriodDays = stripe.Int64(0)
			return p
		}, "subscription_data[trial_period_days]"},
		{"trial of 731 days", func() *stripe.CheckoutSessionParams {
			p := subscriptionParams(now, "")
			p.SubscriptionData.TrialPeriodDays = stripe.Int64(731)
			return p
		}, "subscription_data[trial_period_days]"},
		{"invoice_creation in subscription mode", func() *stripe.CheckoutSessionParams {
			p := subscriptionParams(now, "")
			p.InvoiceCreation = &stripe.CheckoutSessionInvoiceCreationParams{Enabled: stripe.Bool(true)}
			return p
		}, "invoice_creation"},
		{"customer_update without customer", func() *stripe.CheckoutSessionParams {
			p := paymentParams(now)
			p.CustomerUpdate = &stripe.CheckoutSessionCustomerUpdateParams{Address: stripe.String("auto")}
			return p
		}, "customer_update"},
		{"customer_creation in subscription mode", func() *stripe.CheckoutSessionParams {
			p := subscriptionParams(now, "")
			p.CustomerCreation = stripe.String("always")
			return p
		}, "customer_creation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.api.CheckoutSessions.New(c.params())
			if err == nil {
				t.Fatal("accepted")
			}
			if se := stripeErr(t, err); se.HTTPStatusCode != 400 || se.Param != c.param {
				t.Errorf("got %d param %q: %s", se.HTTPStatusCode, se.Param, se.Msg)
			}
		})
	}

	// Accepted and shown back.
	p := paymentParams(now)
	p.CustomerCreation = stripe.String("always")
	p.InvoiceCreation = &stripe.CheckoutSessionInvoiceCreationParams{Enabled: stripe.Bool(true)}
	p.AutomaticTax = &stripe.CheckoutSessionAutomaticTaxParams{Enabled: stripe.Bool(true)}
	p.TaxIDCollection = &stripe.CheckoutSessionTaxIDCollectionParams{Enabled: stripe.Bool(true)}
	p.BillingAddressCollection = stripe.String("required")
	cs := e.newSession(t, p)
	if !cs.InvoiceCreation.Enabled || !cs.AutomaticTax.Enabled || !cs.TaxIDCollection.Enabled ||
		cs.BillingAddressCollection != "required" || cs.CustomerCreation != "always" {
		t.Errorf("session as shown: invoice_creation %+v, automatic_tax %+v, tax_id_collection %+v, billing %q, customer_creation %q",
			cs.InvoiceCreation, cs.AutomaticTax, cs.TaxIDCollection, cs.BillingAddressCollection, cs.CustomerCreation)
	}
	if err := e.stub.Pay(cs.ID); err != nil {
		t.Fatal(err)
	}
	paid, _ := e.stub.Session(cs.ID)
	if paid.Customer == "" || paid.Invoice == "" {
		t.Fatalf("paid: customer %q invoice %q, want both", paid.Customer, paid.Invoice)
	}
	in, err := e.api.Invoices.Get(paid.Invoice, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Paid || in.Subscription != nil || in.PaymentIntent == nil || in.PaymentIntent.ID != paid.PaymentIntent ||
		in.Customer == nil || in.Customer.ID != paid.Customer {
		t.Errorf("receipt invoice: %+v", in)
	}
}
