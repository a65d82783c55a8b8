package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/meter"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// Free views and crawlers: parsing, validation, the handler in process
// and `show`. The whole server is in selling_e2e_test.go.

const sellingHead = "paywall {\n" +
	"\tstripe_secret_key     sk_test_123\n" +
	"\tstripe_webhook_secret whsec_123\n" +
	"\tsession_secret        0123456789abcdef0123456789abcdef\n"

func TestSellingCaddyfile(t *testing.T) {
	input := sellingHead + `	crawlers google bing {
		resolver 127.0.0.1:5353
	}
	product club {
		price      price_club
		mode       subscription
		free_views 3 per 720h
		paths      /club/*
	}
	product pro {
		price      price_pro
		free_views 1 per 30d
		paths      /premium/*
	}
}`
	var got Paywall
	if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err != nil {
		t.Fatal(err)
	}
	want := &Crawlers{Names: []string{"google", "bing"}, Resolver: "127.0.0.1:5353"}
	if !reflect.DeepEqual(got.Crawlers, want) {
		t.Fatalf("crawlers %+v", got.Crawlers)
	}
	if fv := got.Products[0].FreeViews; fv == nil || *fv != (catalog.FreeViews{Views: 3, Per: catalog.Duration(720 * time.Hour)}) {
		t.Fatalf("club free_views %+v", fv)
	}
	if fv := got.Products[1].FreeViews; fv == nil || *fv != (catalog.FreeViews{Views: 1, Per: catalog.Duration(30 * 24 * time.Hour)}) {
		t.Fatalf("pro free_views %+v", fv)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}

	// Without a block, the system resolver.
	got = Paywall{}
	if err := got.UnmarshalCaddyfile(caddyfile.NewTestDispenser(sellingHead + "\tcrawlers google\n}")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Crawlers, &Crawlers{Names: []string{"google"}}) {
		t.Fatalf("crawlers %+v", got.Crawlers)
	}
}

