package store

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

var ctx = context.Background()

// t0 is the tests' clock: every change passes its own time (Meta.Now).
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// newStore is a store under a prefix of its own on the shared redis-server.
func newStore(t testing.TB) *Store {
	t.Helper()
	return newStoreAt(t, testenv.RedisURL(t))
}

func newStoreAt(t testing.TB, url string) *Store {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout = time.Second
	opt.DialerRetries = 1 // an outage fails fast
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return New(c, testenv.UniquePrefix())
}

// meta is an event's meta, created and applied at at.
func meta(event string, at time.Time) Meta {
	cause := event
	if cause == "" {
		cause = "test"
	}
	return Meta{EventID: event, Cause: cause, Created: at.Unix(), Now: at}
}

// adminMeta is the meta of a command-line change at at.
func adminMeta(at time.Time) Meta { return Meta{Cause: "admin", Created: at.Unix(), Now: at} }

func must(t *testing.T) func(Result, error) Result {
	return func(r Result, err error) Result {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func live(t *testing.T, s *Store, user, product string, at time.Time) bool {
	t.Helper()
	e, err := s.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return e.Live(product, at)
}

func grantOf(t *testing.T, s *Store, user, product, source string) (Grant, bool) {
	t.Helper()
	e, err := s.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range e.Grants {
		if g.Product == product && g.Source == source {
			return g, true
		}
	}
	return Grant{}, false
}

// auditActions lists the user's audit actions ("" for everyone's), oldest
// first, joined by commas.
func auditActions(t *testing.T, s *Store, user string) string {
	t.Helper()
	entries, err := s.Audit(ctx, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	var a []string
	for i := len(entries) - 1; i >= 0; i-- {
		a = append(a, entries[i].Action)
	}
	return strings.Join(a, ",")
}

// payment is a one-time payment's grant, as the webhook applies it.
func payment(event, user, product, pi string, at time.Time) GrantRequest {
	return GrantRequest{Meta: meta(event, at), User: user, Product: product, Source: pi,
		PaymentIntent: pi, Customer: "cus_" + EncodeUser(user), CheckoutSession: "cs_" + pi}
}

func subscription(event, user, product, sub, status string, live bool, until, at time.Time) SubscriptionState {
	return SubscriptionState{Meta: meta(event, at), User: user, Product: product, Subscription: sub,
		Customer: "cus_" + user, Status: status, Live: live, LiveUntil: until.Unix()}
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
