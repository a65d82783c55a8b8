// Package console is the site owner's console under base_path/console: an
// overview of the last 30 days (the gate's outcomes, the pay funnel,
// revenue, refunds and disputes, live entitlements, webhook health), a
// user's grants and audit trail with grant and revoke forms, and the audit
// stream. Pages are server-rendered html/template, load nothing from
// elsewhere and carry a strict Content-Security-Policy.
//
// The gateway (internal/gateway) finds the visitor, refuses non-admins
// and checks the CSRF token of every POST before a request gets here;
// Console re-checks that the visitor is an admin. No page scans the key
// space: the counters are per-day hashes, the live entitlements a sorted
// set per product, a user's trail a list of audit ids, and the events page
// reads the stream in bounded steps.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Days is how many days the overview shows.
const Days = 30

// eventsPage is how many audit entries the events page shows; eventsRead
// bounds how many entries one page reads while filtering.
const (
	eventsLimit = 50
	eventsRead  = 2000
	userTrail   = 50
)

// Config is what the console needs.
type Config struct {
	// Admins are the users who may open the console.
	Admins []string
	// BasePath is the paywall's base_path; the console is BasePath/console.
	BasePath string
	Products catalog.Catalog
	Store    *store.Store
	Log      *zap.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Console serves the console's pages.
type Console struct {
	cfg   Config
	root  string // BasePath + "/console"
	pages map[string]*template.Template
	now   func() time.Time
	log   *zap.Logger
}

//go:embed templates/*.html
var templateFiles embed.FS

// New builds the console.
func New(cfg Config) (*Console, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("console: a store is required")
	}
	if len(cfg.Admins) == 0 {
		return nil, fmt.Errorf("console: admins is required")
	}
	c := &Console{cfg: cfg, root: cfg.BasePath + "/console", now: cfg.Now, log: cfg.Log, pages: map[string]*template.Template{}}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	for _, name := range []string{"overview", "user", "events"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: %v", err)
		}
		c.pages[name] = t
	}
	return c, nil
}

// Admin reports whether user may open the console.
func (c *Console) Admin(user string) bool {
	return user != "" && slices.Contains(c.cfg.Admins, user)
}

// ServeConsole serves a page to admin. The gateway has already checked
// that admin is an admin and, for a POST, the CSRF token.
func (c *Console) ServeConsole(w http.ResponseWriter, r *http.Request, admin, csrfToken string) {
	if !c.Admin(admin) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	v := view{Root: c.root, Admin: admin, CSRF: csrfToken}
	rest := strings.TrimPrefix(r.URL.Path, c.root)
	post := r.Method == http.MethodPost
	if !post && r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case rest == "" || rest == "/":
		if !post {
			c.overview(w, r, v)
			return
		}
	case rest == "/users":
		if !post {
			c.user(w, r, v)
			return
		}
	case rest == "/users/grant" || rest == "/users/revoke":
		if post {
			c.change(w, r, v, strings.TrimPrefix(rest, "/users/"))
			return
		}
	case rest == "/events":
		if !post {
			c.events(w, r, v)
			return
		}
	default:
		v.Title = "Not found"
		c.render(w, http.StatusNotFound, "overview", overviewPage{view: v, NotFound: true})
		return
	}
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
}

// view is what every page gets.
type view struct {
	Root, Admin, CSRF string
	Title             string
	Nav               string // the current page: overview, user, events
	// Unavailable: Redis could not be read; the page says so instead of
	// showing zeros.
	Unavailable bool
}

func (c *Console) productName(id string) string {
	if p, ok := c.cfg.Products.ByID(id); ok && p.Name != "" {
		return p.Name
	}
	return id
}

func (c *Console) knows(id string) bool {
	_, ok := c.cfg.Products.ByID(id)
	return ok
}

// storeFailed logs a failed read and marks the page.
func (c *Console) storeFailed(v *view, what string, err error) {
	c.log.Error("console: "+what, zap.Error(err))
	v.Unavailable = true
}

func readCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 3*time.Second)
}

// render writes a page with its security headers; a page that fails to
// render is a plain 500.
func (c *Console) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		c.log.Error("console: rendering "+name, zap.Error(err))
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("500 Internal Server Error\n"))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// csp lets nothing load; the one <style> element (layout.html) is allowed
// by its hash; forms post only here.
var csp = func() string {
	b, err := templateFiles.ReadFile("templates/layout.html")
	if err != nil {
		panic(err)
	}
	start := bytes.Index(b, []byte("<style>")) + len("<style>")
	end := bytes.Index(b, []byte("</style>"))
	sum := sha256.Sum256(b[start:end])
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

var funcs = template.FuncMap{
	"shown": shown,
	"add":   func(a, b int) int { return a + b },
	// encode carries a user id in a form field as the store's key
	// encoding (%XX for anything unusual), exact and free of control
	// characters; the handler decodes it.
	"encode": store.EncodeUser,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"query": func(kv ...string) string {
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				q.Set(kv[i], kv[i+1])
			}
		}
		if len(q) == 0 {
			return ""
		}
		return "?" + q.Encode()
	},
}

// shown writes a user id (or any stored text) for a page: control and
// format characters as \x.. or \u...., so a name cannot hide or reorder
// what follows it; html/template escapes the markup.
func shown(s string) string {
	if !strings.ContainsFunc(s, hidden) && strings.ToValidUTF8(s, "") == s {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == unicode.ReplacementChar && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case hidden(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hidden(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }
