// Package crawlers verifies search crawlers, so that a paywalled site can
// let Googlebot and Bingbot read its gated pages (and mark them
// `isAccessibleForFree: false`) without letting in everyone who copies
// their User-Agent.
//
// Rules:
//   - A request claims a crawler by its User-Agent ("Googlebot",
//     "bingbot", case-insensitive). Only configured crawlers are claimed.
//   - The claim holds only when the request's IP verifies as the search
//     engines document it: a reverse (PTR) lookup gives a name in one of
//     the crawler's domains (googlebot.com, google.com; search.msn.com),
//     and a forward (A/AAAA) lookup of that name gives the same IP back.
//   - Anything else is no crawler: a claim that does not verify, a DNS
//     error or timeout. Verification never fails loudly; the request is
//     then an ordinary anonymous visitor.
//   - Answers are cached per IP (which crawler it verified as, or none),
//     positive and negative apart so that a flood of forged claims cannot
//     evict the verified crawlers; each bounded in entries, with a TTL. A
//     DNS failure is remembered only briefly. Concurrent lookups of one IP
//     are made once, and at most a fixed number of lookups run at a time.
package crawlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// crawler is one search engine's crawler as its owner documents it.
type crawler struct {
	agents  []string // lower-case User-Agent tokens that claim it
	domains []string // the domains its reverse DNS names are in
}

var known = map[string]crawler{
	// https://developers.google.com/search/docs/crawling-indexing/verifying-googlebot
	"google": {agents: []string{"googlebot"}, domains: []string{"googlebot.com", "google.com"}},
	// https://www.bing.com/webmasters/help/how-to-verify-bingbot-3905dc26
	"bing": {agents: []string{"bingbot"}, domains: []string{"search.msn.com"}},
}

