package crawlers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

const (
	googleUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	bingUA   = "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"
	userUA   = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
)

var ctx = context.Background()

// world is the DNS the tests see: test addresses (TEST-NET and the
// documentation IPv6 range) standing for the search engines' crawlers and
// for impostors.
func world(t *testing.T) *testenv.DNS {
	d := testenv.StartDNS(t)
	d.Host("crawl-192-0-2-1.googlebot.com", "192.0.2.1")
	d.Host("rate-limited-proxy-192-0-2-2.google.com", "192.0.2.2")
	d.Host("msnbot-192-0-2-3.search.msn.com", "192.0.2.3")
	d.Host("crawl-2001-db8--1.googlebot.com", "2001:db8::1")
	// An impostor's reverse zone claims googlebot.com, but the forward
	// lookup (which Google controls) does not come back to it.
	d.PTR("192.0.2.66", "crawl-192-0-2-1.googlebot.com")
	// A look-alike domain that resolves both ways.
	d.Host("crawl.googlebot.com.evil.example", "192.0.2.67")
	d.Host("evilgooglebot.com", "192.0.2.68")
	return d
}

func newVerifier(t *testing.T, d *testenv.DNS, names ...string) *Verifier {
	t.Helper()
	v, err := New(Options{Names: names, Resolver: d.Addr})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerify(t *testing.T) {
	d := world(t)
	v := newVerifier(t, d, "google", "bing")
	cases := []struct {
		name, ua, addr, want string
	}{
		{"googlebot.com", googleUA, "192.0.2.1:4711", "google"},
		{"google.com", googleUA, "192.0.2.2:4711", "google"},
		{"bing", bingUA, "192.0.2.3:4711", "bing"},
		{"IPv6", googleUA, "[2001:db8::1]:4711", "google"},
		{"IPv4-mapped IPv6", googleUA, "[::ffff:192.0.2.1]:4711", "google"},
		{"bare IP", googleUA, "192.0.2.1", "google"},
		{"UA in another case", "GOOGLEBOT-Image/1.0", "192.0.2.1:1", "google"},
		{"forward lookup does not come back", googleUA, "192.0.2.66:4711", ""},
		{"look-alike domain", googleUA, "192.0.2.67:4711", ""},
		{"suffix without a dot", googleUA, "192.0.2.68:4711", ""},
		{"no PTR at all", googleUA, "192.0.2.99:4711", ""},
		{"Google's IP claiming bing", bingUA, "192.0.2.1:4711", ""},
		{"Bing's IP claiming google", googleUA, "192.0.2.3:4711", ""},
		{"a browser from Google's IP", userUA, "192.0.2.1:4711", ""},
		{"no User-Agent", "", "192.0.2.1:4711", ""},
		{"unparsable address", googleUA, "somewhere", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := v.Verify(ctx, c.ua, c.addr); got != c.want {
				t.Fatalf("Verify(%q, %q) = %q, want %q", c.ua, c.addr, got, c.want)
			}
		})
	}
}

func TestOnlyConfiguredCrawlers(t *testing.T) {
	d := world(t)
	v := newVerifier(t, d, "bing")
	if got := v.Verify(ctx, googleUA, "192.0.2.1:1"); got != "" {
		t.Fatalf("google is not configured, got %q", got)
	}
	before := d.Queries()
	v.Verify(ctx, googleUA, "192.0.2.1:1")
	if d.Queries() != before {
		t.Fatal("a claim of a crawler that is not configured asked DNS")
	}
	if got := v.Verify(ctx, bingUA, "192.0.2.3:1"); got != "bing" {
		t.Fatalf("bing: %q", got)
	}
}

func TestVerifiedCrawlerCostsNoLookupAfterTheFirst(t *testing.T) {
	d := world(t)
	v := newVerifier(t, d, "google")
	if v.Verify(ctx, googleUA, "192.0.2.1:1") != "google" {
		t.Fatal("not verified")
	}
	first := d.Queries()
	if first == 0 {
		t.Fatal("no DNS query for the first verification")
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v.Verify(ctx, googleUA, fmt.Sprintf("192.0.2.1:%d", 1000+i)) != "google" {
				t.Error("not verified from the cache")
			}
		}()
	}
	wg.Wait()
	if d.Queries() != first {
		t.Fatalf("%d more DNS queries after the first verification", d.Queries()-first)
	}
	// Refusals are cached too: a forged claim repeated costs nothing more.
	v.Verify(ctx, googleUA, "192.0.2.66:1")
	refusal := d.Queries()
	for range 10 {
		v.Verify(ctx, googleUA, "192.0.2.66:1")
	}
	if d.Queries() != refusal {
		t.Fatal("a refused IP was looked up again")
	}
}

