package pages

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func render(t *testing.T, s *Set, status int, name string, data any) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	if err := s.Render(w, status, name, data); err != nil {
		t.Fatalf("Render(%s): %v", name, err)
	}
	if w.Code != status {
		t.Fatalf("Render(%s): status %d, want %d", name, w.Code, status)
	}
	return w
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q\n%s", want, body)
		}
	}
}

func mustNotContain(t *testing.T, body string, bads ...string) {
	t.Helper()
	for _, bad := range bads {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q\n%s", bad, body)
		}
	}
}

func TestPayPage(t *testing.T) {
	data := PayData{
		User: "alice",
		Products: []Listing{
			{ID: "pro", Name: "Pro articles", Price: FormatPrice(900, "eur", ""), Mode: "payment"},
			{ID: "club", Name: "Club", Price: FormatPrice(500, "usd", "month"), Mode: "subscription"},
			{ID: "misc", Name: "Misc", Mode: "payment"},
		},
		CheckoutURL: "/paywall/checkout",
		CSRFToken:   "csrf-123",
		Nonce:       "nonce-456",
		ReturnTo:    "/premium/a?b=c",
		BackURL:     "/blog/",
	}
	body := render(t, Builtin(), http.StatusOK, Pay, data).Body.String()
	mustContain(t, body,
		"Signed in as <strong>alice</strong>",
		"<h1>Payment required</h1>",
		"Pro articles", "€9.00", "Club", "$5.00 / month", "Price shown at checkout",
		`<form method="post" action="/paywall/checkout">`,
		`<input type="hidden" name="product" value="pro">`,
		`<input type="hidden" name="product" value="club">`,
		`<input type="hidden" name="csrf_token" value="csrf-123">`,
		`<input type="hidden" name="nonce" value="nonce-456">`,
		`<input type="hidden" name="return_to" value="/premium/a?b=c">`,
		`<button type="submit" id="pay-pro">Pay for Pro articles</button>`,
		`<button type="submit" id="pay-club">Subscribe to Club</button>`,
		`<button type="submit" id="pay-misc">Pay for Misc</button>`,
		`<a href="/blog/">Back to the site</a>`,
	)
	if n := strings.Count(body, "<form "); n != 3 {
		t.Errorf("%d forms, want one per product (3)", n)
	}

	// One product: named in the intro; a pointer works as well as a value.
	one := data
	one.Products = data.Products[:1]
	one.BackURL = ""
	body = render(t, Builtin(), http.StatusOK, Pay, &one).Body.String()
	mustContain(t, body, "This page is part of <strong>Pro articles</strong>", `<a href="/">Back to the site</a>`)
	if n := strings.Count(body, "<form "); n != 1 {
		t.Errorf("%d forms, want 1", n)
	}

	// No products: no form, still a way back.
	body = render(t, Builtin(), http.StatusOK, Pay, PayData{User: "alice"}).Body.String()
	mustNotContain(t, body, "<form")
	mustContain(t, body, "Back to the site")
}

func TestProcessingPage(t *testing.T) {
	w := render(t, Builtin(), http.StatusOK, Processing, ProcessingData{
		User: "bob", ProductName: "Pro articles", BackURL: "/home",
		RefreshURL: "/paywall/success?session_id=cs_test_1&x=1", StatusURL: "/paywall/status?session_id=cs_test_1",
		RefreshSeconds: 4, StopAfterSeconds: 600,
	})
	body := w.Body.String()
	// Without scripts: a way to check again, no timed reload, and what
	// delayed payment methods mean.
	mustContain(t, body,
		"Signed in as <strong>bob</strong>",
		"<h1>Your payment is processing</h1>",
		"<strong>Pro articles</strong>",
		"can take a few days",
		`<a class="button" id="check-again" href="/paywall/success?session_id=cs_test_1&amp;x=1">Check again</a>`,
		`<p id="payment-check-status" role="status" aria-live="polite"></p>`,
		`<p id="payment-check-note" hidden>This page checks again every 4 seconds for the next 10 minutes`,
		`data-status-url="/paywall/status?session_id=cs_test_1"`,
		`data-next-url="/paywall/success?session_id=cs_test_1&amp;x=1"`,
		`data-every="4"`, `data-stop-after="600"`,
		`data-confirmed-text="Payment confirmed, taking you back."`,
		`<a href="/home">Back to the site</a>`,
	)
	mustNotContain(t, body, "http-equiv", "refresh")

	// The script is the embedded file, whole, and the CSP allows exactly
	// it by its hash, and lets it ask this site.
	m := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(m) != 1 || m[0][1] != processingJS {
		t.Fatalf("want one <script> holding processing.js, got %d", len(m))
	}
	sum := sha256.Sum256([]byte(m[0][1]))
	csp := w.Header().Get("Content-Security-Policy")
	mustContain(t, csp, "default-src 'none'; script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'; connect-src 'self'; style-src 'sha256-")

	// Defaults.
	body = render(t, Builtin(), http.StatusOK, Processing, ProcessingData{User: "bob", RefreshURL: "/r", StatusURL: "/s"}).Body.String()
	mustContain(t, body, `data-every="5"`, `data-stop-after="300"`, "every 5 seconds for the next 5 minutes")

	// No status URL, or one off this site: the link, but no script.
	for _, u := range []string{"", "https://evil.example/s", "//evil.example/s", "javascript:alert(1)"} {
		w = render(t, Builtin(), http.StatusOK, Processing, ProcessingData{User: "bob", RefreshURL: "/r", StatusURL: u})
		mustNotContain(t, w.Body.String(), "<script", "evil")
		mustContain(t, w.Body.String(), `href="/r">Check again</a>`)
		mustNotContain(t, w.Header().Get("Content-Security-Policy"), "script-src", "connect-src")
	}

	// No refresh URL, or one that leaves the site in a dangerous way: no
	// link and no script.
	for _, u := range []string{"", "javascript:alert(1)", "//evil.example/", "/\\evil.example", "/a\nb", "data:text/html,x"} {
		body = render(t, Builtin(), http.StatusOK, Processing, ProcessingData{User: "bob", RefreshURL: u, StatusURL: "/s"}).Body.String()
		mustNotContain(t, body, "http-equiv", "Check again", "<script", "evil", "javascript")
	}
}

