package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Outcome is what the gate decided for a request.
type Outcome string

const (
	Pass  Outcome = "pass"  // the user holds a matching product
	Login Outcome = "login" // nobody is logged in
	Pay   Outcome = "pay"   // logged in, not entitled
	// StoreDenied: Redis failed and on_store_error is deny (503).
	StoreDenied Outcome = "denied_store_error"
	// StoreAllowed: Redis failed and on_store_error is allow.
	StoreAllowed Outcome = "allowed_store_error"
	// FreeView: logged in, not entitled, and the page is one of the
	// product's free views (free_views).
	FreeView Outcome = "free_view"
	// Crawler: nobody logged in, and a verified search crawler (crawlers).
	Crawler Outcome = "crawler"
	// IdentityUnavailable: whoami could not learn from the site who is
	// signed in (503).
	IdentityUnavailable Outcome = "identity_unavailable"
)

// Request is what the gate needs to know about a gated request.
type Request struct {
	User     string
	Products []string // the products whose paths match, in config order
	// Path is the page, for free views; UserAgent and RemoteAddr (the
	// connection's address) tell a crawler. See RequestOf.
	Path, UserAgent, RemoteAddr string
}

// Decision is the gate's verdict.
type Decision struct {
	Outcome  Outcome
	User     string
	Products []string // the products gating the request
	Held     []string // those the user holds (Pass)
	Err      error    // the store error (StoreDenied, StoreAllowed)
	Metered  *Metered // the free-view meter consulted (FreeView, or Pay when used up)
	Crawler  string   // the verified crawler (Crawler)
	// Shadowed: the request does not pass, but shadow lets it through
	// (see Check).
	Shadowed bool
}

// Passes reports whether the request goes on to the upstream.
func (d Decision) Passes() bool {
	return d.Outcome == Pass || d.Outcome == StoreAllowed || d.Outcome == FreeView || d.Outcome == Crawler
}

// Decide decides a gated request. Only it reads entitlements and counts
// free views, and only for a logged-in user on a gated path.
func (g *Gateway) Decide(ctx context.Context, req Request) Decision {
	d := Decision{User: req.User, Products: req.Products}
	if req.User == "" {
		d.Outcome = Login
		if d.Crawler = g.crawler(ctx, req); d.Crawler != "" {
			d.Outcome = Crawler
		}
		return d
	}
	ents, err := g.reader.Entitlements(ctx, req.User)
	if err != nil {
		d.Err = err
		d.Outcome = StoreDenied
		if g.cfg.AllowOnStoreError {
			d.Outcome = StoreAllowed
		}
		return d
	}
	d.Held = held(ents, req.Products, g.now())
	d.Outcome = Pay
	if len(d.Held) > 0 {
		d.Outcome = Pass
		return d
	}
	g.freeView(ctx, req, &d) // holds none of them: free views, if any
	return d
}

// held is the products the entitlements hold live at now. When it is all
// of them (one gating product, the common case) it is products itself,
// capped so that an append copies: no allocation on the paid path.
func held(ents store.Entitlements, products []string, now time.Time) []string {
	n := 0
	for _, p := range products {
		if ents.Live(p, now) {
			n++
		}
	}
	if n == len(products) {
		return products[:n:n]
	}
	out := make([]string, 0, n)
	for _, p := range products {
		if ents.Live(p, now) {
			out = append(out, p)
		}
	}
	return out
}

// IsMachine reports whether a request wants a machine-readable answer: its
// Accept header does not include text/html.
func IsMachine(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return false
		}
	}
	return true
}

// StripPaywallHeaders deletes client-sent X-Paywall-* request headers and
// their X_Paywall_* spellings (which WSGI and CGI apps read as the same
// name), so only the gateway can set them. It also takes those names out
// of a client's Connection header: a proxy drops the headers Connection
// names, and must not drop the ones the gateway sets.
func StripPaywallHeaders(h http.Header) {
	for k := range h {
		if isPaywallHeader(k) {
			delete(h, k)
		}
	}
	if conn, ok := h["Connection"]; ok {
		h["Connection"] = withoutPaywallTokens(conn)
	}
}

func isPaywallHeader(k string) bool {
	return len(k) >= 10 && (k[1] == '-' || k[1] == '_') && (k[9] == '-' || k[9] == '_') &&
		strings.EqualFold(k[:1], "x") && strings.EqualFold(k[2:9], "paywall")
}

// withoutPaywallTokens drops the X-Paywall-* names from Connection
// values, keeping the other tokens (close, keep-alive, ...).
// mentionsPaywall reports whether v contains "paywall" in any case,
// without allocating.
func mentionsPaywall(v string) bool {
	for i := 0; i+len("paywall") <= len(v); i++ {
		if strings.EqualFold(v[i:i+len("paywall")], "paywall") {
			return true
		}
	}
	return false
}

func withoutPaywallTokens(values []string) []string {
	if !slices.ContainsFunc(values, mentionsPaywall) {
		return values // the common case: nothing to drop, no allocation
	}
	out := values[:0:0]
	for _, v := range values {
		if !mentionsPaywall(v) {
			out = append(out, v)
			continue
		}
		var keep []string
		for _, tok := range strings.Split(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" && !isPaywallHeader(tok) {
				keep = append(keep, tok)
			}
		}
		if len(keep) > 0 {
			out = append(out, strings.Join(keep, ", "))
		}
	}
	return out
}

// SetUpstreamHeaders sets what the upstream app learns about a passing
// request. Both values share one backing array (one allocation, not two),
// each capped so that a later Add copies; the keys are canonical already.
func SetUpstreamHeaders(h http.Header, d Decision) {
	SetUpstreamHeadersIn(h, d, new([2]string))
}

// SetUpstreamHeadersIn is SetUpstreamHeaders with the values kept in vals,
// which the caller allocates with something it allocates anyway for the
// request (no allocation here) and must not reuse while h is in use.
func SetUpstreamHeadersIn(h http.Header, d Decision, vals *[2]string) {
	if d.Outcome == FreeView || d.Outcome == Crawler {
		setSellingHeaders(h, d)
		return
	}
	vals[0], vals[1] = d.User, strings.Join(d.Held, ",")
	h["X-Paywall-User"] = vals[0:1:1]
	h["X-Paywall-Products"] = vals[1:2:2]
}
