package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// One user cannot start dozens of Checkout Sessions a second: past the
// burst, a clear 429 page and nothing sent to Stripe; other users are not
// affected, and the bucket refills.
func TestCheckoutRateLimitPerUser(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	now := time.Now()
	f.gw.now = func() time.Time { return now }
	checkout := func(user string) int {
		b := newBrowser()
		form := openPayPage(t, f, b, user, "product=pro")
		form.Set("product", "pro")
		w := b.do(t, f.endpoint(user), postForm("http://shop.test/paywall/checkout", form))
		if w.Code == http.StatusTooManyRequests {
			if w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "Please wait") {
				t.Fatalf("429 without Retry-After or a clear page: %v %s", w.Header(), w.Body)
			}
		}
		return w.Code
	}
	var codes []int
	for i := 0; i < 12; i++ {
		codes = append(codes, checkout("mallory"))
	}
	want := fmt.Sprint([]int{303, 303, 303, 303, 303, 429, 429, 429, 429, 429, 429, 429})
	if fmt.Sprint(codes) != want {
		t.Fatalf("12 checkouts at once: %v, want %s", codes, want)
	}
	if n := len(f.stripe.requests("/v1/checkout/sessions")); n != checkoutBurst {
		t.Fatalf("%d sessions created, want %d", n, checkoutBurst)
	}
	if c := checkout("alice"); c != http.StatusSeeOther {
		t.Fatalf("another user: %d", c)
	}
	now = now.Add(checkoutInterval)
	if c := checkout("mallory"); c != http.StatusSeeOther {
		t.Fatalf("after one interval: %d", c)
	}
	if c := checkout("mallory"); c != http.StatusTooManyRequests {
		t.Fatalf("one interval refills one session, got a second: %d", c)
	}
}

func TestUserLimiterIsBounded(t *testing.T) {
	l := newUserLimiter(2, time.Second, 100)
	now := time.Now()
	for i := 0; i < 1000; i++ {
		l.allow(fmt.Sprint("user-", i), now)
	}
	if len(l.limiters) > 100 {
		t.Fatalf("%d buckets kept, bound 100", len(l.limiters))
	}
}
