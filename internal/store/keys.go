package store

import (
	"fmt"
	"strings"
)

// The Redis keys, under a prefix (default "{paywall}:"). The prefix's one
// {hash tag} puts every key in one Redis Cluster slot, which lets the
// scripts compute keys from what they read (a payment intent's mapping
// names its user's key) while still running as one atomic script.
//
//	<p>user:<user>            hash: "<product>|<source>" -> grant (JSON)
//	<p>map:<stripe id>        hash: user, product (payment intent, charge,
//	                          checkout session, subscription, customer)
//	<p>customer-of:<user>     string: the user's Stripe customer
//	<p>event:<event id>       "1" once the event is applied; 30 days
//	<p>tomb:<source>          a revoke that came before its payment; 90 days
//	<p>pending:<session id>   hash: user, product of an unpaid session; 7 days
//	<p>audit                  stream of every grant and revoke, ~1,000,000 kept
//	<p>changes                pub/sub channel: a user id per change
//
// <user> is the user id with every byte outside [A-Za-z0-9._~@-] written
// as %XX, so no user id can spell another user's key.

// DefaultPrefix is the key prefix unless configured.
const DefaultPrefix = "{paywall}:"

// EncodeUser writes a user id for use inside a key. It is injective: "%"
// itself is escaped.
func EncodeUser(user string) string {
	var b strings.Builder
	for i := 0; i < len(user); i++ {
		c := user[i]
		if isPlain(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// DecodeUser reverses EncodeUser.
func DecodeUser(enc string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(enc); i++ {
		if enc[i] != '%' {
			b.WriteByte(enc[i])
			continue
		}
		if i+2 >= len(enc) {
			return "", fmt.Errorf("bad user key %q", enc)
		}
		var c byte
		if _, err := fmt.Sscanf(enc[i+1:i+3], "%02X", &c); err != nil {
			return "", fmt.Errorf("bad user key %q", enc)
		}
		b.WriteByte(c)
		i += 2
	}
	return b.String(), nil
}

func isPlain(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '~' || c == '@' || c == '-'
}

func (s *Store) userKey(user string) string { return s.prefix + "user:" + EncodeUser(user) }
