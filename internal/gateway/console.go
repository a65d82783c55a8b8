package gateway

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Console is the site owner's console under base_path/console
// (internal/console). The gateway finds the visitor exactly as the pay and
// checkout pages do, refuses whoever is not an admin, and checks the CSRF
// token of every POST with the session cookie's, before the console sees
// the request.
type Console interface {
	// Admin reports whether user may open the console.
	Admin(user string) bool
	// ServeConsole serves a console page to admin; csrfToken is the token
	// its forms must carry.
	ServeConsole(w http.ResponseWriter, r *http.Request, admin, csrfToken string)
}

// consolePath reports whether rest (the path under base_path) is the
// console's.
func consolePath(rest string) bool {
	return rest == "/console" || strings.HasPrefix(rest, "/console/")
}

// serveConsole finds who asks (the `user` placeholder, else the session
// cookie, as whoPays does), sends a signed-out visitor to log in (a
// machine gets 401), refuses anyone but an admin (403), and checks a
// POST's origin and CSRF token (403, nothing changed).
func (g *Gateway) serveConsole(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	if g.console == nil {
		g.errorPage(w, http.StatusNotFound, "Not found", "There is no such paywall page.", user)
		return
	}
	who, sess, d := g.whoPays(r, user)
	if who == "" {
		g.toLogin(w, r, repl)
		return
	}
	if !g.console.Admin(who) {
		g.errorPage(w, http.StatusForbidden, "Not allowed", "This console is for the site's administrators.", who)
		return
	}
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			g.errorPage(w, http.StatusForbidden, "Request refused", "This form must be sent from this site.", who)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			g.errorPage(w, http.StatusBadRequest, "Bad request", "The form could not be read.", who)
			return
		}
		token := r.PostForm.Get("csrf_token")
		if d.CSRF == "" || subtle.ConstantTimeCompare([]byte(token), []byte(d.CSRF)) != 1 {
			g.errorPage(w, http.StatusForbidden, "Request refused",
				"This form has expired or did not come from this site. Go back, reload and try again.", who)
			return
		}
	}
	if d.CSRF == "" || d.User != who {
		d.User = who
		if d.CSRF == "" {
			d.CSRF = randomToken()
		}
		g.sessions.save(w, r, sess, d)
	}
	g.console.ServeConsole(w, r, who, d.CSRF)
}
