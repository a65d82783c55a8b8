package paths

// Gate is one product's paths and the exceptions inside them.
type Gate struct {
	Product string
	Paths   Set
	Except  Set
}

// Gates are all products' gates, in config order.
type Gates []Gate

// Match returns the products gating any of the given paths (the rewritten
// and the original request path), in config order; nil when none does.
// A path listed in a product's Except does not count for that product.
func (g Gates) Match(paths ...string) []string {
	var out []string
	for _, gate := range g {
		for _, p := range paths {
			if gate.Paths.Match(p) && !gate.Except.Match(p) {
				out = append(out, gate.Product)
				break
			}
		}
	}
	return out
}
