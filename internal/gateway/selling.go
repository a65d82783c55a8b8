package gateway

import (
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// taxParams asks Checkout for Stripe Tax and tax ids when configured.
// Stripe Tax needs the customer's address, so Checkout always collects
// the billing address; a reused customer's address and name are updated
// from what they enter (Stripe refuses automatic tax or tax id
// collection on an existing customer otherwise).
func (g *Gateway) taxParams(params *stripe.CheckoutSessionParams, reusedCustomer bool) {
	if !g.cfg.AutomaticTax && !g.cfg.TaxIDCollection {
		return
	}
	if g.cfg.AutomaticTax {
		params.AutomaticTax = &stripe.CheckoutSessionAutomaticTaxParams{Enabled: stripe.Bool(true)}
		params.BillingAddressCollection = stripe.String(string(stripe.CheckoutSessionBillingAddressCollectionRequired))
	}
	if g.cfg.TaxIDCollection {
		params.TaxIDCollection = &stripe.CheckoutSessionTaxIDCollectionParams{Enabled: stripe.Bool(true)}
	}
	if reusedCustomer {
		params.CustomerUpdate = &stripe.CheckoutSessionCustomerUpdateParams{Name: stripe.String("auto")}
		if g.cfg.AutomaticTax {
			params.CustomerUpdate.Address = stripe.String("auto")
		}
	}
}

// describePaths says in plain words what path patterns open, for the pay
// page: "Everything under /club/ and every .pdf file."
func describePaths(patterns []string) string {
	var parts []string
	for _, p := range patterns {
		switch {
		case p == "*" || p == "/*":
			parts = append(parts, "the whole site")
		case strings.HasPrefix(p, "*") && strings.HasSuffix(p, "*") && len(p) > 2:
			parts = append(parts, "pages whose address contains "+p[1:len(p)-1])
		case strings.HasPrefix(p, "*."):
			parts = append(parts, "every "+p[1:]+" file")
		case strings.HasSuffix(p, "/*"):
			parts = append(parts, "everything under "+p[:len(p)-1])
		case strings.HasSuffix(p, "*"):
			parts = append(parts, "pages starting with "+p[:len(p)-1])
		default:
			parts = append(parts, "the page "+p)
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return "Opens " + parts[0] + "."
	}
	return "Opens " + strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1] + "."
}
