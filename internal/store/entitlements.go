package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Entitlements reads all of a user's grants in one round trip (HGETALL of
// the user's hash). This is the hot path of every gated request. Grants
// come sorted by product, then source.
func (s *Store) Entitlements(ctx context.Context, user string) (Entitlements, error) {
	m, err := s.client.HGetAll(ctx, s.userKey(user)).Result()
	if err != nil {
		return Entitlements{}, fmt.Errorf("store: reading entitlements: %w", err)
	}
	e := Entitlements{User: user, Grants: make([]Grant, 0, len(m))}
	for field, raw := range m {
		var g Grant
		if err := json.Unmarshal([]byte(raw), &g); err != nil {
			return Entitlements{}, fmt.Errorf("store: reading entitlements: grant %q of %q: %w", field, user, err)
		}
		if g.Product == "" || g.Source == "" {
			g.Product, g.Source, _ = strings.Cut(field, "|")
		}
		e.Grants = append(e.Grants, g)
	}
	sort.Slice(e.Grants, func(i, j int) bool {
		a, b := e.Grants[i], e.Grants[j]
		return a.Product < b.Product || a.Product == b.Product && a.Source < b.Source
	})
	return e, nil
}
