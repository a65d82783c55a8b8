// Package whoami learns who is signed in on the site itself: it asks a page
// of the site that needs a login and shows who is signed in, with the
// visitor's session cookies, and remembers the answer for a while. The site
// needs no change. It knows nothing of Caddy.
//
// Rules (the product contract, DESIGN.md "Who the user is"):
//
//   - 2xx and the user found: signed in as that user. 2xx without it, 3xx,
//     401, 403: signed out. Anything else (another status, a timeout, a
//     refused connection, a body too large to judge, a user id that is not
//     one): unavailable, and nothing is cached.
//   - None of the named cookies on the request: signed out, without asking.
//   - The request is a GET carrying only the named cookies and
//     X-Forwarded-For/-Host/-Proto; redirects are not followed; the body
//     read is capped (MaxBody); the whole exchange is bounded by Timeout.
//   - Answers are cached by a keyed hash (HMAC-SHA256 under a key drawn at
//     random when the Resolver is made) of the cookies forwarded: no cookie
//     value is kept in clear, logged, or put in an error. The cache is
//     bounded in entries and bytes; concurrent misses for one key make one
//     request to the site.
//   - Signed in is trusted for TTL, signed out for NegativeTTL.
//
// No proxy from the environment is used: a cookie never leaves for
// anywhere but the configured URL.
package whoami

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults.
const (
	DefaultTTL         = time.Minute
	DefaultNegativeTTL = 5 * time.Second
	DefaultTimeout     = 2 * time.Second
	// MaxBody is how much of an answer's body is read.
	MaxBody = 256 << 10
	// MaxUser is the longest user id accepted.
	MaxUser = 1024
	// DefaultMaxEntries and DefaultMaxBytes bound the cache.
	DefaultMaxEntries = 100000
	DefaultMaxBytes   = 32 << 20
)

// Config says where to ask and how to read the answer.
type Config struct {
	// URL is the page asked: one that needs a login and shows who is
	// signed in. http or https.
	URL string
	// Cookies are the names of the cookies that carry the site's login:
	// the only ones forwarded, and the cache key. Empty: every cookie,
	// except those named in Ignore.
	Cookies []string
	// Ignore names cookies never forwarded when Cookies is empty (the
	// paywall's own).
	Ignore []string

	// Exactly one of these finds the user in a 2xx answer: a response
	// header, a dot path into a JSON body ("user.username", "data.0.id"),
	// or the first group of an expression matched on the body.
	UserHeader string
	UserJSON   string
	UserRegex  *regexp.Regexp

	TTL, NegativeTTL, Timeout time.Duration

	// MaxEntries and MaxBytes bound the cache; 0 means the default.
	MaxEntries, MaxBytes int
}

// Unavailable is the error when the site cannot say who a visitor is: the
// gate answers 503 and nothing is cached. It names the URL and the reason,
// never a cookie.
type Unavailable struct {
	URL    string
	Reason string
}

func (e *Unavailable) Error() string { return fmt.Sprintf("whoami %s: %s", e.URL, e.Reason) }

// Resolver asks the site who a visitor is and caches the answers. It is
// safe for concurrent use.
type Resolver struct {
	cfg     Config
	client  *http.Client
	named   map[string]bool // cookie names are case-sensitive
	ignore  map[string]bool
	key     [32]byte
	ipad    [sha256.BlockSize]byte // key ^ 0x36: HMAC-SHA256, computed without allocating
	opad    [sha256.BlockSize]byte // key ^ 0x5c
	cache   *cache
	group   singleflight.Group
	now     func() time.Time
	jsonKey []string
	waiting atomic.Int64 // lookups waiting on a request to the site (tests)

	// OnAsk, when set, is told of every request made to the site, with
	// its result: "signed_in", "signed_out" or "unavailable" (metrics).
	OnAsk func(result string)
}

// New checks cfg and builds a Resolver. It does not contact the site.
func New(cfg Config) (*Resolver, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("want an http:// or https:// URL, got %q", cfg.URL)
	}
	n := 0
	for _, set := range []bool{cfg.UserHeader != "", cfg.UserJSON != "", cfg.UserRegex != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("exactly one of user_header, user_json or user_regex is required")
	}
	if cfg.UserRegex != nil && cfg.UserRegex.NumSubexp() < 1 {
		return nil, errors.New("user_regex needs a group: the user is its first group")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	r := &Resolver{cfg: cfg, named: map[string]bool{}, ignore: map[string]bool{}, now: time.Now}
	for _, c := range cfg.Cookies {
		r.named[c] = true
	}
	for _, c := range cfg.Ignore {
		r.ignore[c] = true
	}
	if cfg.UserJSON != "" {
		r.jsonKey = strings.Split(cfg.UserJSON, ".")
	}
	if _, err := rand.Read(r.key[:]); err != nil {
		return nil, fmt.Errorf("drawing the cache key: %v", err)
	}
	for i := range r.ipad {
		var k byte
		if i < len(r.key) {
			k = r.key[i]
		}
		r.ipad[i], r.opad[i] = k^0x36, k^0x5c
	}
	r.cache = newCache(cfg.MaxEntries, cfg.MaxBytes)
	r.client = &http.Client{
		Timeout: cfg.Timeout,
		// A redirect is an answer (signed out), never followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:                 nil, // never through a proxy from the environment
			DialContext:           (&net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			ForceAttemptHTTP2:     true,
		},
	}
	return r, nil
}

