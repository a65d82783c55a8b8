package events_test

import (
	"encoding/json"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// The console's payment, revenue, refund and dispute counters are written
// by the scripts that apply the events: a redelivered event, or a payment
// the success page fulfilled first, counts once.
func TestEventsCountedOnceForTheConsole(t *testing.T) {
	st := newStore(t)
	a := newApplier(st, nil, events.Policies{})
	sess := sessionObject("cs_1", "paid", "pi_1", "alice", "pro")
	sess["amount_total"], sess["currency"] = 1200, "eur"
	completed := eventJSON("evt_1", "checkout.session.completed", t0, "", sess)

	// The success page first (the same session), then the webhook twice.
	s := mustParse(t, completed)
	var obj events.Session
	if err := jsonUnmarshal(s.Data.Object, &obj); err != nil {
		t.Fatal(err)
	}
	if _, err := a.FulfilSession(ctx, obj, store.Meta{Cause: "success", Created: t0.Unix(), Now: t0}); err != nil {
		t.Fatal(err)
	}
	apply(t, a, completed)
	if o := apply(t, a, completed); o != events.Duplicate {
		t.Fatalf("redelivery: %s", o)
	}
	refund := eventJSON("evt_2", "charge.refunded", t0, "", chargeObject("ch_1", "pi_1", "alice", "pro", 1200, 1200, true))
	apply(t, a, refund)
	apply(t, a, refund)
	dispute := eventJSON("evt_3", "charge.dispute.created", t0, "", disputeObject("dp_1", "ch_1", "pi_1", "needs_response"))
	apply(t, a, dispute)
	apply(t, a, dispute)

	days, err := st.Stats(ctx, t0, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := days[0].Counts
	if got["payments"] != 1 || got["revenue:eur"] != 1200 || got["refunds"] != 1 || got["disputes"] != 1 {
		t.Errorf("counters %v, want 1 payment of 1200 eur, 1 refund, 1 dispute", got)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
