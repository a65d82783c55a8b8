package whoami

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// site is a test server standing for the site's "who am I" page; it counts
// the requests it gets and keeps the last one's headers.
type site struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	last *http.Request
}

func newSite(t *testing.T, h http.HandlerFunc) *site {
	t.Helper()
	s := &site{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		s.last = r.Clone(context.Background())
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// userFromCookie is a site whose session cookie's value is the user name,
// answering as a Django LoginRequiredMixin page does.
func userFromCookie(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("sessionid")
	if err != nil || c.Value == "" || c.Value == "forged" {
		http.Redirect(w, r, "/accounts/login/?next=/account/", http.StatusFound)
		return
	}
	fmt.Fprintf(w, "<html><body><p>Signed in as <b>%s</b></p></body></html>", html.EscapeString(c.Value))
}

var djangoRegex = regexp.MustCompile(`Signed in as <b>([^<]+)</b>`)

func newResolver(t *testing.T, cfg Config) *Resolver {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func visitor(cookies ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://shop.example/premium/a", nil)
	if len(cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	return r
}

func TestSignedInFromRegex(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL + "/account/", Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	for _, c := range []struct{ cookie, want string }{
		{"sessionid=alice", "alice"},
		{"sessionid=bob", "bob"},
		{"sessionid=forged", ""},
		{"sessionid=o'brien&co", "o'brien&co"}, // the page escapes HTML: the id is unescaped
	} {
		got, err := r.Who(context.Background(), visitor(c.cookie))
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", c.cookie, got, err, c.want)
		}
	}
}

func TestStatuses(t *testing.T) {
	for _, c := range []struct {
		status      int
		header      string // X-User in the answer
		want        string
		unavailable bool
	}{
		{200, "alice", "alice", false},
		{200, "", "", false},
		{204, "alice", "alice", false},
		{204, "", "", false},
		{301, "alice", "", false}, // a redirect is signed out, whatever it carries
		{302, "", "", false},
		{303, "", "", false},
		{307, "", "", false},
		{401, "alice", "", false},
		{403, "alice", "", false},
		{404, "alice", "", true},
		{405, "", "", true},
		{429, "", "", true},
		{500, "alice", "", true},
		{502, "", "", true},
		{503, "", "", true},
	} {
		s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("X-User", c.header)
			}
			if c.status >= 300 && c.status < 400 {
				w.Header().Set("Location", "/login")
			}
			w.WriteHeader(c.status)
		})
		r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserHeader: "X-User"})
		got, err := r.Who(context.Background(), visitor("sessionid=s3cr3t-value"))
		var u *Unavailable
		if c.unavailable != errors.As(err, &u) || got != c.want {
			t.Errorf("status %d, X-User %q: got %q, %v; want %q (unavailable %v)", c.status, c.header, got, err, c.want, c.unavailable)
		}
		if c.unavailable && (!strings.Contains(err.Error(), s.URL) || !strings.Contains(err.Error(), fmt.Sprint(c.status))) {
			t.Errorf("status %d: the error %q must name the URL and the status", c.status, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error carries the cookie value: %q", err)
		}
	}
}

func TestUnavailableIsNotCached(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		userFromCookie(w, r)
	})
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	if _, err := r.Who(context.Background(), visitor("sessionid=alice")); err == nil {
		t.Fatal("a 500 must be unavailable")
	}
	if _, err := r.Who(context.Background(), visitor("sessionid=alice")); err == nil {
		t.Fatal("still 500: still unavailable")
	}
	fail.Store(false)
	if got, err := r.Who(context.Background(), visitor("sessionid=alice")); err != nil || got != "alice" {
		t.Fatalf("after recovery: %q, %v", got, err)
	}
	if n := s.hits.Load(); n != 3 {
		t.Fatalf("%d requests to the site, want 3 (no unavailable answer is cached)", n)
	}
	if n, _ := r.cache.size(); n != 1 {
		t.Fatalf("%d entries cached, want 1", n)
	}
}

func TestNoNamedCookieAsksNobody(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	for _, req := range []*http.Request{
		visitor(),
		visitor("csrftoken=x", "sessionidx=alice", "Sessionid=alice"), // names are exact
		visitor("=alice", "sessionid"),                                // no "=": not that cookie
	} {
		got, err := r.Who(context.Background(), req)
		if got != "" || err != nil {
			t.Errorf("%q: got %q, %v; want signed out", req.Header.Get("Cookie"), got, err)
		}
	}
	if n := s.hits.Load(); n != 0 {
		t.Fatalf("%d requests to the site, want none", n)
	}
}

