// Package pages renders the HTML pages a customer sees: the pay page, the
// "processing", "cancel" and "success" pages, and the error page.
//
// The built-in pages are html/template files embedded in the binary. They
// share one layout and one inline stylesheet, load nothing from anywhere
// else, and are served under a strict Content-Security-Policy.
//
// # Replacing pages (the templates option)
//
// An operator can replace any page by putting a file of the same name in a
// directory and pointing the paywall's templates option at it. A page that
// is not in the directory stays built-in. The names are:
//
//	layout.html      the shared layout (optional; see below)
//	pay.html         the pay page                   data: PayData
//	processing.html  payment not yet confirmed      data: ProcessingData
//	cancel.html      the customer left the checkout data: CancelData
//	success.html     paid, with nowhere to return   data: SuccessData
//	error.html       any error shown to a browser   data: ErrorData
//
// A file is either a complete HTML document or, to keep the built-in look,
// the layout call plus the blocks it fills:
//
//	{{template "layout" .}}
//	{{define "title"}}Get Pro{{end}}
//	{{define "head"}}<meta name="x" content="y">{{end}}  (optional)
//	{{define "content"}}<h1>Get Pro</h1>…{{end}}
//
// The layout shows "Signed in as {{.User}}" above the content. A
// layout.html in the directory replaces that layout for every page,
// built-in ones included; it must define a template named "layout".
//
// The fields each page receives are documented on PayData, ProcessingData,
// CancelData, SuccessData and ErrorData. The function statusText (the
// net/http status text for a code) and checkScript (the processing page's
// script element, see ProcessingData) are available to every template.
// Templates are checked when they are loaded, by rendering each with
// sample data, so a mistyped field name fails at startup rather than on a
// customer's screen.
//
// The pages are served with a Content-Security-Policy that allows no
// images, fonts or external stylesheets, and no script but the processing
// page's own check (the function checkScript writes it: a page that
// contains it may run it and fetch from this site). CSS must be written in
// <style> elements (each is allowed by its hash, computed as the page is
// served); style="" attributes are blocked. The pay form's POST must go to
// this site, to Stripe Checkout (https://checkout.stripe.com) or to an
// origin added with Set.WithFormAction, because browsers check form-action
// against the redirect to Checkout too.
package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Listing is one product as the pay page lists it: its name, description
// and prices formatted for display. (The product itself, as configured, is
// catalog.Product; templates get this view of it.)
type Listing struct {
	// ID is the product's identifier in the paywall config; the pay form
	// posts it as "product", and the button's id is "pay-" + ID.
	ID string
	// Name is the product's display name.
	Name string
	// Description says what the product opens: the description option, or
	// its paths in plain words ("everything under /club/").
	Description string
	// Price is the first price formatted for display, e.g. "€9.00" or
	// "$5.00 / month" (see FormatPrice); "" when unknown. Prices has them
	// all.
	Price string
	// Prices are the ways to pay for the product, in the configured
	// order. The form posts the chosen one's ID as "price".
	Prices []Price
	// Mode is "payment" (one-time) or "subscription".
	Mode string
	// TrialDays is the free trial of a subscription, in days (0: none).
	TrialDays int64
}

// Price is one price of a product on the pay page.
type Price struct {
	// ID is the Stripe Price id, posted as "price".
	ID string
	// Label is the amount and interval in words, e.g. "€9 a month",
	// "€90 a year", "€25" (see FormatPlan); "" when unknown.
	Label string
	// Offer is what the visitor is offered: Label, after the trial when
	// there is one ("14 days free, then €9 a month").
	Offer string
}

// PayData is the data of pay.html.
//
// Each product gets its own form that POSTs to CheckoutURL with the fields
// product (the product's ID), csrf_token, nonce and return_to.
type PayData struct {
	// User is who is paying, as the site knows them.
	User string
	// Products are the products that open the requested page: one form
	// each. Several when several products gate the same path.
	Products []Listing
	// CheckoutURL is where the forms POST.
	CheckoutURL string
	// CSRFToken goes in the hidden input "csrf_token".
	CSRFToken string
	// Nonce goes in the hidden input "nonce" (it makes a double click
	// create one Checkout Session, not two).
	Nonce string
	// ReturnTo goes in the hidden input "return_to": the page to come back
	// to after paying.
	ReturnTo string
	// BackURL is the "Back to the site" link ("/" when empty).
	BackURL string
	// AutomaticTax: Checkout adds tax from the billing address.
	AutomaticTax bool
	// TaxIDCollection: business customers can enter a tax id at checkout.
	TaxIDCollection bool
	// StandIn is set when payments go to a stand-in for Stripe
	// (stripe_api_url: the offline demo, tests), so the page does not
	// claim Stripe.
	StandIn bool
	// FreeViewsUsed, when not "", says the visitor has read the free pages
	// of a product for now (free_views), and when more come.
	FreeViewsUsed string
}

