package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-paywall/caddy-paywall/internal/admin"
	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// echoUpstream is the site's pages: they say what the gateway told them.
func echoUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "page %s paywall_user=%q auth_user=%q seen_user=%q", r.URL.Path,
			r.Header.Get("X-Paywall-User"), r.Header.Get("X-Auth-User"), r.Header.Get("X-Seen-User"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// identitySite is a site whose login cookie "sid" holds the user name; it
// answers who is signed in as JSON (/me), as a header (/hdr), and can be
// made to fail (/down: 500; /slow: no answer).
func identitySite(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		c, err := r.Cookie("sid")
		switch r.URL.Path {
		case "/down":
			w.WriteHeader(http.StatusBadGateway)
			return
		case "/slow":
			<-release
			return
		}
		if err != nil || c.Value == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/hdr" {
			w.Header().Set("X-User", c.Value)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"username": c.Value, "id": 42}})
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv, &hits
}

func whoamiCaddy(t *testing.T, whoamiBlock, upstream string) string {
	t.Helper()
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startSite(t, fmt.Sprintf(`%s {
	paywall {
		stripe_secret_key sk_test_whoami
		stripe_webhook_secret %s
		stripe_api_url %s
		redis %s
		key_prefix %s
		session_secret whoami-session-secret-of-at-least-32-chars
		login_url /login?next={http.paywall.return_to}
		%s
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s {
		header_up X-Auth-User {http.auth.user.id}
		header_up X-Seen-User {http.paywall.user}
	}
}`, site, e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), whoamiBlock, upstream))
	testenv.WaitHTTP(t, site+"/paywall/healthz")
	return site
}

func TestWhoamiJSONAndHeaderThroughCaddy(t *testing.T) {
	idp, hits := identitySite(t)
	up := echoUpstream(t)
	for _, c := range []struct{ name, block string }{
		{"user_json", fmt.Sprintf("whoami %s/me {\n\t\t\tcookies sid\n\t\t\tuser_json user.username\n\t\t}", idp.URL)},
		{"user_header", fmt.Sprintf("whoami %s/hdr {\n\t\t\tuser_header X-User\n\t\t}", idp.URL)}, // every cookie
	} {
		t.Run(c.name, func(t *testing.T) {
			site := whoamiCaddy(t, c.block, up.Listener.Addr().String())
			alice := newBrowser(t, site)
			alice.setCookie("sid", "alice")
			alice.setCookie("theme", "dark")
			if p := alice.get("/premium/a"); p.status != http.StatusSeeOther {
				t.Fatalf("alice unpaid: %d", p.status)
			}
			sendWebhook(t, site, "evt_"+c.name, "cs_test_"+c.name, "pi_"+c.name, "alice", "pro")
			before := hits.Load()
			p := alice.get("/premium/a")
			want := `page /premium/a paywall_user="alice" auth_user="alice" seen_user="alice"`
			if p.status != 200 || p.body != want {
				t.Fatalf("alice paid: %d %s\nwant %s", p.status, p.body, want)
			}
			if p := alice.get("/free/x"); p.status != 200 || strings.Contains(p.body, "alice") {
				t.Fatalf("ungated: %s (ungated requests never ask, so nobody is known)", p.body)
			}
			if n := hits.Load() - before; n != 0 {
				t.Fatalf("%d requests to the site for a cached user and an ungated page", n)
			}
			nobody := newBrowser(t, site)
			nobody.setCookie("sid", "")
			if p := nobody.get("/premium/a"); p.status != http.StatusFound {
				t.Fatalf("401 from the site: %d, want the login redirect", p.status)
			}
		})
	}
}

// A site that fails or stalls: 503 on gated paths, promptly, and nothing
// cached; ungated paths are untouched.
func TestWhoamiUnavailable(t *testing.T) {
	idp, hits := identitySite(t)
	up := echoUpstream(t)
	for _, path := range []string{"/down", "/slow"} {
		t.Run(path, func(t *testing.T) {
			site := whoamiCaddy(t, fmt.Sprintf("whoami %s%s {\n\t\t\tcookies sid\n\t\t\tuser_json user.username\n\t\t\ttimeout 300ms\n\t\t}", idp.URL, path), up.Listener.Addr().String())
			b := newBrowser(t, site)
			b.setCookie("sid", "alice")
			before := hits.Load()
			for range 2 {
				if p := b.get("/premium/a"); p.status != http.StatusServiceUnavailable {
					t.Fatalf("%s: %d, want 503", path, p.status)
				}
			}
			if n := hits.Load() - before; n != 2 {
				t.Fatalf("%d requests to the site for 2 gated requests: an unavailable answer must not be cached", n)
			}
			if p := b.get("/free/x"); p.status != 200 {
				t.Fatalf("ungated while the site fails: %d", p.status)
			}
		})
	}
}

