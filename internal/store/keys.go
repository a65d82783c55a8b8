package store

import (
	"fmt"
	"strings"
	"time"
)

// The Redis keys. <p> is the prefix (default "{paywall}:"), <user> an
// encoded user id (EncodeUser), <product> a product id ([A-Za-z0-9_-]+),
// <source> and <id> Stripe ids ("pi_…", "cs_…", "sub_…", "ch_…", "cus_…")
// or "admin".
//
//	<p>user:<user>            hash: "<product>|<source>" -> Grant as JSON.
//	                          One HGETALL reads all of a user's access.
//	<p>map:<id>               hash {user, product}: what a payment intent,
//	                          charge, checkout session, subscription or
//	                          customer belongs to, so a refund, dispute or
//	                          subscription event finds its user. No expiry.
//	<p>customer-of:<user>     string: the user's Stripe customer, reused at
//	                          checkout and for the billing portal.
//	<p>event:<event id>       "1": the event was applied. Expires after 30
//	                          days (EventTTL): Stripe retries a delivery for
//	                          up to 3 days and resends old events only by
//	                          hand, so 30 days covers both with room to spare
//	                          while keeping the marker count bounded.
//	<p>tomb:<source>          JSON {cause, created}: a refund or dispute that
//	                          came before its payment was seen; a later grant
//	                          from that source is stored revoked. A restore
//	                          (dispute won) leaves {restored, cause, created}
//	                          instead, so an older revoke arriving after it
//	                          is ignored. 90 days (TombstoneTTL).
//	<p>pending:<session id>   hash {user, product}: a completed but unpaid
//	                          Checkout Session (delayed payment method).
//	                          7 days (PendingTTL).
//	<p>audit                  stream: one entry per grant whose state
//	                          changed, fields action, user, product, source,
//	                          cause, detail, time (unix ms); trimmed to about
//	                          1,000,000 entries (XADD MAXLEN ~).
//	<p>wait                   string (unix ms): written before each Redis WAIT
//	                          when redis_min_replicas is set, so the wait
//	                          covers everything the change saw (see
//	                          SetMinReplicas). 1 day.
//	<p>changes                pub/sub channel, not a key: every change that
//	                          altered a user's grants publishes the user id
//	                          (raw, not encoded) so other gateways drop
//	                          their cached copy.
//
// Redis Cluster: the prefix should hold one {hash tag}, as the default
// does, so every key above lands in one slot. The scripts declare only the
// audit stream in KEYS (it names the slot) and compute the other keys from
// what they read, e.g. the user a payment intent maps to; Redis allows a
// script to touch undeclared keys of the slot it runs in, and that is the
// assumption the scripts rely on. A prefix without a hash tag works on a
// single server or Sentinel, not on Cluster.
//
// User ids are encoded so that no user id can reach another user's key:
// every byte outside [A-Za-z0-9._~@-] is written as %XX (upper-case hex),
// "%" included, so ":", "{", "}", "*", "|", spaces, newlines and non-ASCII
// bytes never appear raw, and the encoding is injective.

// DefaultPrefix is the key prefix unless one is configured.
const DefaultPrefix = "{paywall}:"

// How long the markers live (see the key list above).
const (
	EventTTL     = 30 * 24 * time.Hour
	TombstoneTTL = 90 * 24 * time.Hour
	PendingTTL   = 7 * 24 * time.Hour
)

// auditMaxLen is the approximate length the audit stream is trimmed to.
const auditMaxLen = 1000000

const hexDigits = "0123456789ABCDEF"

// EncodeUser writes a user id for use inside a key: bytes outside
// [A-Za-z0-9._~@-] become %XX. It is injective ("%" itself is escaped).
// The scripts' enc() (lua/prelude.lua) is its twin, for the users a
// script finds in Redis; TestLuaEncodesUsersAsGo holds them alike.
func EncodeUser(user string) string {
	var b strings.Builder
	b.Grow(len(user))
	for i := 0; i < len(user); i++ {
		c := user[i]
		if isPlain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// DecodeUser reverses EncodeUser. It accepts only what EncodeUser writes
// (plain bytes raw, every other byte as upper-case %XX), so each user id
// has exactly one encoding.
func DecodeUser(enc string) (string, error) {
	var b strings.Builder
	b.Grow(len(enc))
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if isPlain(c) {
			b.WriteByte(c)
			continue
		}
		if c != '%' || i+2 >= len(enc) {
			return "", fmt.Errorf("store: bad encoded user %q", enc)
		}
		hi, lo := strings.IndexByte(hexDigits, enc[i+1]), strings.IndexByte(hexDigits, enc[i+2])
		if hi < 0 || lo < 0 || isPlain(byte(hi<<4|lo)) {
			return "", fmt.Errorf("store: bad encoded user %q", enc)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), nil
}

func isPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '@' || c == '-'
}

func (s *Store) userKey(user string) string       { return s.prefix + "user:" + EncodeUser(user) }
func (s *Store) mapKey(id string) string          { return s.prefix + "map:" + id }
func (s *Store) customerKey(user string) string   { return s.prefix + "customer-of:" + EncodeUser(user) }
func (s *Store) pendingKey(session string) string { return s.prefix + "pending:" + session }
func (s *Store) auditKey() string                 { return s.prefix + "audit" }
func (s *Store) waitKey() string                  { return s.prefix + "wait" }
