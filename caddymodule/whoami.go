package caddymodule

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddy-paywall/caddy-paywall/internal/admin"
	"github.com/caddy-paywall/caddy-paywall/internal/gateway"
	"github.com/caddy-paywall/caddy-paywall/internal/whoami"
)

// WhoamiConfig has the gateway ask the site itself who is signed in: a GET
// to URL with the visitor's login cookies, whose answer is cached. Any page
// of the site that needs a login and shows who is signed in will do (a
// Django LoginRequiredMixin page, Discourse's /session/current.json, an
// app's "who am I" endpoint). 2xx with the user found: signed in; 2xx
// without it, 3xx, 401, 403: signed out; anything else (5xx, timeout,
// refused): unavailable, and gated requests answer 503. Only gated requests
// and the paywall's own pages ask; a request without any of the cookies is
// signed out without asking. The answer sets {http.paywall.user} and, when
// it is empty, {http.auth.user.id}. Cannot be set together with `user`.
type WhoamiConfig struct {
	// The page asked: http:// or https://. Required.
	URL string `json:"url,omitempty"`

	// The cookies that carry the site's login (Django: sessionid): the only
	// ones forwarded, and the cache key. Default: every cookie the request
	// holds except the paywall's own.
	Cookies []string `json:"cookies,omitempty"`

	// Exactly one of user_header, user_json and user_regex is required.
	// The user id is this header of a 2xx answer.
	UserHeader string `json:"user_header,omitempty"`

	// The user id is this field of a 2xx answer's JSON body, as a dot path
	// ("user.username"; a number picks an array element). A string or a
	// number counts.
	UserJSON string `json:"user_json,omitempty"`

	// The user id is the first group of this regular expression (Go
	// syntax), matched on a 2xx answer's body; HTML entities in it are
	// decoded.
	UserRegex string `json:"user_regex,omitempty"`

	// How long a signed-in answer is trusted: a session ended on the site
	// while the browser keeps its cookie stays open this long. Default: 1m.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// How long a signed-out answer is trusted. Default: 5s.
	NegativeTTL caddy.Duration `json:"negative_ttl,omitempty"`

	// How long the site has to answer, body included. Default: 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// errUserAndWhoami refuses two sources of identity at once.
const errUserAndWhoami = "whoami and user cannot both be set: whoami asks the site who is signed in, user reads a placeholder; keep one"

// whoamiOptions are the options of the whoami block, in syntax order.
var whoamiOptions = []string{"cookies", "user_header", "user_json", "user_regex", "ttl", "negative_ttl", "timeout"}

// unmarshalWhoami reads `whoami <url> { ... }`.
func unmarshalWhoami(d *caddyfile.Dispenser) (*WhoamiConfig, error) {
	start := d.Token()
	args := d.RemainingArgs()
	switch {
	case len(args) == 0:
		return nil, d.Errf("whoami: missing URL (the site's page that shows who is signed in, e.g. http://127.0.0.1:8000/account/)")
	case len(args) > 1:
		return nil, d.Errf("whoami: too many values (want 1, the URL, got %d)", len(args))
	}
	w := &WhoamiConfig{URL: args[0]}
	if err := checkWhoamiURL(w.URL); err != nil {
		return nil, d.Errf("whoami: %v", err)
	}
	set := make(map[string]caddyfile.Token)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if slices.Contains(whoamiOptions, opt) {
			if first, ok := set[opt]; ok {
				return nil, d.Errf("whoami: %s: set twice (first at %s)", opt, tokenPosition(first))
			}
			set[opt] = d.Token()
		}
		var err error
		switch opt {
		case "cookies":
			w.Cookies, err = someArgs(d, opt, checkCookieName)
		case "user_header":
			w.UserHeader, err = oneArg(d, opt, nil)
		case "user_json":
			w.UserJSON, err = oneArg(d, opt, checkJSONPath)
		case "user_regex":
			w.UserRegex, err = oneArg(d, opt, checkUserRegex)
		case "ttl":
			w.TTL, err = positiveDuration(d, opt)
		case "negative_ttl":
			w.NegativeTTL, err = positiveDuration(d, opt)
		case "timeout":
			w.Timeout, err = positiveDuration(d, opt)
		default:
			return nil, d.Errf("whoami: unrecognized option %q %s", opt, suggestOption(opt, whoamiOptions))
		}
		if err != nil {
			return nil, fmt.Errorf("whoami: %w", err)
		}
	}
	if err := w.checkUserSource(); err != nil {
		return nil, errAt(start, "whoami: %v", err)
	}
	return w, nil
}

func positiveDuration(d *caddyfile.Dispenser, opt string) (caddy.Duration, error) {
	v, err := durationArg[caddy.Duration](d, opt)
	if err == nil && v == 0 {
		err = d.Errf("%s: must be more than 0", opt)
	}
	return v, err
}

