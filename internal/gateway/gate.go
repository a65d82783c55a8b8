package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
)

// Identity is how the gate learns who is signed in on a gated request:
// the `user` placeholder, or whoami asking the site (caddymodule builds
// it). "" means nobody; an error means the site could not say, and the
// request gets 503 (or passes, under shadow).
type Identity interface {
	User(r *http.Request) (string, error)
}

// nobody is the Identity of a gateway given none: nobody is signed in.
type nobody struct{}

func (nobody) User(*http.Request) (string, error) { return "", nil }

// The outcomes of Check that are not decisions at the gate.
const (
	// Endpoint: the path is under base_path; ServeEndpoint serves it.
	Endpoint Outcome = "endpoint"
	// Ungated: no product gates the path, or it is the login page; the
	// request goes on untouched, without reading Redis.
	Ungated Outcome = "ungated"
	// Lenient: the path is gated only under a reading more lenient than
	// Caddy's path matcher (a server behind may read it so): 400.
	Lenient Outcome = "lenient_path"
)

// Check is the gate: the one place that decides what becomes of a
// request. original is its path before any rewrite, so that a rewrite
// cannot move a request out of its gate. It first strips the X-Paywall-*
// headers a client sent (only the gateway sets them); it answers nothing.
// The caller acts on the Decision:
//
//   - Endpoint: ServeEndpoint.
//   - Ungated: on to the upstream as it is.
//   - GoesOn: on to the upstream; when it Passes, readied by PassOn.
//   - otherwise: Deny answers (login, pay, 503, 400).
func (g *Gateway) Check(r *http.Request, original string) Decision {
	StripPaywallHeaders(r.Header)
	if g.IsEndpoint(r.URL.Path) {
		return Decision{Outcome: Endpoint}
	}
	products, lenient := g.gates.Check(r.URL.Path, original)
	if lenient && !g.cfg.Shadow {
		return Decision{Outcome: Lenient, Products: products}
	}
	if products == nil || g.isLoginPage(r.URL.Path) {
		return Decision{Outcome: Ungated}
	}
	var d Decision
	if user, err := g.identity.User(r); err != nil {
		d = Decision{Outcome: IdentityUnavailable, Products: products, Err: err}
	} else {
		d = g.Decide(r.Context(), RequestOf(r, user, products))
	}
	d.Shadowed = g.cfg.Shadow && !d.Passes()
	return d
}

// PassOn readies a request that Passes for the upstream: the X-Paywall-*
// request headers, their values kept in vals (see SetUpstreamHeadersIn),
// and, when the user comes from a request header (HeaderIdentity), the
// paywall's cookie naming them: its pages trust only that cookie, set
// here where the layer that sets the header ran.
func (g *Gateway) PassOn(w http.ResponseWriter, r *http.Request, d Decision, vals *[2]string) {
	SetUpstreamHeadersIn(r.Header, d, vals)
	if g.cfg.HeaderIdentity && d.Outcome == Pass {
		g.rememberUser(w, r, d.User)
	}
}

// GoesOn reports whether the request goes on to the upstream: it is
// ungated, passes the gate, or shadow lets it through.
func (d Decision) GoesOn() bool { return d.Outcome == Ungated || d.Passes() || d.Shadowed }

func (g *Gateway) isLoginPage(path string) bool {
	return g.loginPath != "" && strings.EqualFold(path, g.loginPath)
}

// compileGates compiles each product's paths and except patterns.
func compileGates(products catalog.Catalog) (paths.Gates, error) {
	gates := make(paths.Gates, 0, len(products))
	for _, p := range products {
		in, err := paths.Compile(p.Paths)
		if err != nil {
			return nil, fmt.Errorf("product %q: paths: %v", p.ID, err)
		}
		ex, err := paths.Compile(p.Except)
		if err != nil {
			return nil, fmt.Errorf("product %q: except: %v", p.ID, err)
		}
		gates = append(gates, paths.NewGate(p.ID, in, ex))
	}
	return gates, nil
}

// loginPath is the path of a same-site login URL, which is never gated;
// "" for a login page on another site. Placeholders in the query do not
// matter: only the path is kept.
func loginPath(loginURL string) string {
	if i := strings.IndexAny(loginURL, "?#"); i >= 0 {
		loginURL = loginURL[:i]
	}
	u, err := url.Parse(loginURL)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return u.Path
}
