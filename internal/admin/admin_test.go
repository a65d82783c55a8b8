package admin

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
)

// setup fails loudly when Stripe answers without a signing secret: a
// "success" without one leaves the operator with an endpoint nobody can
// verify.
func TestSetupWithoutSigningSecretFails(t *testing.T) {
	fake := stripefake.New()
	var out bytes.Buffer
	err := Setup(context.Background(), withoutSecrets{fake}, "https://shop.test/paywall/webhook", &out)
	var created string
	for ep := range fake.ListWebhookEndpoints(nil) {
		created = ep.ID
	}
	if created == "" || err == nil || !strings.Contains(err.Error(), "no signing secret") || !strings.Contains(err.Error(), created) {
		t.Fatalf("setup without a secret (endpoint %q): %v\n%s", created, err, out.String())
	}
}

// withoutSecrets is a Stripe that creates endpoints but returns no
// signing secret.
type withoutSecrets struct{ *stripefake.Stripe }

func (w withoutSecrets) CreateWebhookEndpoint(p *stripe.WebhookEndpointParams) (*stripe.WebhookEndpoint, error) {
	ep, err := w.Stripe.CreateWebhookEndpoint(p)
	if ep != nil {
		ep.Secret = ""
	}
	return ep, err
}

// setup creates an endpoint for the URL with the pinned API version and
// exactly the events the gateway handles, prints its secret, and names
// the older endpoints for the same URL (and only those) to delete.
func TestSetupCreatesEndpointAndNamesOlderOnes(t *testing.T) {
	fake := stripefake.New()
	fake.Put(
		`{"id":"we_older","object":"webhook_endpoint","url":"https://shop.test/paywall/webhook/","api_version":"2020-08-27","status":"enabled"}`,
		`{"id":"we_elsewhere","object":"webhook_endpoint","url":"https://other.test/paywall/webhook","status":"enabled"}`,
	)
	var out bytes.Buffer
	if err := Setup(context.Background(), fake, "https://shop.test/paywall/webhook", &out); err != nil {
		t.Fatal(err)
	}
	var created *stripe.WebhookEndpointParams
	for _, c := range fake.Calls() {
		if c.Method == "CreateWebhookEndpoint" {
			created = c.Params.(*stripe.WebhookEndpointParams)
		}
	}
	if created == nil || *created.URL != "https://shop.test/paywall/webhook" || *created.APIVersion != events.PinnedAPIVersion ||
		joinPtrs(created.EnabledEvents) != strings.Join(events.Types, ",") {
		t.Fatalf("created with %+v", created)
	}
	got := out.String()
	for _, want := range []string{"created webhook endpoint we_", "whsec_", "an older endpoint we_older (API version 2020-08-27) also points here"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "we_elsewhere") {
		t.Errorf("named an endpoint for another URL:\n%s", got)
	}
}

// Text from Redis is printed so that it cannot drive the terminal, and
// every time is written one way.
func TestReportsEscapeAndFormatTimes(t *testing.T) {
	at := time.Date(2026, 11, 30, 4, 14, 20, 0, time.FixedZone("X", 3600))
	var out bytes.Buffer
	PrintGrants(&out, Views(store.Entitlements{User: "eve\x1b[2J\nroot", Grants: []store.Grant{
		{Product: "pro", Source: "pi_1", Cause: "evt\r1", Expires: at.Unix()},
	}}, at.Add(-time.Hour)))
	PrintAudit(&out, []store.AuditEntry{{Time: at, Action: "grant", User: "eve", Product: "pro", Source: "pi_1", Cause: "admin", Detail: "\x07bell"}})
	got := out.String()
	for _, bad := range []string{"\x1b", "\r", "\x07", "eve\x1b"} {
		if strings.Contains(got, bad) {
			t.Errorf("output holds %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{`eve\x1b[2J\nroot`, `evt\r1`, `\abell`, "2026-11-30T03:14:20Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "2026-11-30T03:14:20Z") != 2 {
		t.Errorf("the expiry and the audit time are not written alike:\n%s", got)
	}
	if v := AuditViews([]store.AuditEntry{{Time: at}}); v[0].Time != "2026-11-30T03:14:20Z" {
		t.Errorf("JSON audit time %q", v[0].Time)
	}
}

func joinPtrs(ss []*string) string {
	var out []string
	for _, s := range ss {
		out = append(out, *s)
	}
	return strings.Join(out, ",")
}
