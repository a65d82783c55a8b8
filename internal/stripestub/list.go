package stripestub

import (
	"strings"
)

// page applies limit, starting_after and ending_before to ids, which are
// in list order (newest first), as Stripe's list endpoints do.
func page(ids []string, f *form, kind string) ([]string, bool, *apiError) {
	limit, ok, err := f.int64("limit")
	if err != nil {
		return nil, false, err
	}
	if !ok {
		limit = 10
	}
	if limit < 1 || limit > 100 {
		return nil, false, invalid("limit", "Invalid limit: must be between 1 and 100")
	}
	index := func(param string) (int, *apiError) {
		id := f.str(param)
		for i, x := range ids {
			if x == id {
				return i, nil
			}
		}
		e := noSuch(kind, id, param)
		e.status = 400
		return -1, e
	}
	switch {
	case f.str("starting_after") != "" && f.str("ending_before") != "":
		return nil, false, invalid("ending_before", "You may only specify one of these parameters: ending_before, starting_after.")
	case f.str("starting_after") != "":
		i, err := index("starting_after")
		if err != nil {
			return nil, false, err
		}
		ids = ids[i+1:]
	case f.str("ending_before") != "":
		i, err := index("ending_before")
		if err != nil {
			return nil, false, err
		}
		ids = ids[:i]
		if len(ids) > int(limit) {
			return ids[len(ids)-int(limit):], true, nil
		}
		return ids, false, nil
	}
	if len(ids) > int(limit) {
		return ids[:limit], true, nil
	}
	return ids, false, nil
}

// timeFilter reads a created-style filter: `created=T` or
// `created[gt|gte|lt|lte]=T`. The returned func accepts everything when
// the filter is absent.
func timeFilter(f *form, key string) (func(int64) bool, *apiError) {
	n := f.get(key)
	if n == nil {
		return func(int64) bool { return true }, nil
	}
	if len(n.kids) == 0 {
		v, _, err := f.int64(key)
		if err != nil {
			return nil, err
		}
		return func(t int64) bool { return t == v }, nil
	}
	type bound struct {
		op string
		v  int64
	}
	var bounds []bound
	for op := range n.kids {
		switch op {
		case "gt", "gte", "lt", "lte":
		default:
			return nil, invalid(key, "Received unknown parameter: %s[%s]", key, op)
		}
		v, _, err := n.int64(op)
		if err != nil {
			return nil, err
		}
		bounds = append(bounds, bound{op, v})
	}
	return func(t int64) bool {
		for _, b := range bounds {
			switch {
			case b.op == "gt" && !(t > b.v),
				b.op == "gte" && !(t >= b.v),
				b.op == "lt" && !(t < b.v),
				b.op == "lte" && !(t <= b.v):
				return false
			}
		}
		return true
	}, nil
}

// listEnvelope is Stripe's list object.
func listEnvelope(url string, data []any, hasMore bool) map[string]any {
	if data == nil {
		data = []any{}
	}
	return map[string]any{"object": "list", "data": data, "has_more": hasMore, "url": url}
}

// expandLocked replaces id strings by the objects they name along each
// dotted path, as Stripe's expand[] does ("data." first for lists).
func (s *Stub) expandLocked(obj map[string]any, paths []string) *apiError {
	for _, p := range paths {
		if p == "" {
			continue
		}
		parts := strings.Split(p, ".")
		if len(parts) > 4 {
			return invalid("expand", "You cannot expand more than 4 levels of a property. Property: %s", p)
		}
		if err := s.expandPath(obj, parts, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stub) expandPath(obj map[string]any, parts []string, full string) *apiError {
	key := parts[0]
	v, ok := obj[key]
	if !ok {
		return invalid("expand", "This property cannot be expanded (%s).", full)
	}
	switch x := v.(type) {
	case nil:
		return nil // expanding a null gives null
	case string:
		found, ok := s.lookupLocked(x)
		if !ok {
			return invalid("expand", "This property cannot be expanded (%s).", full)
		}
		obj[key] = found
		v = found
	}
	if len(parts) == 1 {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		return s.expandPath(x, parts[1:], full)
	case []any:
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				if err := s.expandPath(m, parts[1:], full); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return invalid("expand", "This property cannot be expanded (%s).", full)
}
