package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/console"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const sessionSecret = "0123456789abcdef0123456789abcdef-console"

var ctx = context.Background()

type fixture struct {
	gw    *gateway.Gateway
	store *store.Store
}

// newFixture is a gateway with the console on, on a real Redis under a
// prefix of its own; redisURL "" is the shared test server.
func newFixture(t *testing.T, redisURL string) *fixture {
	t.Helper()
	if redisURL == "" {
		redisURL = testenv.RedisURL(t)
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout, opt.ReadTimeout = 300*time.Millisecond, 300*time.Millisecond
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	st := store.New(rc, testenv.UniquePrefix())
	// The console never calls Stripe: a closed port.
	api := stripeclient.New("sk_test_123", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend,
		&stripe.BackendConfig{URL: stripe.String(fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))),
			MaxNetworkRetries: stripe.Int64(0), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})})
	products := catalog.Catalog{{ID: "pro", Name: "Pro articles", Prices: []string{"price_pro"}, Mode: "payment"}, {ID: "course", Prices: []string{"price_course"}, Mode: "subscription"}}
	c, err := console.New(console.Config{Admins: []string{"alice", "carol"}, BasePath: "/paywall",
		Products: catalog.Catalog{{ID: "pro", Name: "Pro articles"}, {ID: "course"}}, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{BasePath: "/paywall", Products: products,
		WebhookSecrets: []string{"whsec_test"}, SessionSecret: sessionSecret,
		LoginURL: "/login?next={http.paywall.return_to}"},
		gateway.Deps{Store: st, API: api, Applier: &events.Applier{Store: st, API: api}, Console: c})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{gw: gw, store: st}
}

// browser keeps cookies between requests.
type browser struct {
	f       *fixture
	user    string // the `user` placeholder's value
	machine bool
	cookies map[string]*http.Cookie
}

func (f *fixture) as(user string) *browser {
	return &browser{f: f, user: user, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(r *http.Request) *httptest.ResponseRecorder {
	if b.machine {
		r.Header.Set("Accept", "application/json")
	} else {
		r.Header.Set("Accept", "text/html")
	}
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.f.gw.ServeEndpoint(w, r, b.user, loginReplacer{new(string)})
	for _, c := range w.Result().Cookies() {
		b.cookies[c.Name] = c
	}
	return w
}

func (b *browser) get(path string) *httptest.ResponseRecorder {
	return b.do(httptest.NewRequest(http.MethodGet, path, nil))
}

func (b *browser) post(path string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf opens a user's page and returns the token its forms carry.
func (b *browser) csrf(t *testing.T, user string) string {
	t.Helper()
	w := b.get("/paywall/console/users?user=" + url.QueryEscape(user))
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if w.Code != 200 || m == nil {
		t.Fatalf("user page: %d, no csrf token:\n%s", w.Code, w.Body)
	}
	return m[1]
}

func TestOnlyAdminsGetIn(t *testing.T) {
	f := newFixture(t, "")
	pages := []string{"/paywall/console", "/paywall/console/", "/paywall/console/users?user=bob", "/paywall/console/events"}
	for _, p := range pages {
		if w := f.as("alice").get(p); w.Code != 200 {
			t.Errorf("admin alice, %s: %d", p, w.Code)
		}
		if w := f.as("carol").get(p); w.Code != 200 {
			t.Errorf("admin carol, %s: %d", p, w.Code)
		}
		w := f.as("bob").get(p)
		if w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "Live entitlements") {
			t.Errorf("signed-in non-admin, %s: %d", p, w.Code)
		}
		w = f.as("").get(p)
		if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
			t.Errorf("signed out, %s: %d %q, want the login redirect", p, w.Code, w.Header().Get("Location"))
		}
		m := f.as("")
		m.machine = true
		if w := m.get(p); w.Code != http.StatusUnauthorized {
			t.Errorf("machine, %s: %d, want 401", p, w.Code)
		}
		m = f.as("bob")
		m.machine = true
		if w := m.get(p); w.Code != http.StatusForbidden {
			t.Errorf("signed-in machine, not admin, %s: %d, want 403", p, w.Code)
		}
	}
	// An admin's name in another case is another user.
	if w := f.as("Alice").get("/paywall/console"); w.Code != http.StatusForbidden {
		t.Errorf("Alice: %d", w.Code)
	}
	// The non-admin cannot post either, with or without a token.
	if w := f.as("bob").post("/paywall/console/users/grant", url.Values{"user": {"bob"}, "product": {"pro"}}); w.Code != http.StatusForbidden {
		t.Errorf("non-admin grant: %d", w.Code)
	}
	if e, _ := f.store.Entitlements(ctx, "bob"); len(e.Grants) != 0 {
		t.Errorf("non-admin post changed something: %+v", e)
	}
}

func TestPagesCarrySecurityHeadersAndNoSecret(t *testing.T) {
	f := newFixture(t, "")
	b := f.as("alice")
	for _, p := range []string{"/paywall/console", "/paywall/console/users?user=bob", "/paywall/console/events"} {
		w := b.get(p)
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || !strings.Contains(csp, "form-action 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", p, w.Header().Get("Cache-Control"))
		}
		body := w.Body.String()
		if strings.Contains(body, sessionSecret) || strings.Contains(body, "paywall_session") {
			t.Errorf("%s: the page shows the secret or the cookie's name", p)
		}
		for _, c := range b.cookies {
			if strings.Contains(body, c.Value) {
				t.Errorf("%s: the page shows the cookie's value", p)
			}
		}
		for _, bad := range []string{"<script", "src=\"http", "href=\"http", "style=\""} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: page holds %q", p, bad)
			}
		}
		if n := strings.Count(body, "<h1"); n != 1 {
			t.Errorf("%s: %d h1", p, n)
		}
	}
}