// ProcessingData is the data of processing.html, shown when the customer is
// back from Checkout but Stripe has not confirmed the payment yet.
//
// The page never reloads itself. It has a "Check again" link (RefreshURL)
// and, when StatusURL is set, a small script (the checkScript function,
// allowed by its hash in the page's Content-Security-Policy) that asks
// StatusURL every RefreshSeconds for StopAfterSeconds. When the answer is
// {"state":"paid"} it announces "Payment confirmed, taking you back" in
// the aria-live region and goes to RefreshURL.
type ProcessingData struct {
	// User is who is paying.
	User string
	// ProductName is the display name of what is being bought; may be "".
	ProductName string
	// RefreshURL is the "Check again" link, which checks the payment and
	// goes on once it is confirmed (the success endpoint); a path on this
	// site or an http(s) URL. No link and no script when "".
	RefreshURL string
	// StatusURL is what the script asks, a path on this site answering
	// JSON {"state":"paid"} or {"state":"processing"}. No script when "".
	StatusURL string
	// BackURL is the "Back to the site" link ("/" when empty).
	BackURL string
	// RefreshSeconds is the delay between the script's checks (5 when 0 or
	// less).
	RefreshSeconds int
	// StopAfterSeconds is how long the script keeps checking (300 when 0
	// or less): delayed payment methods can take days.
	StopAfterSeconds int
	// StandIn is set when payments go to a stand-in for Stripe, as in
	// PayData.
	StandIn bool
}

// DefaultRefreshSeconds is the processing page's delay between checks when
// ProcessingData.RefreshSeconds is not set.
const DefaultRefreshSeconds = 5

// DefaultStopAfterSeconds is how long the processing page checks when
// ProcessingData.StopAfterSeconds is not set.
const DefaultStopAfterSeconds = 300

// RefreshAfter returns the delay between checks in seconds:
// RefreshSeconds, or DefaultRefreshSeconds when that is not positive.
func (d ProcessingData) RefreshAfter() int {
	if d.RefreshSeconds > 0 {
		return d.RefreshSeconds
	}
	return DefaultRefreshSeconds
}

// StopAfter returns how long the script checks, in seconds:
// StopAfterSeconds, or DefaultStopAfterSeconds when that is not positive.
func (d ProcessingData) StopAfter() int {
	if d.StopAfterSeconds > 0 {
		return d.StopAfterSeconds
	}
	return DefaultStopAfterSeconds
}

// StopAfterMinutes is StopAfter in whole minutes, rounded up.
func (d ProcessingData) StopAfterMinutes() int {
	return (d.StopAfter() + 59) / 60
}

// CheckAgainURL returns RefreshURL when it is a path on this site or an
// http(s) URL, else "".
func (d ProcessingData) CheckAgainURL() string { return safeURL(d.RefreshURL) }

// CheckStatusURL returns StatusURL when it is a path on this site (the
// script may only connect to this site), else "".
func (d ProcessingData) CheckStatusURL() string {
	if u := safeURL(d.StatusURL); strings.HasPrefix(u, "/") {
		return u
	}
	return ""
}

// CancelData is the data of cancel.html, shown when the customer leaves
// Checkout without paying.
type CancelData struct {
	// User is who was paying.
	User string
	// ProductName is the display name of what was being bought; may be "".
	ProductName string
	// PayURL is the "Try again" link (the pay page); no link when "".
	PayURL string
	// BackURL is the "Back to the site" link ("/" when empty).
	BackURL string
}

// SuccessData is the data of success.html, shown after a payment when there
// is no return_to to send the customer back to.
type SuccessData struct {
	// User is who paid.
	User string
	// ProductName is the display name of what was bought; may be "".
	ProductName string
	// ContinueURL is the "Continue to the site" link ("/" when empty).
	ContinueURL string
}

// ErrorData is the data of error.html.
type ErrorData struct {
	// Status is the HTTP status code, shown as "Error 404"; 0 hides it.
	Status int
	// Title is the heading; the status text for Status when "".
	Title string
	// Message is a sentence for the customer; may be "".
	Message string
	// BackURL is the "Back to the site" link ("/" when empty).
	BackURL string
	// User is who is signed in; may be "".
	User string
}

// Heading returns Title, or the status text for Status when Title is "".
func (d ErrorData) Heading() string {
	if d.Title != "" {
		return d.Title
	}
	if t := http.StatusText(d.Status); t != "" {
		return t
	}
	return "Something went wrong"
}

// Page names, as given to Set.Render.
const (
	Pay        = "pay"
	Processing = "processing"
	Cancel     = "cancel"
	Success    = "success"
	Error      = "error"
)

