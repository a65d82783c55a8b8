package caddymodule

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// FuzzUnmarshalCaddyfile: any paywall block either parses into a config
// that Validate judges without panicking, or is refused with an error that
// names a line.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	f.Add("paywall {\n\tstripe_secret_key sk_test_x\n\tstripe_webhook_secret whsec_x\n\tsession_secret 0123456789abcdef0123456789abcdef\n\tproduct pro {\n\t\tprice price_x\n\t\tpaths /premium/*\n\t}\n}")
	f.Add("paywall {\n\tproduct pro {\n\t\tmode subscription\n\t\taccess_for 1h\n\t}\n}")
	f.Add("paywall {\n\tshadow\n\ton_store_error allow\n\tpast_due_grace -1h\n\tentitlement_cache off\n}")
	f.Add("paywall /x {\n}")
	f.Add("paywall {\n\tproduct {\n\t\t}\n\t}\n}")
	f.Fuzz(func(t *testing.T, input string) {
		var p Paywall
		d := caddyfile.NewTestDispenser(input)
		if err := p.UnmarshalCaddyfile(d); err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		_ = p.Validate()
	})
}
