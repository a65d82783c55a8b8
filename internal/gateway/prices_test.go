package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The 402 answer never waits on Stripe: with Stripe hanging, it is given
// at once without the amount, and the price fetched in the background
// shows up in a later answer.
func TestPaymentRequiredNeverWaitsOnStripe(t *testing.T) {
	release := make(chan struct{})
	stripeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"price_pro","object":"price","currency":"eur","unit_amount":900,"type":"one_time","product":{"id":"prod_1","object":"product","name":"Pro articles"}}`))
	}))
	t.Cleanup(stripeSrv.Close)
	t.Cleanup(func() { close(release) })
	f := newFixture(t, fixtureOpts{stripeURL: stripeSrv.URL})

	amount := func() string {
		done := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/premium/a", nil)
			r.Header.Set("Accept", "application/json")
			f.gw.Deny(w, r, Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, nil)
			done <- w
		}()
		select {
		case w := <-done:
			var body struct{ Products []struct{ Amount string } }
			if w.Code != http.StatusPaymentRequired || json.Unmarshal(w.Body.Bytes(), &body) != nil || len(body.Products) != 1 {
				t.Fatalf("402 answer: %d %s", w.Code, w.Body)
			}
			return body.Products[0].Amount
		case <-time.After(10 * time.Second):
			t.Fatal("the 402 answer waited on a hanging Stripe")
		}
		return ""
	}
	if a := amount(); a != "" {
		t.Fatalf("amount %q before Stripe ever answered", a)
	}
	release <- struct{}{} // Stripe answers the background fetch
	deadline := time.Now().Add(10 * time.Second)
	for amount() != "€9.00" {
		if time.Now().After(deadline) {
			t.Fatal("the price fetched in the background never reached the answer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
