package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestDecide(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.grant(t, "alice", "pro")
	ctx := context.Background()
	cases := []struct {
		name     string
		user     string
		products []string
		want     Outcome
		held     []string
	}{
		{"no user", "", []string{"pro"}, Login, nil},
		{"not paid", "bob", []string{"pro"}, Pay, nil},
		{"paid", "alice", []string{"pro"}, Pass, []string{"pro"}},
		{"paid for another product", "alice", []string{"course"}, Pay, nil},
		{"one of several", "alice", []string{"course", "pro"}, Pass, []string{"pro"}},
		{"user id with a key separator", "alice:x", []string{"pro"}, Pay, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := f.gw.Decide(ctx, Request{User: c.user, Products: c.products})
			if d.Outcome != c.want {
				t.Fatalf("outcome = %s, want %s", d.Outcome, c.want)
			}
			if strings.Join(d.Held, ",") != strings.Join(c.held, ",") {
				t.Fatalf("held = %v, want %v", d.Held, c.held)
			}
		})
	}
}

func TestDecideStoreDown(t *testing.T) {
	for _, allow := range []bool{false, true} {
		r := testenv.StartRedis(t)
		f := newFixture(t, fixtureOpts{redisURL: r.URL(), allowStore: allow})
		f.grant(t, "alice", "pro")
		r.Stop()
		d := f.gw.Decide(context.Background(), Request{User: "alice", Products: []string{"pro"}})
		want := StoreDenied
		if allow {
			want = StoreAllowed
		}
		if d.Outcome != want || d.Err == nil {
			t.Fatalf("allow=%v: outcome %s err %v, want %s with an error", allow, d.Outcome, d.Err, want)
		}
		if d.Passes() != allow {
			t.Fatalf("allow=%v: Passes() = %v", allow, d.Passes())
		}
	}
}

func TestDenyResponses(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const uri = "/premium/article?id=7&x=a%20b"
	type check func(t *testing.T, w *httptest.ResponseRecorder)
	problem := func(status int, wantKeys ...string) check {
		return func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != status {
				t.Fatalf("status %d, want %d", w.Code, status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if int(body["status"].(float64)) != status {
				t.Fatalf("body status %v", body["status"])
			}
			for _, k := range wantKeys {
				if _, ok := body[k]; !ok {
					t.Fatalf("body lacks %q: %s", k, w.Body)
				}
			}
		}
	}
	redirect := func(status int, prefix string) check {
		return func(t *testing.T, w *httptest.ResponseRecorder) {
			if w.Code != status || !strings.HasPrefix(w.Header().Get("Location"), prefix) {
				t.Fatalf("got %d %q, want %d %q...", w.Code, w.Header().Get("Location"), status, prefix)
			}
		}
	}
	cases := []struct {
		name    string
		accept  string
		d       Decision
		login   string
		check   check
		cookies bool
	}{
		{"login browser", "text/html", Decision{Outcome: Login}, "/login?next=" + url.QueryEscape(uri), redirect(302, "/login?next=%2Fpremium%2Farticle%3Fid%3D7"), false},
		{"login browser without login_url", "text/html", Decision{Outcome: Login}, "", problem(401), false},
		{"login machine", "application/json", Decision{Outcome: Login}, "/login", problem(401), false},
		{"pay browser", "text/html,*/*", Decision{Outcome: Pay, User: "bob", Products: []string{"pro", "course"}}, "", redirect(303, "/paywall/pay?product=pro&product=course&return_to=%2Fpremium%2Farticle%3Fid%3D7%26x%3Da%2520b"), true},
		{"pay machine", "*/*", Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, "", problem(402, "products", "pay_url"), false},
		{"pay machine without accept", "", Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, "", problem(402, "products", "pay_url"), false},
		{"store denied machine", "application/json", Decision{Outcome: StoreDenied, User: "bob"}, "", problem(503), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, uri, nil)
			if c.accept != "" {
				r.Header.Set("Accept", c.accept)
			}
			w := httptest.NewRecorder()
			var repl Replacer // nil: no login_url
			if c.login != "" {
				repl = testReplacer{}
			}
			f.gw.Deny(w, r, c.d, repl)
			c.check(t, w)
			if got := len(w.Result().Cookies()) > 0; got != c.cookies {
				t.Fatalf("sets a cookie: %v, want %v", got, c.cookies)
			}
		})
	}
}