func TestSellingCaddyfileErrors(t *testing.T) {
	product := func(line string) string {
		return sellingHead + "\tproduct club {\n\t\tprice price_club\n\t\t" + line + "\n\t\tpaths /club/*\n\t}\n}"
	}
	for _, tc := range []struct{ name, input, want string }{
		// free_views: the problem is on line 7
		{"free views zero", product("free_views 0 per 720h"),
			`product "club": free_views: must be at least 1, got 0 (leave free_views out for no free views), at Testfile:7`},
		{"free views negative", product("free_views -2 per 720h"),
			`product "club": free_views: must be at least 1, got -2 (leave free_views out for no free views), at Testfile:7`},
		{"free views not a number", product("free_views three per 720h"),
			`product "club": free_views: invalid number "three" (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views missing value", product("free_views"),
			`product "club": free_views: missing value (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views missing per", product("free_views 3"),
			`product "club": free_views: missing per (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views without the word per", product("free_views 3 720h"),
			`product "club": free_views: unexpected "720h" after the number (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views missing duration", product("free_views 3 per"),
			`product "club": free_views: missing the duration after per (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views malformed duration", product("free_views 3 per 30x"),
			`product "club": free_views: invalid per duration "30x" (want a number and a unit, such as 720h or 30d), at Testfile:7`},
		{"free views zero duration", product("free_views 3 per 0s"),
			`product "club": free_views: per must be more than 0, got "0s", at Testfile:7`},
		{"free views negative duration", product("free_views 3 per -720h"),
			`product "club": free_views: per must be more than 0, got "-720h", at Testfile:7`},
		{"free views too many values", product("free_views 3 per 720h or so"),
			`product "club": free_views: too many values (want N per DURATION, such as 3 per 720h), at Testfile:7`},
		{"free views block", product("free_views 3 per 720h {\n\t\t}"),
			`product "club": free_views: unexpected '{': this option takes no block, at Testfile:7`},
		{"free views twice", sellingHead + "\tproduct club {\n\t\tfree_views 1 per 1h\n\t\tfree_views 2 per 1h\n\t}\n}",
			`product "club": free_views: set twice (first at Testfile:6), at Testfile:7`},
		{"free views misspelt", product("free_view 3 per 720h"),
			`product "club": unrecognized option "free_view" (did you mean "free_views"?), at Testfile:7`},

		// crawlers: the problem is on line 5 (or in its block)
		{"crawlers missing value", sellingHead + "\tcrawlers\n}",
			`crawlers: missing value (want one or more of bing, google), at Testfile:5`},
		{"crawlers unknown name", sellingHead + "\tcrawlers google yandex\n}",
			`crawlers: unknown crawler "yandex" (known: bing, google), at Testfile:5`},
		{"crawlers name in capitals", sellingHead + "\tcrawlers Google\n}",
			`crawlers: unknown crawler "Google" (known: bing, google), at Testfile:5`},
		{"crawlers named twice", sellingHead + "\tcrawlers google google\n}",
			`crawlers: "google" named twice, at Testfile:5`},
		{"crawlers twice", sellingHead + "\tcrawlers google\n\tcrawlers bing\n}",
			`crawlers: set twice (first at Testfile:5), at Testfile:6`},
		{"resolver without port", sellingHead + "\tcrawlers google {\n\t\tresolver 127.0.0.1\n\t}\n}",
			`crawlers: resolver: want host:port, such as 127.0.0.1:53, got "127.0.0.1", at Testfile:6`},
		{"resolver missing", sellingHead + "\tcrawlers google {\n\t\tresolver\n\t}\n}",
			`crawlers: resolver: missing value, at Testfile:6`},
		{"resolver twice", sellingHead + "\tcrawlers google {\n\t\tresolver 127.0.0.1:53\n\t\tresolver 127.0.0.1:54\n\t}\n}",
			`crawlers: resolver: set twice (first at Testfile:6), at Testfile:7`},
		{"crawlers unknown option", sellingHead + "\tcrawlers google {\n\t\tresolvers 127.0.0.1:53\n\t}\n}",
			`crawlers: unrecognized option "resolvers" (did you mean "resolver"?), at Testfile:6`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Paywall
			err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.input))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestSellingValidateJSON(t *testing.T) {
	base := func() Paywall {
		return Paywall{StripeSecretKey: "sk_test_1", StripeWebhookSecrets: []string{"whsec_1"},
			SessionSecret: "0123456789abcdef0123456789abcdef",
			Products:      catalog.Catalog{{ID: "club", Price: "price_club", Paths: []string{"/club/*"}}}}
	}
	for _, tc := range []struct {
		name string
		set  func(p *Paywall)
		want string
	}{
		{"no views", func(p *Paywall) { p.Products[0].FreeViews = &catalog.FreeViews{Per: catalog.Duration(time.Hour)} },
			`paywall: product "club": free_views: views must be at least 1 (leave free_views out for no free views)`},
		{"negative views", func(p *Paywall) {
			p.Products[0].FreeViews = &catalog.FreeViews{Views: -1, Per: catalog.Duration(time.Hour)}
		},
			`paywall: product "club": free_views: views must be at least 1 (leave free_views out for no free views)`},
		{"no per", func(p *Paywall) { p.Products[0].FreeViews = &catalog.FreeViews{Views: 3} },
			`paywall: product "club": free_views: per is required and must be more than 0, such as 720h`},
		{"no crawler", func(p *Paywall) { p.Crawlers = &Crawlers{} },
			`paywall: crawlers: names is required (bing, google)`},
		{"unknown crawler", func(p *Paywall) { p.Crawlers = &Crawlers{Names: []string{"duckduckgo"}} },
			`paywall: crawlers: unknown crawler "duckduckgo" (known: bing, google)`},
		{"bad resolver", func(p *Paywall) { p.Crawlers = &Crawlers{Names: []string{"bing"}, Resolver: "dns.example"} },
			`paywall: crawlers: resolver: want host:port, such as 127.0.0.1:53, got "dns.example"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := base()
			tc.set(&p)
			if err := p.Validate(); err == nil || err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
	// Provision, which Caddy runs before Validate, refuses an unknown
	// crawler too.
	p := base()
	p.Crawlers = &Crawlers{Names: []string{"yahoo"}}
	err := p.Provision(newCaddyContext(t))
	defer p.Cleanup()
	if err == nil || !strings.Contains(err.Error(), `unknown crawler "yahoo"`) {
		t.Fatalf("provision: %v", err)
	}
}

// sellingPaywall provisions a paywall as Caddy would: user from X-User,
// "pro" on /premium/* with 2 free views per 720h, "course" on /course/*
// without, crawlers google and bing verified by dnsAddr.
func sellingPaywall(t *testing.T, redisURL, dnsAddr string) *Paywall {
	t.Helper()
	p := &Paywall{
		StripeSecretKey: "sk_test_selling", StripeWebhookSecrets: []string{"whsec_selling"},
		StripeAPIURL:  "http://127.0.0.1:1", // closed: nothing here may call Stripe
		SessionSecret: "selling-session-secret-of-32-chars-or-more",
		Redis:         redisURL, KeyPrefix: testenv.UniquePrefix(),
		User:     "{http.request.header.X-User}",
		LoginURL: "/login?next={http.paywall.return_to}",
		Crawlers: &Crawlers{Names: []string{"google", "bing"}, Resolver: dnsAddr},
		Products: catalog.Catalog{
			{ID: "pro", Price: "price_pro", Paths: []string{"/premium/*"}, FreeViews: &catalog.FreeViews{Views: 2, Per: catalog.Duration(720 * time.Hour)}},
			{ID: "course", Price: "price_course", Paths: []string{"/course/*"}},
		},
	}
	provisioned(t, p)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// seen is what the upstream was told.
type seen struct {
	called bool
	header http.Header
}

func (s *seen) next() caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		s.called, s.header = true, r.Header.Clone()
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

func serveSelling(t *testing.T, p *Paywall, path, user, ua, remote string) (*httptest.ResponseRecorder, *seen) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://example.com"+path, nil)
	r.Header.Set("Accept", "text/html")
	if user != "" {
		r.Header.Set("X-User", user)
	}
	if ua != "" {
		r.Header.Set("User-Agent", ua)
	}
	r.Header.Set("X-Forwarded-For", "66.249.66.1") // never believed
	r.Header.Set("X-Paywall-Free-View", "1 of 99") // spoofed: stripped
	r.Header.Set("X-Paywall-Crawler", "google")    // spoofed: stripped
	r.RemoteAddr = remote
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), w, nil)
	s := &seen{}
	if err := p.ServeHTTP(w, r, s.next()); err != nil {
		t.Fatal(err)
	}
	return w, s
}

func TestHandlerFreeViews(t *testing.T) {
	p := sellingPaywall(t, testenv.RedisURL(t), testenv.StartDNS(t).Addr)
	const remote = "198.51.100.7:4000"
	for i, s := range []struct {
		path   string
		status int
		header string
	}{
		{"/premium/a", 200, "1 of 2"},
		{"/premium/a", 200, "1 of 2"},
		{"/premium/b", 200, "2 of 2"},
		{"/premium/c", http.StatusSeeOther, ""},
		{"/course/a", http.StatusSeeOther, ""}, // no free views for this product
	} {
		w, up := serveSelling(t, p, s.path, "bob", "Firefox", remote)
		if w.Code != s.status || up.called != (s.status == 200) {
			t.Fatalf("step %d %s: %d (upstream called %v), want %d", i, s.path, w.Code, up.called, s.status)
		}
		if s.status != 200 {
			if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "/paywall/pay?product=") {
				t.Fatalf("step %d: Location %q", i, loc)
			}
			continue
		}
		if got := up.header.Get("X-Paywall-Free-View"); got != s.header {
			t.Fatalf("step %d: X-Paywall-Free-View %q, want %q", i, got, s.header)
		}
		if up.header.Get("X-Paywall-User") != "bob" || up.header.Values("X-Paywall-Products") != nil || up.header.Values("X-Paywall-Crawler") != nil {
			t.Fatalf("step %d: upstream headers %v", i, up.header)
		}
		if cc := w.Header().Get("Cache-Control"); cc != "private, max-age=600" {
			t.Fatalf("step %d: Cache-Control %q", i, cc)
		}
	}
	// Signed out: the login redirect as before.
	if w, up := serveSelling(t, p, "/premium/z", "", "Firefox", remote); w.Code != http.StatusFound || up.called {
		t.Fatalf("signed out: %d", w.Code)
	}
}

func TestHandlerCrawlers(t *testing.T) {
	dns := testenv.StartDNS(t)
	dns.Host("crawl-192-0-2-1.googlebot.com", "192.0.2.1")
	dns.Host("msnbot-192-0-2-3.search.msn.com", "192.0.2.3")
	p := sellingPaywall(t, testenv.RedisURL(t), dns.Addr)
	const googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	const bingbot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"

	w, up := serveSelling(t, p, "/premium/a", "", googlebot, "192.0.2.1:4000")
	if w.Code != 200 || up.header.Get("X-Paywall-Crawler") != "google" || w.Header().Get("Cache-Control") != "private, max-age=600" {
		t.Fatalf("googlebot: %d %v %q", w.Code, up.header, w.Header().Get("Cache-Control"))
	}
	if up.header.Get("X-Paywall-User") != "" || up.header.Get("X-Paywall-Free-View") != "" {
		t.Fatalf("googlebot: upstream headers %v", up.header)
	}
	w, up = serveSelling(t, p, "/course/a", "", bingbot, "192.0.2.3:4000")
	if w.Code != 200 || up.header.Get("X-Paywall-Crawler") != "bing" {
		t.Fatalf("bingbot: %d %v", w.Code, up.header)
	}
	// Verified: no DNS query after the first.
	q := dns.Queries()
	for range 5 {
		serveSelling(t, p, "/premium/b", "", googlebot, "192.0.2.1:4001")
	}
	if dns.Queries() != q {
		t.Fatalf("%d DNS queries for a verified crawler", dns.Queries()-q)
	}
	// A claim from elsewhere (X-Forwarded-For names Google; never read)
	// is an anonymous visitor: the login redirect.
	if w, up := serveSelling(t, p, "/premium/a", "", googlebot, "198.51.100.7:4000"); w.Code != http.StatusFound || up.called {
		t.Fatalf("forged googlebot: %d", w.Code)
	}
	// DNS failing: not verified, no error page.
	dns.Fail(true)
	if w, up := serveSelling(t, p, "/premium/a", "", bingbot, "192.0.2.44:4000"); w.Code != http.StatusFound || up.called {
		t.Fatalf("DNS failing: %d", w.Code)
	}
	// Ungated paths never ask DNS.
	q = dns.Queries()
	if w, _ := serveSelling(t, p, "/free", "", googlebot, "192.0.2.45:4000"); w.Code != 200 || dns.Queries() != q {
		t.Fatalf("ungated: %d, %d queries", w.Code, dns.Queries()-q)
	}
}

func TestHandlerFreeViewRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	p := sellingPaywall(t, r.URL(), testenv.StartDNS(t).Addr)
	w, _ := serveSelling(t, p, "/premium/a", "bob", "Firefox", "198.51.100.7:4000")
	if w.Code != 200 {
		t.Fatalf("Redis up: %d", w.Code)
	}
	r.Stop()
	w, up := serveSelling(t, p, "/premium/b", "bob", "Firefox", "198.51.100.7:4000")
	if w.Code != http.StatusServiceUnavailable || up.called {
		t.Fatalf("Redis down: %d (upstream called %v), want 503", w.Code, up.called)
	}
	// A page counted before is no free pass either while Redis is down.
	w, up = serveSelling(t, p, "/premium/a", "bob", "Firefox", "198.51.100.7:4000")
	if w.Code != http.StatusServiceUnavailable || up.called {
		t.Fatalf("Redis down, counted page: %d, want 503", w.Code)
	}
}

