package caddymodule

import (
	"encoding/json"
	"reflect"
	"testing"
)

// JSON configs: "price" alone (as before several prices existed),
// "prices" alone, or both (price first); the trial as a Caddy duration.
func TestProductPricesJSON(t *testing.T) {
	var p Paywall
	err := json.Unmarshal([]byte(`{
		"stripe_secret_key": "sk_test_123", "stripe_webhook_secrets": ["whsec_1"],
		"session_secret": "0123456789abcdef0123456789abcdef",
		"automatic_tax": true, "tax_id_collection": true,
		"products": [
			{"id": "old", "price": "price_old", "paths": ["/old/*"]},
			{"id": "club", "prices": ["price_m", "price_y"], "mode": "subscription", "trial": "14d", "paths": ["/club/*"]},
			{"id": "both", "price": "price_a", "prices": ["price_b"], "mode": "subscription", "paths": ["/both/*"]}
		]}`), &p)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// The gateway and the event applier read these same products.
	got := p.Products
	for i, want := range [][]string{{"price_old"}, {"price_m", "price_y"}, {"price_a", "price_b"}} {
		if !reflect.DeepEqual(got[i].AllPrices(), want) {
			t.Errorf("%s: prices %v, want %v", got[i].ID, got[i].AllPrices(), want)
		}
		if pr, ok := got.ByPrice(want[len(want)-1]); !ok || pr.ID != got[i].ID {
			t.Errorf("%s: its last price finds %q", got[i].ID, pr.ID)
		}
	}
	if got[1].TrialDays() != 14 || got[0].TrialDays() != 0 {
		t.Errorf("trial days: %d, %d", got[1].TrialDays(), got[0].TrialDays())
	}
	if !p.AutomaticTax || !p.TaxIDCollection {
		t.Error("tax options not read")
	}
}
