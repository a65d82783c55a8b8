package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPayPage(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	w := b.do(t, f.endpoint("alice"), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=pro&product=course&return_to=/premium/a", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{"Pro articles", "The course", `id="pay-pro"`, `id="pay-course"`, "alice", `action="/paywall/checkout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("pay page lacks %q", want)
		}
	}
	if len(w.Result().Cookies()) == 0 {
		t.Error("pay page set no session cookie")
	}
}

func TestPayPageUserFromGateCookie(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	b := newBrowser()
	// The gate remembers the user when it sends them to pay...
	r := httptest.NewRequest(http.MethodGet, "/premium/a", nil)
	r.Header.Set("Accept", "text/html")
	b.do(t, func(w http.ResponseWriter, r *http.Request) {
		f.gw.Deny(w, r, Decision{Outcome: Pay, User: "carol", Products: []string{"pro"}}, nil)
	}, r)
	// ...so the pay page works where the site's auth does not run.
	w := b.do(t, f.endpoint(""), httptest.NewRequest(http.MethodGet, "/paywall/pay?product=pro", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "carol") {
		t.Fatalf("%d; want the pay page for carol", w.Code)
	}
}

func TestPayPageRefusals(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.grant(t, "alice", "pro")
	cases := []struct {
		name, user, query string
		status            int
		location          string
	}{
		{"nobody, no cookie", "", "product=pro", http.StatusFound, "/login?next="},
		{"unknown product", "bob", "product=nope", http.StatusNotFound, ""},
		{"already paid", "alice", "product=pro&return_to=/premium/x", http.StatusSeeOther, "/premium/x"},
		{"already paid, hostile return_to", "alice", "product=pro&return_to=//evil.com", http.StatusSeeOther, "/"},
		{"already paid, backslash return_to", "alice", "product=pro&return_to=/%5Cevil.com", http.StatusSeeOther, "/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newBrowser().do(t, f.endpoint(c.user), httptest.NewRequest(http.MethodGet, "/paywall/pay?"+c.query, nil))
			if w.Code != c.status {
				t.Fatalf("status %d, want %d", w.Code, c.status)
			}
			loc := w.Header().Get("Location")
			if c.location == "/" && loc != "/" || c.location != "/" && !strings.HasPrefix(loc, c.location) {
				t.Fatalf("Location %q, want %q", loc, c.location)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	w := httptest.NewRecorder()
	f.gw.ServeEndpoint(w, httptest.NewRequest(http.MethodGet, "/paywall/healthz", nil), "", nil)
	if w.Code != http.StatusOK {
		t.Fatalf("healthz %d with Redis up", w.Code)
	}
}
