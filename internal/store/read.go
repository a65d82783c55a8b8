package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func jsonUnmarshal(raw string, v any) error { return json.Unmarshal([]byte(raw), v) }

// auditScan bounds how much of the stream Audit reads for one user.
const auditScan = 100000

// Audit returns audit entries, newest first: the user's, or everyone's
// when user is "".
func (s *Store) Audit(ctx context.Context, user string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	end, scanned := "+", 0
	for len(out) < limit && scanned < auditScan {
		msgs, err := s.client.XRevRangeN(ctx, s.prefix+"audit", end, "-", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("store: reading audit: %w", err)
		}
		for _, m := range msgs {
			e := auditEntry(m)
			if user == "" || e.User == user {
				out = append(out, e)
				if len(out) == limit {
					break
				}
			}
		}
		scanned += len(msgs)
		if len(msgs) < 1000 {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

func auditEntry(m redis.XMessage) AuditEntry {
	get := func(k string) string { v, _ := m.Values[k].(string); return v }
	ms, _ := strconv.ParseInt(get("time"), 10, 64)
	return AuditEntry{ID: m.ID, Time: time.UnixMilli(ms), Action: get("action"), User: get("user"),
		Product: get("product"), Source: get("source"), Cause: get("cause"), Detail: get("detail")}
}

// Users lists users with a grant (of product, unless ""). It scans the
// key space: for the CLI, never for start-up or requests.
func (s *Store) Users(ctx context.Context, product string) ([]string, error) {
	var out []string
	iter := s.client.Scan(ctx, 0, s.prefix+"user:*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		user, err := DecodeUser(strings.TrimPrefix(key, s.prefix+"user:"))
		if err != nil {
			continue
		}
		if product != "" {
			fields, err := s.client.HKeys(ctx, key).Result()
			if err != nil {
				return nil, fmt.Errorf("store: listing users: %w", err)
			}
			has := false
			for _, f := range fields {
				has = has || strings.HasPrefix(f, product+"|")
			}
			if !has {
				continue
			}
		}
		out = append(out, user)
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("store: listing users: %w", err)
	}
	return out, nil
}