func TestDenyStoreErrorBrowser(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	r := httptest.NewRequest(http.MethodGet, "/premium/x", nil)
	r.Header.Set("Accept", "text/html")
	w := httptest.NewRecorder()
	f.gw.Deny(w, r, Decision{Outcome: StoreDenied, User: "bob"}, nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("got %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

// The pay redirect never carries a return_to that leaves the site, whatever
// the request path looks like.
func TestDenyPayDropsHostileReturnTo(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for _, uri := range []string{"//evil.com/premium", "/%5Cevil.com", "/premium/%0d%0aSet-Cookie:x"} {
		r := httptest.NewRequest(http.MethodGet, "http://shop.test/", nil)
		r.URL.RawPath, r.URL.Path = "", ""
		r.RequestURI = uri
		r.URL, _ = url.ParseRequestURI(uri)
		r.Header.Set("Accept", "text/html")
		w := httptest.NewRecorder()
		f.gw.Deny(w, r, Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, nil)
		loc, _ := url.Parse(w.Header().Get("Location"))
		rt := loc.Query().Get("return_to")
		if strings.HasPrefix(rt, "//") || strings.HasPrefix(rt, "/\\") || strings.ContainsAny(rt, "\r\n") {
			t.Errorf("%q: return_to %q leaves the site", uri, rt)
		}
	}
}

func TestStripPaywallHeaders(t *testing.T) {
	h := http.Header{}
	spoofed := []string{"X-Paywall-User", "X-Paywall-Products", "x-paywall-user", "X_Paywall_User", "X_PAYWALL_PRODUCTS", "x-PAYWALL_anything"}
	kept := []string{"X-Paywallet", "X-Pay", "Authorization", "X-User", "X-Paywall"}
	for _, k := range append(spoofed, kept...) {
		h[k] = []string{"v"} // raw keys, as a server may see non-canonical ones
	}
	StripPaywallHeaders(h)
	for _, k := range spoofed {
		if _, ok := h[k]; ok {
			t.Errorf("%s survived", k)
		}
	}
	for _, k := range kept {
		if _, ok := h[k]; !ok {
			t.Errorf("%s was removed", k)
		}
	}
}

func TestIsMachine(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                      true,
		"application/json":                      true,
		"*/*":                                   true,
		"text/html":                             false,
		"text/html,application/xhtml+xml":       false,
		"application/json;q=1, text/html;q=0.5": false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := IsMachine(r); got != want {
			t.Errorf("Accept %q: IsMachine = %v, want %v", accept, got, want)
		}
	}
}

// The two upstream headers share one backing array: adding to one must
// never change the other.
func TestUpstreamHeadersAreIndependent(t *testing.T) {
	h := http.Header{}
	SetUpstreamHeaders(h, Decision{User: "alice", Held: []string{"pro", "course"}})
	h.Add("X-Paywall-User", "mallory")
	if got := h.Values("X-Paywall-Products"); len(got) != 1 || got[0] != "pro,course" {
		t.Fatalf("X-Paywall-Products = %q, want [pro,course]", got)
	}
	if got := h.Values("X-Paywall-User"); len(got) != 2 || got[0] != "alice" {
		t.Fatalf("X-Paywall-User = %q, want [alice mallory]", got)
	}
}

func TestStripPaywallHeadersFromConnection(t *testing.T) {
	h := http.Header{"Connection": {"keep-alive, X-Paywall-User", "x_paywall_products", "Upgrade"}}
	StripPaywallHeaders(h)
	if got := strings.Join(h["Connection"], "|"); got != "keep-alive|Upgrade" {
		t.Fatalf("Connection after stripping: %q", got)
	}
}

// Stripping allocates nothing when no header or Connection token names
// X-Paywall-* (the ungated path must stay allocation-free).
func TestStripPaywallHeadersAllocatesNothingWhenClean(t *testing.T) {
	h := http.Header{"Connection": {"Keep-Alive"}, "Accept": {"text/html"}, "X-User": {"alice"}}
	if n := testing.AllocsPerRun(100, func() { StripPaywallHeaders(h) }); n != 0 {
		t.Fatalf("StripPaywallHeaders allocated %v times per call, want 0", n)
	}
	if got := h["Connection"]; len(got) != 1 || got[0] != "Keep-Alive" {
		t.Fatalf("Connection changed: %q", got)
	}
}
