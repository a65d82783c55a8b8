package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

// headerIdentity reads the user from X-Test-User; "down" stands for a
// site that cannot say (whoami failing).
type headerIdentity struct{}

var errSiteDown = errors.New("site down")

func (headerIdentity) User(r *http.Request) (string, error) {
	if u := r.Header.Get("X-Test-User"); u != "down" {
		return u, nil
	}
	return "", errSiteDown
}

var gateProducts = catalog.Catalog{
	{ID: "pro", Price: "price_pro", Mode: "payment", Paths: []string{"/premium/*"}, Except: []string{"/premium/free"}},
	{ID: "course", Price: "price_course", Mode: "subscription", Paths: []string{"/course/*", "/premium/course/*"}},
}

type gateCase struct {
	path, original, user string
	want                 Outcome
	products             []string
	goesOn               bool
}

// Check is the whole gate: each kind of request gets its outcome from it
// alone.
func TestCheck(t *testing.T) {
	for _, shadow := range []bool{false, true} {
		f := newFixture(t, fixtureOpts{products: gateProducts, identity: headerIdentity{}, shadow: shadow,
			loginURL: "/accounts/login/?next={http.paywall.return_to}"})
		f.grant(t, "paid", "pro")
		cases := []gateCase{
			{"/paywall/pay", "", "anyone", Endpoint, nil, false},
			{"/paywall", "", "", Endpoint, nil, false},
			{"/blog/post", "", "paid", Ungated, nil, true},
			{"/premium/free", "", "", Ungated, nil, true},
			{"/accounts/login/", "", "", Ungated, nil, true},
			{"/premium/a", "", "", Login, []string{"pro"}, shadow},
			{"/premium/a", "", "paid", Pass, []string{"pro"}, true},
			{"/premium/a", "", "unpaid", Pay, []string{"pro"}, shadow},
			{"/premium/course/1", "", "paid", Pass, []string{"pro", "course"}, true},
			{"/premium/a", "", "down", IdentityUnavailable, []string{"pro"}, shadow},
			// a rewrite cannot move a request out of its gate
			{"/blog/post", "/premium/a", "unpaid", Pay, []string{"pro"}, shadow},
		}
		// Tomcat reads it as /premium/x: refused, but under shadow nothing
		// is refused, and Caddy's reading is ungated.
		lenient := gateCase{path: "/premium;jsessionid=1/x", user: "paid", want: Lenient}
		if shadow {
			lenient.want, lenient.goesOn = Ungated, true
		}
		cases = append(cases, lenient)
		for _, tc := range cases {
			r := httptest.NewRequest(http.MethodGet, "http://site.test/", nil)
			r.URL.Path = tc.path
			r.Header.Set("X-Test-User", tc.user)
			original := tc.original
			if original == "" {
				original = r.URL.Path
			}
			d := f.gw.Check(r, original)
			if d.Outcome != tc.want || d.GoesOn() != tc.goesOn {
				t.Errorf("shadow %v, %s as %q: %s (goes on %v), want %s (goes on %v)", shadow, tc.path, tc.user, d.Outcome, d.GoesOn(), tc.want, tc.goesOn)
			}
			if !equalStrings(d.Products, tc.products) {
				t.Errorf("shadow %v, %s: products %v, want %v", shadow, tc.path, d.Products, tc.products)
			}
			if tc.want == IdentityUnavailable && !errors.Is(d.Err, errSiteDown) {
				t.Errorf("identity error not kept: %v", d.Err)
			}
		}
	}
}

// Deny answers a lenient path with 400, and Check never reads Redis for
// an ungated path.
func TestCheckLenientAndUngated(t *testing.T) {
	f := newFixture(t, fixtureOpts{products: gateProducts, identity: headerIdentity{}, redisURL: "redis://127.0.0.1:1/0"})
	r := httptest.NewRequest(http.MethodGet, "http://site.test/blog", nil)
	r.Header.Set("X-Test-User", "paid")
	if d := f.gw.Check(r, "/blog"); d.Outcome != Ungated || d.Err != nil {
		t.Errorf("ungated with Redis down: %+v", d)
	}
	w := httptest.NewRecorder()
	f.gw.Deny(w, r, Decision{Outcome: Lenient}, nil)
	if w.Code != http.StatusBadRequest {
		t.Errorf("lenient: %d", w.Code)
	}
	r = httptest.NewRequest(http.MethodGet, "http://site.test/premium/a", nil)
	r.Header.Set("X-Test-User", "paid")
	if d := f.gw.Check(r.WithContext(context.Background()), "/premium/a"); d.Outcome != StoreDenied {
		t.Errorf("gated with Redis down: %s", d.Outcome)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
