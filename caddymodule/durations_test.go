package caddymodule

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

// A product's durations (access_for, trial, free_views per) are
// catalog.Durations, so that internal/ stays free of Caddy: JSON configs
// must read them exactly as Caddy reads its own durations.
func TestProductDurationsReadAsCaddyDurations(t *testing.T) {
	for _, in := range []string{`"720h"`, `"30d"`, `"14d"`, `"1d12h"`, `"1.5d"`, `"-2d"`, `"90m"`, `"1h30m15s"`, `3600000000000`, `0`} {
		var want caddy.Duration
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatalf("caddy.Duration %s: %v", in, err)
		}
		var got catalog.Duration
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("catalog.Duration %s: %v", in, err)
			continue
		}
		if int64(got) != int64(want) {
			t.Errorf("%s: catalog reads %v, Caddy %v", in, got.Std(), want)
		}
	}
	for _, in := range []string{`"soon"`, `"5x"`, `true`} {
		var got catalog.Duration
		if err := json.Unmarshal([]byte(in), &got); err == nil {
			t.Errorf("catalog.Duration accepted %s", in)
		}
	}
}