func TestConcurrentFirstLookupsAreMadeOnce(t *testing.T) {
	d := world(t)
	v := newVerifier(t, d, "google")
	// One verification alone, for the number of queries it takes.
	v.Verify(ctx, googleUA, "192.0.2.2:1")
	one := d.Queries()

	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v.Verify(ctx, googleUA, "192.0.2.1:1") != "google" {
				t.Error("not verified")
			}
		}()
	}
	wg.Wait()
	if got := d.Queries() - one; got != one {
		t.Fatalf("20 concurrent first requests made %d queries, want %d (one verification)", got, one)
	}
}

func TestCacheExpires(t *testing.T) {
	d := world(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	v, err := New(Options{Names: []string{"google"}, Resolver: d.Addr, TTL: time.Hour, NegativeTTL: 10 * time.Minute,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	v.Verify(ctx, googleUA, "192.0.2.1:1")
	v.Verify(ctx, googleUA, "192.0.2.66:1")
	q := d.Queries()
	now = now.Add(59 * time.Minute)
	v.Verify(ctx, googleUA, "192.0.2.1:1") // still cached
	if d.Queries() != q {
		t.Fatal("looked up again inside the TTL")
	}
	v.Verify(ctx, googleUA, "192.0.2.66:1") // the negative entry expired
	if d.Queries() == q {
		t.Fatal("a refusal was kept past its negative TTL")
	}
	q = d.Queries()
	now = now.Add(time.Minute)
	// After the TTL a verified IP is looked up again (its PTR may have
	// changed hands).
	if v.Verify(ctx, googleUA, "192.0.2.1:1") != "google" || d.Queries() == q {
		t.Fatal("the positive entry was not looked up again after its TTL")
	}
}

func TestCacheIsBounded(t *testing.T) {
	d := world(t)
	v, err := New(Options{Names: []string{"google"}, Resolver: d.Addr, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	v.Verify(ctx, googleUA, "192.0.2.1:1")
	for i := range 20 { // forged claims from many addresses
		v.Verify(ctx, googleUA, fmt.Sprintf("198.51.100.%d:1", i))
	}
	verified, refused := v.Cached()
	if verified != 1 || refused != 5 {
		t.Fatalf("cached %d verified, %d refused; want 1 and at most 5", verified, refused)
	}
	// The refusals did not evict the verified crawler.
	q := d.Queries()
	if v.Verify(ctx, googleUA, "192.0.2.1:1") != "google" || d.Queries() != q {
		t.Fatal("the verified crawler was evicted by forged claims")
	}
}

func TestDNSFailureIsNotVerified(t *testing.T) {
	d := world(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	v, err := New(Options{Names: []string{"google"}, Resolver: d.Addr, FailureTTL: time.Minute, NegativeTTL: time.Hour,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	d.Fail(true)
	if got := v.Verify(ctx, googleUA, "192.0.2.1:1"); got != "" {
		t.Fatalf("DNS failing: %q", got)
	}
	d.Fail(false)
	// A failure is remembered briefly, not for the negative TTL.
	now = now.Add(time.Minute)
	if got := v.Verify(ctx, googleUA, "192.0.2.1:1"); got != "google" {
		t.Fatalf("after the failure: %q", got)
	}
}

func TestUnreachableResolverIsNotVerified(t *testing.T) {
	// Nothing listens there: the lookup times out or is refused.
	v, err := New(Options{Names: []string{"google"}, Resolver: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)),
		Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Verify(ctx, googleUA, "192.0.2.1:1"); got != "" {
		t.Fatalf("no resolver: %q", got)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{Names: []string{"google", "yandex"}}); err == nil || err.Error() != `crawlers: unknown crawler "yandex" (known: bing, google)` {
		t.Fatalf("unknown crawler: %v", err)
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("no crawler accepted")
	}
	if _, err := New(Options{Names: []string{"google"}, Resolver: "127.0.0.1"}); err == nil {
		t.Fatal("resolver without a port accepted")
	}
}

func TestClaimAllocatesNothing(t *testing.T) {
	v, err := New(Options{Names: []string{"google", "bing"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { v.Claim(userUA) }); n != 0 {
		t.Fatalf("Claim allocates %v times", n)
	}
}
