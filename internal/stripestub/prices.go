package stripestub

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// stripeProduct is the stand-in's Stripe Product object (a Stripe API
// resource, not the paywall's catalog.Product) behind one or more
// configured prices.
type stripeProduct struct {
	ID, Name     string
	DefaultPrice string
	Created      int64
}

func (p *stripeProduct) render() map[string]any {
	return map[string]any{
		"id": p.ID, "object": "product", "active": true, "created": p.Created,
		"default_price": nullable(p.DefaultPrice), "description": nil, "features": []any{},
		"images": []any{}, "livemode": false, "metadata": map[string]string{}, "name": p.Name,
		"package_dimensions": nil, "shippable": nil, "statement_descriptor": nil,
		"tax_code": nil, "type": "service", "unit_label": nil, "updated": p.Created, "url": nil,
	}
}

// addPrice registers a configured price and its product.
func (s *Stub) addPrice(p Price) {
	if p.ID == "" {
		panic("stripestub: a configured price has no ID")
	}
	if _, dup := s.prices[p.ID]; dup {
		panic("stripestub: price " + p.ID + " is configured twice")
	}
	switch p.Recurring {
	case "", "day", "week", "month", "year":
	default:
		panic(fmt.Sprintf("stripestub: price %s: Recurring must be \"\", day, week, month or year, not %q", p.ID, p.Recurring))
	}
	if p.UnitAmount < 0 {
		panic("stripestub: price " + p.ID + " has a negative amount")
	}
	p.Currency = strings.ToLower(p.Currency)
	if p.Currency == "" {
		p.Currency = "usd"
	}
	if p.ProductID == "" {
		p.ProductID = "prod_" + strings.TrimPrefix(p.ID, "price_")
	}
	if p.ProductName == "" {
		p.ProductName = p.ID
	}
	s.prices[p.ID] = &p
	s.priceOrder = append(s.priceOrder, p.ID)
	if _, ok := s.products[p.ProductID]; !ok {
		s.products[p.ProductID] = &stripeProduct{ID: p.ProductID, Name: p.ProductName, DefaultPrice: p.ID, Created: s.start}
	}
}

func (s *Stub) renderPriceLocked(p *Price) map[string]any {
	typ := "one_time"
	var recurring any
	if p.Recurring != "" {
		typ = "recurring"
		recurring = map[string]any{
			"aggregate_usage": nil, "interval": p.Recurring, "interval_count": 1,
			"trial_period_days": nil, "usage_type": "licensed",
		}
	}
	return map[string]any{
		"id": p.ID, "object": "price", "active": !p.Archived, "billing_scheme": "per_unit",
		"created": s.start, "currency": p.Currency, "custom_unit_amount": nil, "livemode": false,
		"lookup_key": nil, "metadata": map[string]string{}, "nickname": nil, "product": p.ProductID,
		"recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": nil,
		"transform_quantity": nil, "type": typ, "unit_amount": p.UnitAmount,
		"unit_amount_decimal": strconv.FormatInt(p.UnitAmount, 10),
	}
}

func (s *Stub) getPrice(q *call) (any, *apiError) {
	return s.retrieve(q, "price", func(id string) (map[string]any, bool) {
		p, ok := s.prices[id]
		if !ok {
			return nil, false
		}
		return s.renderPriceLocked(p), true
	})
}

func (s *Stub) getProduct(q *call) (any, *apiError) {
	return s.retrieve(q, "product", func(id string) (map[string]any, bool) {
		p, ok := s.products[id]
		if !ok {
			return nil, false
		}
		return p.render(), true
	})
}

// retrieve is the common shape of a GET by id: render under the lock,
// then expand.
func (s *Stub) retrieve(q *call, kind string, render func(id string) (map[string]any, bool)) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	obj, ok := render(id)
	if !ok {
		return nil, noSuch(kind, id, "id")
	}
	if err := s.expandLocked(obj, expand); err != nil {
		return nil, err
	}
	return obj, nil
}

func (s *Stub) listPrices(q *call) (any, *apiError) {
	if err := q.f.only("active", "currency", "product", "type", "limit", "starting_after", "ending_before", "created", "lookup_keys", "recurring"); err != nil {
		return nil, err
	}
	expand, err := q.expand()
	if err != nil {
		return nil, err
	}
	active, hasActive, err := q.f.bool("active")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := len(s.priceOrder) - 1; i >= 0; i-- {
		p := s.prices[s.priceOrder[i]]
		typ := "one_time"
		if p.Recurring != "" {
			typ = "recurring"
		}
		switch {
		case hasActive && p.Archived == active,
			q.f.str("currency") != "" && q.f.str("currency") != p.Currency,
			q.f.str("product") != "" && q.f.str("product") != p.ProductID,
			q.f.str("type") != "" && q.f.str("type") != typ:
			continue
		}
		ids = append(ids, p.ID)
	}
	ids, more, err := page(ids, q.f, "price")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = s.renderPriceLocked(s.prices[id])
	}
	out := listEnvelope("/v1/prices", data, more)
	return out, s.expandLocked(out, expand)
}

// periodEnd adds one billing interval, clamping the day of month as
// Stripe does (Jan 31 + 1 month = Feb 28/29).
func periodEnd(start time.Time, interval string) time.Time {
	switch interval {
	case "day":
		return start.AddDate(0, 0, 1)
	case "week":
		return start.AddDate(0, 0, 7)
	case "year":
		return addMonths(start, 12)
	default:
		return addMonths(start, 1)
	}
}

func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	if last := first.AddDate(0, 1, -1).Day(); d > last {
		d = last
	}
	return first.AddDate(0, 0, d-1)
}

// zeroDecimal are the currencies without minor units.
var zeroDecimal = map[string]bool{"bif": true, "clp": true, "djf": true, "gnf": true, "jpy": true, "kmf": true,
	"krw": true, "mga": true, "pyg": true, "rwf": true, "ugx": true, "vnd": true, "vuv": true, "xaf": true,
	"xof": true, "xpf": true}

// formatAmount shows an amount for people: €9.00, $5.00, ¥1200, 12.50 CHF.
func formatAmount(amount int64, currency string) string {
	cur := strings.ToLower(currency)
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	num := strconv.FormatInt(amount, 10)
	if !zeroDecimal[cur] {
		num = fmt.Sprintf("%d.%02d", amount/100, amount%100)
	}
	switch cur {
	case "eur":
		return sign + "€" + num
	case "usd":
		return sign + "$" + num
	case "gbp":
		return sign + "£" + num
	case "jpy":
		return sign + "¥" + num
	}
	return sign + num + " " + strings.ToUpper(cur)
}
