// Package demo runs the whole paywall flow on one machine with nothing
// installed: an embedded Redis (miniredis), the Stripe stand-in, a small
// site, and the Caddyfile that puts the paywall in front of it. With a real
// Stripe test key and price it uses Stripe instead of the stand-in.
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
)

// Options choose what the demo uses.
type Options struct {
	// Listen is host:port for the gateway. Default: localhost:8080.
	Listen string
	// RedisURL, when set, is used instead of an embedded Redis.
	RedisURL string
	// StripeKey and Price, when both set, use real Stripe test mode
	// instead of the stand-in; WebhookSecret is then the secret of a
	// webhook endpoint (or `stripe listen`) that reaches this machine.
	StripeKey, Price, Mode, WebhookSecret string
}

// Users are the demo's logins (basic_auth).
var Users = map[string]string{"alice": "alice-pays", "bob": "bob-pays"}

// Demo is a running demo's parts; Caddyfile is what to load into Caddy.
type Demo struct {
	Caddyfile string
	URL       string
	Stripe    string // "stand-in" or "Stripe test mode"
	closers   []func()
}

// Start starts the embedded parts and writes the Caddyfile.
func Start(o Options) (*Demo, error) {
	if o.Listen == "" {
		o.Listen = "localhost:8080"
	}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %v", o.Listen, err)
	}
	if host == "" {
		host = "localhost"
	}
	// Caddy's listeners can share a port, so a second demo on the same
	// one would answer every other request: refuse to start instead.
	if port != "0" {
		l, err := net.Listen("tcp", net.JoinHostPort(bindHost(host), port))
		if err != nil {
			return nil, fmt.Errorf("--listen %s: the address is in use (is another demo running?); pick another with --listen: %v", o.Listen, err)
		}
		_ = l.Close()
	}
	d := &Demo{URL: "http://" + net.JoinHostPort(host, port)}
	ok := false
	defer func() {
		if !ok {
			d.Close()
		}
	}()

	redisURL := o.RedisURL
	if redisURL == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("embedded redis: %v", err)
		}
		d.closers = append(d.closers, mr.Close)
		redisURL = "redis://" + mr.Addr() + "/0"
	}

	standIn := o.StripeKey == "" || o.Price == ""
	siteURL, err := d.serve(site(standIn))
	if err != nil {
		return nil, err
	}

	webhookURL := d.URL + "/paywall/webhook"
	key, secret, apiURL := o.StripeKey, o.WebhookSecret, ""
	products := fmt.Sprintf(`		product pro {
			price %s
			mode %s
			paths /premium/*
		}`, o.Price, orDefault(o.Mode, "payment"))
	d.Stripe = "Stripe test mode"
	if standIn {
		d.Stripe = "the offline Stripe stand-in"
		key, secret = "sk_test_demo", "whsec_demo_"+randomHex(16)
		stub := stripestub.New(stripestub.Config{
			Prices: []stripestub.Price{
				{ID: "price_demo_pro", ProductName: "Pro articles", UnitAmount: 900, Currency: "eur"},
				{ID: "price_demo_club", ProductName: "Members' club", ProductID: "prod_demo_club", UnitAmount: 500, Currency: "usd", Recurring: "month"},
				{ID: "price_demo_club_yearly", ProductName: "Members' club", ProductID: "prod_demo_club", UnitAmount: 5000, Currency: "usd", Recurring: "year"},
			},
			WebhookURL: webhookURL, WebhookSecret: secret,
		})
		if apiURL, err = d.serve(stub); err != nil {
			return nil, err
		}
		stub.SetBaseURL(apiURL)
		products = `		product pro {
			name "Pro articles"
			price price_demo_pro
			paths /premium/*
		}
		product club {
			name "Members' club"
			description "The members' lounge and every page under /club/."
			price price_demo_club price_demo_club_yearly
			mode subscription
			trial 14d
			paths /club/*
		}`
	}
	if secret == "" {
		secret = "whsec_unset_" + randomHex(8) // the success page still fulfils
	}

	var logins strings.Builder
	for _, u := range []string{"alice", "bob"} {
		hash, err := bcrypt.GenerateFromPassword([]byte(Users[u]), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&logins, "\t\t%s %s\n", u, hash)
	}
	apiLine := ""
	if apiURL != "" {
		apiLine = "\t\tstripe_api_url " + apiURL + "\n"
	}
	d.Caddyfile = fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}

http://:%s {
	bind %s
	@members {
		path /premium/* /club/* /paywall/*
		not path /paywall/webhook /paywall/healthz
	}
	basic_auth @members {
%s	}
	paywall {
		stripe_secret_key %s
		stripe_webhook_secret %s
%s		redis %s
		session_secret %s
%s
	}
	reverse_proxy %s
}
`, port, bindHost(host), logins.String(), key, secret, apiLine, redisURL, randomHex(32), products, strings.TrimPrefix(siteURL, "http://"))
	ok = true
	return d, nil
}

// serve runs h on a free loopback port and returns its URL.
func (d *Demo) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	d.closers = append(d.closers, func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), nil
}

// Close stops what Start started.
func (d *Demo) Close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
}

func bindHost(host string) string {
	if host == "localhost" {
		return "127.0.0.1"
	}
	return host
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