// StripeCheckoutOrigin is where Stripe's hosted Checkout lives: the pay
// form's POST is answered with a redirect there, so the pages' form-action
// allows it.
const StripeCheckoutOrigin = "https://checkout.stripe.com"

const layoutFile = "layout.html"

// samples are rendered at load time to catch template errors (bad field
// names, escaping errors) before a customer meets them. They fill every
// field so that most branches run.
var samples = map[string]any{
	Pay: PayData{
		User: "alice",
		Products: []Listing{
			{ID: "pro", Name: "Pro articles", Description: "Everything under /premium/.", Price: "€9.00",
				Prices: []Price{{ID: "price_pro", Label: "€9", Offer: "€9"}}, Mode: "payment"},
			{ID: "club", Name: "Club", Price: "$5.00 / month", Mode: "subscription", TrialDays: 14,
				Prices: []Price{
					{ID: "price_m", Label: "$5 a month", Offer: "14 days free, then $5 a month"},
					{ID: "price_y", Label: "$50 a year", Offer: "14 days free, then $50 a year"},
				}},
		},
		CheckoutURL: "/paywall/checkout", CSRFToken: "t", Nonce: "n",
		ReturnTo: "/premium/x", BackURL: "/", AutomaticTax: true, TaxIDCollection: true,
	},
	Processing: ProcessingData{User: "alice", ProductName: "Pro articles", RefreshURL: "/paywall/success?session_id=cs_1",
		StatusURL: "/paywall/status?session_id=cs_1", BackURL: "/", RefreshSeconds: 3, StopAfterSeconds: 300},
	Cancel:  CancelData{User: "alice", ProductName: "Pro articles", PayURL: "/paywall/pay?product=pro", BackURL: "/"},
	Success: SuccessData{User: "alice", ProductName: "Pro articles", ContinueURL: "/"},
	Error:   ErrorData{Status: 404, Title: "Not found", Message: "No such page.", BackURL: "/", User: "alice"},
}

// names lists the pages in a fixed order.
var names = []string{Pay, Processing, Cancel, Success, Error}

//go:embed templates/*.html
var builtinFS embed.FS

var builtin = mustLoad()

func mustLoad() *Set {
	s, err := load(builtinFS, "templates", nil, "")
	if err != nil {
		panic("pages: built-in templates: " + err.Error())
	}
	return s
}

// Set is a parsed set of the five pages, safe for concurrent use.
type Set struct {
	pages      map[string]*template.Template
	formAction []string // CSP form-action sources besides 'self'
}

// Builtin returns the embedded pages. They are parsed once, when the
// program starts.
func Builtin() *Set { return builtin }

// Load returns the pages with those found in dir replacing the built-in
// ones of the same name (see the package doc). An empty dir gives
// Builtin(). A file that does not parse, or that fails to render with
// sample data, is an error naming the file. A missing dir is an error.
func Load(dir string) (*Set, error) {
	if dir == "" {
		return Builtin(), nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("templates directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("templates directory %s: not a directory", dir)
	}
	return load(builtinFS, "templates", os.DirFS(dir), dir)
}

// load parses each page from over (when it has the file) or else from
// base. overDir is the operator's path, for error messages.
func load(base fs.FS, baseDir string, over fs.FS, overDir string) (*Set, error) {
	read := func(name string) (src []byte, path string, err error) {
		if over != nil {
			src, err = fs.ReadFile(over, name)
			if err == nil {
				return src, filepath.Join(overDir, name), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, "", fmt.Errorf("reading %s: %w", filepath.Join(overDir, name), err)
			}
		}
		src, err = fs.ReadFile(base, baseDir+"/"+name)
		if err != nil {
			return nil, "", fmt.Errorf("reading built-in %s: %w", name, err)
		}
		return src, "built-in " + name, nil
	}

	layoutSrc, layoutPath, err := read(layoutFile)
	if err != nil {
		return nil, err
	}
	root, err := template.New(layoutFile).Funcs(funcs).Parse(string(layoutSrc))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", layoutPath, err)
	}

	s := &Set{pages: make(map[string]*template.Template, len(names)), formAction: []string{StripeCheckoutOrigin}}
	for _, name := range names {
		file := name + ".html"
		src, path, err := read(file)
		if err != nil {
			return nil, err
		}
		t, err := root.Clone()
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		if t, err = t.New(file).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("parsing %s: %w", path, err)
		}
		// Executing also runs html/template's escaper, whose errors
		// (such as an unquoted attribute) only show up then.
		var buf bytes.Buffer
		if err := t.Execute(&buf, samples[name]); err != nil {
			if path == "built-in "+file && layoutPath != "built-in "+layoutFile {
				path += " with " + layoutPath
			}
			return nil, fmt.Errorf("checking %s: %w", path, err)
		}
		s.pages[name] = t
	}
	return s, nil
}

