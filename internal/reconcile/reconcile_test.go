package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/reconcile"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

// world is a fake Stripe and a real Redis with an applier over both.
type world struct {
	stripe  *stripefake.Stripe
	store   *store.Store
	applier *events.Applier
}

func newWorld(t *testing.T) world {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	st := store.New(rc, testenv.UniquePrefix())
	fake := stripefake.New()
	return world{stripe: fake, store: st, applier: &events.Applier{Store: st, API: fake,
		Products: catalog.Catalog{{ID: "pro", Prices: []string{"price_pro"}, Mode: "payment"}}}}
}

func (w world) holds(t *testing.T, user, product string) bool {
	t.Helper()
	e, err := w.store.Entitlements(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return e.Live(product, time.Now())
}

func session(id, user, status, paid string, created time.Time) string {
	meta := ""
	if user != "" {
		meta = fmt.Sprintf(`{"paywall_user":%q,"paywall_product":"pro"}`, user)
	} else {
		meta = `{}`
	}
	return fmt.Sprintf(`{"id":%q,"object":"checkout.session","mode":"payment","status":%q,"payment_status":%q,"payment_intent":"pi_%s","created":%d,"livemode":false,"metadata":%s}`,
		id, status, paid, id, created.Unix(), meta)
}

// A paid paywall session the webhook missed is fulfilled once; unpaid,
// foreign and older sessions are left alone; a second run changes nothing.
func TestRunFulfilsMissedSessionsOnce(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.stripe.Put(
		session("cs_paid", "alice", "complete", "paid", now.Add(-time.Hour)),
		session("cs_unpaid", "bob", "complete", "unpaid", now.Add(-time.Hour)),
		session("cs_foreign", "", "complete", "paid", now.Add(-time.Hour)),
		session("cs_open", "carol", "open", "unpaid", now.Add(-time.Hour)),
		session("cs_old", "dave", "complete", "paid", now.Add(-72*time.Hour)),
	)
	since := now.Add(-24 * time.Hour)
	var out bytes.Buffer
	rep, err := reconcile.Run(ctx, w.applier, since, &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep != (reconcile.Report{Sessions: 1, Fulfilled: 1}) {
		t.Errorf("report %+v, want alice's paid paywall session seen and fulfilled", rep)
	}
	if out.String() != "granted pro to alice (missed session cs_paid)\n" {
		t.Errorf("output %q", out.String())
	}
	if !w.holds(t, "alice", "pro") || w.holds(t, "dave", "pro") || w.holds(t, "bob", "pro") {
		t.Error("wrong grants after the run")
	}

	// What it asked Stripe: complete sessions and the replayed event types,
	// both since then.
	for _, c := range w.stripe.Calls() {
		switch p := c.Params.(type) {
		case *stripe.CheckoutSessionListParams:
			if p.Status == nil || *p.Status != "complete" || p.CreatedRange.GreaterThanOrEqual != since.Unix() {
				t.Errorf("sessions listed with %+v", p)
			}
		case *stripe.EventListParams:
			if len(p.Types) == 0 || p.CreatedRange.GreaterThanOrEqual != since.Unix() {
				t.Errorf("events listed with %+v", p)
			}
		}
	}

	out.Reset()
	rep, err = reconcile.Run(ctx, w.applier, since, &out)
	if err != nil || rep != (reconcile.Report{Sessions: 1}) || out.Len() != 0 {
		t.Errorf("second run: %+v, %v, %q; want nothing changed", rep, err, out.String())
	}
}

// A missed refund in the event log is applied through the webhook's code
// path (an event of another API version fetches its charge from Stripe),
// once. The refund comes after the grant: the store orders changes by
// their created time, and reconcile's grant is created when it runs.
func TestRunAppliesMissedEventsOnce(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	w.stripe.Put(session("cs_paid", "alice", "complete", "paid", now.Add(-2*time.Hour)))
	if _, err := reconcile.Run(ctx, w.applier, now.Add(-24*time.Hour), &bytes.Buffer{}); err != nil || !w.holds(t, "alice", "pro") {
		t.Fatalf("fulfilling: %v", err)
	}
	refund := stripeevent.New("evt_refund", "charge.refunded", map[string]any{"id": "ch_paid", "object": "charge"})
	refund.APIVersion = "2020-08-27" // another version: the charge is fetched
	refund.Created = time.Now().Add(time.Second)
	w.stripe.Put(
		`{"id":"ch_paid","object":"charge","payment_intent":"pi_cs_paid","refunded":true,"amount":900,"amount_refunded":900,"metadata":{"paywall_user":"alice","paywall_product":"pro"}}`,
		refund.MustJSON(),
	)
	var out bytes.Buffer
	rep, err := reconcile.Run(ctx, w.applier, now.Add(-24*time.Hour), &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 1 || rep.Applied != 1 || !strings.Contains(out.String(), "applied missed charge.refunded evt_refund") {
		t.Errorf("report %+v, output %q", rep, out.String())
	}
	if w.holds(t, "alice", "pro") {
		t.Error("alice still holds pro after her refund was reconciled")
	}
	fetched := false
	for _, c := range w.stripe.Calls() {
		fetched = fetched || (c.Method == "GetCharge" && c.ID == "ch_paid")
	}
	if !fetched {
		t.Error("the reshaped refund was applied without fetching its charge")
	}

	out.Reset()
	rep, err = reconcile.Run(ctx, w.applier, now.Add(-24*time.Hour), &out)
	if err != nil || rep.Applied != 0 || rep.Events != 1 || out.Len() != 0 {
		t.Errorf("second run: %+v, %v, %q", rep, err, out.String())
	}
}

// The webhook missed both a payment and its refund: one run grants and
// then revokes, so the refunded buyer is left without access.
func TestRunPaymentAndRefundBothMissed(t *testing.T) {
	w := newWorld(t)
	now := time.Now()
	refund := stripeevent.New("evt_refund_missed", "charge.refunded", map[string]any{"id": "ch_paid", "object": "charge"})
	refund.APIVersion = "2020-08-27" // another version: the charge is fetched
	refund.Created = now.Add(-time.Hour)
	w.stripe.Put(
		session("cs_paid", "alice", "complete", "paid", now.Add(-2*time.Hour)),
		`{"id":"ch_paid","object":"charge","payment_intent":"pi_cs_paid","refunded":true,"amount":900,"amount_refunded":900,"metadata":{"paywall_user":"alice","paywall_product":"pro"}}`,
		refund.MustJSON(),
	)
	rep, err := reconcile.Run(ctx, w.applier, now.Add(-24*time.Hour), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fulfilled != 1 || rep.Applied != 1 {
		t.Errorf("report %+v: want the session fulfilled and the refund applied", rep)
	}
	if w.holds(t, "alice", "pro") {
		t.Error("alice holds pro: the missed refund was taken as older than the reconciled grant")
	}
}

// A Stripe failure ends the run with that error.
func TestRunStopsOnStripeError(t *testing.T) {
	w := newWorld(t)
	boom := &stripe.Error{HTTPStatusCode: 429, Msg: "Too many requests"}
	w.stripe.Fail("ListCheckoutSessions", boom)
	if _, err := reconcile.Run(ctx, w.applier, time.Now().Add(-time.Hour), &bytes.Buffer{}); !errors.Is(err, boom) {
		t.Errorf("sessions list failing: %v", err)
	}
	w.stripe.Fail("ListCheckoutSessions", nil)
	w.stripe.Fail("ListEvents", boom)
	if _, err := reconcile.Run(ctx, w.applier, time.Now().Add(-time.Hour), &bytes.Buffer{}); !errors.Is(err, boom) {
		t.Errorf("events list failing: %v", err)
	}
}