func TestOnlyNamedCookiesAndForwardedHeaders(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL + "/account/?x=1", Cookies: []string{"sessionid", "remember"}, UserRegex: djangoRegex})
	req := visitor("_ga=tracker", "sessionid=alice", "csrftoken=tok", "remember=yes")
	req.Header.Add("Cookie", "other=1; remember=again")
	req.RemoteAddr = "203.0.113.7:5555"
	req.Host = "shop.example"
	for k, v := range map[string]string{
		"Authorization": "Basic YWxpY2U6cHc=", "User-Agent": "Mozilla/5.0 visitor", "X-User": "mallory",
		"Accept-Language": "fr", "X-Forwarded-For": "10.0.0.1", "Referer": "https://evil.example/",
		"X-Paywall-User": "mallory", "Accept": "text/html",
	} {
		req.Header.Set(k, v)
	}
	if got, err := r.Who(context.Background(), req); err != nil || got != "alice" {
		t.Fatalf("got %q, %v", got, err)
	}
	seen := s.lastRequest()
	if seen.Method != http.MethodGet || seen.URL.RequestURI() != "/account/?x=1" {
		t.Errorf("asked %s %s, want GET /account/?x=1", seen.Method, seen.URL.RequestURI())
	}
	if got := seen.Header.Get("Cookie"); got != "sessionid=alice; remember=yes; remember=again" {
		t.Errorf("Cookie %q: only the named cookies, in request order", got)
	}
	want := map[string]string{
		"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Host": "shop.example", "X-Forwarded-Proto": "http",
		"User-Agent": userAgent,
	}
	for k, v := range want {
		if got := seen.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for k := range seen.Header {
		if _, ok := want[k]; !ok && k != "Cookie" && k != "Accept-Encoding" {
			t.Errorf("visitor header %s reached the site", k)
		}
	}
}

func TestDefaultEveryCookie(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Ignore: []string{"paywall_session"}, UserRegex: djangoRegex})
	if got, err := r.Who(context.Background(), visitor("a=1", "sessionid=alice", "paywall_session=xyz")); err != nil || got != "alice" {
		t.Fatalf("got %q, %v", got, err)
	}
	if got := s.lastRequest().Header.Get("Cookie"); got != "a=1; sessionid=alice" {
		t.Fatalf("Cookie %q, want every cookie but the paywall's own", got)
	}
	if got, _ := r.Who(context.Background(), visitor("paywall_session=xyz")); got != "" || s.hits.Load() != 1 {
		t.Fatalf("only an ignored cookie: %q after %d requests, want signed out without asking", got, s.hits.Load())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-User", "alice")                 // must not count: the answer is a redirect
		http.Redirect(w, r, r.URL.Path, http.StatusFound) // a loop
	})
	r := newResolver(t, Config{URL: s.URL + "/loop", Cookies: []string{"sessionid"}, UserHeader: "X-User"})
	if got, err := r.Who(context.Background(), visitor("sessionid=alice")); got != "" || err != nil {
		t.Fatalf("got %q, %v; want signed out", got, err)
	}
	if n := s.hits.Load(); n != 1 {
		t.Fatalf("%d requests: a redirect must not be followed", n)
	}
}

func TestUserJSON(t *testing.T) {
	for _, c := range []struct {
		path, body, want string
	}{
		{"user.username", `{"user":{"username":"alice","id":7}}`, "alice"},
		{"current_user.username", `{"current_user":{"id":1,"username":"sam"}}`, "sam"}, // Discourse
		{"user.id", `{"user":{"id":7}}`, "7"},
		{"user.id", `{"user":{"id":12345678901234567890}}`, "12345678901234567890"}, // no float rounding
		{"users.1.name", `{"users":[{"name":"a"},{"name":"b"}]}`, "b"},
		{"user.username", `{"user":null}`, ""},
		{"user.username", `{"user":{"username":null}}`, ""},
		{"user.username", `{"user":{"username":{"x":1}}}`, ""},
		{"user.username", `{"user":{"username":true}}`, ""},
		{"user.username", `{"user":{"username":"  "}}`, ""},
		{"user.username", `{}`, ""},
		{"user", `"alice"`, ""},
		{"users.5.name", `{"users":[]}`, ""},
		{"user.username", `<html>login</html>`, ""}, // a login page answered 200
		{"user.username", ``, ""},
	} {
		s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, c.body)
		})
		r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserJSON: c.path})
		got, err := r.Who(context.Background(), visitor("sessionid=x"))
		if err != nil || got != c.want {
			t.Errorf("%s in %s: got %q, %v; want %q", c.path, c.body, got, err, c.want)
		}
	}
}