var funcs = template.FuncMap{
	"statusText":  http.StatusText,
	"checkScript": func() template.HTML { return checkScriptElement },
}

// processingJS is the processing page's script. Its hash, computed here
// from the embedded file, is the only script the pages' CSP allows.
//
//go:embed processing.js
var processingJS string

var (
	checkScriptElement = template.HTML("<script>" + processingJS + "</script>")
	checkScriptHash    = func() string {
		sum := sha256.Sum256([]byte(processingJS))
		return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
	}()
)

// WithFormAction returns a copy of s whose pages also allow forms to
// submit to (and be redirected to) the given origins, such as the offline
// Stripe stand-in or a Checkout custom domain. Each is an http(s) URL;
// only its scheme and host are used.
func (s *Set) WithFormAction(urls ...string) (*Set, error) {
	c := &Set{pages: s.pages, formAction: slices.Clone(s.formAction)}
	for _, raw := range urls {
		o := origin(raw)
		if o == "" {
			return nil, fmt.Errorf("form action %q: want an http or https URL", raw)
		}
		if !slices.Contains(c.formAction, o) {
			c.formAction = append(c.formAction, o)
		}
	}
	return c, nil
}

// Render writes the page name ("pay", "processing", "cancel", "success"
// or "error") with data and the given status. The page is rendered into a
// buffer first: when that fails, the response is a plain 500 and the
// error is returned for the caller to log.
func (s *Set) Render(w http.ResponseWriter, status int, name string, data any) error {
	t, ok := s.pages[strings.TrimSuffix(name, ".html")]
	var buf bytes.Buffer
	var err error
	if !ok {
		err = fmt.Errorf("no page named %q", name)
	} else if err = t.Execute(&buf, data); err != nil {
		err = fmt.Errorf("rendering %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if err != nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("500 Internal Server Error\n"))
		return err
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", s.csp(buf.Bytes(), data))
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, err = w.Write(buf.Bytes())
	return err
}

// csp builds the page's Content-Security-Policy: nothing may load, the
// page's own <style> elements are allowed by hash, and forms may submit
// only to this site, Stripe Checkout and the configured origins.
func (s *Set) csp(page []byte, data any) string {
	var b strings.Builder
	b.WriteString("default-src 'none'")
	if bytes.Contains(page, []byte(checkScriptElement)) {
		// The check script, and the status requests it makes.
		b.WriteString("; script-src '" + checkScriptHash + "'; connect-src 'self'")
	}
	if hashes := styleHashes(page); len(hashes) > 0 {
		b.WriteString("; style-src")
		for _, h := range hashes {
			b.WriteString(" '" + h + "'")
		}
	}
	b.WriteString("; form-action 'self'")
	sources := s.formAction
	var checkout string
	switch d := data.(type) {
	case PayData:
		checkout = d.CheckoutURL
	case *PayData:
		if d != nil {
			checkout = d.CheckoutURL
		}
	}
	if o := origin(checkout); o != "" && !slices.Contains(sources, o) {
		sources = append(slices.Clone(sources), o)
	}
	for _, src := range sources {
		b.WriteString(" " + src)
	}
	b.WriteString("; frame-ancestors 'none'; base-uri 'none'")
	return b.String()
}

// styleHashes returns the CSP hash source ("sha256-…") of the content of
// each <style> element in page, in order, without duplicates.
func styleHashes(page []byte) []string {
	var out []string
	lower := bytes.ToLower(page)
	for i := 0; ; {
		j := bytes.Index(lower[i:], []byte("<style"))
		if j < 0 {
			return out
		}
		i += j + len("<style")
		if i >= len(lower) {
			return out
		}
		if c := lower[i]; c != '>' && c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '/' {
			continue // <styles> or similar: not a style element
		}
		gt := bytes.IndexByte(lower[i:], '>')
		if gt < 0 {
			return out
		}
		start := i + gt + 1
		end := bytes.Index(lower[start:], []byte("</style"))
		if end < 0 {
			end = len(lower) - start
		}
		sum := sha256.Sum256(page[start : start+end])
		h := "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
		i = start + end
	}
}

// origin returns scheme://host of an absolute http(s) URL, else "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	if strings.ContainsAny(u.Host, " ;,'\"") {
		return ""
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

// safeURL returns raw, re-serialised, when it is a path on this site
// ("/x", not "//host" or "/\host") or an http(s) URL; else "".
func safeURL(raw string) string {
	if raw == "" || strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
			return ""
		}
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
	default:
		return ""
	}
	return u.String()
}
