package admin

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// setup fails loudly when Stripe answers without a signing secret: a
// "success" without one leaves the operator with an endpoint nobody can
// verify.
func TestSetupWithoutSigningSecretFails(t *testing.T) {
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"object":"list","url":"/v1/webhook_endpoints","data":[],"has_more":false}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"we_nosecret","object":"webhook_endpoint","url":"https://shop.test/paywall/webhook","api_version":"` + events.PinnedAPIVersion + `"}`))
	}))
	defer stripe.Close()
	var out bytes.Buffer
	err := Setup(context.Background(), stripeapi.New("sk_test_x", stripe.URL), "https://shop.test/paywall/webhook", &out)
	if err == nil || !strings.Contains(err.Error(), "no signing secret") || !strings.Contains(err.Error(), "we_nosecret") {
		t.Fatalf("setup without a secret: %v\n%s", err, out.String())
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
