package caddymodule

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

const whoamiHead = "paywall {\n" +
	"\tstripe_secret_key     sk_test_123\n" +
	"\tstripe_webhook_secret whsec_123\n" +
	"\tsession_secret        0123456789abcdef0123456789abcdef\n"

func TestWhoamiCaddyfile(t *testing.T) {
	var p Paywall
	err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(whoamiHead + `	whoami http://127.0.0.1:8000/account/ {
		cookies sessionid remember_me
		user_regex "Signed in as <b>([^<]+)</b>"
		ttl 2m
		negative_ttl 3s
		timeout 1500ms
	}
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &WhoamiConfig{
		URL: "http://127.0.0.1:8000/account/", Cookies: []string{"sessionid", "remember_me"},
		UserRegex: "Signed in as <b>([^<]+)</b>", TTL: caddy.Duration(2 * time.Minute),
		NegativeTTL: caddy.Duration(3 * time.Second), Timeout: caddy.Duration(1500 * time.Millisecond),
	}
	if !reflect.DeepEqual(p.Whoami, want) {
		t.Fatalf("got %+v\nwant %+v", p.Whoami, want)
	}
	if p.User != "" {
		t.Fatalf("user %q: whoami leaves user unset", p.User)
	}
	p.applyDefaults()
	if p.User != "" {
		t.Fatalf("with whoami, user gets no default (got %q)", p.User)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	// The bare form: one way to find the user is all it needs.
	p = Paywall{}
	if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(whoamiHead + "\twhoami https://forum.example/session/current.json {\n\t\tcookies _t\n\t\tuser_json current_user.username\n\t}\n}")); err != nil {
		t.Fatal(err)
	}
	if p.Whoami.UserJSON != "current_user.username" || p.Whoami.TTL != 0 {
		t.Fatalf("got %+v", p.Whoami)
	}
}

func TestWhoamiCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ name, input, want string }{
		{"no url", "\twhoami {\n\t\tuser_header X-User\n\t}\n}", "whoami: missing URL"},
		{"relative url", "\twhoami /account/ {\n\t\tuser_header X-User\n\t}\n}",
			`whoami: want the absolute http:// or https:// URL, got "/account/" of a page of the site that shows who is signed in, at Testfile:5`},
		{"two urls", "\twhoami http://a/ http://b/ {\n\t\tuser_header X-User\n\t}\n}", "whoami: too many values (want 1, the URL, got 2), at Testfile:5"},
		{"no user source", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tcookies sessionid\n\t}\n}",
			"whoami: say where the answer names the user: one of user_header, user_json or user_regex is required, at Testfile:5"},
		{"no block", "\twhoami http://127.0.0.1:8000/account/\n}",
			"one of user_header, user_json or user_regex is required, at Testfile:5"},
		{"two user sources", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_header X-User\n\t\tuser_json user.name\n\t}\n}",
			"whoami: user_header and user_json are set: use only one of user_header, user_json or user_regex, at Testfile:5"},
		{"bad regex", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_regex \"Signed in as ([\"\n\t}\n}",
			"whoami: user_regex: not a regular expression: error parsing regexp: missing closing ]: `[`, at Testfile:6"},
		{"regex without group", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_regex \"Signed in as \\\\w+\"\n\t}\n}",
			"has no group: put the user id in parentheses"},
		{"bad json path", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_json user..name\n\t}\n}",
			`whoami: user_json: "user..name" is not a dot path`},
		{"bad cookie name", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tcookies a=b\n\t\tuser_header X\n\t}\n}",
			`whoami: cookies: "a=b" is not a cookie name, at Testfile:6`},
		{"zero ttl", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_header X\n\t\tttl 0s\n\t}\n}",
			"whoami: ttl: must be more than 0, at Testfile:7"},
		{"bad timeout", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_header X\n\t\ttimeout soon\n\t}\n}",
			`whoami: timeout: invalid duration "soon"`},
		{"twice", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_header X\n\t\tuser_header Y\n\t}\n}",
			"whoami: user_header: set twice (first at Testfile:6), at Testfile:7"},
		{"misspelt", "\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_heder X\n\t}\n}",
			`whoami: unrecognized option "user_heder" (did you mean "user_header"?), at Testfile:6`},
		{"and user", "\tuser {http.auth.user.id}\n\twhoami http://127.0.0.1:8000/account/ {\n\t\tuser_header X\n\t}\n}",
			"whoami and user cannot both be set: whoami asks the site who is signed in, user reads a placeholder; keep one, at Testfile:6"},
		{"whoami twice", "\twhoami http://a/ {\n\t\tuser_header X\n\t}\n\twhoami http://b/ {\n\t\tuser_header X\n\t}\n}",
			"whoami: set twice (first at Testfile:5), at Testfile:8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Paywall
			err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(whoamiHead + tc.input))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
}

func TestWhoamiJSONValidate(t *testing.T) {
	base := func() Paywall {
		return Paywall{StripeSecretKey: "sk_test_1", StripeWebhookSecrets: []string{"whsec_1"},
			SessionSecret: "0123456789abcdef0123456789abcdef"}
	}
	for _, tc := range []struct {
		name string
		set  func(*Paywall)
		want string
	}{
		{"ok", func(p *Paywall) { p.Whoami = &WhoamiConfig{URL: "http://a/me", UserJSON: "user.id"} }, ""},
		{"with user", func(p *Paywall) {
			p.User = "{http.auth.user.id}"
			p.Whoami = &WhoamiConfig{URL: "http://a/me", UserJSON: "user.id"}
		}, "paywall: whoami and user cannot both be set"},
		{"no url", func(p *Paywall) { p.Whoami = &WhoamiConfig{UserJSON: "user.id"} }, "paywall: whoami: url is required"},
		{"bad url", func(p *Paywall) { p.Whoami = &WhoamiConfig{URL: "a/me", UserJSON: "user.id"} }, "paywall: whoami: url: want the absolute http"},
		{"none", func(p *Paywall) { p.Whoami = &WhoamiConfig{URL: "http://a/me"} }, "one of user_header, user_json or user_regex is required"},
		{"all", func(p *Paywall) {
			p.Whoami = &WhoamiConfig{URL: "http://a/me", UserJSON: "u", UserHeader: "X", UserRegex: "(x)"}
		}, "user_header and user_json and user_regex are set"},
		{"no group", func(p *Paywall) { p.Whoami = &WhoamiConfig{URL: "http://a/me", UserRegex: "x"} }, "paywall: whoami: user_regex: \"x\" has no group"},
		{"negative", func(p *Paywall) { p.Whoami = &WhoamiConfig{URL: "http://a/me", UserHeader: "X", TTL: -1} }, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.set(&p)
			err := p.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
