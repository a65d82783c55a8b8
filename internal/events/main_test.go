package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// t0 is the tests' clock. Nothing here sleeps: the applier, the stand-in
// and the events all take their time from t0 (and offsets of it).
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return t0 }

// The products every test sells.
const (
	passFor     = 720 * time.Hour
	testKey     = "sk_test_events"
	otherAPIVer = "2024-06-20"
)

var testProducts = catalog.Catalog{
	{ID: "pro", Prices: []string{"price_pro"}, Mode: "payment"},
	{ID: "pass", Prices: []string{"price_pass"}, Mode: "payment", AccessFor: catalog.Duration(passFor)},
	{ID: "course", Prices: []string{"price_course"}, Mode: "subscription"},
	{ID: "course2", Prices: []string{"price_course2"}, Mode: "subscription"},
	{ID: "club", Prices: []string{"price_club_monthly", "price_club_yearly"}, Mode: "subscription"},
}

var stubPrices = []stripestub.Price{
	{ID: "price_pro", ProductName: "Pro", UnitAmount: 1000, Currency: "usd"},
	{ID: "price_pass", ProductName: "Pass", UnitAmount: 500, Currency: "usd"},
	{ID: "price_course", ProductName: "Course", UnitAmount: 2000, Currency: "usd", Recurring: "month"},
	{ID: "price_course2", ProductName: "Course plus", UnitAmount: 4000, Currency: "usd", Recurring: "month"},
	{ID: "price_club_monthly", ProductName: "Club", ProductID: "prod_club", UnitAmount: 900, Currency: "eur", Recurring: "month"},
	{ID: "price_club_yearly", ProductName: "Club", ProductID: "prod_club", UnitAmount: 9000, Currency: "eur", Recurring: "year"},
}

// --- Redis ---------------------------------------------------------------

var (
	clientOnce sync.Once
	rdb        *redis.Client
)

// redisClient is one client on the shared test redis-server for the whole
// package; every test gets its own key prefix.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	url := testenv.RedisURL(t)
	clientOnce.Do(func() {
		opt, err := redis.ParseURL(url)
		if err != nil {
			panic(err)
		}
		opt.PoolSize = 64
		rdb = redis.NewClient(opt)
	})
	return rdb
}

// newStore returns a store under a fresh prefix whose keys are deleted
// when the test ends.
func newStore(t testing.TB) *store.Store {
	t.Helper()
	c := redisClient(t)
	st := store.New(c, testenv.UniquePrefix())
	t.Cleanup(func() {
		keys, err := c.Keys(ctx, st.Prefix()+"*").Result()
		if err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return st
}

func keysOf(t testing.TB, st *store.Store) []string {
	t.Helper()
	keys, err := st.Client().Keys(ctx, st.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	return keys
}

func isLive(t testing.TB, st *store.Store, user, product string, at time.Time) bool {
	t.Helper()
	e, err := st.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return e.Live(product, at)
}

// grantsOf describes a user's grants for a failure message.
func grantsOf(t testing.TB, st *store.Store, user string) string {
	t.Helper()
	e, err := st.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, g := range e.Grants {
		s := g.Product + "|" + g.Source
		if g.Revoked {
			s += " revoked by " + g.RevokedBy
		}
		if g.Expires != 0 {
			s += " until " + offsetName(time.Unix(g.Expires, 0).Sub(t0))
		}
		if g.Status != "" {
			s += " " + g.Status
		}
		parts = append(parts, s+" (cause "+g.Cause+")")
	}
	if len(parts) == 0 {
		return "none"
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// auditLines is the whole audit stream, oldest first, one line an entry
// (the stream id and wall time left out, so two runs compare equal).
func auditLines(t testing.TB, st *store.Store) []string {
	t.Helper()
	entries, err := st.Audit(ctx, "", 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		out = append(out, strings.Join([]string{e.Action, e.User, e.Product, e.Source, e.Cause, e.Detail}, " | "))
	}
	return out
}

// noRepeats fails if an audit line occurs twice.
func noRepeats(t testing.TB, lines []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			t.Errorf("audit entry written twice: %s\nwhole stream:\n  %s", l, strings.Join(lines, "\n  "))
		}
		seen[l] = true
	}
}

// --- Stripe: the stand-in, served over HTTP -----------------------------

// stubWorld is the stateful Stripe stand-in behind httptest, counting the
// API requests it answers. It has no webhook URL: the tests build the
// events and deliver them in the order they choose.
type stubWorld struct {
	Stub     *stripestub.Stub
	URL      string
	API      *stripeapi.Client
	requests atomic.Int64
	srv      *httptest.Server
}

func newStubWorld(t testing.TB) *stubWorld {
	t.Helper()
	return newStubWorldAt(t, clock)
}

func newStubWorldAt(t testing.TB, now func() time.Time) *stubWorld {
	t.Helper()
	w := &stubWorld{}
	w.Stub = stripestub.New(stripestub.Config{Prices: stubPrices, Now: now})
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			w.requests.Add(1)
		}
		w.Stub.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	w.URL = w.srv.URL
	w.Stub.SetBaseURL(w.URL)
	w.API = stripeapi.New(testKey, w.URL)
	return w
}

// checkout creates a Checkout Session in the stand-in as the gateway does.
// withSubMeta puts the paywall metadata on the subscription too.
func (w *stubWorld) checkout(t testing.TB, user, product, price, mode string, withSubMeta bool) string {
	t.Helper()
	p := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(mode),
		ClientReferenceID: stripe.String(user),
		SuccessURL:        stripe.String("https://shop.example/paywall/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:         stripe.String("https://shop.example/paywall/cancel"),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
	}
	p.AddMetadata(events.MetaUser, user)
	p.AddMetadata(events.MetaProduct, product)
	meta := map[string]string{events.MetaUser: user, events.MetaProduct: product}
	if mode == "subscription" {
		if withSubMeta {
			p.SubscriptionData = &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta}
		}
	} else {
		p.PaymentIntentData = &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta}
	}
	s, err := w.API.CreateCheckoutSession(p)
	if err != nil {
		t.Fatalf("creating a checkout session in the stand-in: %v", err)
	}
	return s.ID
}

