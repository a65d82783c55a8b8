package store

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Users lists the users holding any grant record (of product, unless
// product is ""), sorted. It SCANs the key space: for the command line,
// never for start-up or requests.
func (s *Store) Users(ctx context.Context, product string) ([]string, error) {
	keys, err := s.scan(ctx, globEscape(s.prefix+"user:")+"*")
	if err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, key := range keys {
		user, err := DecodeUser(strings.TrimPrefix(key, s.prefix+"user:"))
		if err != nil || seen[user] {
			continue // not ours (a stray key under the prefix), or SCAN repeated it
		}
		if product != "" {
			fields, err := s.client.HKeys(ctx, key).Result()
			if err != nil {
				return nil, fmt.Errorf("store: listing users: %w", err)
			}
			if !hasProduct(fields, product) {
				continue
			}
		}
		seen[user] = true
		out = append(out, user)
	}
	sort.Strings(out)
	return out, nil
}

func hasProduct(fields []string, product string) bool {
	for _, f := range fields {
		if strings.HasPrefix(f, product+"|") {
			return true
		}
	}
	return false
}

// scan returns the keys matching pattern. On Redis Cluster it scans the
// master that owns the prefix's slot, where every key of the store lives.
func (s *Store) scan(ctx context.Context, pattern string) ([]string, error) {
	var node redis.Cmdable = s.client
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		c, err := cc.MasterForKey(ctx, s.prefix)
		if err != nil {
			return nil, err
		}
		node = c
	}
	var keys []string
	iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// globEscape quotes the characters SCAN MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
