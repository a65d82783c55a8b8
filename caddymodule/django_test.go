package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// python is Debian's python3, with python3-django (the README's test
// command installs it).
const python = "/usr/bin/python3"

// djangoSite is the Django project in testdata/djangosite, started on a
// free loopback port with its own sqlite database (users alice, bob and
// carol, passwords NAME-password).
type djangoSite struct {
	URL  string
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDjango(t *testing.T) *djangoSite {
	t.Helper()
	python := testenv.Binary(t, python)
	if out, err := exec.Command(python, "-c", "import django; assert django.VERSION >= (3, 2)").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import Django 3.2+ (%v: %s): run the README's test command (bash .ci/test.sh), or apt-get install python3-django", python, err, out)
	}
	dir, _ := filepath.Abs(filepath.Join("testdata", "djangosite"))
	env := append(os.Environ(), "DJANGO_DB="+filepath.Join(t.TempDir(), "db.sqlite3"), "PYTHONDONTWRITEBYTECODE=1")
	migrate := exec.Command(python, "manage.py", "migrate", "--noinput")
	migrate.Dir, migrate.Env = dir, env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("django migrate: %v\n%s", err, out)
	}
	s := &djangoSite{addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), done: make(chan struct{})}
	s.URL = "http://" + s.addr
	var log bytes.Buffer
	s.cmd = exec.Command(python, "manage.py", "runserver", "--noreload", s.addr)
	s.cmd.Dir, s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = dir, env, &log, &log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("django runserver exited:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("django did not answer within 90s:\n%s", log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop ends the site (the "site down" case, and cleanup).
func (s *djangoSite) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// accountRequests is what the site's account page has seen: how many
// requests, and the cookie and header names of the last one.
type accountRequests struct {
	Count   int      `json:"count"`
	Cookies []string `json:"cookies"`
	Headers []string `json:"headers"`
}

func (s *djangoSite) accountRequests(t *testing.T) accountRequests {
	t.Helper()
	resp, err := http.Get(s.URL + "/_test/account-requests/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a accountRequests
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

// browser is a visitor with a cookie jar who does not follow redirects.
type browser struct {
	t    *testing.T
	site string
	jar  *cookiejar.Jar
	c    *http.Client
}

func newBrowser(t *testing.T, site string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, site: site, jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, _ := http.NewRequest(method, b.site+path, body)
	r.Header.Set("Accept", "text/html")
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", b.site)
	}
	resp, err := b.c.Do(r)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, resp.Header.Get("Location"), string(got)}
}

func (b *browser) get(path string) page { return b.do(http.MethodGet, path, nil) }

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.site)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.site)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// login logs in through the gateway with Django's own login form.
func (b *browser) login(user, next string) {
	b.t.Helper()
	p := b.get("/accounts/login/?next=" + url.QueryEscape(next))
	m := regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`).FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.t.Fatalf("login page: %d %s", p.status, p.body)
	}
	p = b.do(http.MethodPost, "/accounts/login/", url.Values{
		"csrfmiddlewaretoken": {m[1]}, "username": {user}, "password": {user + "-password"}, "next": {next},
	})
	if p.status != http.StatusFound || p.location != next || b.cookie("sessionid") == "" {
		b.t.Fatalf("logging in as %s: %d %q %s", user, p.status, p.location, p.body)
	}
}

// TestDjangoSite runs the whole flow against a real Django site behind a
// real Caddy: the gateway knows who is signed in from the site's own
// login, through whoami, and the site has no payment code.
func TestDjangoSite(t *testing.T) {
	dj := startDjango(t)
	port := testenv.FreePort(t)
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	startSite(t, fmt.Sprintf(`%s {
	paywall {
		stripe_secret_key     sk_test_django
		stripe_webhook_secret %s
		stripe_api_url        %s
		redis                 %s
		key_prefix            %s
		session_secret        django-session-secret-of-at-least-32-chars
		login_url             /accounts/login/?next={http.paywall.return_to}
		whoami %s/account/ {
			cookies    sessionid
			user_regex "Signed in as <b>([^<]+)</b>"
			ttl        1m
		}
		product pro {
			name  "Pro articles"
			price price_pro
			paths /premium/*
		}
	}
	reverse_proxy %s
}`, site, e2eWebhookSecret, testenv.StripeURL(t), testenv.RedisURL(t), testenv.UniquePrefix(), dj.URL, dj.addr))
	testenv.WaitHTTP(t, site+"/paywall/healthz")

	asked := func() int { return dj.accountRequests(t).Count }

	// Signed out: Django's own login page, with the way back.
	anon := newBrowser(t, site)
	if p := anon.get("/premium/a/?x=1"); p.status != http.StatusFound || p.location != "/accounts/login/?next=%2Fpremium%2Fa%2F%3Fx%3D1" {
		t.Fatalf("signed out: %d %q", p.status, p.location)
	}
	if n := asked(); n != 0 {
		t.Fatalf("a visitor without the session cookie made %d requests to the site", n)
	}

	// alice logs in through the gateway with Django's form and comes back
	// to the article: not paid yet, so the pay page, which names her.
	alice := newBrowser(t, site)
	alice.login("alice", "/premium/a/")
	p := alice.get("/premium/a/")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/paywall/pay?product=pro") {
		t.Fatalf("alice, unpaid: %d %q", p.status, p.location)
	}
	a := dj.accountRequests(t)
	if a.Count != 1 || strings.Join(a.Cookies, ",") != "sessionid" {
		t.Fatalf("the site was asked %d times with cookies %q; want once, with sessionid only (alice also holds csrftoken)", a.Count, a.Cookies)
	}
	for _, h := range a.Headers {
		if h != "HTTP_HOST" && h != "HTTP_COOKIE" && h != "HTTP_USER_AGENT" && h != "HTTP_ACCEPT_ENCODING" && !strings.HasPrefix(h, "HTTP_X_FORWARDED_") {
			t.Errorf("the site's account page got the visitor header %s", h)
		}
	}
	if pay := alice.get(p.location); pay.status != 200 || !strings.Contains(pay.body, "alice") || !strings.Contains(pay.body, "Pro articles") {
		t.Fatalf("pay page: %d %s", pay.status, pay.body)
	}

	// Stripe's signed webhook: alice paid.
	sendWebhook(t, site, "evt_django_alice", "cs_test_django_alice", "pi_django_alice", "alice", "pro")
	p = alice.get("/premium/a/")
	if p.status != 200 || !strings.Contains(p.body, "Premium article a") || !strings.Contains(p.body, "Reading as alice") {
		t.Fatalf("alice, paid: %d %s", p.status, p.body)
	}

	// Many gated requests from a new session: one request to the site.
	bob := newBrowser(t, site)
	bob.login("bob", "/premium/b/")
	before := asked()
	var wg sync.WaitGroup
	statuses := make(chan int, 40)
	for i := range 40 {
		wg.Go(func() { statuses <- bob.get(fmt.Sprintf("/premium/b%d/", i%4)).status })
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusSeeOther {
			t.Fatalf("bob, unpaid: %d", s)
		}
	}
	for range 10 {
		alice.get("/premium/a/")
	}
	if n := asked() - before; n != 1 {
		t.Fatalf("40 concurrent gated requests from bob and 10 from alice made %d requests to the site, want 1", n)
	}

	// Ungated requests never ask.
	before = asked()
	for _, path := range []string{"/", "/free/x/", "/accounts/login/", "/paywall/healthz", "/premiumx/", "/free/premium/a/"} {
		bob.get(path)
		alice.get(path)
	}
	if n := asked() - before; n != 0 {
		t.Fatalf("ungated requests made %d requests to the site", n)
	}

	// Another user's cookie is that user.
	other := newBrowser(t, site)
	other.setCookie("sessionid", bob.cookie("sessionid"))
	if p := other.get("/premium/a/"); p.status != http.StatusSeeOther {
		t.Fatalf("bob's cookie on alice's article: %d, want the pay page", p.status)
	}
	if pay := other.get("/paywall/pay?product=pro"); !strings.Contains(pay.body, "bob") || strings.Contains(pay.body, "alice") {
		t.Fatalf("bob's cookie: the pay page does not name bob: %s", pay.body)
	}
	other.setCookie("sessionid", alice.cookie("sessionid"))
	if p := other.get("/premium/a/"); p.status != 200 || !strings.Contains(p.body, "Reading as alice") {
		t.Fatalf("alice's cookie: %d", p.status)
	}

	// A forged cookie is nobody.
	forged := newBrowser(t, site)
	forged.setCookie("sessionid", "0123456789abcdefghijklmnopqrstuv")
	if p := forged.get("/premium/a/"); p.status != http.StatusFound || !strings.HasPrefix(p.location, "/accounts/login/") {
		t.Fatalf("forged cookie: %d %q", p.status, p.location)
	}

	// A spoofed header is nothing: only the site's answer counts.
	spoof := newBrowser(t, site)
	r, _ := http.NewRequest(http.MethodGet, site+"/premium/a/", nil)
	r.Header.Set("Accept", "text/html")
	r.Header.Set("X-Paywall-User", "alice")
	r.Header.Set("X-User", "alice")
	resp, err := spoof.c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("spoofed headers: %d", resp.StatusCode)
	}

	// Django's logout deletes its cookie: closed again at once.
	if p := alice.get("/accounts/logout/"); p.status != http.StatusFound || alice.cookie("sessionid") != "" {
		t.Fatalf("logout: %d, sessionid %q", p.status, alice.cookie("sessionid"))
	}
	if p := alice.get("/premium/a/"); p.status != http.StatusFound || !strings.HasPrefix(p.location, "/accounts/login/") {
		t.Fatalf("after logout: %d %q", p.status, p.location)
	}

	// The site goes down: an unknown session gets 503, never a pass or a
	// hang; a session answered a moment ago is still known.
	carol := newBrowser(t, site)
	carol.login("carol", "/premium/c/")
	dj.stop()
	if p := carol.get("/premium/c/"); p.status != http.StatusServiceUnavailable {
		t.Fatalf("site down, unknown session: %d", p.status)
	}
	if p := bob.get("/premium/b0/"); p.status != http.StatusSeeOther {
		t.Fatalf("site down, bob's cached answer: %d", p.status)
	}
	if p := anon.get("/premium/a/"); p.status != http.StatusFound {
		t.Fatalf("site down, no cookie: %d (signed out without asking)", p.status)
	}
}

// sendWebhook posts a signed checkout.session.completed for user and product.
func sendWebhook(t *testing.T, site, eventID, sessionID, pi, user, product string) {
	t.Helper()
	code, body, err := postEvent(http.DefaultClient, site, e2eWebhookSecret, checkoutCompleted(eventID, sessionID, pi, user, product))
	if err != nil {
		t.Fatal(err)
	}
	if code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
}
