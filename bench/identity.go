package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// The identity cases: a paid user on a gated path whose user comes from
// the site's session cookie, asked of the site either on every request
// (the README's forward_auth recipe) or through whoami with a warm cache.
// The upstream plays the site: /account/ is its login-required page that
// names the user, /whoami the recipe's endpoint answering X-User.

const benchSession = "bench-session-of-paid-user-0123456789"

var cookieHeaders = []string{
	"Cookie: csrftoken=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z; sessionid=" + benchSession + "; _ga=GA1.1.123.456",
	"Accept: text/html",
}

// upstreamSnippet is the upstream: "ok" for every page, and the site's two
// ways to say who is signed in.
const upstreamSnippet = `	@account path /account/ /whoami
	handle @account {
		@signedin header Cookie *sessionid=` + benchSession + `*
		header @signedin X-User paid-user
		respond @signedin "<p>Signed in as <b>paid-user</b></p>" 200
		respond 401
	}
	respond "ok" 200`

// forwardAuthSnippet is the README's forward_auth recipe.
var forwardAuthSnippet = `	@members {
		path /premium/* /paywall/*
		not path /paywall/webhook /paywall/healthz
	}
	forward_auth @members {{.Upstream}} {
		uri /whoami
		copy_headers X-User
	}
` + paywallSnippet(headerUser, proProduct)

// whoamiSnippet asks the site's account page; /bench-metrics serves the
// front end's metrics, to count the requests whoami made.
var whoamiSnippet = `	metrics /bench-metrics
` + paywallSnippet(`		whoami http://{{.Upstream}}/account/ {
			cookies    sessionid
			user_regex "Signed in as <b>([^<]+)</b>"
			ttl        1m
		}`, proProduct)

var identityCases = []benchCase{
	{Name: "paid-forward_auth", Front: forwardAuthSnippet, Path: "/premium/article", Headers: cookieHeaders,
		Status: 200, Check: all(upstreamBody, header("Cache-Control", "private"))},
	{Name: "paid-whoami", Front: whoamiSnippet, Path: "/premium/article", Headers: cookieHeaders,
		Status: 200, Target: 0.9, Check: all(upstreamBody, header("Cache-Control", "private"))},
}

func init() { cases = append(cases, identityCases...) }

// whoamiTTL is whoamiSnippet's ttl.
const whoamiTTL = time.Minute

// reportIdentity prints whoami against the forward_auth recipe, and how
// many requests whoami made to the site against how many its ttl allows
// over the time its front end ran.
func reportIdentity(ms []*measured, whoamiStarted time.Time) error {
	var fa, wh *measured
	for _, m := range ms {
		switch m.Name {
		case "paid-forward_auth":
			fa = m
		case "paid-whoami":
			wh = m
		}
	}
	if wh == nil {
		return nil
	}
	if fa != nil {
		faUs := harness.Median(values(fa.pairs, func(p pair) float64 { return p.front.cpuPerRq }))
		whUs := harness.Median(values(wh.pairs, func(p pair) float64 { return p.front.cpuPerRq }))
		faRps := harness.Median(values(fa.pairs, func(p pair) float64 { return p.front.rps }))
		whRps := harness.Median(values(wh.pairs, func(p pair) float64 { return p.front.rps }))
		ratio := faUs / whUs
		fmt.Printf("whoami vs the forward_auth recipe: CPU per request %.1f µs vs %.1f µs, ratio forward_auth/whoami %.2f (target >= 1.6: %s); throughput %.0f vs %.0f req/s (%.2fx)\n",
			whUs, faUs, ratio, map[bool]string{true: "met", false: "NOT met"}[ratio >= 1.6], whRps, faRps, whRps/faRps)
	}
	resp, err := http.Get(wh.front.url("/bench-metrics"))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	asked := 0
	for _, m := range regexp.MustCompile(`(?m)^caddy_paywall_whoami_requests_total\{result="[a-z_]+"\} ([0-9.e+]+)$`).FindAllStringSubmatch(string(body), -1) {
		n, _ := strconv.ParseFloat(m[1], 64)
		asked += int(n)
	}
	ran := time.Since(whoamiStarted)
	allowed := int(ran/whoamiTTL) + 1
	fmt.Printf("whoami asked the site %d times in %s of its front end's life (one user, ttl %s: at most %d allowed): %s\n",
		asked, ran.Round(time.Second), whoamiTTL, allowed, map[bool]string{true: "ok", false: "TOO MANY"}[asked <= allowed])
	if asked == 0 || asked > allowed {
		return fmt.Errorf("whoami asked the site %d times (want 1 to %d)", asked, allowed)
	}
	return nil
}
