package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// auditScanMax bounds how many stream entries one Audit call reads while
// filtering by user: the newest 100,000.
const auditScanMax = 100000

const auditPage = 1000

// Audit returns audit entries, newest first: the user's, or everyone's
// when user is "". limit <= 0 means no limit. When filtering by user only
// the newest auditScanMax entries of the stream are searched.
func (s *Store) Audit(ctx context.Context, user string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	end, scanned := "+", 0
	for scanned < auditScanMax {
		msgs, err := s.client.XRevRangeN(ctx, s.auditKey(), end, "-", auditPage).Result()
		if err != nil {
			return nil, fmt.Errorf("store: reading audit: %w", err)
		}
		for _, m := range msgs {
			e := auditEntry(m)
			if user != "" && e.User != user {
				continue
			}
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		scanned += len(msgs)
		if len(msgs) < auditPage {
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
