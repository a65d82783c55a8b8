package caddymodule

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
)

// The values of the enumerated options; the first is the default.
var (
	onStoreErrorValues  = []string{"deny", "allow"}
	refundPolicyValues  = []string{"full", "any"}
	disputePolicyValues = []string{"revoke", "keep"}
)

// Defaults, as the config struct documents them.
const (
	defaultUser      = "{http.auth.user.id}"
	defaultBasePath  = "/paywall"
	defaultRedis     = "redis://127.0.0.1:6379/0"
	defaultKeyPrefix = "{paywall}:"
)

// applyDefaults fills in the options left empty. Adapting a Caddyfile does
// not call it, so `caddy adapt` shows only what the user wrote.
func (p *Paywall) applyDefaults() {
	if p.Whoami == nil {
		setDefault(&p.User, defaultUser)
	}
	setDefault(&p.BasePath, defaultBasePath)
	setDefault(&p.Redis, defaultRedis)
	setDefault(&p.KeyPrefix, defaultKeyPrefix)
	setDefault(&p.OnStoreError, onStoreErrorValues[0])
	setDefault(&p.RefundPolicy, refundPolicyValues[0])
	setDefault(&p.DisputePolicy, disputePolicyValues[0])
	for i := range p.Products {
		setDefault(&p.Products[i].Mode, catalog.Modes[0])
	}
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

// missingSecrets names the required secrets left empty; webhookOption is
// how the webhook secrets are spelled where the error will be read
// (Caddyfile: stripe_webhook_secret, JSON: stripe_webhook_secrets).
func (p *Paywall) missingSecrets(webhookOption string) []string {
	var missing []string
	if p.StripeSecretKey == "" {
		missing = append(missing, "stripe_secret_key")
	}
	if len(p.StripeWebhookSecrets) == 0 {
		missing = append(missing, webhookOption)
	}
	if p.SessionSecret == "" {
		missing = append(missing, "session_secret")
	}
	return missing
}

// Validate refuses a config the paywall cannot run with. Caddy calls it
// after Provision, but it holds on a raw config too: an empty option is
// taken as its default, and a value still holding a placeholder such as
// {env.STRIPE_SECRET_KEY} is not checked for its form.
func (p *Paywall) Validate() error {
	if missing := p.missingSecrets("stripe_webhook_secrets"); len(missing) > 0 {
		return fmt.Errorf("paywall: %s", catalog.RequiredMessage(missing))
	}

	if err := checkStripeKey(p.StripeSecretKey); err != nil {
		return fmt.Errorf("paywall: stripe_secret_key: %v", err)
	}
	for i, s := range p.StripeWebhookSecrets {
		if s == "" {
			return fmt.Errorf("paywall: stripe_webhook_secrets[%d] is empty", i)
		}
		if err := checkWebhookSecret(s); err != nil {
			return fmt.Errorf("paywall: stripe_webhook_secrets[%d]: %v", i, err)
		}
	}
	if err := checkSessionSecret(p.SessionSecret); err != nil {
		return fmt.Errorf("paywall: session_secret: %v", err)
	}
	if p.Whoami != nil {
		if p.User != "" {
			return fmt.Errorf("paywall: %s", errUserAndWhoami)
		}
		if err := p.Whoami.validate(); err != nil {
			return fmt.Errorf("paywall: %v", err)
		}
	}

	optional := []struct {
		field, value string
		check        func(string) error
	}{
		{"stripe_api_url", p.StripeAPIURL, checkAPIURL},
		{"base_path", p.BasePath, checkBasePath},
		{"on_store_error", p.OnStoreError, oneOf(onStoreErrorValues...)},
		{"refund_policy", p.RefundPolicy, oneOf(refundPolicyValues...)},
		{"dispute_policy", p.DisputePolicy, oneOf(disputePolicyValues...)},
	}
	for _, o := range optional {
		if o.value == "" {
			continue
		}
		if err := o.check(o.value); err != nil {
			return fmt.Errorf("paywall: %s: %v", o.field, err)
		}
	}
	if p.RedisMinReplicas < 0 {
		return fmt.Errorf("paywall: redis_min_replicas: %d is negative (want 0 or more replicas)", p.RedisMinReplicas)
	}
	if p.PastDueGrace < 0 {
		return fmt.Errorf("paywall: past_due_grace must not be negative")
	}
	if p.Console != nil {
		if err := p.Console.validate(); err != nil {
			return fmt.Errorf("paywall: %v", err)
		}
	}
	if err := p.Crawlers.check(); err != nil {
		return fmt.Errorf("paywall: %v", err)
	}

	if err := p.Products.Validate(); err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	return nil
}

// hasPlaceholder reports whether v is resolved only when the config loads,
// so that its form cannot be checked yet.
func hasPlaceholder(v string) bool {
	return strings.Contains(v, "{")
}

// The checks below are shared by the Caddyfile and Validate. Their errors
// name neither the option nor the value when the value may be a secret.

// checkStripeKey, checkWebhookSecret and checkSessionSecret pass a value
// holding a placeholder, which is checked once resolved (validateResolved)
// by their *Form twins.
func checkStripeKey(key string) error        { return unlessPlaceholder(key, stripeKeyForm) }
func checkWebhookSecret(secret string) error { return unlessPlaceholder(secret, webhookSecretForm) }
func checkSessionSecret(secret string) error { return unlessPlaceholder(secret, sessionSecretForm) }

func unlessPlaceholder(v string, check func(string) error) error {
	if hasPlaceholder(v) {
		return nil
	}
	return check(v)
}

func stripeKeyForm(key string) error {
	switch {
	case strings.HasPrefix(key, "sk_"), strings.HasPrefix(key, "rk_"):
		return nil
	case strings.HasPrefix(key, "pk_"):
		return errors.New("a publishable key (pk_...) cannot call the API: use a secret key (sk_...) or a restricted key (rk_...)")
	case strings.HasPrefix(key, "whsec_"):
		return errors.New("this is a webhook signing secret (whsec_...): it belongs in stripe_webhook_secret")
	}
	return errors.New("not a Stripe secret key (want sk_test_..., sk_live_... or a restricted rk_... key)")
}

func webhookSecretForm(secret string) error {
	switch {
	case strings.HasPrefix(secret, "whsec_"):
		return nil
	case strings.HasPrefix(secret, "sk_"), strings.HasPrefix(secret, "rk_"):
		return errors.New("this is an API key: it belongs in stripe_secret_key; the webhook signing secret starts with whsec_")
	}
	return errors.New("not a webhook signing secret (want whsec_...)")
}

func sessionSecretForm(secret string) error { return gateway.CheckSessionSecret(secret) }

func checkAPIURL(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http:// or https:// URL, got %q", v)
	}
	return nil
}

