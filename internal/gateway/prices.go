package gateway

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
)

// Prices are read from Stripe for the pay page and cached: ten minutes
// when found, one minute after a failure.
const (
	priceTTL       = 10 * time.Minute
	priceFailedTTL = time.Minute
)

type priceInfo struct {
	productName string
	display     string // "€9.00 / month"
	plan        string // "€9 a month"
	until       time.Time
}

type priceCache struct {
	api *client.API
	now func() time.Time
	mu  sync.Mutex
	m   map[string]priceInfo
	// refreshing holds the prices being fetched in the background, so a
	// burst of requests starts one fetch, not one each.
	refreshing map[string]bool
}

func newPriceCache(api *client.API, now func() time.Time) *priceCache {
	return &priceCache{api: api, now: now, m: map[string]priceInfo{}, refreshing: map[string]bool{}}
}

// get returns what is known of a price. A stale entry is served at once
// and refreshed in the background. With wait (the pay page), a price never
// seen is fetched before answering; without it (the 402 answer, on the
// hot path) it is fetched in the background and the answer goes without.
func (c *priceCache) get(ctx context.Context, id string, wait bool) priceInfo {
	c.mu.Lock()
	info, known := c.m[id]
	fresh := known && c.now().Before(info.until)
	start := !fresh && !c.refreshing[id] && (known || !wait)
	if start {
		c.refreshing[id] = true
	}
	c.mu.Unlock()
	switch {
	case fresh:
		return info
	case start:
		go c.refresh(context.WithoutCancel(ctx), id)
		return info
	case !known && wait:
		return c.fetch(ctx, id)
	}
	return info // stale or unknown, a refresh already under way
}

func (c *priceCache) refresh(ctx context.Context, id string) {
	c.fetch(ctx, id)
	c.mu.Lock()
	delete(c.refreshing, id)
	c.mu.Unlock()
}

// fetch reads a price from Stripe and stores it; a failure is remembered
// for a minute, keeping what was known before.
func (c *priceCache) fetch(ctx context.Context, id string) priceInfo {
	p := &stripe.PriceParams{}
	p.Context = ctx
	p.AddExpand("product")
	price, err := c.api.Prices.Get(id, p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		info := c.m[id]
		info.until = c.now().Add(priceFailedTTL)
		c.m[id] = info
		return info
	}
	interval, count := "", int64(0)
	if price.Recurring != nil {
		interval, count = string(price.Recurring.Interval), price.Recurring.IntervalCount
	}
	info := priceInfo{
		display: pages.FormatPrice(price.UnitAmount, string(price.Currency), interval),
		plan:    pages.FormatPlan(price.UnitAmount, string(price.Currency), interval, count),
		until:   c.now().Add(priceTTL),
	}
	if price.Product != nil {
		info.productName = price.Product.Name
	}
	c.m[id] = info
	return info
}

// productView is a product as the pages show it: the configured name, else
// the Stripe product's, else the id.
func (g *Gateway) productView(ctx context.Context, p catalog.Product) pages.Listing {
	return g.productViewOf(ctx, p, true)
}

// productViewOf is productView; without wait it never waits on Stripe.
// The name and Price come from the first price.
func (g *Gateway) productViewOf(ctx context.Context, p catalog.Product, wait bool) pages.Listing {
	v := pages.Listing{ID: p.ID, Name: p.Name, Mode: p.Mode, TrialDays: p.TrialDays(), Description: p.Description}
	prices := p.AllPrices()
	if v.Description == "" {
		v.Description = describePaths(p.Paths)
	}
	for i, id := range prices {
		info := g.prices.get(ctx, id, wait)
		if i == 0 {
			v.Price = info.display
			if v.Name == "" {
				v.Name = info.productName
			}
		}
		offer := pages.Offer(p.TrialDays(), info.plan)
		if info.plan == "" && len(prices) > 1 {
			// Stripe did not answer: the choices must still differ.
			offer = "Option " + strconv.Itoa(i+1) + ": " + strings.ToLower(offer[:1]) + offer[1:]
		}
		v.Prices = append(v.Prices, pages.Price{ID: id, Label: info.plan, Offer: offer})
	}
	if v.Name == "" {
		v.Name = p.ID
	}
	return v
}
