package demo

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// site is the small "existing site" behind the gateway: it knows nothing
// about payments and only shows what the paywall tells it.
func site(standIn bool) http.Handler {
	where := "payments go to an offline stand-in for Stripe, so no card is asked for and no money moves"
	if !standIn {
		where = "payments go to your Stripe account in test mode: pay with the test card 4242 4242 4242 4242"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		page(w, "A small magazine", `<p>This page is public. The articles below are for paying members.</p>
<p id="demo-logins">This is the paywall's offline demo. Log in as <strong>alice</strong> (password <strong>`+Users["alice"]+`</strong>)
or <strong>bob</strong> (password <strong>`+Users["bob"]+`</strong>); `+where+`.</p>
<ul>
<li><a href="/premium/first-article">A premium article</a> (one-time payment)</li>
<li><a href="/premium/second-article">Another premium article</a></li>
<li><a href="/club/lounge">The members' club</a> (monthly or yearly subscription, 14 days free)</li>
</ul>
<p><a href="/paywall/portal">Manage your subscription</a></p>`)
	})
	gated := func(w http.ResponseWriter, r *http.Request) {
		page(w, "Members only: "+strings.Trim(r.URL.Path, "/"), fmt.Sprintf(
			`<p id="gated-content">You are reading a paid page as <strong>%s</strong> (products: %s).</p><p><a href="/">Home</a></p>`,
			html.EscapeString(r.Header.Get("X-Paywall-User")), html.EscapeString(r.Header.Get("X-Paywall-Products"))))
	}
	mux.HandleFunc("/premium/", gated)
	mux.HandleFunc("/club/", gated)
	return mux
}

func page(w http.ResponseWriter, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>%s</title>
<style>body{font:1.1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}a{color:#1d4ed8}</style>
</head><body><main><h1>%s</h1>%s</main></body></html>`, html.EscapeString(title), html.EscapeString(title), body)
}
