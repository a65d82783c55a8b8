package caddymodule

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// Provision sets the paywall up. It never contacts Redis or Stripe, so a
// restart during an outage still serves the ungated site.
func (p *Paywall) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	p.applyDefaults()

	// Secrets usually come from {env.*}; resolve them once here.
	repl := caddy.NewReplacer()
	key := repl.ReplaceAll(p.StripeSecretKey, "")
	secrets := make([]string, 0, len(p.StripeWebhookSecrets))
	for _, s := range p.StripeWebhookSecrets {
		if s = repl.ReplaceAll(s, ""); s != "" {
			secrets = append(secrets, s)
		}
	}
	sessionSecret := repl.ReplaceAll(p.SessionSecret, "")
	p.resolved = resolvedSecrets{stripeKey: key, webhookSecrets: secrets, sessionSecret: sessionSecret}
	if err := p.validateResolved(); err != nil {
		return err
	}

	gates, err := p.compileGates()
	if err != nil {
		return err
	}
	p.gates = gates
	p.userPlaceholder = singlePlaceholder(p.User)
	p.loginPath = loginPath(p.LoginURL)

	redisURL := repl.ReplaceAll(p.Redis, "")
	client, err := loadRedis(redisURL)
	if err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	p.redisKey = redisURL
	st := store.New(client, p.KeyPrefix)

	pageSet, err := pages.Load(p.Templates)
	if err != nil {
		return fmt.Errorf("paywall: templates: %v", err)
	}

	api := stripeapi.New(key, repl.ReplaceAll(p.StripeAPIURL, ""))
	applier := &events.Applier{
		Store:    st,
		API:      api,
		Products: p.eventProducts(),
		Policies: events.Policies{
			RefundAny:    p.RefundPolicy == "any",
			DisputeKeep:  p.DisputePolicy == "keep",
			PastDueGrace: time.Duration(p.PastDueGrace),
		},
		LiveMode: stripeapi.LiveMode(key),
	}
	p.gateway, err = gateway.New(gateway.Config{
		BasePath:          p.BasePath,
		Products:          p.gatewayProducts(),
		WebhookSecrets:    secrets,
		SessionSecret:     sessionSecret,
		AllowOnStoreError: p.OnStoreError == "allow",
	}, gateway.Deps{Store: st, API: api, Applier: applier, Pages: pageSet, Log: p.logger})
	if err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	return nil
}

// Cleanup releases the shared Redis client; it works after a Provision
// that failed half-way.
func (p *Paywall) Cleanup() error {
	if p.redisKey != "" {
		_, err := redisClients.Delete(p.redisKey)
		p.redisKey = ""
		return err
	}
	return nil
}

func (p *Paywall) compileGates() (paths.Gates, error) {
	gates := make(paths.Gates, 0, len(p.Products))
	for _, pr := range p.Products {
		in, err := paths.Compile(pr.Paths)
		if err != nil {
			return nil, fmt.Errorf("paywall: product %q: paths: %v", pr.ID, err)
		}
		ex, err := paths.Compile(pr.Except)
		if err != nil {
			return nil, fmt.Errorf("paywall: product %q: except: %v", pr.ID, err)
		}
		gates = append(gates, paths.Gate{Product: pr.ID, Paths: in, Except: ex})
	}
	return gates, nil
}

func (p *Paywall) eventProducts() []events.Product {
	out := make([]events.Product, len(p.Products))
	for i, pr := range p.Products {
		out[i] = events.Product{ID: pr.ID, Price: pr.Price, Mode: pr.Mode, AccessFor: time.Duration(pr.AccessFor)}
	}
	return out
}

func (p *Paywall) gatewayProducts() []gateway.Product {
	out := make([]gateway.Product, len(p.Products))
	for i, pr := range p.Products {
		out[i] = gateway.Product{
			ID: pr.ID, Name: pr.Name, Price: pr.Price, Mode: pr.Mode,
			AccessFor: time.Duration(pr.AccessFor), AllowPromotionCodes: pr.AllowPromotionCodes,
		}
	}
	return out
}

// singlePlaceholder returns "x" for "{x}", so the hot path can ask the
// replacer for one value instead of scanning a template.
func singlePlaceholder(s string) string {
	if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' && !strings.ContainsAny(s[1:len(s)-1], "{}") {
		return s[1 : len(s)-1]
	}
	return ""
}

// loginPath is the path of a same-site login_url, which is never gated.
func loginPath(loginURL string) string {
	if i := strings.IndexAny(loginURL, "?#"); i >= 0 {
		loginURL = loginURL[:i]
	}
	u, err := url.Parse(loginURL)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return u.Path
}