func checkBasePath(v string) error {
	switch {
	case !strings.HasPrefix(v, "/"):
		return fmt.Errorf("%q must start with \"/\"", v)
	case strings.HasSuffix(v, "/"):
		return fmt.Errorf("%q must not end with \"/\"", v)
	case strings.ContainsAny(v, "?#*{} \t"):
		return fmt.Errorf("%q must be a plain path, such as %s", v, defaultBasePath)
	}
	return nil
}

// Interface guards
var (
	_ caddy.Validator = (*Paywall)(nil)
)

// validateResolved checks the secrets once their placeholders are resolved
// (Provision, so `caddy run` and `caddy validate` alike), with the same
// checks a literal gets in the Caddyfile. A value that came from a
// placeholder is named by it, so the operator knows which variable or
// file to fix; the value itself is never echoed.
func (p *Paywall) validateResolved() error {
	if err := checkResolved("stripe_secret_key", p.StripeSecretKey, p.resolved.stripeKey, stripeKeyForm); err != nil {
		return err
	}
	for i, raw := range p.StripeWebhookSecrets {
		resolved := caddy.NewReplacer().ReplaceAll(raw, "")
		if resolved == "" && len(p.resolved.webhookSecrets) > 0 {
			continue // an unset secret beside a set one: rotation not begun, or over
		}
		option := "stripe_webhook_secret"
		if len(p.StripeWebhookSecrets) > 1 {
			option = fmt.Sprintf("stripe_webhook_secret (value %d)", i+1)
		}
		if err := checkResolved(option, raw, resolved, webhookSecretForm); err != nil {
			return err
		}
	}
	return checkResolved("session_secret", p.SessionSecret, p.resolved.sessionSecret, sessionSecretForm)
}

// checkResolved checks one resolved secret: set, and of the right kind.
func checkResolved(option, raw, resolved string, check func(string) error) error {
	from := ""
	if hasPlaceholder(raw) {
		from = " " + raw
	}
	if resolved == "" {
		if from != "" {
			return fmt.Errorf("paywall: %s:%s is not set (or empty)", option, from)
		}
		return fmt.Errorf("paywall: %s is empty", option)
	}
	if err := check(resolved); err != nil {
		if from != "" {
			return fmt.Errorf("paywall: %s:%s: %v", option, from, err)
		}
		return fmt.Errorf("paywall: %s: %v", option, err)
	}
	return nil
}

// checkMinReplicas reads redis_min_replicas: a whole number, 0 or more.
func checkMinReplicas(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not a whole number of replicas (want 0 or more)", v)
	}
	if n < 0 {
		return fmt.Errorf("%d is negative (want 0 or more replicas)", n)
	}
	return nil
}
