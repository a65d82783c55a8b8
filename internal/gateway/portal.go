package gateway

import (
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

func portalParams(r *http.Request, customer, returnTo string) *stripe.BillingPortalSessionParams {
	p := &stripe.BillingPortalSessionParams{
		Customer:  stripe.String(customer),
		ReturnURL: stripe.String(absoluteURL(r, returnTo)),
	}
	p.Context = r.Context()
	return p
}
