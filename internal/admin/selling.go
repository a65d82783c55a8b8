package admin

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// selling checks each price of each product, and Stripe Tax when
// automatic_tax is on.
func (d Doctor) selling(ctx context.Context) []Check {
	var checks []Check
	for _, p := range d.Products {
		for _, price := range p.AllPrices() {
			checks = append(checks, d.price(ctx, p, price))
		}
	}
	if d.AutomaticTax {
		checks = append(checks, d.tax(ctx))
	}
	return checks
}

// tax reports whether the account has Stripe Tax set up, as far as the
// API tells: the tax settings' status, then whether any registration is
// active (without one, Stripe Tax calculates no tax anywhere). An API that
// does not serve tax settings (an older or stand-in Stripe) is reported as
// unknown, not as set up.
func (d Doctor) tax(ctx context.Context) Check {
	const name = "stripe tax"
	params := &stripe.TaxSettingsParams{}
	params.Context = ctx
	settings, err := d.API.TaxSettings.Get(params)
	var se *stripe.Error
	switch {
	case errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound:
		return Check{name, "warn", "automatic_tax is on, but this Stripe API does not serve tax settings (" + stripeMessage(err) + "): cannot tell whether Stripe Tax is set up",
			"check Settings > Tax in the Stripe dashboard"}
	case err != nil:
		return Check{name, "error", "automatic_tax is on, but reading the tax settings failed: " + stripeMessage(err),
			"check the secret key's permissions (tax settings: read)"}
	case settings.Status != stripe.TaxSettingsStatusActive:
		detail := "automatic_tax is on, but Stripe Tax is not set up (status " + string(settings.Status) + ")"
		if settings.StatusDetails != nil && settings.StatusDetails.Pending != nil && len(settings.StatusDetails.Pending.MissingFields) > 0 {
			detail += ": missing " + strings.Join(settings.StatusDetails.Pending.MissingFields, ", ")
		}
		return Check{name, "error", detail + "; Checkout will refuse to start",
			"set up Stripe Tax in the dashboard (Settings > Tax), or turn automatic_tax off"}
	}
	regs := &stripe.TaxRegistrationListParams{Status: stripe.String("active")}
	regs.Context = ctx
	regs.Limit = stripe.Int64(1)
	it := d.API.TaxRegistrations.List(regs)
	found := it.Next()
	if err := it.Err(); err != nil {
		return Check{name, "warn", "Stripe Tax is set up; listing tax registrations failed: " + stripeMessage(err),
			"check Settings > Tax > Registrations in the Stripe dashboard"}
	}
	if !found {
		return Check{name, "warn", "Stripe Tax is set up but has no active registration: no tax is collected anywhere",
			"add the places where you are registered to collect tax (Settings > Tax > Registrations)"}
	}
	return Check{Name: name, Status: "ok", Detail: "Stripe Tax is set up, with at least one active registration"}
}
