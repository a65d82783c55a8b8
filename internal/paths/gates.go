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
// (typically the rewritten and the original one), in config order, each
// once; nil when none does, without allocating, nor for one gate made by
// NewGate (the slice is shared: callers must not modify it). A product gates a path
// when one reading of that path (see the package documentation) matches
// its Paths and not its Except.
func (g Gates) Match(paths ...string) []string {
	if len(g) == 0 {
		return nil
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
		if !g[i].gates(rs) {
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
		return out
	case first < 0:
		return nil
	case g[first].alone != nil:
		return g[first].alone[:1:1]
	default:
		return []string{g[first].Product}
	}
}

func (gate *Gate) gates(rs []reading) bool {
	for i := range rs {
		if gate.Paths.match(&rs[i]) && !gate.Except.match(&rs[i]) {
			return true
		}
	}
	return false
}

func seen(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