func TestBadUserIDsAreUnavailable(t *testing.T) {
	for name, user := range map[string]string{
		"too long":     strings.Repeat("a", MaxUser+1),
		"control":      "ali\x01ce",
		"newline":      "alice\nX-Injected: 1",
		"invalid utf8": "ali\xffce",
	} {
		s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
			b, _ := json.Marshal(map[string]string{"u": user})
			w.Write(b)
		})
		r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserJSON: "u"})
		var u *Unavailable
		if got, err := r.Who(context.Background(), visitor("sessionid=x")); !errors.As(err, &u) || got != "" {
			t.Errorf("%s: got %q, %v; want unavailable", name, got, err)
		}
	}
}

// A huge body is read only up to MaxBody: a user found in it counts,
// otherwise the answer cannot be judged.
func TestHugeBody(t *testing.T) {
	const huge = 64 << 20
	var wrote atomic.Int64
	handlerDone := make(chan struct{}, 4)
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
		defer func() { handlerDone <- struct{}{} }()
		head := ""
		if r.URL.Path == "/named" {
			head = "Signed in as <b>alice</b>"
		}
		n, _ := io.WriteString(w, head)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for n < huge {
			m, err := w.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		wrote.Store(int64(n))
	})
	for _, c := range []struct {
		path string
		cfg  Config
		want string
	}{
		{"/named", Config{UserRegex: djangoRegex}, "alice"},
		{"/anon", Config{UserRegex: djangoRegex}, ""},
		{"/anon", Config{UserJSON: "user.name"}, ""},
	} {
		c.cfg.URL, c.cfg.Cookies = s.URL+c.path, []string{"sessionid"}
		r := newResolver(t, c.cfg)
		got, err := r.Who(context.Background(), visitor("sessionid=x"))
		var u *Unavailable
		switch {
		case c.want != "" && (err != nil || got != c.want):
			t.Errorf("%s: got %q, %v; want %q", c.path, got, err, c.want)
		case c.want == "" && (!errors.As(err, &u) || !strings.Contains(u.Reason, "larger than 256 KiB")):
			t.Errorf("%s: got %q, %v; want unavailable, larger than 256 KiB", c.path, got, err)
		}
		r.Close()
		<-handlerDone
		if n := wrote.Load(); n >= huge {
			t.Errorf("%s: the site wrote all %d bytes: the body was not capped", c.path, n)
		}
	}
}

func TestSlowSiteTimesOut(t *testing.T) {
	release := make(chan struct{})
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/trickle" { // headers at once, then a body that never ends
			w.WriteHeader(200)
			for {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-release:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
		<-release
	})
	t.Cleanup(func() { close(release) }) // before the server closes: cleanups run last first
	for _, path := range []string{"/stall", "/trickle"} {
		r := newResolver(t, Config{URL: s.URL + path, Cookies: []string{"sessionid"}, UserRegex: djangoRegex, Timeout: 150 * time.Millisecond})
		_, err := r.Who(context.Background(), visitor("sessionid=alice"))
		var u *Unavailable
		if !errors.As(err, &u) || !strings.Contains(u.Reason, "no answer within 150ms") {
			t.Errorf("%s: %v; want unavailable, no answer within 150ms", path, err)
		}
	}
}

func TestGarbageAndRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = bufio.NewReader(c).ReadString('\n')
				_, _ = io.WriteString(c, "\x00\x01 this is not HTTP at all\r\n\r\n")
			}()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedURL := "http://" + closed.Addr().String()
	closed.Close()
	for _, u := range []string{"http://" + l.Addr().String(), refusedURL} {
		r := newResolver(t, Config{URL: u, Cookies: []string{"sessionid"}, UserHeader: "X-User"})
		_, err := r.Who(context.Background(), visitor("sessionid=s3cr3t"))
		var un *Unavailable
		if !errors.As(err, &un) || un.URL != u || un.Reason == "" {
			t.Errorf("%s: %v; want unavailable naming the URL and a reason", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error carries the cookie value: %q", err)
		}
	}
}