// CheckSignedOut asks the site once without any cookie, as `caddy paywall
// doctor` does: a page that needs a login must answer, and say signed out.
// It returns who the site named (should be "") or why it could not say.
func (r *Resolver) CheckSignedOut(ctx context.Context) (string, error) {
	type result struct {
		user string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		u, err := r.ask("", forwarded{})
		done <- result{u, err}
	}()
	select {
	case res := <-done:
		return res.user, res.err
	case <-ctx.Done():
		return "", &Unavailable{URL: r.cfg.URL, Reason: ctx.Err().Error()}
	}
}

// URL is the page asked.
func (r *Resolver) URL() string { return r.cfg.URL }

// Close releases idle connections to the site.
func (r *Resolver) Close() {
	if t, ok := r.client.Transport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
}

// Who says who sent req: the user id, or "" for signed out. The error is
// an *Unavailable when the site cannot say (or ctx ended first).
func (r *Resolver) Who(ctx context.Context, req *http.Request) (string, error) {
	// The keyed hash's inner block, then the Cookie header to forward,
	// in one buffer on the stack (a longer header moves to the heap).
	var buf [1024]byte
	b := append(buf[:0], r.ipad[:]...)
	b = r.cookieHeader(b, req.Header)
	cookies := b[len(r.ipad):]
	if len(cookies) == 0 {
		return "", nil // no login cookie: signed out, without asking
	}
	key := r.hmac(b)
	if user, ok := r.cache.get(key, r.now()); ok {
		return user, nil
	}
	return r.miss(ctx, key, string(cookies), forwardedOf(req))
}

// miss asks the site, one request per key however many lookups wait on it.
func (r *Resolver) miss(ctx context.Context, key [32]byte, header string, fwd forwarded) (string, error) {
	ch := r.group.DoChan(string(key[:]), func() (any, error) {
		// Another flight may have filled the entry while this one started.
		if user, ok := r.cache.get(key, r.now()); ok {
			return user, nil
		}
		user, err := r.ask(header, fwd)
		if r.OnAsk != nil {
			r.OnAsk(askResult(user, err))
		}
		if err != nil {
			return "", err // unavailable: nothing cached
		}
		ttl := r.cfg.TTL
		if user == "" {
			ttl = r.cfg.NegativeTTL
		}
		r.cache.put(key, user, r.now().Add(ttl))
		return user, nil
	})
	r.waiting.Add(1)
	defer r.waiting.Add(-1)
	select {
	case res := <-ch:
		if res.Err != nil {
			return "", res.Err
		}
		return res.Val.(string), nil
	case <-ctx.Done():
		return "", &Unavailable{URL: r.cfg.URL, Reason: "the visitor's request ended while waiting: " + ctx.Err().Error()}
	}
}

func askResult(user string, err error) string {
	switch {
	case err != nil:
		return "unavailable"
	case user == "":
		return "signed_out"
	}
	return "signed_in"
}

// cookieHeader appends to b the cookies of h to forward, as one Cookie
// header value ("a=1; b=2"), in the order the request holds them.
func (r *Resolver) cookieHeader(b []byte, h http.Header) []byte {
	start := len(b)
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			name, _, ok := strings.Cut(part, "=")
			if !ok || name == "" {
				continue
			}
			if len(r.named) > 0 {
				if !r.named[name] {
					continue
				}
			} else if r.ignore[name] {
				continue
			}
			if len(b) > start {
				b = append(b, "; "...)
			}
			b = append(b, part...)
		}
	}
	return b
}

// hmac finishes HMAC-SHA256 under r's key over inner, which holds the
// inner pad followed by the message.
func (r *Resolver) hmac(inner []byte) [32]byte {
	sum := sha256.Sum256(inner)
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], r.opad[:])
	copy(outer[sha256.BlockSize:], sum[:])
	return sha256.Sum256(outer[:])
}

// keyOf is the cache key of a forwarded Cookie header: a keyed hash, so
// the value itself is never kept.
func (r *Resolver) keyOf(cookies []byte) [32]byte {
	return r.hmac(append(append([]byte(nil), r.ipad[:]...), cookies...))
}

// forwarded are the only visitor facts the site is told besides cookies.
type forwarded struct{ forIP, host, proto string }

func forwardedOf(req *http.Request) forwarded {
	f := forwarded{host: req.Host, proto: "http"}
	if req.TLS != nil {
		f.proto = "https"
	}
	if ip, _, err := net.SplitHostPort(req.RemoteAddr); err == nil {
		f.forIP = ip
	} else {
		f.forIP = req.RemoteAddr
	}
	return f
}