// validate checks a whoami config from JSON (the Caddyfile checks as it
// reads).
func (w *WhoamiConfig) validate() error {
	if w.URL == "" {
		return errors.New("whoami: url is required")
	}
	if err := checkWhoamiURL(w.URL); err != nil {
		return fmt.Errorf("whoami: url: %v", err)
	}
	for i, c := range w.Cookies {
		if err := checkCookieName(c); err != nil {
			return fmt.Errorf("whoami: cookies[%d]: %v", i, err)
		}
	}
	if err := w.checkUserSource(); err != nil {
		return fmt.Errorf("whoami: %v", err)
	}
	if w.UserJSON != "" {
		if err := checkJSONPath(w.UserJSON); err != nil {
			return fmt.Errorf("whoami: user_json: %v", err)
		}
	}
	if w.UserRegex != "" {
		if err := checkUserRegex(w.UserRegex); err != nil {
			return fmt.Errorf("whoami: user_regex: %v", err)
		}
	}
	if w.TTL < 0 || w.NegativeTTL < 0 || w.Timeout < 0 {
		return errors.New("whoami: ttl, negative_ttl and timeout must not be negative")
	}
	return nil
}

// checkUserSource: exactly one way to find the user.
func (w *WhoamiConfig) checkUserSource() error {
	var set []string
	for _, o := range []struct{ name, v string }{{"user_header", w.UserHeader}, {"user_json", w.UserJSON}, {"user_regex", w.UserRegex}} {
		if o.v != "" {
			set = append(set, o.name)
		}
	}
	switch len(set) {
	case 0:
		return errors.New("say where the answer names the user: one of user_header, user_json or user_regex is required")
	case 1:
		return nil
	}
	return fmt.Errorf("%s are set: use only one of user_header, user_json or user_regex", strings.Join(set, " and "))
}

func checkWhoamiURL(v string) error {
	if err := checkAPIURL(v); err != nil {
		return errors.New(strings.Replace(err.Error(), "want an http", "want the absolute http", 1) + " of a page of the site that shows who is signed in")
	}
	return nil
}

func checkCookieName(v string) error {
	if v == "" || strings.ContainsAny(v, "=;, \t\"") {
		return fmt.Errorf("%q is not a cookie name", v)
	}
	return nil
}

func checkJSONPath(v string) error {
	for _, seg := range strings.Split(v, ".") {
		if seg == "" {
			return fmt.Errorf("%q is not a dot path (want field names joined by dots, such as user.username)", v)
		}
	}
	return nil
}

func checkUserRegex(v string) error {
	re, err := regexp.Compile(v)
	if err != nil {
		return fmt.Errorf("not a regular expression: %v", err)
	}
	if re.NumSubexp() < 1 {
		return fmt.Errorf("%q has no group: put the user id in parentheses, as in `Signed in as <b>([^<]+)</b>`", v)
	}
	return nil
}

// provisionIdentity sets up where the user comes from: the whoami
// resolver, or the `user` placeholder (warning when it reads the request,
// which a client can send).
func (p *Paywall) provisionIdentity(reg prometheus.Registerer) error {
	p.identity = newIdentityMetrics(reg)
	if p.Whoami == nil {
		if readsRequest(p.User) {
			p.headerIdentity = true
			p.logger.Warn("paywall: user reads the request ("+p.User+"): a header identity is only as safe as the layer that sets it. "+
				"That layer must cover every gated path and the paywall's own pages, or a client sends the header itself. "+
				"The paywall's pay, checkout, success and portal pages take the user only from the paywall's own cookie, set by the gate. "+
				"Prefer whoami, which asks the site itself.", zap.String("user", p.User))
		}
		return nil
	}
	if err := p.Whoami.validate(); err != nil {
		return fmt.Errorf("paywall: %v", err)
	}
	r, err := p.Whoami.resolver()
	if err != nil {
		return fmt.Errorf("paywall: whoami: %v", err)
	}
	r.OnAsk = p.identity.asked
	p.whoami = r
	return nil
}

// readsRequest reports whether a `user` value reads something a client
// sends: a request header, a cookie, the query...
func readsRequest(user string) bool {
	return strings.Contains(user, "{http.request.")
}

// gateUser is who sent a gated request: whoami's answer, or the `user`
// placeholder. An error means the site could not say (503).
func (p *Paywall) gateUser(r *http.Request, repl *caddy.Replacer) (string, error) {
	if p.whoami == nil {
		return p.user(r, repl), nil
	}
	u, err := p.whoami.Who(r.Context(), r)
	if err != nil {
		return "", err
	}
	if u != "" {
		repl.Set("http.paywall.user", u)
		if v, _ := repl.GetString("http.auth.user.id"); v == "" {
			repl.Set("http.auth.user.id", u)
		}
	}
	return u, nil
}