func TestCancelPage(t *testing.T) {
	body := render(t, Builtin(), http.StatusOK, Cancel, CancelData{
		User: "carol", ProductName: "Pro articles", PayURL: "/paywall/pay?product=pro&return_to=%2Fx", BackURL: "/x",
	}).Body.String()
	mustContain(t, body,
		"Signed in as <strong>carol</strong>",
		"<h1>Nothing was charged</h1>",
		"<strong>Pro articles</strong>",
		`href="/paywall/pay?product=pro&amp;return_to=%2Fx">Try again</a>`,
		`<a href="/x">Back to the site</a>`,
	)
	body = render(t, Builtin(), http.StatusOK, Cancel, CancelData{User: "carol"}).Body.String()
	mustNotContain(t, body, "Try again")
	mustContain(t, body, `<a href="/">Back to the site</a>`)
}

func TestSuccessPage(t *testing.T) {
	body := render(t, Builtin(), http.StatusOK, Success, SuccessData{
		User: "dave", ProductName: "Pro articles", ContinueURL: "/premium/",
	}).Body.String()
	mustContain(t, body,
		"Signed in as <strong>dave</strong>",
		"<h1>Payment received</h1>",
		"access to <strong>Pro articles</strong>",
		`href="/premium/">Continue to the site</a>`,
	)
	body = render(t, Builtin(), http.StatusOK, Success, SuccessData{User: "dave"}).Body.String()
	mustContain(t, body, `href="/">Continue to the site</a>`)
}

func TestErrorPage(t *testing.T) {
	body := render(t, Builtin(), http.StatusBadRequest, Error, ErrorData{
		Status: 400, Title: "That link has expired", Message: "Please start again.", BackURL: "/start", User: "erin",
	}).Body.String()
	mustContain(t, body,
		"Signed in as <strong>erin</strong>",
		"<h1>That link has expired</h1>",
		"<title>That link has expired</title>",
		"<p>Please start again.</p>",
		`<a href="/start">Back to the site</a>`,
	)
	// The status is for machines (it is the response's); people read the
	// heading, not a raw "Error 400" label.
	mustNotContain(t, body, "Error 400")

	// No title: the status text. No user: no "Signed in as".
	body = render(t, Builtin(), http.StatusServiceUnavailable, Error, ErrorData{Status: 503}).Body.String()
	mustContain(t, body, "<h1>Service Unavailable</h1>", `<a href="/">Back to the site</a>`)
	mustNotContain(t, body, "Signed in as")

	// No status: not shown.
	body = render(t, Builtin(), http.StatusInternalServerError, Error, ErrorData{Title: "Oops"}).Body.String()
	mustContain(t, body, "<h1>Oops</h1>")
	mustNotContain(t, body, "Error 0")
}

