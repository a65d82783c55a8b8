// Package catalog is what the paywall sells: the Product type, its
// lookups, and the rules a product must follow. Every part of the paywall
// (the Caddy config, the gateway, the event applier, the pages, the
// console and the CLI) reads this one type.
package catalog

import (
	"slices"
	"time"
)

// Product is one thing for sale and the paths it gates.
type Product struct {
	// Identifier used in URLs, metadata and Redis: letters, digits, "-" and
	// "_". Required.
	ID string `json:"id,omitempty"`

	// Name shown on the pay page. Default: the Stripe Price's product name,
	// else the ID.
	Name string `json:"name,omitempty"`

	// The Stripe Price ID (price_…). Required unless Prices is set.
	Price string `json:"price,omitempty"`

	// More Stripe Price IDs for the same product, such as a monthly and a
	// yearly price: the pay page offers Price and each of these, and any of
	// them opens the product (a plan change between them keeps it open).
	// The Caddyfile writes `price a b` as "prices": ["a", "b"] and a single
	// price as "price". Default: none.
	Prices []string `json:"prices,omitempty"`

	// Short text on the pay page saying what the product opens. Default:
	// the product's paths in plain words.
	Description string `json:"description,omitempty"`

	// "payment" (one-time) or "subscription". Default: payment.
	Mode string `json:"mode,omitempty"`

	// For one-time payments: how long a purchase opens access (a time
	// pass), as a Go duration ("720h"). Default: forever.
	AccessFor Duration `json:"access_for,omitempty"`

	// Path patterns gated by this product, as Caddy's path matcher reads
	// them: exact, "/prefix/*", "*.suffix", "*substring*". Required.
	Paths []string `json:"paths,omitempty"`

	// Path patterns inside Paths that stay open.
	Except []string `json:"except,omitempty"`

	// Gated pages a signed-in visitor may open free before paying.
	// Default: none.
	FreeViews *FreeViews `json:"free_views,omitempty"`

	// Let customers enter promotion codes on Checkout. Default: false.
	AllowPromotionCodes bool `json:"allow_promotion_codes,omitempty"`

	// For subscriptions: a free trial before the first charge, in whole
	// days ("14d" or "336h"; Stripe allows 1 to 730 days). Default: none.
	Trial Duration `json:"trial,omitempty"`
}

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
	Per Duration `json:"per,omitempty"`
}

// Modes of payment; the first is the default.
const (
	ModePayment      = "payment"
	ModeSubscription = "subscription"
)

// Modes are the values of Product.Mode, the default first.
var Modes = []string{ModePayment, ModeSubscription}

// AllPrices are the product's Price IDs: Price, then Prices. The first is
// the one the pay page offers by default.
func (p Product) AllPrices() []string {
	out := make([]string, 0, 1+len(p.Prices))
	if p.Price != "" {
		out = append(out, p.Price)
	}
	return append(out, p.Prices...)
}

// IsSubscription reports whether the product is sold as a subscription.
func (p Product) IsSubscription() bool { return p.Mode == ModeSubscription }

// TrialDays is the product's trial in whole days (0: none).
func (p Product) TrialDays() int64 { return int64(time.Duration(p.Trial) / Day) }

// Day is the unit trials are counted in.
const Day = 24 * time.Hour

// ChoosePrice is the Price a visitor chose for p: one of p's prices, the
// first when none was chosen; false when chosen is not p's.
func (p Product) ChoosePrice(chosen string) (string, bool) {
	prices := p.AllPrices()
	if chosen == "" && len(prices) > 0 {
		return prices[0], true
	}
	return chosen, chosen != "" && slices.Contains(prices, chosen)
}
