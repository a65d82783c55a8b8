package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/meter"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
)

// Free views and verified crawlers: the two ways through a gate without
// holding the product. Decide asks for them only where they apply: a
// crawler only when nobody is signed in, the meter only once the user is
// known to hold none of the matching products (so a paying user is never
// counted).

// Metered is the meter a decision consulted: the product whose free views
// were counted (FreeView) or are used up (Pay).
type Metered struct {
	Product string
	meter.View
}

// RequestOf is what Decide needs of r, for user (the `user` placeholder's
// value) on a path gated by products.
func RequestOf(r *http.Request, user string, products []string) Request {
	return Request{User: user, Products: products, Path: r.URL.Path,
		UserAgent: r.Header.Get("User-Agent"), RemoteAddr: r.RemoteAddr}
}

// crawler returns the verified crawler a signed-out request comes from,
// or "" (no crawlers configured, no claim, or a claim that does not
// verify: an ordinary anonymous visitor).
func (g *Gateway) crawler(ctx context.Context, req Request) string {
	if g.crawlers == nil || req.UserAgent == "" {
		return ""
	}
	return g.crawlers.Verify(ctx, req.UserAgent, req.RemoteAddr)
}

// freeView counts the request on the meter of the first matching product
// that has free views, and turns a Pay decision into a FreeView when the
// page is free. Redis failing is a store error like any other: the
// on_store_error rule decides, never a free pass by accident.
func (g *Gateway) freeView(ctx context.Context, req Request, d *Decision) {
	if g.meter == nil {
		return
	}
	for _, id := range req.Products {
		l, ok := g.freeViews[id]
		if !ok {
			continue
		}
		v, err := g.meter.Count(ctx, req.User, id, req.Path, l, g.now())
		if err != nil {
			g.storeError(d, err)
			return
		}
		d.Metered = &Metered{Product: id, View: v}
		if v.Free() {
			d.Outcome = FreeView
		}
		return
	}
}

// storeError turns d into the on_store_error outcome for err.
func (g *Gateway) storeError(d *Decision, err error) {
	d.Err = err
	d.Outcome = StoreDenied
	if g.cfg.AllowOnStoreError {
		d.Outcome = StoreAllowed
	}
}

// setSellingHeaders sets what the upstream learns of a free view or a
// crawler. A free view names the user but no product: the user holds none.
func setSellingHeaders(h http.Header, d Decision) {
	switch d.Outcome {
	case FreeView:
		h.Set("X-Paywall-User", d.User)
		h.Set("X-Paywall-Free-View", strconv.Itoa(d.Metered.Used)+" of "+strconv.Itoa(d.Metered.Limit))
	case Crawler:
		h.Set("X-Paywall-Crawler", d.Crawler)
	}
}

// freeViewsInfo is the 402 body's account of a used-up meter.
func freeViewsInfo(m *Metered) map[string]any {
	return map[string]any{"product": m.Product, "used": m.Used, "limit": m.Limit,
		"renews": m.Ends.UTC().Format(time.RFC3339)}
}

// freeViewsUsed is the pay page's note when the visitor has used the free
// views of one of the products offered: "" when none has a meter, or its
// views are left. A store failure only leaves the note out.
func (g *Gateway) freeViewsUsed(ctx context.Context, user string, products []pages.Listing) string {
	if g.meter == nil {
		return ""
	}
	now := g.now()
	for _, p := range products {
		l, ok := g.freeViews[p.ID]
		if !ok {
			continue
		}
		w, ok, err := g.meter.Read(ctx, user, p.ID, now)
		if err != nil || !ok || len(w.Pages) < l.Views {
			continue
		}
		unit := "pages"
		if l.Views == 1 {
			unit = "page"
		}
		return fmt.Sprintf("You have read your %d free %s of %s. More free pages on %s.",
			l.Views, unit, p.Name, w.End.UTC().Format("2 January 2006"))
	}
	return ""
}