func TestEscaping(t *testing.T) {
	const evil = `<script>alert("x")</script>`
	checks := []struct {
		name string
		data any
	}{
		{Pay, PayData{
			User:        evil,
			Products:    []Listing{{ID: `p" onclick="x`, Name: evil, Price: evil, Mode: "payment"}},
			CheckoutURL: "javascript:alert(1)",
			CSRFToken:   `"><script>`,
			Nonce:       `"><script>`,
			ReturnTo:    `"><script>`,
			BackURL:     "javascript:alert(1)",
		}},
		{Processing, ProcessingData{User: evil, ProductName: evil, RefreshURL: `/x"><script>`, BackURL: "javascript:alert(1)"}},
		{Cancel, CancelData{User: evil, ProductName: evil, PayURL: "javascript:alert(1)", BackURL: "javascript:alert(1)"}},
		{Success, SuccessData{User: evil, ProductName: evil, ContinueURL: "javascript:alert(1)"}},
		{Error, ErrorData{Status: 400, Title: evil, Message: evil, BackURL: "javascript:alert(1)", User: evil}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			body := render(t, Builtin(), http.StatusOK, c.name, c.data).Body.String()
			mustNotContain(t, body, "<script", "javascript:", `" onclick=`)
			mustContain(t, body, "&lt;script&gt;")
		})
	}
}

func TestHeaders(t *testing.T) {
	styleRE := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			w := render(t, Builtin(), http.StatusTeapot, name, samples[name])
			h := w.Header()
			for k, want := range map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "same-origin",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			// Each <style> element (the layout's, and a page's own) is
			// allowed by its hash.
			styles := styleRE.FindAllStringSubmatch(w.Body.String(), -1)
			if styles == nil {
				t.Fatal("no <style> element")
			}
			var hashes []string
			for _, m := range styles {
				sum := sha256.Sum256([]byte(m[1]))
				hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
			}
			scripts := ""
			body := w.Body.String()
			if name == Processing {
				// Its one script is the check, allowed by its hash.
				sum := sha256.Sum256([]byte(processingJS))
				scripts = "; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; connect-src 'self'"
				if strings.Count(body, "<script") != 1 {
					t.Errorf("%d <script elements, want 1", strings.Count(body, "<script"))
				}
				body = strings.Replace(body, string(checkScriptElement), "", 1)
			}
			want := "default-src 'none'" + scripts + "; style-src " + strings.Join(hashes, " ") +
				"; form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; base-uri 'none'"
			if got := h.Get("Content-Security-Policy"); got != want {
				t.Errorf("CSP\n got %s\nwant %s", got, want)
			}
			mustNotContain(t, body, " style=", "<script", "<link", "<img", "@import", "url(")
		})
	}
}

func TestFormActionSources(t *testing.T) {
	s, err := Builtin().WithFormAction("http://127.0.0.1:12111/v1/checkout", "https://pay.example.com")
	if err != nil {
		t.Fatal(err)
	}
	csp := render(t, s, http.StatusOK, Cancel, samples[Cancel]).Header().Get("Content-Security-Policy")
	mustContain(t, csp, "form-action 'self' https://checkout.stripe.com http://127.0.0.1:12111 https://pay.example.com;")

	// The original set is unchanged.
	csp = render(t, Builtin(), http.StatusOK, Cancel, samples[Cancel]).Header().Get("Content-Security-Policy")
	mustNotContain(t, csp, "127.0.0.1")

	for _, bad := range []string{"", "ftp://x", "/relative", "https://", "https://a b"} {
		if _, err := Builtin().WithFormAction(bad); err == nil {
			t.Errorf("WithFormAction(%q): no error", bad)
		}
	}

	// An absolute checkout URL is allowed as the form's target.
	d := samples[Pay].(PayData)
	d.CheckoutURL = "https://Shop.Example.com/paywall/checkout"
	csp = render(t, Builtin(), http.StatusOK, Pay, d).Header().Get("Content-Security-Policy")
	mustContain(t, csp, "form-action 'self' https://checkout.stripe.com https://shop.example.com;")
}

