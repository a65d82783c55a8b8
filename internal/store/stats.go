package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The console's keys (see keys.go for the rest):
//
//	<p>stats:<YYYY-MM-DD>     hash, one per UTC day, kept StatsRetention:
//	                          pass, login, pay, store_error, pay_page,
//	                          checkout (added by every gateway's flusher,
//	                          about once a second, HINCRBY), payments,
//	                          revenue:<currency> (minor units), refunds,
//	                          disputes (added by the change scripts, with the
//	                          event marker, so a redelivery counts once).
//	<p>webhook-failures:<YYYY-MM-DDTHH>
//	                          hash, one per UTC hour, kept 48 h: reason
//	                          (bad_signature, malformed, too_large,
//	                          store_error) -> deliveries refused.
//	<p>webhook-last           hash {time (unix ms), type, outcome}: the last
//	                          delivery any gateway saw; and the last failure
//	                          in failure_time, failure_type, failure_reason.
//	<p>holders:<product>      sorted set: user id -> when the user's latest
//	                          live grant of the product ends (unix seconds,
//	                          +inf for never); kept by the change scripts
//	                          for every user whose grants they touch. The
//	                          live holders are ZCOUNT now +inf.
//	<p>audit-of:<user>        list: the newest 500 audit entry ids of the
//	                          user, newest first (LPUSH by the scripts), so
//	                          a user's trail is read without scanning the
//	                          stream.

// StatsRetention is how long a day's counters are kept.
const StatsRetention = 90 * 24 * time.Hour

// WebhookFailureRetention is how long an hour's webhook failures are kept.
const WebhookFailureRetention = 48 * time.Hour

// auditOfMax is how many audit entry ids a user's index keeps.
const auditOfMax = 500

// Tally is what a change adds to the day's counters, in the same script as
// the change, so a redelivered event never counts twice.
type Tally struct {
	Payments int64 `json:"payments,omitempty"`
	Refunds  int64 `json:"refunds,omitempty"`
	Disputes int64 `json:"disputes,omitempty"`
	// Amount is revenue in the currency's minor unit (amount_total of a
	// Checkout Session, amount_paid of an invoice).
	Amount   int64  `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"`
	// PerSource counts the tally when a grant's source is first applied (a
	// one-time payment, which the webhook, the success page and reconcile
	// all fulfil), not once per event: whichever comes first counts.
	PerSource bool `json:"per_source,omitempty"`
}

// Day is the UTC day a time falls in, as the stats keys name it.
func Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Hour is the UTC hour a time falls in, as the webhook failure keys name it.
func Hour(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// StatsKey is the day's counters hash.
func (s *Store) StatsKey(day string) string { return s.prefix + "stats:" + day }

// WebhookFailuresKey is the hour's webhook failures hash.
func (s *Store) WebhookFailuresKey(hour string) string {
	return s.prefix + "webhook-failures:" + hour
}

// WebhookLastKey is the last webhook delivery's hash.
func (s *Store) WebhookLastKey() string { return s.prefix + "webhook-last" }

func (s *Store) holdersKey(product string) string { return s.prefix + "holders:" + product }
func (s *Store) auditOfKey(user string) string    { return s.prefix + "audit-of:" + EncodeUser(user) }

// DayStats are one day's counters: field -> count (see the key list).
type DayStats struct {
	Day    string
	Counts map[string]int64
}

// Stats reads the counters of the days days ending with the one at now,
// oldest first, in one round trip.
func (s *Store) Stats(ctx context.Context, now time.Time, days int) ([]DayStats, error) {
	pipe := s.client.Pipeline()
	out := make([]DayStats, days)
	cmds := make([]*redis.MapStringStringCmd, days)
	for i := range days {
		d := Day(now.AddDate(0, 0, i-days+1))
		out[i].Day = d
		cmds[i] = pipe.HGetAll(ctx, s.StatsKey(d))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: reading stats: %w", err)
	}
	for i, c := range cmds {
		out[i].Counts = make(map[string]int64, len(c.Val()))
		for k, v := range c.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			out[i].Counts[k] = n
		}
	}
	return out, nil
}

// WebhookHealth is what the webhook has been doing, across gateways.
type WebhookHealth struct {
	// The last delivery: its time, event type and outcome (zero if none).
	Last                    time.Time
	LastType, LastOutcome   string
	LastFailure             time.Time
	FailureType, FailReason string
	// Failures in the last 24 hours, by reason.
	Failures map[string]int64
}

