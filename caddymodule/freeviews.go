package caddymodule

import (
	"context"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/admin"
	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/meter"
)

// freeViewsSyntax is how free_views is written, for error messages.
const freeViewsSyntax = "want N per DURATION, such as 3 per 720h"

// unmarshalFreeViews reads `free_views N per DURATION`.
func unmarshalFreeViews(d *caddyfile.Dispenser, opt string) (*catalog.FreeViews, error) {
	args := d.RemainingArgs()
	if err := noBlock(d, opt); err != nil {
		return nil, err
	}
	switch {
	case len(args) == 0:
		return nil, d.Errf("%s: missing value (%s)", opt, freeViewsSyntax)
	case len(args) == 1:
		return nil, d.Errf("%s: missing per (%s)", opt, freeViewsSyntax)
	case args[1] != "per":
		return nil, d.Errf("%s: unexpected %q after the number (%s)", opt, args[1], freeViewsSyntax)
	case len(args) == 2:
		return nil, d.Errf("%s: missing the duration after per (%s)", opt, freeViewsSyntax)
	case len(args) > 3:
		return nil, d.Errf("%s: too many values (%s)", opt, freeViewsSyntax)
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return nil, d.Errf("%s: invalid number %q (%s)", opt, args[0], freeViewsSyntax)
	}
	if n < 1 {
		return nil, d.Errf("%s: must be at least 1, got %d (leave free_views out for no free views)", opt, n)
	}
	per, err := caddy.ParseDuration(args[2])
	if err != nil {
		return nil, d.Errf("%s: invalid per duration %q (want a number and a unit, such as 720h or 30d)", opt, args[2])
	}
	if per <= 0 {
		return nil, d.Errf("%s: per must be more than 0, got %q", opt, args[2])
	}
	return &catalog.FreeViews{Views: n, Per: catalog.Duration(per)}, nil
}

// freeViewMeter is the meter on the paywall's Redis, or nil when no
// product has free views.
func (p *Paywall) freeViewMeter(rc redis.UniversalClient) *meter.Meter {
	for _, pr := range p.Products {
		if pr.FreeViews != nil {
			return meter.New(rc, p.KeyPrefix)
		}
	}
	return nil
}

// freeViews reads user's current free-view windows, for `show`.
func (c *cliPaywall) freeViews(ctx context.Context, user string) ([]admin.FreeViewsView, error) {
	m := c.freeViewMeter(c.client)
	if m == nil {
		return nil, nil
	}
	out := []admin.FreeViewsView{}
	for _, pr := range c.Products {
		if pr.FreeViews == nil {
			continue
		}
		w, ok, err := m.Read(ctx, user, pr.ID, time.Now())
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, admin.FreeViewsOf(w, pr.FreeViews.Views))
		}
	}
	return out, nil
}