// Known lists the crawler names a config may use, sorted.
func Known() []string {
	names := make([]string, 0, len(known))
	for n := range known {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Check returns an error when name is not a known crawler.
func Check(name string) error {
	if _, ok := known[name]; !ok {
		return fmt.Errorf("unknown crawler %q (known: %s)", name, strings.Join(Known(), ", "))
	}
	return nil
}

// Defaults of Options.
const (
	DefaultTTL         = time.Hour
	DefaultNegativeTTL = time.Hour
	DefaultFailureTTL  = time.Minute
	DefaultSize        = 10000
	DefaultTimeout     = 2 * time.Second
	// maxLookups bounds the verifications running at once: a flood of
	// forged claims from many addresses cannot flood the resolver.
	maxLookups = 32
)

// Options configure a Verifier. Zero values take the defaults.
type Options struct {
	Names []string // the crawlers let in: "google", "bing"
	// Resolver is the DNS server as host:port; "" is the system resolver.
	Resolver string
	// How long an IP that verified, did not verify, or met a DNS failure
	// is remembered.
	TTL, NegativeTTL, FailureTTL time.Duration
	// Size bounds each cache (verified, not verified) in entries.
	Size int
	// Timeout bounds one IP's verification (PTR and forward lookups).
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verifier verifies crawler claims. It is safe for concurrent use.
type Verifier struct {
	crawlers map[string]crawler // the configured ones
	resolver *net.Resolver
	o        Options

	mu       sync.Mutex
	verified map[netip.Addr]entry
	refused  map[netip.Addr]entry
	flight   singleflight.Group
	slots    chan struct{}
}

type entry struct {
	crawler string // "" in refused
	expires time.Time
}

// New builds a Verifier for the named crawlers. It does not contact DNS.
func New(o Options) (*Verifier, error) {
	if len(o.Names) == 0 {
		return nil, errors.New("crawlers: no crawler named")
	}
	v := &Verifier{crawlers: map[string]crawler{}, o: o,
		verified: map[netip.Addr]entry{}, refused: map[netip.Addr]entry{}, slots: make(chan struct{}, maxLookups)}
	for _, n := range o.Names {
		if err := Check(n); err != nil {
			return nil, fmt.Errorf("crawlers: %v", err)
		}
		v.crawlers[n] = known[n]
	}
	if o.Resolver == "" {
		v.resolver = net.DefaultResolver
	} else {
		if _, _, err := net.SplitHostPort(o.Resolver); err != nil {
			return nil, fmt.Errorf("crawlers: resolver %q: want host:port", o.Resolver)
		}
		addr := o.Resolver
		v.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	setDuration(&v.o.TTL, DefaultTTL)
	setDuration(&v.o.NegativeTTL, DefaultNegativeTTL)
	setDuration(&v.o.FailureTTL, DefaultFailureTTL)
	setDuration(&v.o.Timeout, DefaultTimeout)
	if v.o.Size <= 0 {
		v.o.Size = DefaultSize
	}
	if v.o.Now == nil {
		v.o.Now = time.Now
	}
	return v, nil
}

func setDuration(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Claim returns the configured crawler userAgent claims to be, or "".
func (v *Verifier) Claim(userAgent string) string {
	for name, c := range v.crawlers {
		for _, a := range c.agents {
			if containsFold(userAgent, a) {
				return name
			}
		}
	}
	return ""
}

// Verify returns the crawler a request is, or "": its User-Agent claims a
// configured crawler and remoteAddr (the connection's address, "ip:port"
// or "ip") verifies as that crawler. An IP already verified costs no DNS
// lookup until its entry expires.
func (v *Verifier) Verify(ctx context.Context, userAgent, remoteAddr string) string {
	claim := v.Claim(userAgent)
	if claim == "" {
		return ""
	}
	ip, ok := parseIP(remoteAddr)
	if !ok {
		return ""
	}
	if v.identify(ctx, ip) == claim {
		return claim
	}
	return ""
}

// identify returns the configured crawler ip verifies as, or "".
func (v *Verifier) identify(ctx context.Context, ip netip.Addr) string {
	now := v.o.Now()
	v.mu.Lock()
	if e, ok := v.verified[ip]; ok && now.Before(e.expires) {
		v.mu.Unlock()
		return e.crawler
	}
	if e, ok := v.refused[ip]; ok && now.Before(e.expires) {
		v.mu.Unlock()
		return ""
	}
	v.mu.Unlock()

	ch := v.flight.DoChan(ip.String(), func() (any, error) { return v.lookup(ip), nil })
	select {
	case r := <-ch:
		return r.Val.(string)
	case <-ctx.Done():
		return ""
	}
}

// lookup verifies ip by DNS and remembers the answer.
func (v *Verifier) lookup(ip netip.Addr) string {
	select {
	case v.slots <- struct{}{}:
		defer func() { <-v.slots }()
	default:
		return "" // too many at once: not verified, not remembered
	}
	// Not the request's context: the answer is shared and cached, so a
	// client that goes away must not turn it into a failure.
	ctx, cancel := context.WithTimeout(context.Background(), v.o.Timeout)
	defer cancel()

	name, failed := v.resolve(ctx, ip)
	ttl := v.o.TTL
	switch {
	case name == "" && failed:
		ttl = v.o.FailureTTL
	case name == "":
		ttl = v.o.NegativeTTL
	}
	v.remember(ip, name, ttl)
	return name
}

// resolve does the reverse and forward lookups; failed reports a DNS error
// other than "no such name" on the way.
func (v *Verifier) resolve(ctx context.Context, ip netip.Addr) (crawler string, failed bool) {
	names, err := v.resolver.LookupAddr(ctx, ip.String())
	if err != nil {
		return "", !isNotFound(err)
	}
	for _, host := range names {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
		name := v.crawlerOf(host)
		if name == "" {
			continue
		}
		addrs, err := v.resolver.LookupNetIP(ctx, "ip", host+".")
		if err != nil {
			failed = failed || !isNotFound(err)
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				return name, false
			}
		}
	}
	return "", failed
}

// crawlerOf returns the configured crawler whose domains hold host.
func (v *Verifier) crawlerOf(host string) string {
	for name, c := range v.crawlers {
		for _, d := range c.domains {
			if strings.HasSuffix(host, "."+d) {
				return name
			}
		}
	}
	return ""
}

func (v *Verifier) remember(ip netip.Addr, name string, ttl time.Duration) {
	e := entry{crawler: name, expires: v.o.Now().Add(ttl)}
	v.mu.Lock()
	defer v.mu.Unlock()
	m := v.refused
	if name != "" {
		m = v.verified
		delete(v.refused, ip)
	} else {
		delete(v.verified, ip)
	}
	if _, ok := m[ip]; !ok && len(m) >= v.o.Size {
		evict(m, v.o.Now())
	}
	m[ip] = e
}

// evict makes room for one entry: an expired one among the first few
// looked at, else any (map order is random).
func evict(m map[netip.Addr]entry, now time.Time) {
	var victim netip.Addr
	seen := 0
	for ip, e := range m {
		if !now.Before(e.expires) {
			victim = ip
			break
		}
		if seen == 0 {
			victim = ip
		}
		if seen++; seen >= 64 {
			break
		}
	}
	delete(m, victim)
}

// Cached reports how many IPs each cache holds (for tests and metrics).
func (v *Verifier) Cached() (verified, refused int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.verified), len(v.refused)
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// parseIP reads "ip:port", "[ip6]:port" or a bare ip.
func parseIP(addr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// containsFold reports whether s contains the lower-case ASCII token,
// ignoring case, without allocating.
func containsFold(s, token string) bool {
	n := len(token)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != token[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