func TestRenderFailureIsPlain500(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	// Data of the wrong type: the template cannot read .Products.
	err := Builtin().Render(w, http.StatusOK, Pay, ErrorData{Status: 400})
	if err == nil {
		t.Fatal("no error")
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	mustNotContain(t, w.Body.String(), "<html", "<!DOCTYPE")

	w = httptest.NewRecorder()
	if err := Builtin().Render(w, http.StatusOK, "nope", nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown page: err = %v", err)
	}
	if w.Code != http.StatusInternalServerError {
		t.Errorf("unknown page: status %d, want 500", w.Code)
	}

	// "pay.html" is accepted as well as "pay".
	render(t, Builtin(), http.StatusOK, "pay.html", samples[Pay])
}

func writeFile(t *testing.T, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	if s, err := Load(""); err != nil || s != Builtin() {
		t.Fatalf(`Load("") = %p, %v; want Builtin()`, s, err)
	}

	dir := t.TempDir()
	// A complete document of its own.
	writeFile(t, dir, "cancel.html", `<!DOCTYPE html>
<html lang="en"><head><title>Cancelled</title><style>body{color:#000}</style></head>
<body><main><h1>Custom cancel for {{.User}}</h1><p>{{.ProductName}}</p><a href="{{.BackURL}}">back</a></main></body></html>`)
	// The built-in layout with blocks of its own.
	writeFile(t, dir, "success.html", `{{template "layout" .}}
{{define "title"}}Yay{{end}}
{{define "content"}}<h1>Custom success: {{.ProductName}}</h1>{{end}}`)
	writeFile(t, dir, "README.txt", "ignored")

	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := render(t, s, http.StatusOK, Cancel, CancelData{User: "<b>alice</b>", ProductName: "Pro", BackURL: "/x"})
	body := w.Body.String()
	mustContain(t, body, "<h1>Custom cancel for &lt;b&gt;alice&lt;/b&gt;</h1>", "<p>Pro</p>", `href="/x"`)
	mustNotContain(t, body, "Nothing was charged")
	sum := sha256.Sum256([]byte("body{color:#000}"))
	mustContain(t, w.Header().Get("Content-Security-Policy"), "style-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")

	body = render(t, s, http.StatusOK, Success, SuccessData{User: "alice", ProductName: "Pro"}).Body.String()
	mustContain(t, body, "<title>Yay</title>", "<h1>Custom success: Pro</h1>", "Signed in as <strong>alice</strong>", "<style>")

	// The others stay built-in.
	body = render(t, s, http.StatusOK, Pay, samples[Pay]).Body.String()
	mustContain(t, body, "<h1>Payment required</h1>", `id="pay-pro"`)
	body = render(t, s, http.StatusOK, Error, samples[Error]).Body.String()
	mustContain(t, body, "<h1>Not found</h1>")

	// Loading did not change the built-in set.
	body = render(t, Builtin(), http.StatusOK, Cancel, samples[Cancel]).Body.String()
	mustContain(t, body, "Nothing was charged")
}

func TestLoadLayoutOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "layout.html", `{{define "layout"}}<!DOCTYPE html><html lang="en"><head><title>{{template "title" .}} | Shop</title></head>`+
		`<body><main>{{template "content" .}}</main></body></html>{{end}}`)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := render(t, s, http.StatusOK, Pay, samples[Pay])
	body := w.Body.String()
	mustContain(t, body, "<title>Payment required | Shop</title>", `id="pay-pro"`)
	mustNotContain(t, body, "<style>")
	if csp := w.Header().Get("Content-Security-Policy"); strings.Contains(csp, "style-src") {
		t.Errorf("no <style> but CSP has style-src: %s", csp)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	cases := map[string]string{
		"syntax":        `<h1>{{.User</h1>`,
		"unknown field": `<h1>{{.Usr}}</h1>`,
		"escaping":      `<a href="{{.BackURL}}`,
		"no such block": `{{template "nope" .}}`,
	}
	for what, src := range cases {
		t.Run(what, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "processing.html", src)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			if want := filepath.Join(dir, "processing.html"); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		})
	}

	dir := t.TempDir()
	writeFile(t, dir, "layout.html", `{{define "layout"}}{{.Nope}}{{end}}`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "layout.html")) {
		t.Errorf("bad layout: err = %v", err)
	}

	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	writeFile(t, filepath.Dir(f), "file", "x")
	if _, err := Load(f); err == nil {
		t.Error("a file as directory: no error")
	}
}

func TestConcurrentRender(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := names[i%len(names)]
			w := httptest.NewRecorder()
			if err := Builtin().Render(w, http.StatusOK, name, samples[name]); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// With a stand-in for Stripe (the offline demo, tests), no page claims
// that Stripe takes the payment; with Stripe, the pages say so.
func TestPagesDoNotClaimStripeForAStandIn(t *testing.T) {
	pay := PayData{User: "ann", Products: []Listing{{ID: "pro", Name: "Pro", Price: "€9.00"}}, CheckoutURL: "/paywall/checkout"}
	processing := ProcessingData{User: "ann", ProductName: "Pro", RefreshURL: "/paywall/success?session_id=cs_1"}
	mustContain(t, render(t, Builtin(), 200, Pay, pay).Body.String(), "Stripe's secure checkout page")
	mustContain(t, render(t, Builtin(), 200, Processing, processing).Body.String(), "Stripe is still confirming")
	pay.StandIn, processing.StandIn = true, true
	for name, body := range map[string]string{
		"pay":        render(t, Builtin(), 200, Pay, pay).Body.String(),
		"processing": render(t, Builtin(), 200, Processing, processing).Body.String(),
	} {
		if strings.Contains(body, "Stripe") {
			t.Errorf("the %s page names Stripe while a stand-in takes the payment:\n%s", name, body)
		}
	}
	mustContain(t, render(t, Builtin(), 200, Pay, pay).Body.String(), "offline test checkout page")
}
