package catalog

import "slices"

// Catalog is the products of one paywall, in config order.
type Catalog []Product

// ByID finds the product with id.
func (c Catalog) ByID(id string) (Product, bool) {
	for _, p := range c {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

// ByPrice finds the product one of whose prices is price. Validate makes
// sure no two subscriptions share a price, so a subscription's product is
// known from its price.
func (c Catalog) ByPrice(price string) (Product, bool) {
	for _, p := range c {
		if p.Price == price || slices.Contains(p.Prices, price) {
			return p, true
		}
	}
	return Product{}, false
}

// IDs are the products' ids, in config order.
func (c Catalog) IDs() []string {
	ids := make([]string, len(c))
	for i, p := range c {
		ids[i] = p.ID
	}
	return ids
}