func TestTTLs(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex,
		TTL: time.Minute, NegativeTTL: 5 * time.Second})
	now := time.Unix(1_800_000_000, 0)
	r.now = func() time.Time { return now }
	ask := func(cookie, want string, hits int64) {
		t.Helper()
		if got, err := r.Who(context.Background(), visitor(cookie)); err != nil || got != want {
			t.Fatalf("%s: %q, %v; want %q", cookie, got, err, want)
		}
		if n := s.hits.Load(); n != hits {
			t.Fatalf("%s: %d requests to the site, want %d", cookie, n, hits)
		}
	}
	ask("sessionid=alice", "alice", 1)
	ask("sessionid=forged", "", 2)
	now = now.Add(4 * time.Second)
	ask("sessionid=alice", "alice", 2)
	ask("sessionid=forged", "", 2)
	now = now.Add(time.Second) // signed out trusted for 5s only
	ask("sessionid=forged", "", 3)
	ask("sessionid=alice", "alice", 3)
	now = now.Add(55 * time.Second) // signed in trusted for 1m
	ask("sessionid=alice", "alice", 4)
	ask("sessionid=bob", "bob", 5) // another cookie, another answer
}

func TestDefaults(t *testing.T) {
	r := newResolver(t, Config{URL: "http://127.0.0.1:1/", UserHeader: "X-User"})
	if r.cfg.TTL != time.Minute || r.cfg.NegativeTTL != 5*time.Second || r.cfg.Timeout != 2*time.Second {
		t.Fatalf("defaults: ttl %s, negative_ttl %s, timeout %s", r.cfg.TTL, r.cfg.NegativeTTL, r.cfg.Timeout)
	}
}

func TestConcurrentMissesMakeOneRequest(t *testing.T) {
	release := make(chan struct{})
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		userFromCookie(w, r)
	})
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	const n = 50
	var wg sync.WaitGroup
	results := make(chan string, n)
	for range n {
		wg.Go(func() {
			u, err := r.Who(context.Background(), visitor("sessionid=alice"))
			if err != nil {
				u = err.Error()
			}
			results <- u
		})
	}
	for r.waiting.Load() < n || s.hits.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(results)
	for u := range results {
		if u != "alice" {
			t.Fatalf("a waiter got %q", u)
		}
	}
	if h := s.hits.Load(); h != 1 {
		t.Fatalf("%d concurrent misses made %d requests to the site, want 1", n, h)
	}
}

func TestCallerGivesUpWithoutHanging(t *testing.T) {
	release := make(chan struct{})
	s := newSite(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for s.hits.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	var u *Unavailable
	if _, err := r.Who(ctx, visitor("sessionid=alice")); !errors.As(err, &u) {
		t.Fatalf("%v; want unavailable once the visitor's request ends", err)
	}
}

func TestCacheKeyIsAKeyedHash(t *testing.T) {
	s := newSite(t, userFromCookie)
	cfg := Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex}
	r1, r2 := newResolver(t, cfg), newResolver(t, cfg)
	cookie := []byte("sessionid=alice-secret-session")
	k1, k2 := r1.keyOf(cookie), r2.keyOf(cookie)
	if k1 == k2 {
		t.Fatal("two resolvers derive the same key: the hash key must be drawn per process")
	}
	if k1 != r1.keyOf(cookie) || k1 == r1.keyOf([]byte("sessionid=alice-secret-sessioN")) {
		t.Fatal("the key must be a function of the cookies")
	}
	if _, err := r1.Who(context.Background(), visitor(string(cookie))); err != nil {
		t.Fatal(err)
	}
	r1.cache.mu.RLock()
	defer r1.cache.mu.RUnlock()
	for k := range r1.cache.m {
		if strings.Contains(string(k[:]), "alice-secret") {
			t.Fatal("a cookie value is kept in clear")
		}
		if k != k1 {
			t.Fatal("the entry is not under the keyed hash of the forwarded cookies")
		}
	}
}

func TestCacheBounds(t *testing.T) {
	c := newCache(10, 1<<20)
	now := time.Now()
	for i := range 100 {
		c.put(key(i), fmt.Sprint("user", i), now.Add(time.Hour))
	}
	if n, _ := c.size(); n != 10 {
		t.Fatalf("%d entries, want at most 10", n)
	}
	if _, ok := c.get(key(99), now); !ok {
		t.Fatal("the newest entry must stay")
	}
	if _, ok := c.get(key(0), now); ok {
		t.Fatal("the oldest entry must go first")
	}

	limit := 4 * (entryOverhead + 1000)
	c = newCache(1000, limit)
	for i := range 50 {
		c.put(key(i), strings.Repeat("u", 1000), now.Add(time.Hour))
		if _, b := c.size(); b > limit {
			t.Fatalf("%d bytes held, limit %d", b, limit)
		}
	}
	if n, _ := c.size(); n != 4 {
		t.Fatalf("%d entries of 1000-byte users in %d bytes, want 4", n, limit)
	}
	for i := range 1000 { // replacing keys keeps the queue proportional
		c.put(key(i%3), "x", now.Add(time.Hour))
	}
	if len(c.queue) > 2*len(c.m)+64 {
		t.Fatalf("queue of %d for %d entries", len(c.queue), len(c.m))
	}
}