// endpointUser is the user the paywall's own pages are given. The webhook
// and healthz never ask anyone. With a header identity they are given
// nobody: they then take the user only from the paywall's own cookie,
// which the gate set on a gated path, never from a header a client can
// send wherever the layer that sets it does not run.
func (p *Paywall) endpointUser(r *http.Request, repl *caddy.Replacer) string {
	switch strings.TrimPrefix(r.URL.Path, p.BasePath) {
	case "/webhook", "/healthz":
		return ""
	}
	switch {
	case p.headerIdentity:
		return ""
	case p.whoami != nil:
		u, err := p.gateUser(r, repl)
		if err != nil {
			// The pages fall back to the paywall's own cookie.
			p.logger.Error("paywall: whoami: the site cannot say who is signed in", zap.String("url", p.whoami.URL()), zap.Error(err))
		}
		return u
	}
	return p.user(r, repl)
}

// identityMetrics count what whoami asked and the lenient paths refused.
type identityMetrics struct {
	requests *prometheus.CounterVec
	lenient  prometheus.Counter
	byResult map[string]prometheus.Counter
}

func newIdentityMetrics(reg prometheus.Registerer) *identityMetrics {
	m := &identityMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "whoami_requests_total",
			Help: "Requests whoami made to the site, by result (signed_in, signed_out, unavailable); cache hits make none.",
		}, []string{"result"}),
		lenient: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "paywall", Name: "lenient_paths_refused_total",
			Help: "Requests refused with 400 because their path is gated only under a more lenient reading than Caddy's path matcher.",
		}),
	}
	if reg != nil {
		m.requests = register(reg, m.requests)
		m.lenient = register(reg, m.lenient)
	}
	m.byResult = map[string]prometheus.Counter{}
	for _, r := range []string{"signed_in", "signed_out", "unavailable"} {
		m.byResult[r] = m.requests.WithLabelValues(r)
	}
	return m
}

func (m *identityMetrics) asked(result string) { m.byResult[result].Inc() }

// resolver builds the whoami client from the config.
func (w *WhoamiConfig) resolver() (*whoami.Resolver, error) {
	cfg := whoami.Config{
		URL:         caddy.NewReplacer().ReplaceAll(w.URL, ""),
		Cookies:     w.Cookies,
		Ignore:      gateway.SessionCookieNames(),
		UserHeader:  w.UserHeader,
		UserJSON:    w.UserJSON,
		TTL:         time.Duration(w.TTL),
		NegativeTTL: time.Duration(w.NegativeTTL),
		Timeout:     time.Duration(w.Timeout),
	}
	if w.UserRegex != "" {
		re, err := regexp.Compile(w.UserRegex)
		if err != nil {
			return nil, fmt.Errorf("user_regex: %v", err)
		}
		cfg.UserRegex = re
	}
	return whoami.New(cfg)
}

// doctorIdentity adds doctor's identity checks: the whoami URL, or, when
// user reads a request header or cookie and the webhook URL tells where
// the gateway is, a probe of the paywall's pages with a made-up one.
func (p *Paywall) doctorIdentity(d *admin.Doctor, webhookURL string, warn io.Writer) error {
	if p.Whoami != nil {
		if err := p.Whoami.validate(); err != nil {
			return err
		}
		r, err := p.Whoami.resolver()
		if err != nil {
			return fmt.Errorf("whoami: %v", err)
		}
		d.Whoami = &admin.WhoamiCheck{URL: r.URL(), CheckSignedOut: r.CheckSignedOut}
		return nil
	}
	if !readsRequest(p.User) {
		return nil
	}
	probe := &admin.HeaderProbe{}
	if v, ok := strings.CutPrefix(singlePlaceholder(p.User), "http.request.header."); ok {
		probe.Header = v
	} else if v, ok := strings.CutPrefix(singlePlaceholder(p.User), "http.request.cookie."); ok {
		probe.Cookie = v
	} else {
		fmt.Fprintf(warn, "doctor: user %s reads the request in a way doctor cannot probe\n", p.User)
		return nil
	}
	base, ok := strings.CutSuffix(webhookURL, p.BasePath+"/webhook")
	if !ok || webhookURL == "" {
		fmt.Fprintf(warn, "doctor: pass --url https://SITE%s/webhook to probe the paywall's pages with a made-up %s\n", p.BasePath, p.User)
		return nil
	}
	pay := base + p.BasePath + "/pay"
	if len(p.Products) > 0 {
		pay += "?product=" + url.QueryEscape(p.Products[0].ID)
	}
	probe.Pages = []string{pay, base + p.BasePath + "/portal"}
	d.HeaderProbe = probe
	return nil
}
