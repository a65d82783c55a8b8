package caddymodule

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/admin"
	"github.com/caddy-paywall/caddy-paywall/internal/meter"
)

// FreeViews lets a signed-in visitor who does not hold a product open a
// few of its gated pages before paying ("3 free articles a month").
// Distinct pages are counted per user and product in Redis; opening a
// counted page again is free; past the limit the visitor gets the pay page
// (or 402), which says the free views are used. A free view passes with
// the request header X-Paywall-Free-View: "N of M" upstream (and
// X-Paywall-User, but no X-Paywall-Products: the user holds none). Users
// who hold the product are never counted; signed-out visitors are sent to
// log in.
type FreeViews struct {
	// How many distinct gated pages a visitor may open free per window.
	// At least 1. Required.
	Views int `json:"views,omitempty"`

	// The window, as a Go duration ("720h", "30d"). A window starts with
	// the visitor's first free view of the product and ends this long
	// after it; then the views renew. Required.
	Per caddy.Duration `json:"per,omitempty"`
}

// freeViewsSyntax is how free_views is written, for error messages.
const freeViewsSyntax = "want N per DURATION, such as 3 per 720h"

// unmarshalFreeViews reads `free_views N per DURATION`.
func unmarshalFreeViews(d *caddyfile.Dispenser, opt string) (*FreeViews, error) {
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
	return &FreeViews{Views: n, Per: caddy.Duration(per)}, nil
}

// check refuses free views a JSON config got wrong; nil means none.
func (fv *FreeViews) check() error {
	switch {
	case fv == nil:
		return nil
	case fv.Views < 1:
		return errors.New("free_views: views must be at least 1 (leave free_views out for no free views)")
	case fv.Per <= 0:
		return errors.New("free_views: per is required and must be more than 0, such as 720h")
	}
	return nil
}

// freeViewLimits are the products' free views, for the gateway.
func (p *Paywall) freeViewLimits() map[string]meter.Limit {
	var out map[string]meter.Limit
	for _, pr := range p.Products {
		if pr.FreeViews == nil {
			continue
		}
		if out == nil {
			out = map[string]meter.Limit{}
		}
		out[pr.ID] = meter.Limit{Views: pr.FreeViews.Views, Per: time.Duration(pr.FreeViews.Per)}
	}
	return out
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
