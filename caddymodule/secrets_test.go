package caddymodule

import (
	"strings"
	"testing"
)

// Secrets from placeholders are checked once resolved, with the same
// messages a literal gets, naming the option and the placeholder, never
// the value.
func TestResolvedSecretsAreChecked(t *testing.T) {
	t.Setenv("PW_TEST_PK", "pk_test_publishable")
	t.Setenv("PW_TEST_WHSEC", "whsec_signing")
	t.Setenv("PW_TEST_SK", "sk_test_secret")
	t.Setenv("PW_TEST_SHORT", "short-secret")
	t.Setenv("PW_TEST_SESSION", "a-session-secret-of-at-least-32-characters")
	cases := []struct {
		name                  string
		key, webhook, session string
		want                  []string // in the error
		wantNot               string   // never in the error
	}{
		{"publishable key in the key's variable", "{env.PW_TEST_PK}", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_SESSION}",
			[]string{"stripe_secret_key", "{env.PW_TEST_PK}", "publishable key"}, "pk_test_publishable"},
		{"webhook secret in the key's variable", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_SESSION}",
			[]string{"stripe_secret_key", "{env.PW_TEST_WHSEC}", "webhook signing secret"}, "whsec_signing"},
		{"API key in the webhook secret's variable", "{env.PW_TEST_SK}", "{env.PW_TEST_SK}", "{env.PW_TEST_SESSION}",
			[]string{"stripe_webhook_secret", "{env.PW_TEST_SK}", "API key"}, "sk_test_secret"},
		{"unset key variable", "{env.PW_TEST_UNSET_KEY}", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_SESSION}",
			[]string{"stripe_secret_key", "{env.PW_TEST_UNSET_KEY}", "not set"}, ""},
		{"unset session variable", "{env.PW_TEST_SK}", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_UNSET_SESSION}",
			[]string{"session_secret", "{env.PW_TEST_UNSET_SESSION}", "not set"}, ""},
		{"short session secret", "{env.PW_TEST_SK}", "{env.PW_TEST_WHSEC}", "{env.PW_TEST_SHORT}",
			[]string{"session_secret", "{env.PW_TEST_SHORT}", "at least 32 characters"}, "short-secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := provisionConfig("redis://127.0.0.1:1/0")
			p.StripeSecretKey, p.StripeWebhookSecrets, p.SessionSecret = c.key, []string{c.webhook}, c.session
			err := p.Provision(newCaddyContext(t))
			t.Cleanup(func() { _ = p.Cleanup() })
			if err == nil {
				t.Fatal("provisioned")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if c.wantNot != "" && strings.Contains(err.Error(), c.wantNot) {
				t.Errorf("error %q echoes the secret", err)
			}
		})
	}

	// The same values, each where it belongs, provision.
	p := provisionConfig("redis://127.0.0.1:1/0")
	p.StripeSecretKey, p.StripeWebhookSecrets, p.SessionSecret = "{env.PW_TEST_SK}", []string{"{env.PW_TEST_WHSEC}", "{env.PW_TEST_UNSET_OLD}"}, "{env.PW_TEST_SESSION}"
	if err := p.Provision(newCaddyContext(t)); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	_ = p.Cleanup()
}
