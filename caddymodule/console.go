package caddymodule

import (
	"fmt"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-paywall/caddy-paywall/internal/console"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
)

// ConsoleConfig turns on the site owner's console at base_path/console:
// the last 30 days of the gate, the pay funnel and revenue, live
// entitlements, webhook health, users (grant and revoke) and the audit
// stream. Its counters are kept in Redis under the key prefix.
type ConsoleConfig struct {
	// The users who may open the console, as the gate knows them (the same
	// identity as the pay page). Required, at least one. Anyone else
	// signed in gets 403; a signed-out visitor is sent to login_url.
	Admins []string `json:"admins,omitempty"`
}

var consoleOptions = []string{"admins"}

// unmarshalConsole reads `console { admins <user>... }`.
func unmarshalConsole(d *caddyfile.Dispenser) (*ConsoleConfig, error) {
	start := d.Token()
	if d.NextArg() {
		return nil, d.Errf("console: takes no value, only a block: console { admins <user>... }")
	}
	c := &ConsoleConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "admins":
			admins, err := someArgs(d, opt, func(string) error { return nil })
			if err != nil {
				return nil, fmt.Errorf("console: %w", err)
			}
			c.Admins = append(c.Admins, admins...)
		default:
			return nil, d.Errf("console: unrecognized option %q %s", opt, suggestOption(opt, consoleOptions))
		}
	}
	if len(c.Admins) == 0 {
		return nil, errAt(start, "console: admins is required: the users who may open the console")
	}
	return c, nil
}

// validate checks the console's config (the JSON twin of the Caddyfile's
// checks).
func (c *ConsoleConfig) validate() error {
	if len(c.Admins) == 0 {
		return fmt.Errorf("console: admins is required: the users who may open the console")
	}
	if slices.Contains(c.Admins, "") {
		return fmt.Errorf("console: admins: an admin is empty")
	}
	return nil
}

// provisionConsole builds the console and the counters that feed it
// (p.tally), and starts their flusher; Cleanup stops it. Without a console
// it returns nil.
func (p *Paywall) provisionConsole(st *store.Store) (gateway.Console, error) {
	if p.Console == nil {
		return nil, nil
	}
	c, err := console.New(console.Config{
		Admins: p.Console.Admins, BasePath: p.BasePath, Products: p.Products, Store: st, Log: p.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("paywall: %v", err)
	}
	p.tally = tally.New(st, time.Second, nil)
	p.tally.Start()
	p.metrics.tally = p.tally
	return c, nil
}

// stopConsole stops the counters' flusher and writes what is left.
func (p *Paywall) stopConsole() {
	if p.tally == nil {
		return
	}
	if err := p.tally.Stop(2 * time.Second); err != nil && p.logger != nil {
		p.logger.Warn("paywall: console counters not written at shutdown")
	}
	p.tally = nil
}
