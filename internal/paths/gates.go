package paths

// Gate is one product's paths and the exceptions inside them.
type Gate struct {
	Product string
	Paths   Set
	Except  Set

	alone []string // Product alone, what Match returns when only this gate matches
}

// NewGate is the gate of product: Match answers a request that only it
// gates without allocating.
func NewGate(product string, paths, except Set) Gate {
	return Gate{Product: product, Paths: paths, Except: except, alone: []string{product}}
}

// Gates are all products' gates, in config order.
type Gates []Gate

// Match returns the products gating any of the given request paths
// (typically the rewritten and the original one, each Go's URL.Path) as
// Caddy's path matcher reads them, in config order, each once; nil when
// none does, without allocating, nor for one gate made by NewGate (the
// slice is shared: callers must not modify it).
func (g Gates) Match(paths ...string) []string {
	products, _ := g.Check(paths...)
	return products
}

// Check returns what Match returns, and whether some product gates one of
// the paths only under a more lenient reading than Caddy's (see the
// package documentation): a path some upstreams serve as a gated page
// while Caddy's path matcher, and so the auth layer in front of the gate,
// sees another. The gateway refuses such a request. A plain path has no
// other reading and costs nothing more.
func (g Gates) Check(paths ...string) (products []string, lenient bool) {
	if len(g) == 0 {
		return nil, false
	}
	var buf [2 * maxReadings]reading
	rs := buf[:0]
	for i, p := range paths {
		if seen(paths[:i], p) {
			continue
		}
		var one [maxReadings]reading
		n := readings(p, &one)
		rs = append(rs, one[:n]...)
	}
	var out []string
	first := -1
	for i := range g {
		strict, any := g[i].gates(rs)
		if !strict {
			lenient = lenient || any
			continue
		}
		switch {
		case first < 0:
			first = i
		case out == nil:
			out = append(out, g[first].Product, g[i].Product)
		default:
			out = append(out, g[i].Product)
		}
	}
	switch {
	case out != nil:
		return out, lenient
	case first < 0:
		return nil, lenient
	case g[first].alone != nil:
		return g[first].alone[:1:1], lenient
	default:
		return []string{g[first].Product}, lenient
	}
}

// gates says whether the gate holds Caddy's reading of a path (strict) and
// whether it holds any reading at all.
func (gate *Gate) gates(rs []reading) (strict, any bool) {
	for i := range rs {
		if gate.Paths.match(&rs[i]) && !gate.Except.match(&rs[i]) {
			any = true
			if !rs[i].lenient {
				return true, true
			}
		}
	}
	return false, any
}

func seen(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
