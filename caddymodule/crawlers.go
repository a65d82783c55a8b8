package caddymodule

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-paywall/caddy-paywall/internal/crawlers"
)

// Crawlers lets verified search crawlers read gated pages, so a paywalled
// site stays in search; the site marks those pages
// `isAccessibleForFree: false` (see the README). A request whose
// User-Agent claims a listed crawler passes only when its IP verifies:
// reverse DNS gives a name in the crawler's domains and the forward lookup
// of that name gives the IP back. It then passes with the request header
// X-Paywall-Crawler (the crawler's name) upstream and Cache-Control:
// private. A claim that does not verify, or a DNS failure, is an ordinary
// signed-out visitor. Verifications are cached per IP (verified: 1h, not
// verified: 1h, DNS failure: 1m; 10000 IPs each).
//
// The IP is the connection's remote address, never X-Forwarded-For: behind
// a proxy or CDN, crawlers do not verify (see the README).
type Crawlers struct {
	// The crawlers let in: "google" (Googlebot; googlebot.com,
	// google.com) and "bing" (Bingbot; search.msn.com). Required.
	Names []string `json:"names,omitempty"`

	// The DNS server that verifies them, as host:port.
	// Default: the system resolver.
	Resolver string `json:"resolver,omitempty"`
}

var crawlersOptions = []string{"resolver"}

// unmarshalCrawlers reads `crawlers <name...> [{ resolver <host:port> }]`.
func unmarshalCrawlers(d *caddyfile.Dispenser, opt string) (*Crawlers, error) {
	c := &Crawlers{Names: d.RemainingArgs()}
	if len(c.Names) == 0 {
		return nil, d.Errf("%s: missing value (want one or more of %s)", opt, joinKnownCrawlers())
	}
	for i, n := range c.Names {
		if err := crawlers.Check(n); err != nil {
			return nil, d.Errf("%s: %v", opt, err)
		}
		if slices.Contains(c.Names[:i], n) {
			return nil, d.Errf("%s: %q named twice", opt, n)
		}
	}
	set := make(map[string]caddyfile.Token)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		sub := d.Val()
		if first, ok := set[sub]; ok {
			return nil, d.Errf("%s: %s: set twice (first at %s)", opt, sub, tokenPosition(first))
		}
		set[sub] = d.Token()
		switch sub {
		case "resolver":
			v, err := oneArg(d, sub, checkResolver)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", opt, err)
			}
			c.Resolver = v
		default:
			return nil, d.Errf("%s: unrecognized option %q %s", opt, sub, suggestOption(sub, crawlersOptions))
		}
	}
	return c, nil
}

func joinKnownCrawlers() string { return strings.Join(crawlers.Known(), ", ") }

func checkResolver(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		return fmt.Errorf("want host:port, such as 127.0.0.1:53, got %q", v)
	}
	return nil
}

// check refuses crawlers a JSON config got wrong; nil means none.
func (c *Crawlers) check() error {
	if c == nil {
		return nil
	}
	if len(c.Names) == 0 {
		return errors.New("crawlers: names is required (" + joinKnownCrawlers() + ")")
	}
	for _, n := range c.Names {
		if err := crawlers.Check(n); err != nil {
			return fmt.Errorf("crawlers: %v", err)
		}
	}
	if c.Resolver != "" {
		if err := checkResolver(c.Resolver); err != nil {
			return fmt.Errorf("crawlers: resolver: %v", err)
		}
	}
	return nil
}

// crawlerVerifier is the verifier for the configured crawlers, or nil.
func (p *Paywall) crawlerVerifier() (*crawlers.Verifier, error) {
	if p.Crawlers == nil {
		return nil, nil
	}
	if err := p.Crawlers.check(); err != nil {
		return nil, err
	}
	resolver := caddy.NewReplacer().ReplaceAll(p.Crawlers.Resolver, "")
	if err := checkResolver(resolver); resolver != "" && err != nil {
		return nil, fmt.Errorf("crawlers: resolver: %v", err)
	}
	return crawlers.New(crawlers.Options{Names: p.Crawlers.Names, Resolver: resolver})
}