// object is any object of the stand-in as its API shows it now.
func (w *stubWorld) object(t testing.TB, id string) map[string]any {
	t.Helper()
	o, ok := w.Stub.Object(id)
	if !ok {
		t.Fatalf("no object %s in the stand-in", id)
	}
	return o
}

func newApplier(st *store.Store, api stripeapi.API, pol events.Policies) *events.Applier {
	return &events.Applier{Store: st, API: api, Products: testProducts, Policies: pol, Now: clock}
}

// --- events ----------------------------------------------------------------

// eventJSON is a Stripe event as the webhook receives it, created at
// created, in apiVersion ("" is stripe-go's).
func eventJSON(id, typ string, created time.Time, apiVersion string, object map[string]any) []byte {
	e := stripeevent.New(id, typ, object)
	e.Created, e.APIVersion = created, apiVersion
	return e.MustJSON()
}

func mustParse(t testing.TB, body []byte) events.Event {
	t.Helper()
	e, err := events.Parse(body)
	if err != nil {
		t.Fatalf("parsing %s: %v", body, err)
	}
	return e
}

func apply(t testing.TB, a *events.Applier, body []byte) events.Outcome {
	t.Helper()
	o, err := a.Apply(ctx, mustParse(t, body))
	if err != nil {
		t.Fatalf("applying %s: %v", body, err)
	}
	return o
}

// sessionObject is a one-time Checkout Session as Stripe sends it.
func sessionObject(id, paymentStatus, paymentIntent, user, product string) map[string]any {
	return map[string]any{
		"id": id, "object": "checkout.session", "status": "complete", "payment_status": paymentStatus,
		"mode": "payment", "client_reference_id": user, "payment_intent": nullable(paymentIntent),
		"customer": "cus_" + user, "subscription": nil, "livemode": false, "created": t0.Unix(),
		"metadata": map[string]string{events.MetaUser: user, events.MetaProduct: product},
	}
}

// chargeObject is a charge after a refund of refunded (of amount) cents.
// withMeta copies the paywall metadata the gateway put on the payment
// intent; without it, only the stored mapping or a tombstone can help.
func chargeObject(id, paymentIntent, user, product string, amount, refunded int64, withMeta bool) map[string]any {
	c := map[string]any{
		"id": id, "object": "charge", "payment_intent": paymentIntent, "invoice": nil,
		"amount": amount, "amount_refunded": refunded, "refunded": refunded >= amount,
		"metadata": map[string]string{},
	}
	if withMeta {
		c["metadata"] = map[string]string{events.MetaUser: user, events.MetaProduct: product}
	}
	return c
}

func disputeObject(id, charge, paymentIntent, status string) map[string]any {
	return map[string]any{"id": id, "object": "dispute", "charge": charge, "payment_intent": paymentIntent,
		"status": status, "amount": 1000, "reason": "fraudulent"}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// permutations lists every order of 0..n-1.
func permutations(n int) [][]int {
	var out [][]int
	var rec func(cur []int, used []bool)
	rec = func(cur []int, used []bool) {
		if len(cur) == n {
			out = append(out, append([]int(nil), cur...))
			return
		}
		for i := 0; i < n; i++ {
			if !used[i] {
				used[i] = true
				rec(append(cur, i), used)
				used[i] = false
			}
		}
	}
	rec(nil, make([]bool, n))
	return out
}

func offsetName(d time.Duration) string {
	switch {
	case d == 0:
		return "t0"
	case d > 0:
		return fmt.Sprintf("t0+%s", d)
	default:
		return fmt.Sprintf("t0-%s", -d)
	}
}
