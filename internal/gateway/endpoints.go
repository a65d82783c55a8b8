package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/sessions"

	"github.com/caddy-paywall/caddy-paywall/internal/paths"
)

// Replacer is what the gateway needs of Caddy's replacer
// (*caddy.Replacer, which has these methods): login_url may hold
// placeholders, resolved per request with {http.paywall.return_to} set.
type Replacer interface {
	Set(variable string, value any)
	ReplaceAll(input, empty string) string
}

// loginURL is login_url for a request whose path and query are returnTo,
// with {http.paywall.return_to} set to it query-escaped; "" when no
// login_url is configured (or no replacer is given).
func (g *Gateway) loginURL(repl Replacer, returnTo string) string {
	if g.cfg.LoginURL == "" || repl == nil {
		return ""
	}
	repl.Set("http.paywall.return_to", url.QueryEscape(returnTo))
	return repl.ReplaceAll(g.cfg.LoginURL, "")
}

// IsEndpoint reports whether path is under base_path: the paywall's own
// endpoints, never gated.
func (g *Gateway) IsEndpoint(path string) bool {
	b := g.cfg.BasePath
	return strings.HasPrefix(path, b) && (len(path) == len(b) || path[len(b)] == '/')
}

// ServeEndpoint serves the endpoints under base_path. user is the `user`
// placeholder's value ("" when the site's auth did not run here); repl
// resolves login_url.
func (g *Gateway) ServeEndpoint(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	if consolePath(strings.TrimPrefix(r.URL.Path, g.cfg.BasePath)) {
		g.serveConsole(w, r, user, repl)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, g.cfg.BasePath) {
	case "/webhook":
		if only(w, r, http.MethodPost) {
			g.serveWebhook(w, r)
		}
	case "/healthz":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.serveHealthz(w, r)
		}
	case "/pay":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.servePay(w, r, user, repl)
		}
	case "/checkout":
		if only(w, r, http.MethodPost) {
			g.serveCheckout(w, r, user, repl)
		}
	case "/success":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.serveSuccess(w, r, user, repl)
		}
	case "/status":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.serveStatus(w, r, user)
		}
	case "/cancel":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.serveCancel(w, r, user)
		}
	case "/portal":
		if only(w, r, http.MethodGet, http.MethodHead) {
			g.servePortal(w, r, user, repl)
		}
	default:
		g.errorPage(w, http.StatusNotFound, "Not found", "There is no such paywall page.", user)
	}
}

// only answers 405 unless r uses one of methods.
func only(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// whoPays is the user behind an endpoint request: the `user` placeholder,
// else the one the gate remembered in the session cookie.
func (g *Gateway) whoPays(r *http.Request, user string) (string, *sessions.Session, sessionData) {
	sess, d := g.sessions.load(r)
	if user == "" {
		return d.User, sess, d
	}
	if d.User != user { // someone else logged in: start afresh
		d = sessionData{User: user}
	}
	return user, sess, d
}

// toLogin sends a visitor nobody knows to login_url, or answers 401.
func (g *Gateway) toLogin(w http.ResponseWriter, r *http.Request, repl Replacer) {
	if u := g.loginURL(repl, ReturnTo(r)); u != "" && !IsMachine(r) {
		http.Redirect(w, r, u, http.StatusFound)
		return
	}
	g.errorPage(w, http.StatusUnauthorized, "Please log in", "Log in to the site first, then come back.", "")
}

// holds reports whether user holds any of products now. A store failure
// counts as not holding: the caller then offers to pay, and checkout
// checks again.
func (g *Gateway) holds(r *http.Request, user string, products ...string) bool {
	ents, err := g.reader.Entitlements(r.Context(), user)
	if err != nil {
		return false
	}
	for _, p := range products {
		if ents.Live(p, g.now()) {
			return true
		}
	}
	return false
}

// ReturnTo is the request's path and query when it is a same-origin
// relative path, else "": what login_url's {http.paywall.return_to} and the
// pay page's return_to carry.
func ReturnTo(r *http.Request) string {
	return paths.SafeReturnTo(r.URL.RequestURI())
}

// orRoot is where a visitor goes back to: returnTo when it is a
// same-origin relative path, else the site's root. Every redirect and link
// back to the site (after paying, from the portal, when already paid)
// passes here, so none can lead to another host.
func orRoot(returnTo string) string {
	if returnTo = paths.SafeReturnTo(returnTo); returnTo == "" {
		return "/"
	}
	return returnTo
}
