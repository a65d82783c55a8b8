package caddymodule

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

const consoleHead = "paywall {\n" +
	"\tstripe_secret_key     sk_test_123\n" +
	"\tstripe_webhook_secret whsec_123\n" +
	"\tsession_secret        0123456789abcdef0123456789abcdef\n"

func TestConsoleCaddyfile(t *testing.T) {
	var p Paywall
	in := consoleHead + "\tconsole {\n\t\tadmins alice carol\n\t\tadmins dave\n\t}\n}"
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
		t.Fatal(err)
	}
	if want := (&ConsoleConfig{Admins: []string{"alice", "carol", "dave"}}); !reflect.DeepEqual(p.Console, want) {
		t.Errorf("console = %+v, want %+v", p.Console, want)
	}
	for _, tc := range []struct{ name, input, want string }{
		{"no admins", consoleHead + "\tconsole {\n\t}\n}", "console: admins is required: the users who may open the console, at Testfile:5"},
		{"no block", consoleHead + "\tconsole\n}", "console: admins is required: the users who may open the console, at Testfile:5"},
		{"empty admins", consoleHead + "\tconsole {\n\t\tadmins\n\t}\n}", "console: admins: missing value, at Testfile:6"},
		{"a value", consoleHead + "\tconsole alice {\n\t}\n}", "console: takes no value, only a block: console { admins <user>... }, at Testfile:5"},
		{"misspelt", consoleHead + "\tconsole {\n\t\tadmin alice\n\t}\n}", `console: unrecognized option "admin" (did you mean "admins"?), at Testfile:6`},
		{"twice", consoleHead + "\tconsole {\n\t\tadmins a\n\t}\n\tconsole {\n\t\tadmins b\n\t}\n}", "console: set twice (first at Testfile:5), at Testfile:8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Paywall
			err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || err.Error() != tc.want {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestConsoleJSONValidate(t *testing.T) {
	base := func() Paywall {
		return Paywall{StripeSecretKey: "sk_test_1", StripeWebhookSecrets: []string{"whsec_1"},
			SessionSecret: "0123456789abcdef0123456789abcdef"}
	}
	p := base()
	p.Console = &ConsoleConfig{Admins: []string{"alice"}}
	if err := p.Validate(); err != nil {
		t.Errorf("good console: %v", err)
	}
	for _, admins := range [][]string{nil, {}, {"alice", ""}} {
		p := base()
		p.Console = &ConsoleConfig{Admins: admins}
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "console: admins") {
			t.Errorf("admins %q: %v", admins, err)
		}
	}
}

// A provisioned paywall serves the console at base_path/console, and
// Cleanup stops the flusher after writing what is left.
func TestConsoleProvisionAndCleanup(t *testing.T) {
	p := &Paywall{StripeSecretKey: "sk_test_1", StripeWebhookSecrets: []string{"whsec_1"},
		SessionSecret: "0123456789abcdef0123456789abcdef", StripeAPIURL: "http://127.0.0.1:1",
		Redis: "redis://127.0.0.1:1/0", Console: &ConsoleConfig{Admins: []string{"alice"}},
		Products: catalog.Catalog{{ID: "pro", Price: "price_1", Paths: []string{"/p/*"}}}}
	if err := p.Provision(newCaddyContext(t)); err != nil {
		t.Fatal(err)
	}
	if p.tally == nil || p.metrics.tally == nil {
		t.Fatal("console counters not wired")
	}
	// The gateway was given the console: a non-admin is refused (403);
	// without one, base_path/console is not found (404).
	w, r := benchRequest("/paywall/console", "", "text/html")
	r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set("http.auth.user.id", "bob")
	if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != http.StatusForbidden {
		t.Errorf("non-admin: %d %v", w.status, err)
	}
	if err := p.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if p.tally != nil {
		t.Error("Cleanup left the flusher")
	}
}

// BenchmarkServeHTTPConsole is the paid path with the console off and on:
// on, each gated request adds one in-memory counter increment (flushed
// once a second by a goroutine), and no allocation.
//
//	go test ./caddymodule -run '^$' -bench ServeHTTPConsole -benchmem -count 5
func BenchmarkServeHTTPConsole(b *testing.B) {
	for _, c := range []struct {
		name      string
		configure func(*Paywall)
	}{
		{"paid/console-off", func(*Paywall) {}},
		{"paid/console-on", func(p *Paywall) { p.Console = &ConsoleConfig{Admins: []string{"owner"}} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := benchPaywall(b, c.configure)
			w, r := benchRequest("/premium/a", "alice", "text/html")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.reset()
				if err := p.ServeHTTP(w, r, nextOK); err != nil || w.status != http.StatusOK {
					b.Fatalf("status %d (err %v)", w.status, err)
				}
			}
		})
	}
}
