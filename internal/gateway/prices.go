package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

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
	display     string
	until       time.Time
}

type priceCache struct {
	api *client.API
	now func() time.Time
	mu  sync.Mutex
	m   map[string]priceInfo
}

func newPriceCache(api *client.API, now func() time.Time) *priceCache {
	return &priceCache{api: api, now: now, m: map[string]priceInfo{}}
}

func (c *priceCache) get(ctx context.Context, id string) priceInfo {
	c.mu.Lock()
	info, ok := c.m[id]
	c.mu.Unlock()
	if ok && c.now().Before(info.until) {
		return info
	}
	p := &stripe.PriceParams{}
	p.Context = ctx
	p.AddExpand("product")
	price, err := c.api.Prices.Get(id, p)
	if err != nil {
		info = priceInfo{until: c.now().Add(priceFailedTTL)}
	} else {
		interval := ""
		if price.Recurring != nil {
			interval = string(price.Recurring.Interval)
		}
		info = priceInfo{display: pages.FormatPrice(price.UnitAmount, string(price.Currency), interval), until: c.now().Add(priceTTL)}
		if price.Product != nil {
			info.productName = price.Product.Name
		}
	}
	c.mu.Lock()
	c.m[id] = info
	c.mu.Unlock()
	return info
}

// productView is a product as the pages show it: the configured name, else
// the Stripe product's, else the id.
func (g *Gateway) productView(ctx context.Context, p Product) pages.Product {
	info := g.prices.get(ctx, p.Price)
	name := p.Name
	if name == "" {
		name = info.productName
	}
	if name == "" {
		name = p.ID
	}
	return pages.Product{ID: p.ID, Name: name, Price: info.display, Mode: p.Mode}
}
