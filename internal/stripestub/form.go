package stripestub

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// form is Stripe's form encoding decoded into a tree: `a[b][0][c]=v` is
// the path a, b, 0, c. `a[]=x&a[]=y` appends (index 0, 1).
type form struct {
	val    string
	hasVal bool
	kids   map[string]*form
}

// parseForm decodes url.Values, whose keys use Stripe's bracket syntax.
func parseForm(vals url.Values) (*form, *apiError) {
	root := &form{}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic, and a[0] before a[1]
	for _, k := range keys {
		parts, ok := splitKey(k)
		if !ok {
			return nil, invalid(k, "Invalid parameter name: %s", k)
		}
		for _, v := range vals[k] {
			n := root
			for _, p := range parts {
				if p == "" { // a[]: append
					p = strconv.Itoa(len(n.kids))
				}
				if n.kids == nil {
					n.kids = map[string]*form{}
				}
				c, ok := n.kids[p]
				if !ok {
					c = &form{}
					n.kids[p] = c
				}
				n = c
			}
			n.val, n.hasVal = v, true
		}
	}
	return root, nil
}

// splitKey splits `a[b][c]` into a, b, c.
func splitKey(k string) ([]string, bool) {
	i := strings.IndexByte(k, '[')
	if i < 0 {
		return []string{k}, k != "" && !strings.Contains(k, "]")
	}
	if i == 0 {
		return nil, false
	}
	parts := []string{k[:i]}
	rest := k[i:]
	for rest != "" {
		if rest[0] != '[' {
			return nil, false
		}
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return nil, false
		}
		seg := rest[1:j]
		if strings.ContainsAny(seg, "[") {
			return nil, false
		}
		parts = append(parts, seg)
		rest = rest[j+1:]
	}
	return parts, true
}

// get walks a path; nil when absent.
func (f *form) get(path ...string) *form {
	n := f
	for _, p := range path {
		if n == nil || n.kids == nil {
			return nil
		}
		n = n.kids[p]
	}
	return n
}

// has reports whether the parameter was sent at all.
func (f *form) has(key string) bool { return f.get(key) != nil }

// str is a scalar parameter.
func (f *form) str(key string) string {
	if n := f.get(key); n != nil {
		return n.val
	}
	return ""
}

// strMap reads a hash of strings such as metadata.
func (f *form) strMap(key string) (map[string]string, *apiError) {
	n := f.get(key)
	if n == nil {
		return nil, nil
	}
	out := map[string]string{}
	for k, c := range n.kids {
		if len(c.kids) > 0 {
			return nil, invalid(key, "Invalid hash: %s[%s] must be a string", key, k)
		}
		out[k] = c.val
	}
	return out, nil
}

// list reads an array: a[0], a[1], ... (or a[] appended), in index order.
// A scalar a=v reads as one element.
func (f *form) list(key string) ([]*form, *apiError) {
	n := f.get(key)
	if n == nil {
		return nil, nil
	}
	if len(n.kids) == 0 {
		if n.hasVal && n.val != "" {
			return []*form{{val: n.val, hasVal: true}}, nil
		}
		return nil, nil
	}
	type kv struct {
		i int
		n *form
	}
	items := make([]kv, 0, len(n.kids))
	for k, c := range n.kids {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 {
			return nil, invalid(key, "Invalid array: %s must be a list (indexes 0, 1, ...)", key)
		}
		items = append(items, kv{i, c})
	}
	slices.SortFunc(items, func(a, b kv) int { return a.i - b.i })
	out := make([]*form, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out, nil
}

// strList reads an array of strings.
func (f *form) strList(key string) ([]string, *apiError) {
	items, err := f.list(key)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if len(it.kids) > 0 {
			return nil, invalid(key, "Invalid array: %s must be a list of strings", key)
		}
		out = append(out, it.val)
	}
	return out, nil
}

// int64 reads an integer parameter; ok is false when it was not sent.
func (f *form) int64(key string) (v int64, ok bool, err *apiError) {
	n := f.get(key)
	if n == nil || !n.hasVal || n.val == "" {
		return 0, false, nil
	}
	v, perr := strconv.ParseInt(n.val, 10, 64)
	if perr != nil {
		return 0, false, invalid(key, "Invalid integer: %s", n.val)
	}
	return v, true, nil
}

// bool reads a boolean parameter; ok is false when it was not sent.
func (f *form) bool(key string) (v bool, ok bool, err *apiError) {
	n := f.get(key)
	if n == nil || !n.hasVal || n.val == "" {
		return false, false, nil
	}
	switch n.val {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, false, invalid(key, "Invalid boolean: %s", n.val)
}

// only refuses top-level parameters outside known, as Stripe does.
func (f *form) only(known ...string) *apiError {
	for k := range f.kids {
		if k == "expand" || slices.Contains(known, k) {
			continue
		}
		return invalid(k, "Received unknown parameter: %s", k)
	}
	return nil
}

// validMetadata applies Stripe's limits on metadata.
func validMetadata(param string, m map[string]string) *apiError {
	if len(m) > 50 {
		return invalid(param, "Invalid %s: at most 50 keys are allowed", param)
	}
	for k, v := range m {
		if k == "" || len(k) > 40 {
			return invalid(param, "Invalid %s: keys must be 1 to 40 characters (%q)", param, k)
		}
		if len(v) > 500 {
			return invalid(param, "Invalid %s: values must be at most 500 characters (key %q)", param, k)
		}
	}
	return nil
}