// TestHeaderIdentityPagesTrustOnlyTheCookie: with the README's forward_auth
// recipe covering only the gated paths, a client sending the header to
// the paywall's own pages is nobody there; the pages know the user only
// from the cookie the gate set.
func TestHeaderIdentityPagesTrustOnlyTheCookie(t *testing.T) {
	app := upstreamApp(t) // /whoami answers X-User from the app_session cookie
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startSite(t, fmt.Sprintf(`%s {
	forward_auth /premium/* %s {
		uri /whoami
		copy_headers X-User
	}
	paywall {
		stripe_secret_key sk_test_hdr
		stripe_webhook_secret %s
		stripe_api_url %s
		redis %s
		key_prefix %s
		session_secret header-session-secret-of-at-least-32-chars
		user {http.request.header.X-User}
		login_url /login?next={http.paywall.return_to}
		product pro {
			name "Pro articles"
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, app.Listener.Addr(), e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/paywall/healthz")

	// mallory sends alice's name straight to the paywall's pages.
	mallory := newBrowser(t, site)
	for _, path := range []string{"/paywall/pay?product=pro", "/paywall/portal", "/paywall/success?session_id=cs_test_x"} {
		r, _ := http.NewRequest(http.MethodGet, site+path, nil)
		r.Header.Set("Accept", "text/html")
		r.Header.Set("X-User", "alice")
		resp, err := mallory.c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/login") || strings.Contains(string(body), "alice") {
			t.Fatalf("%s with a made-up X-User: %d %q, want the login redirect", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	form := url.Values{"product": {"pro"}, "csrf_token": {"x"}, "nonce": {"y"}}
	if p := mallory.do(http.MethodPost, "/paywall/checkout", form); p.status == http.StatusSeeOther && strings.HasPrefix(p.location, "https://") {
		t.Fatalf("checkout with no paywall cookie made a Checkout Session")
	}

	// bob signs in on the app; the gate, where forward_auth ran, remembers
	// him in the paywall's cookie, and the pages know him from that alone,
	// whatever header he sends.
	bob := newBrowser(t, site)
	bob.setCookie("app_session", "bob")
	p := bob.get("/premium/a")
	if p.status != http.StatusSeeOther {
		t.Fatalf("bob unpaid: %d", p.status)
	}
	r, _ := http.NewRequest(http.MethodGet, site+p.location, nil)
	r.Header.Set("Accept", "text/html")
	r.Header.Set("X-User", "alice")
	resp, err := bob.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "bob") || strings.Contains(string(body), "alice") {
		t.Fatalf("pay page with bob's cookie and X-User alice: %d %s", resp.StatusCode, body)
	}

	// bob pays; a passing gated request keeps his cookie naming him even
	// if another user used this browser's paywall cookie before.
	sendWebhook(t, site, "evt_hdr_bob", "cs_test_hdr_bob", "pi_hdr_bob", "bob", "pro")
	carol := newBrowser(t, site)
	carol.setCookie("app_session", "carol")
	if p := carol.get("/premium/a"); p.status != http.StatusSeeOther { // cookie: carol
		t.Fatalf("carol: %d", p.status)
	}
	carol.setCookie("app_session", "bob") // bob signs in on carol's browser
	if p := carol.get("/premium/a"); p.status != 200 {
		t.Fatalf("bob paid: %d", p.status)
	}
	if p := carol.get("/paywall/portal"); strings.Contains(p.body, "carol") {
		t.Fatalf("the portal still names the previous user: %d %s", p.status, p.body)
	}
}

func TestHeaderIdentityWarnsAtStartUp(t *testing.T) {
	for _, c := range []struct {
		user string
		warn bool
	}{
		{"{http.request.header.X-User}", true},
		{"{http.request.cookie.user}", true},
		{"user-{http.request.header.X-Remote-User}", true},
		{"{http.auth.user.id}", false},
		{"{http.vars.user}", false},
	} {
		core, logs := observer.New(zap.WarnLevel)
		p := &Paywall{User: c.user, logger: zap.New(core)}
		if err := p.provisionIdentity(nil); err != nil {
			t.Fatal(err)
		}
		warned := logs.FilterMessageSnippet("a header identity is only as safe as the layer that sets it").Len() == 1
		if warned != c.warn || p.headerIdentity != c.warn {
			t.Errorf("user %s: warned %v, header identity %v; want %v", c.user, warned, p.headerIdentity, c.warn)
		}
	}
}

// lenientUpstream serves a path the way lenient servers do: ";params" cut
// (Tomcat), trailing dots and spaces cut (Windows), decoded twice, "\" as
// "/". Whatever it then reads under /premium/ is the paid page.
func lenientUpstream(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var paid atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
		p = strings.ReplaceAll(p, `\`, "/")
		segs := strings.Split(p, "/")
		for i, s := range segs {
			s, _, _ = strings.Cut(s, ";")
			if s != "." && s != ".." {
				s = strings.TrimRight(s, ". ")
			}
			segs[i] = s
		}
		p = strings.ToLower(strings.Join(segs, "/"))
		for strings.Contains(p, "/../") {
			p = regexp.MustCompile(`/[^/]*/\.\./`).ReplaceAllString(p, "/")
		}
		if strings.HasPrefix(p, "/premium/") {
			paid.Add(1)
			fmt.Fprintf(w, "PAID CONTENT for %q", r.Header.Get("X-Paywall-User"))
			return
		}
		if p == "/whoami" {
			return // nobody: forward_auth's 2xx without X-User
		}
		fmt.Fprintf(w, "free page %s", p)
	}))
	t.Cleanup(srv.Close)
	return srv, &paid
}

// TestLenientPathsAreRefused: the README's forward_auth recipe, a client
// that sends a payer's X-User itself, and paths that Caddy's path matcher
// (so forward_auth) does not see as gated but a lenient upstream serves as
// the paid page: 400, counted, and the upstream never sees them.
func TestLenientPathsAreRefused(t *testing.T) {
	app, paid := lenientUpstream(t)
	adminPort := testenv.FreePort(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startCaddy(t, fmt.Sprintf(`{
	admin 127.0.0.1:%d
	auto_https off
	persist_config off
}
%s {
	@members {
		path /premium/* /paywall/*
		not path /paywall/webhook /paywall/healthz
	}
	forward_auth @members %s {
		uri /whoami
		copy_headers X-User
	}
	paywall {
		stripe_secret_key sk_test_lenient
		stripe_webhook_secret %s
		stripe_api_url %s
		redis %s
		key_prefix %s
		session_secret lenient-session-secret-of-at-least-32-chars
		user {http.request.header.X-User}
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, adminPort, site, app.Listener.Addr(), e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/paywall/healthz")
	sendWebhook(t, site, "evt_lenient_alice", "cs_test_lenient_alice", "pi_lenient_alice", "alice", "pro")

	raw := func(target string) (int, string) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodGet, site+"/", nil)
		r.URL.Opaque = target // sent exactly as written
		r.Header.Set("X-User", "alice")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	targets := []string{
		"/free/..;/premium/x",
		"/premium;jsessionid=1/x",
		"/premium./x",
		"/premium%20/x",
		"/premium%252Fx",
		"/premium%5Cx",
		"/free/%2e%2e;/premium/x",
	}
	for _, target := range targets {
		if status, body := raw(target); status != http.StatusBadRequest {
			t.Errorf("%s with a spoofed X-User: %d %s, want 400", target, status, body)
		}
	}
	if n := paid.Load(); n != 0 {
		t.Fatalf("the lenient upstream served the paid page %d times", n)
	}
	// Caddy's own reading of a gated path goes through forward_auth, which
	// replaces the spoofed header (the app says: nobody).
	if status, _ := raw("/premium/x"); status != http.StatusUnauthorized {
		t.Fatalf("/premium/x with a spoofed X-User: %d, want 401 (no user)", status)
	}
	if status, body := raw("/free/a;b"); status != 200 || body != "free page /free/a" {
		t.Fatalf("a ;param on a free path: %d %s", status, body)
	}

	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf("caddy_paywall_lenient_paths_refused_total %d", len(targets))
	if !strings.Contains(string(metrics), want) {
		t.Fatalf("metrics lack %q:\n%s", want, grepLines(string(metrics), "paywall"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDoctorChecksWhoami(t *testing.T) {
	idp, _ := identitySite(t)
	open := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"user": map[string]any{"username": "guest"}})
	}))
	t.Cleanup(open.Close)
	for _, c := range []struct {
		url, status, detail string
	}{
		{idp.URL + "/me", "ok", "a request without cookies is signed out"},
		{open.URL + "/me", "error", `names "guest" for a request without any cookie`},
		{idp.URL + "/down", "error", "answered 502"},
	} {
		p := &Paywall{Whoami: &WhoamiConfig{URL: c.url, UserJSON: "user.username"}, BasePath: "/paywall"}
		var d admin.Doctor
		var warn strings.Builder
		if err := p.doctorIdentity(&d, "", &warn); err != nil {
			t.Fatal(err)
		}
		checks := d.IdentityChecks(t.Context())
		if len(checks) != 1 || checks[0].Status != c.status || !strings.Contains(checks[0].Detail, c.detail) {
			t.Errorf("%s: %+v, want %s with %q", c.url, checks, c.status, c.detail)
		}
	}
}

func TestDoctorProbesHeaderIdentity(t *testing.T) {
	// A gateway that trusts the header on its pages (what doctor must
	// catch) and one that does not (this paywall).
	trusting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<p>Paying as %s</p>", r.Header.Get("X-User"))
	}))
	t.Cleanup(trusting.Close)
	app := upstreamApp(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	startSite(t, fmt.Sprintf(`%s {
	forward_auth /premium/* %s {
		uri /whoami
		copy_headers X-User
	}
	paywall {
		stripe_secret_key sk_test_probe
		stripe_webhook_secret %s
		stripe_api_url %s
		redis %s
		key_prefix %s
		session_secret probe-session-secret-of-at-least-32-chars
		user {http.request.header.X-User}
		product pro {
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, app.Listener.Addr(), e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), app.Listener.Addr()))
	testenv.WaitHTTP(t, site+"/paywall/healthz")

	for _, c := range []struct {
		base, status string
	}{
		{site, "ok"},
		{trusting.URL, "error"},
	} {
		p := &Paywall{User: "{http.request.header.X-User}", BasePath: "/paywall", Products: catalog.Catalog{{ID: "pro"}}}
		var d admin.Doctor
		var warn strings.Builder
		if err := p.doctorIdentity(&d, c.base+"/paywall/webhook", &warn); err != nil {
			t.Fatal(err)
		}
		checks := d.IdentityChecks(t.Context())
		if len(checks) != 1 || checks[0].Status != c.status {
			t.Errorf("%s: %+v, want %s", c.base, checks, c.status)
		}
	}
	// Without the gateway's URL doctor cannot probe, and says how to.
	p := &Paywall{User: "{http.request.header.X-User}", BasePath: "/paywall"}
	var d admin.Doctor
	var warn strings.Builder
	if err := p.doctorIdentity(&d, "", &warn); err != nil || d.HeaderProbe != nil || !strings.Contains(warn.String(), "pass --url") {
		t.Fatalf("no --url: %v %+v %q", err, d.HeaderProbe, warn.String())
	}
}

// whoami sets {http.paywall.user}, and {http.auth.user.id} only when no
// authentication module set it first.
func TestWhoamiSetsPlaceholders(t *testing.T) {
	idp, _ := identitySite(t)
	p := &Paywall{Whoami: &WhoamiConfig{URL: idp.URL + "/me", Cookies: []string{"sid"}, UserJSON: "user.username"}}
	r, err := p.Whoami.resolver()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	p.whoami = r
	for _, preset := range []string{"", "basic-bob"} {
		repl := caddy.NewReplacer()
		if preset != "" {
			repl.Set("http.auth.user.id", preset)
		}
		req := httptest.NewRequest(http.MethodGet, "http://shop.example/premium/a", nil)
		req.AddCookie(&http.Cookie{Name: "sid", Value: "alice"})
		if u, err := p.gateUser(req, repl); err != nil || u != "alice" {
			t.Fatalf("gateUser: %q, %v", u, err)
		}
		want := preset
		if want == "" {
			want = "alice"
		}
		if v, _ := repl.GetString("http.auth.user.id"); v != want {
			t.Errorf("preset %q: {http.auth.user.id} = %q, want %q", preset, v, want)
		}
		if v, _ := repl.GetString("http.paywall.user"); v != "alice" {
			t.Errorf("{http.paywall.user} = %q, want alice", v)
		}
	}
}
