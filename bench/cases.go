package main

import (
	"fmt"
	"net/http"
	"strings"
)

// A benchCase is one row of the wrk table: a front end and a request.
// To add a case, add a row to cases; its Front is started once (rows with
// the same Front share one process) and measured in pairs against bare.
type benchCase struct {
	Name    string
	Front   string   // Caddyfile directives of the front end before `reverse_proxy {{.Upstream}}`; "" is a second bare front end
	Path    string   // the request's path
	Headers []string // the request's headers, "Name: value", sent to bare as well
	Status  int      // the front end's answer (bare always answers 200 from the upstream)
	Target  float64  // the CPU ratio bare/front this case must reach (0: none)
	// Check, if set, checks one answer of the front end beyond its status.
	Check func(resp *http.Response, body string) error
}

// aaCase is the A/A control: a second bare front end, in every run.
var aaCase = benchCase{Name: "A/A (bare vs bare)", Front: "", Path: "/premium/article",
	Headers: paidHeaders, Status: 200, Check: upstreamBody}

var paidHeaders = []string{"X-User: paid-user", "Accept: text/html"}

// paywallSnippet is the bench's paywall block: who the user is (one or
// more option lines), then the products and any further options.
func paywallSnippet(identity, rest string) string {
	return `	paywall {
		stripe_secret_key     sk_test_bench
		stripe_webhook_secret {{.Secret}}
		stripe_api_url        {{.Stripe}}
		redis                 {{.Redis}}
		session_secret        bench-session-secret-0123456789abcdef
		login_url             /login?next={http.paywall.return_to}
` + identity + "\n" + rest + "\n\t}"
}

// headerUser and proProduct are what most cases' paywalls hold. BENCH-ONLY
// SHORTCUT: the user is whatever the client sends in X-User; nothing
// authenticates it. Never deploy this.
const (
	headerUser = "\t\tuser                  {http.request.header.X-User}"
	proProduct = `		product pro {
			name  "Pro"
			price price_bench
			paths /premium/*
		}`
)

// gatewaySnippet is the paywall the gateway cases run.
var gatewaySnippet = paywallSnippet(headerUser, proProduct)

// consoleSnippet is gatewaySnippet with the console on: its counters are
// the only cost it adds to the paid path.
var consoleSnippet = paywallSnippet(headerUser, proProduct+"\n\t\tconsole {\n\t\t\tadmins owner\n\t\t}")

// freeViewSnippet is the gateway with a product that has free views, so
// many that every request of a run is one: the first request counts the
// page, every later one opens it again, each running the counting script
// (one EVALSHA, the round trip of a first view) after the entitlement
// read the cache answers.
var freeViewSnippet = paywallSnippet(headerUser, `		product club {
			name       "Club"
			price      price_bench
			free_views 1000000000 per 720h
			paths      /club/*
		}`)

var cases = []benchCase{
	{Name: "paid", Front: gatewaySnippet, Path: "/premium/article", Headers: paidHeaders,
		Status: 200, Target: 0.95, Check: all(upstreamBody, header("Cache-Control", "private"))},
	{Name: "paid-console", Front: consoleSnippet, Path: "/premium/article", Headers: paidHeaders,
		Status: 200, Target: 0.95, Check: all(upstreamBody, header("Cache-Control", "private"))},
	{Name: "ungated", Front: gatewaySnippet, Path: "/free/article", Headers: paidHeaders,
		Status: 200, Target: 0.99, Check: upstreamBody},
	{Name: "unpaid-machine", Front: gatewaySnippet, Path: "/premium/article",
		Headers: []string{"X-User: unpaid-user", "Accept: application/json"},
		Status:  402, Target: 1.0, Check: header("Content-Type", "application/problem+json")},
	{Name: "anon-browser", Front: gatewaySnippet, Path: "/premium/article",
		Headers: []string{"Accept: text/html"}, Status: 302, Target: 1.0,
		Check: header("Location", "/login?next=%2Fpremium%2Farticle")},
	{Name: "free-view", Front: freeViewSnippet, Path: "/club/article",
		Headers: []string{"X-User: reader", "Accept: text/html"}, Status: 200, Target: 0.8,
		Check: all(upstreamBody, header("Cache-Control", "private"))},
}

func upstreamBody(_ *http.Response, body string) error {
	if body != "ok" {
		return fmt.Errorf("body %.40q is not the upstream's", body)
	}
	return nil
}

// header checks that a response header starts with prefix.
func header(name, prefix string) func(*http.Response, string) error {
	return func(resp *http.Response, _ string) error {
		if got := resp.Header.Get(name); !strings.HasPrefix(got, prefix) {
			return fmt.Errorf("%s is %q, want %q", name, got, prefix)
		}
		return nil
	}
}

func all(checks ...func(*http.Response, string) error) func(*http.Response, string) error {
	return func(resp *http.Response, body string) error {
		for _, c := range checks {
			if err := c(resp, body); err != nil {
				return err
			}
		}
		return nil
	}
}

// selectCases is aaCase and the cases named in list (comma-separated).
func selectCases(list string) ([]benchCase, error) {
	out := []benchCase{aaCase}
	for _, name := range strings.Split(list, ",") {
		found := false
		for _, c := range cases {
			if c.Name == strings.TrimSpace(name) {
				out, found = append(out, c), true
			}
		}
		if !found {
			var names []string
			for _, c := range cases {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("-cases: unknown case %q (known: %s)", name, strings.Join(names, ", "))
		}
	}
	return out, nil
}
