package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// hostileReturns are paths a browser reads as another host, or that carry
// a header break once decoded.
var hostileReturns = []string{
	"//evil.com/premium/a", "/\\evil.com", "/%5Cevil.com", "/%2F%2Fevil.com", "https://evil.com/",
	"/premium/%0d%0aSet-Cookie:x", "///evil.com", "/\tevil.com",
}

// Every URL the gateway builds from a request stays on the site: each
// place is named here, and each is given every hostile return path.
func TestEveryBuiltURLIsSameOrigin(t *testing.T) {
	fake := newSameOriginStripe(t)
	f := newFixture(t, fixtureOpts{stripeURL: fake.srv.URL})
	now := time.Now()
	if _, err := f.store.Grant(context.Background(), store.GrantRequest{
		Meta: store.Meta{Cause: "test", Created: now.Unix(), Now: now},
		User: "carol", Product: "course", Source: "sub_carol", Customer: "cus_carol",
	}); err != nil {
		t.Fatal(err)
	}

	// Each place returns the URL it built for a visitor whose return path
	// is hostile (in the request, the query, or a session cookie written
	// before the path was checked).
	places := []struct {
		name  string
		build func(t *testing.T, hostile string) string
	}{
		{"login redirect {http.paywall.return_to}", func(t *testing.T, hostile string) string {
			return ReturnTo(requestFor(t, hostile))
		}, // the Caddy handler builds login_url from ReturnTo (caddymodule tests the placeholder)
		},
		{"endpoint login redirect", func(t *testing.T, hostile string) string {
			repl := testReplacer{}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/paywall/pay?product=pro", nil)
			r.Header.Set("Accept", "text/html")
			f.gw.ServeEndpoint(w, r, "", repl)
			if w.Code != http.StatusFound {
				t.Fatalf("endpoint login: %d", w.Code)
			}
			got, err := url.QueryUnescape(repl["http.paywall.return_to"])
			if err != nil {
				t.Fatal(err)
			}
			return got
		}},
		{"gate's pay redirect return_to", func(t *testing.T, hostile string) string {
			r := requestFor(t, hostile)
			r.Header.Set("Accept", "text/html")
			w := httptest.NewRecorder()
			f.gw.Deny(w, r, Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, nil)
			return queryOf(t, w.Header().Get("Location"), "return_to")
		}},
		{"402 pay_url return_to", func(t *testing.T, hostile string) string {
			r := requestFor(t, hostile)
			r.Header.Set("Accept", "application/json")
			w := httptest.NewRecorder()
			f.gw.Deny(w, r, Decision{Outcome: Pay, User: "bob", Products: []string{"pro"}}, nil)
			var body struct {
				PayURL string `json:"pay_url"`
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			return queryOf(t, body.PayURL, "return_to")
		}},
		{"pay page return_to", func(t *testing.T, hostile string) string {
			return openPayPage(t, f, newBrowser(), "bob", "product=pro&return_to="+url.QueryEscape(hostile)).Get("return_to")
		}},
		{"already-paid redirect from the pay page", func(t *testing.T, hostile string) string {
			b := browserWithReturnTo(t, f, "carol", hostile)
			w := b.do(t, f.endpoint("carol"), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=course", nil))
			return w.Header().Get("Location")
		}},
		{"success redirect", func(t *testing.T, hostile string) string {
			b := browserWithReturnTo(t, f, "alice", hostile)
			w := b.do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/success?session_id=cs_sameorigin", nil))
			if w.Code != http.StatusSeeOther {
				t.Fatalf("success: %d %s", w.Code, w.Body)
			}
			return w.Header().Get("Location")
		}},
		{"cancel page's pay link", func(t *testing.T, hostile string) string {
			b := browserWithReturnTo(t, f, "bob", hostile)
			w := b.do(t, f.endpoint("bob"), httptest.NewRequest(http.MethodGet, "/paywall/cancel?product=pro", nil))
			link := hrefContaining(w.Body.String(), "/paywall/pay?")
			if link == "" {
				t.Fatalf("cancel page has no pay link: %s", w.Body)
			}
			return queryOf(t, link, "return_to")
		}},
		{"portal return_url", func(t *testing.T, hostile string) string {
			b := browserWithReturnTo(t, f, "carol", hostile)
			w := b.do(t, f.endpoint("carol"), httptest.NewRequest(http.MethodGet, "http://shop.test/paywall/portal", nil))
			if w.Code != http.StatusSeeOther {
				t.Fatalf("portal: %d %s", w.Code, w.Body)
			}
			u, err := url.Parse(fake.lastReturnURL())
			if err != nil || u.Host != "shop.test" {
				t.Fatalf("portal return_url %q is not on the site", fake.lastReturnURL())
			}
			return u.RequestURI()
		}},
	}
	for _, p := range places {
		for _, hostile := range hostileReturns {
			t.Run(p.name+"/"+hostile, func(t *testing.T) {
				if got := p.build(t, hostile); !sameSitePath(got) {
					t.Errorf("built %q from %q: a browser leaves the site", got, hostile)
				}
			})
		}
	}
}

// sameSitePath: empty (nothing carried) or a path on this site.
func sameSitePath(s string) bool {
	if s == "" {
		return true
	}
	dec, _ := url.PathUnescape(s)
	for _, v := range []string{s, dec} {
		if !strings.HasPrefix(v, "/") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "/\\") ||
			strings.ContainsAny(v, "\r\n\t") {
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.Host == "" && u.Scheme == ""
}

func requestFor(t *testing.T, uri string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://shop.test/", nil)
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		u = &url.URL{Path: uri}
	}
	r.URL, r.RequestURI = u, uri
	return r
}

func queryOf(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	return u.Query().Get(key)
}

// browserWithReturnTo is a visitor whose session cookie holds hostile as
// its return path, as a cookie written by an older, laxer version could.
func browserWithReturnTo(t *testing.T, f *fixture, user, hostile string) *browser {
	t.Helper()
	b := newBrowser()
	b.do(t, func(w http.ResponseWriter, r *http.Request) {
		sess, _ := f.gw.sessions.load(r)
		f.gw.sessions.save(w, r, sess, sessionData{User: user, ReturnTo: hostile})
	}, httptest.NewRequest(http.MethodGet, "/", nil))
	return b
}

func hrefContaining(body, part string) string {
	for _, chunk := range strings.Split(body, `href="`)[1:] {
		v, _, _ := strings.Cut(chunk, `"`)
		if v = htmlUnescape(v); strings.Contains(v, part) {
			return v
		}
	}
	return ""
}

// sameOriginStripe answers the two calls these pages make: a paid
// Checkout Session of alice's, and a Billing Portal session whose
// return_url it keeps.
type sameOriginStripe struct {
	srv *httptest.Server
	mu  sync.Mutex
	ret string
}

func newSameOriginStripe(t *testing.T) *sameOriginStripe {
	s := &sameOriginStripe{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/checkout/sessions/"):
			_ = json.NewEncoder(w).Encode(map[string]any{
				"id": "cs_sameorigin", "object": "checkout.session", "status": "complete", "payment_status": "paid",
				"mode": "payment", "client_reference_id": "alice", "payment_intent": "pi_sameorigin",
				"metadata": map[string]string{"paywall_user": "alice", "paywall_product": "pro"},
			})
		case r.Method == http.MethodPost && r.URL.Path == "/v1/billing_portal/sessions":
			_ = r.ParseForm()
			s.mu.Lock()
			s.ret = r.PostForm.Get("return_url")
			s.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "bps_1", "object": "billing_portal.session", "url": "https://billing.test/p"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sameOriginStripe) lastReturnURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ret
}