func TestGrantAndRevokeAuditedWithTheAdmin(t *testing.T) {
	f := newFixture(t, "")
	b := f.as("alice")
	token := b.csrf(t, "dave")
	w := b.post("/paywall/console/users/grant", url.Values{"csrf_token": {token}, "user": {"dave"}, "product": {"pro"}, "for": {"30d"}})
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=grant") {
		t.Fatalf("grant: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	e, err := f.store.Entitlements(ctx, "dave")
	if err != nil || !e.Live("pro", time.Now()) {
		t.Fatalf("dave does not hold pro: %+v %v", e, err)
	}
	if exp := e.Grants[0].Expires; exp < time.Now().Add(29*24*time.Hour).Unix() || exp > time.Now().Add(31*24*time.Hour).Unix() {
		t.Errorf("30d grant expires at %d", exp)
	}
	page := b.get(w.Header().Get("Location")).Body.String()
	if !strings.Contains(page, "Granted Pro articles.") || !strings.Contains(page, "console:alice") {
		t.Errorf("user page after grant:\n%s", page)
	}

	w = b.post("/paywall/console/users/revoke", url.Values{"csrf_token": {token}, "user": {"dave"}, "product": {"pro"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d\n%s", w.Code, w.Body)
	}
	if e, _ := f.store.Entitlements(ctx, "dave"); e.Live("pro", time.Now()) {
		t.Fatal("dave still holds pro after the revoke")
	}
	audit, err := f.store.Audit(ctx, "dave", 0)
	if err != nil || len(audit) != 2 {
		t.Fatalf("audit: %+v %v", audit, err)
	}
	if audit[0].Action != "revoke" || audit[1].Action != "grant" || audit[0].Cause != "console:alice" || audit[1].Cause != "console:alice" {
		t.Errorf("audit: %+v", audit)
	}
	// The user's trail on the page, newest first, and in the events page.
	page = b.get("/paywall/console/users?user=dave").Body.String()
	if i, j := strings.Index(page, "<td>revoke</td>"), strings.Index(page, "<td>grant</td>"); i < 0 || j < 0 || i > j {
		t.Errorf("trail not newest first:\n%s", page)
	}
	page = b.get("/paywall/console/events?user=dave&action=revoke").Body.String()
	if !strings.Contains(page, "<td>revoke</td>") || strings.Contains(page, "<td>grant</td>") {
		t.Errorf("events filtered by user and action:\n%s", page)
	}
}

func TestForgedOrMissingCSRFChangesNothing(t *testing.T) {
	f := newFixture(t, "")
	b := f.as("alice")
	token := b.csrf(t, "erin")
	cases := map[string]func() *httptest.ResponseRecorder{
		"missing": func() *httptest.ResponseRecorder {
			return b.post("/paywall/console/users/grant", url.Values{"user": {"erin"}, "product": {"pro"}})
		},
		"forged": func() *httptest.ResponseRecorder {
			return b.post("/paywall/console/users/grant", url.Values{"csrf_token": {token + "x"}, "user": {"erin"}, "product": {"pro"}})
		},
		"another session's": func() *httptest.ResponseRecorder {
			other := f.as("alice")
			return other.post("/paywall/console/users/grant", url.Values{"csrf_token": {token}, "user": {"erin"}, "product": {"pro"}})
		},
		"cross-site": func() *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, "/paywall/console/users/grant",
				strings.NewReader(url.Values{"csrf_token": {token}, "user": {"erin"}, "product": {"pro"}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Origin", "https://evil.example")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return b.do(r)
		},
	}
	for name, do := range cases {
		if w := do(); w.Code != http.StatusForbidden {
			t.Errorf("%s token: %d, want 403", name, w.Code)
		}
	}
	// A revoke with a forged token leaves a grant standing.
	if _, err := f.store.AdminGrant(ctx, "test", "frank", "pro", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if w := b.post("/paywall/console/users/revoke", url.Values{"csrf_token": {"nope"}, "user": {"frank"}, "product": {"pro"}}); w.Code != http.StatusForbidden {
		t.Errorf("forged revoke: %d", w.Code)
	}
	if e, _ := f.store.Entitlements(ctx, "erin"); len(e.Grants) != 0 {
		t.Errorf("erin got %+v", e)
	}
	if e, _ := f.store.Entitlements(ctx, "frank"); !e.Live("pro", time.Now()) {
		t.Error("frank lost pro to a forged revoke")
	}
	if a, _ := f.store.Audit(ctx, "", 0); len(a) != 1 {
		t.Errorf("audit: %+v", a)
	}
}

func TestUnknownProductRefusedByName(t *testing.T) {
	f := newFixture(t, "")
	b := f.as("alice")
	token := b.csrf(t, "gina")
	for _, op := range []string{"grant", "revoke"} {
		w := b.post("/paywall/console/users/"+op, url.Values{"csrf_token": {token}, "user": {"gina"}, "product": {"<b>gold</b>"}})
		body := w.Body.String()
		if w.Code != http.StatusBadRequest || !strings.Contains(body, "There is no product &#34;&lt;b&gt;gold&lt;/b&gt;&#34;") {
			t.Errorf("%s unknown product: %d\n%s", op, w.Code, body)
		}
	}
	w := b.post("/paywall/console/users/grant", url.Values{"csrf_token": {token}, "user": {"gina"}, "product": {"pro"}, "for": {"soon"}})
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not a duration") {
		t.Errorf("bad for: %d", w.Code)
	}
	if a, _ := f.store.Audit(ctx, "", 0); len(a) != 0 {
		t.Errorf("audit: %+v", a)
	}
}

func TestUserIDShownEscaped(t *testing.T) {
	f := newFixture(t, "")
	evil := "<script>alert(1)</script>\x1b[31m\u202e"
	if _, err := f.store.AdminGrant(ctx, "test", evil, "pro", 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	b := f.as("alice")
	for _, p := range []string{"/paywall/console/users?user=" + url.QueryEscape(evil), "/paywall/console/events"} {
		body := b.get(p).Body.String()
		if strings.Contains(body, "<script") || strings.Contains(body, "\x1b") || strings.Contains(body, "\u202e") {
			t.Errorf("%s shows the id raw", p)
		}
		if !strings.Contains(body, `&lt;script&gt;alert(1)&lt;/script&gt;\x1b[31m\u202e`) {
			t.Errorf("%s does not show the id escaped:\n%s", p, body)
		}
	}
}

func TestRedisDownSaysSo(t *testing.T) {
	srv := testenv.StartRedis(t)
	f := newFixture(t, srv.URL())
	b := f.as("alice")
	token := b.csrf(t, "bob")
	srv.Stop()
	for _, p := range []string{"/paywall/console", "/paywall/console/users?user=bob", "/paywall/console/events"} {
		w := b.get(p)
		body := w.Body.String()
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, "Redis is unavailable") {
			t.Errorf("%s: %d\n%s", p, w.Code, body)
		}
		if strings.Contains(body, "<td class=\"n\">0</td>") || strings.Contains(body, "Holds no product") || strings.Contains(body, "No entries") {
			t.Errorf("%s shows zeros while Redis is down", p)
		}
	}
	w := b.post("/paywall/console/users/grant", url.Values{"csrf_token": {token}, "user": {"bob"}, "product": {"pro"}})
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "Nothing was changed") {
		t.Errorf("grant while Redis is down: %d", w.Code)
	}
}

// loginReplacer stands in for Caddy's replacer where the gateway resolves
// login_url: {http.paywall.return_to} becomes what it was set to.
type loginReplacer struct{ returnTo *string }

func (l loginReplacer) Set(name string, v any) {
	if name == "http.paywall.return_to" {
		s := fmt.Sprint(v)
		*l.returnTo = s
	}
}

func (l loginReplacer) ReplaceAll(s, empty string) string {
	return strings.ReplaceAll(s, "{http.paywall.return_to}", *l.returnTo)
}
