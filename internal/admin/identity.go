package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WhoamiCheck is how doctor checks a whoami URL: one request without any
// cookie, which must be answered and come back signed out.
type WhoamiCheck struct {
	URL            string
	CheckSignedOut func(ctx context.Context) (user string, err error)
}

// HeaderProbe is how doctor checks that the paywall's own pages refuse an
// identity a client makes up: the pages are asked with the header (or
// cookie) that `user` reads set to a name nobody has, and must not show it.
type HeaderProbe struct {
	// Header or Cookie is what `user` reads.
	Header, Cookie string
	// Pages are the absolute URLs probed (the pay page, the portal).
	Pages []string
}

// IdentityChecks are the checks of who the user is: the whoami URL, and
// the probe of the paywall's pages with a made-up header identity.
func (d Doctor) IdentityChecks(ctx context.Context) []Check {
	var checks []Check
	if d.Whoami != nil {
		checks = append(checks, d.Whoami.run(ctx))
	}
	if d.HeaderProbe != nil {
		checks = append(checks, d.HeaderProbe.run(ctx))
	}
	return checks
}

func (c WhoamiCheck) run(ctx context.Context) Check {
	const name = "whoami"
	user, err := c.CheckSignedOut(ctx)
	switch {
	case err != nil:
		return Check{name, "error", err.Error(), "check that the site is up and that whoami's URL is a page of it that needs a login"}
	case user != "":
		return Check{name, "error", fmt.Sprintf("%s names %q for a request without any cookie: it does not check the login", c.URL, user),
			"point whoami at a page that needs a login (it should answer 401, 403 or a redirect to the login page without one)"}
	}
	return Check{Name: name, Status: "ok", Detail: c.URL + " answers, and a request without cookies is signed out"}
}

func (p HeaderProbe) run(ctx context.Context) Check {
	const name = "header identity"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	madeUp := "paywall-doctor-probe-" + hex.EncodeToString(b)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, page := range p.Pages {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
		if err != nil {
			return Check{name, "error", err.Error(), ""}
		}
		req.Header.Set("Accept", "text/html")
		if p.Header != "" {
			req.Header.Set(p.Header, madeUp)
		}
		if p.Cookie != "" {
			req.AddCookie(&http.Cookie{Name: p.Cookie, Value: madeUp})
		}
		resp, err := client.Do(req)
		if err != nil {
			return Check{name, "error", fmt.Sprintf("probing %s: %v", page, err), "check that the site is up and the URL is right"}
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if strings.Contains(string(body), madeUp) || strings.Contains(resp.Header.Get("Location"), madeUp) {
			return Check{name, "error", fmt.Sprintf("%s accepted a made-up identity sent by a client (%d)", page, resp.StatusCode),
				"run this Caddy's paywall (its pages trust only their own cookie), and have the layer that sets the identity cover the paywall's pages, or use whoami"}
		}
	}
	what := p.Header + " header"
	if p.Cookie != "" {
		what = p.Cookie + " cookie"
	}
	return Check{Name: name, Status: "ok", Detail: "the paywall's pages refuse a made-up " + what + " (" + strings.Join(p.Pages, ", ") + ")"}
}