func key(i int) [32]byte {
	var k [32]byte
	copy(k[:], fmt.Sprint(i))
	return k
}

func TestNewRefuses(t *testing.T) {
	re := regexp.MustCompile(`Signed in as (\w+)`)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "ftp://x/", UserHeader: "X"}, "want an http:// or https:// URL"},
		{Config{URL: "/account/", UserHeader: "X"}, "want an http:// or https:// URL"},
		{Config{URL: "http://x/"}, "exactly one of user_header, user_json or user_regex"},
		{Config{URL: "http://x/", UserHeader: "X", UserRegex: re}, "exactly one of"},
		{Config{URL: "http://x/", UserRegex: regexp.MustCompile(`Signed in`)}, "needs a group"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestCheckSignedOut(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	if u, err := r.CheckSignedOut(context.Background()); u != "" || err != nil {
		t.Fatalf("%q, %v", u, err)
	}
	if got := s.lastRequest().Header.Values("Cookie"); len(got) != 0 {
		t.Fatalf("doctor's request carried cookies %q", got)
	}
	open := newSite(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Signed in as <b>anyone</b>") })
	r = newResolver(t, Config{URL: open.URL, UserRegex: djangoRegex})
	if u, _ := r.CheckSignedOut(context.Background()); u != "anyone" {
		t.Fatalf("a page that names someone without cookies: %q", u)
	}
}

func TestOnAskCountsRequestsOnly(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	var got []string
	r.OnAsk = func(res string) { got = append(got, res) }
	for _, c := range []string{"sessionid=alice", "sessionid=alice", "sessionid=forged", "x=1"} {
		_, _ = r.Who(context.Background(), visitor(c))
	}
	if !slices.Equal(got, []string{"signed_in", "signed_out"}) {
		t.Fatalf("OnAsk saw %q", got)
	}
}

// BenchmarkWarmLookup is the hot path: a signed-in visitor whose answer is
// cached. It should not allocate.
func BenchmarkWarmLookup(b *testing.B) {
	s := httptest.NewServer(http.HandlerFunc(userFromCookie))
	defer s.Close()
	r, err := New(Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	if err != nil {
		b.Fatal(err)
	}
	req := visitor("csrftoken=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "sessionid=k2v9x7q1w8e3r6t5y4u0i9o8p7a6s5d4", "_ga=GA1.1.123.456")
	if u, err := r.Who(context.Background(), req); err != nil || u != "k2v9x7q1w8e3r6t5y4u0i9o8p7a6s5d4" {
		b.Fatalf("%q %v", u, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Who(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWarmLookupAllocatesNothing(t *testing.T) {
	s := newSite(t, userFromCookie)
	r := newResolver(t, Config{URL: s.URL, Cookies: []string{"sessionid"}, UserRegex: djangoRegex})
	req := visitor("csrftoken=x", "sessionid=alice")
	if u, err := r.Who(context.Background(), req); err != nil || u != "alice" {
		t.Fatalf("%q %v", u, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = r.Who(context.Background(), req) }); n != 0 {
		t.Fatalf("a warm lookup allocates %.0f times", n)
	}
	anon := visitor("csrftoken=x")
	if n := testing.AllocsPerRun(100, func() { _, _ = r.Who(context.Background(), anon) }); n != 0 {
		t.Fatalf("a lookup without the named cookies allocates %.0f times", n)
	}
}

func TestKeyIsHMACSHA256(t *testing.T) {
	r := newResolver(t, Config{URL: "http://127.0.0.1:1/", UserHeader: "X"})
	m := hmac.New(sha256.New, r.key[:])
	m.Write([]byte("sessionid=abc"))
	if got := r.keyOf([]byte("sessionid=abc")); !bytes.Equal(got[:], m.Sum(nil)) {
		t.Fatal("the cache key is not HMAC-SHA256 of the forwarded cookies under the process key")
	}
}