func TestCLIShowFreeViews(t *testing.T) {
	redisURL := testenv.RedisURL(t)
	prefix := testenv.UniquePrefix()
	config := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`shop.example.com {
	paywall {
		stripe_secret_key     sk_test_cli
		stripe_webhook_secret whsec_cli
		stripe_api_url        http://127.0.0.1:1
		redis                 %s
		key_prefix            %s
		session_secret        cli-session-secret-of-at-least-32-chars
		product club {
			price      price_club
			free_views 3 per 720h
			paths      /club/*
		}
	}
	respond "hi"
}
`, redisURL, prefix)), 0o600); err != nil {
		t.Fatal(err)
	}
	opt, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(opt)
	defer rc.Close()
	m := meter.New(rc, prefix)
	now := time.Now()
	for _, page := range []string{"/club/first", "/club/second"} {
		if _, err := m.Count(context.Background(), "bob", "club", page, meter.Limit{Views: 3, Per: 720 * time.Hour}, now); err != nil {
			t.Fatal(err)
		}
	}
	e := &cliEnv{t: t, config: config}
	out := e.expect(0, "2 of 3", "show", "--user", "bob")
	if !strings.Contains(out, "/club/first") || !strings.Contains(out, "/club/second") ||
		!strings.Contains(out, now.Add(720*time.Hour).UTC().Format("2006-01-02T15:04")) {
		t.Fatalf("show lacks the counted pages or the renewal:\n%s", out)
	}
	out = e.expect(0, `"free_views"`, "show", "--user", "bob", "--json")
	var doc struct {
		FreeViews []struct {
			Product string `json:"product"`
			Used    int    `json:"used"`
			Limit   int    `json:"limit"`
		} `json:"free_views"`
	}
	// The output mixes Caddy's log lines (stderr) with the JSON document.
	if i := strings.Index(out, "\n{\n"); i >= 0 {
		out = out[i+1:]
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.FreeViews) != 1 || doc.FreeViews[0].Used != 2 || doc.FreeViews[0].Limit != 3 {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
	e.expect(0, "has never bought or been granted anything", "show", "--user", "carol")
}