// Webhook reads the webhook's health: the last delivery and the failures
// of the 24 hours up to now.
func (s *Store) Webhook(ctx context.Context, now time.Time) (WebhookHealth, error) {
	pipe := s.client.Pipeline()
	last := pipe.HGetAll(ctx, s.WebhookLastKey())
	hours := make([]*redis.MapStringStringCmd, 24)
	for i := range hours {
		hours[i] = pipe.HGetAll(ctx, s.WebhookFailuresKey(Hour(now.Add(-time.Duration(i)*time.Hour))))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return WebhookHealth{}, fmt.Errorf("store: reading webhook health: %w", err)
	}
	l := last.Val()
	ms := func(k string) time.Time {
		n, _ := strconv.ParseInt(l[k], 10, 64)
		if n == 0 {
			return time.Time{}
		}
		return time.UnixMilli(n)
	}
	h := WebhookHealth{
		Last: ms("time"), LastType: l["type"], LastOutcome: l["outcome"],
		LastFailure: ms("failure_time"), FailureType: l["failure_type"], FailReason: l["failure_reason"],
		Failures: map[string]int64{},
	}
	for _, c := range hours {
		for k, v := range c.Val() {
			n, _ := strconv.ParseInt(v, 10, 64)
			h.Failures[k] += n
		}
	}
	return h, nil
}

// LiveHolders counts, for each product, the users holding it live at now,
// from the holders sets the scripts keep (one ZCOUNT per product, no scan).
func (s *Store) LiveHolders(ctx context.Context, now time.Time, products []string) (map[string]int64, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*redis.IntCmd, len(products))
	for i, p := range products {
		cmds[i] = pipe.ZCount(ctx, s.holdersKey(p), "("+strconv.FormatInt(now.Unix(), 10), "+inf")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: counting holders: %w", err)
	}
	out := make(map[string]int64, len(products))
	for i, p := range products {
		out[p] = cmds[i].Val()
	}
	return out, nil
}

// UserAudit returns the user's newest audit entries, newest first, from
// the user's index (at most 500 kept): offset skips that many.
func (s *Store) UserAudit(ctx context.Context, user string, offset, limit int) ([]AuditEntry, error) {
	ids, err := s.client.LRange(ctx, s.auditOfKey(user), int64(offset), int64(offset+limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: reading audit of user: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.client.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRangeN(ctx, s.auditKey(), id, id, 1)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store: reading audit of user: %w", err)
	}
	out := make([]AuditEntry, 0, len(ids))
	for _, c := range cmds {
		for _, m := range c.Val() { // trimmed from the stream: gone
			out = append(out, auditEntry(m))
		}
	}
	return out, nil
}

// AuditFilter picks entries of the audit stream; empty fields match all.
type AuditFilter struct {
	Product, Action string
}

func (f AuditFilter) match(e AuditEntry) bool {
	return (f.Product == "" || e.Product == f.Product) && (f.Action == "" || e.Action == f.Action)
}

// AuditPage reads the audit stream newest first, before the entry id
// before ("" for the newest), keeping the entries that match f, until it
// has limit of them or has read maxRead entries. next is the cursor of
// the following page ("" at the end of the stream) and read how many
// entries it read, so a rare filter is
// paged through in bounded steps rather than by reading the whole stream
// at once.
func (s *Store) AuditPage(ctx context.Context, f AuditFilter, before string, limit, maxRead int) (page []AuditEntry, next string, read int, err error) {
	end := "+"
	if before != "" {
		end = "(" + before
	}
	for read < maxRead {
		n := min(int64(maxRead-read), 500)
		if f == (AuditFilter{}) {
			n = int64(limit - len(page))
		}
		msgs, err := s.client.XRevRangeN(ctx, s.auditKey(), end, "-", n).Result()
		if err != nil {
			return nil, "", read, fmt.Errorf("store: reading audit: %w", err)
		}
		for _, m := range msgs {
			e := auditEntry(m)
			if f.match(e) {
				page = append(page, e)
				if len(page) == limit {
					return page, m.ID, read + len(msgs), nil
				}
			}
		}
		read += len(msgs)
		if int64(len(msgs)) < n {
			return page, "", read, nil
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return page, end[1:], read, nil
}
