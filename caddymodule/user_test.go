package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// A `user` that is one request header placeholder is read from the header
// directly: it must give exactly what Caddy's replacer gives.
func TestUserFromHeaderIsTheReplacersValue(t *testing.T) {
	for _, placeholder := range []string{"{http.request.header.X-User}", "{http.request.header.x-user}"} {
		p := &Paywall{User: placeholder}
		p.userPlaceholder = singlePlaceholder(p.User)
		if field, ok := cutHeaderPlaceholder(p.userPlaceholder); ok {
			p.userHeader = field
		}
		if p.userHeader != "X-User" {
			t.Fatalf("%s: userHeader = %q, want X-User", placeholder, p.userHeader)
		}
		for _, values := range [][]string{nil, {""}, {"alice"}, {"alice", "bob"}, {"a,b", "c"}} {
			r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			for _, v := range values {
				r.Header.Add("X-User", v)
			}
			repl := caddy.NewReplacer()
			r = caddyhttp.PrepareRequest(r, repl, httptest.NewRecorder(), nil)
			want := repl.ReplaceAll(placeholder, "")
			if got := p.user(r, repl); got != want {
				t.Errorf("%s with X-User %q: user %q, the replacer gives %q", placeholder, values, got, want)
			}
		}
	}
}
