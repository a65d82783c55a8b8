package admin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// Setup creates a webhook endpoint for url with the pinned API version and
// exactly the events the gateway handles, prints its signing secret once,
// and names older endpoints for the same URL to delete.
func Setup(ctx context.Context, api stripeapi.API, url string, out io.Writer) error {
	if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
		return fmt.Errorf("--url must be the webhook's full URL, e.g. https://shop.example.com/paywall/webhook")
	}
	list := &stripe.WebhookEndpointListParams{}
	list.Context = ctx
	var older []*stripe.WebhookEndpoint
	for ep, err := range api.ListWebhookEndpoints(list) {
		if err != nil {
			return fmt.Errorf("listing webhook endpoints: %v", stripeMessage(err))
		}
		if strings.TrimRight(ep.URL, "/") == strings.TrimRight(url, "/") {
			older = append(older, ep)
		}
	}
	params := &stripe.WebhookEndpointParams{
		URL:           stripe.String(url),
		EnabledEvents: stripe.StringSlice(events.Types),
		APIVersion:    stripe.String(events.PinnedAPIVersion),
		Description:   stripe.String("caddy-paywall"),
	}
	params.Context = ctx
	ep, err := api.CreateWebhookEndpoint(params)
	if err != nil {
		return fmt.Errorf("creating the webhook endpoint: %v", stripeMessage(err))
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") {
		return fmt.Errorf("created webhook endpoint %s, but Stripe returned no signing secret (it shows one only at creation): "+
			"delete the endpoint in the Dashboard and run setup again, or reveal its secret there", ep.ID)
	}
	fmt.Fprintf(out, "created webhook endpoint %s for %s\n", ep.ID, ep.URL)
	fmt.Fprintf(out, "  API version %s, %d events\n", events.PinnedAPIVersion, len(events.Types))
	fmt.Fprintf(out, "\nIts signing secret (shown once; set it as stripe_webhook_secret):\n\n  %s\n\n", ep.Secret)
	for _, o := range older {
		fmt.Fprintf(out, "an older endpoint %s (API version %s) also points here: delete it once the new secret is deployed\n", o.ID, orDash(o.APIVersion))
	}
	return nil
}
