package stripefake

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

var hostedTemplate = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checkout (offline stand-in)</title>
<style>
body{font:1.1rem/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:32rem;margin:2rem auto;padding:0 1rem}
.note{color:#4a4a4a;font-size:.95rem}
button{font:inherit;padding:.7rem 1.4rem;border-radius:.4rem;border:2px solid #1d4ed8;cursor:pointer}
.pay{background:#1d4ed8;color:#fff}.cancel{background:#fff;color:#1d4ed8}
button:focus-visible{outline:3px solid #1d4ed8;outline-offset:3px}
form{display:inline}
</style></head><body><main>
<h1>Pay {{.Product}}</h1>
<p class="note">This is the offline stand-in for Stripe Checkout. No card is needed and nothing is charged.</p>
<p><strong id="amount">{{.Amount}}</strong>{{if .Interval}} per {{.Interval}}{{end}}</p>
{{if .Open}}
<form method="post"><input type="hidden" name="action" value="pay"><button class="pay" id="stub-pay" type="submit">Pay</button></form>
<form method="post"><input type="hidden" name="action" value="cancel"><button class="cancel" id="stub-cancel" type="submit">Cancel</button></form>
{{else}}<p>This checkout session is {{.Status}}.</p>{{end}}
</main></body></html>`))

func (s *Stub) hostedPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess, ok := s.sessions[r.PathValue("id")]
	var data map[string]any
	if ok {
		p := s.prices[sess["x_price"].(string)]
		data = map[string]any{"Product": p.ProductName, "Interval": p.Recurring,
			"Amount": fmt.Sprintf("%d.%02d %s", p.UnitAmount/100, p.UnitAmount%100, strings.ToUpper(p.Currency)),
			"Open":   sess["status"] == "open", "Status": sess["status"]}
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = hostedTemplate.Execute(w, data)
}

// hostedAction is the Pay or Cancel button.
func (s *Stub) hostedAction(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sess, ok := s.Session(id)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.FormValue("action") == "cancel" {
		http.Redirect(w, r, sess["cancel_url"].(string), http.StatusSeeOther)
		return
	}
	// A failed webhook delivery still returns the visitor: the gateway's
	// success page fulfils the session itself.
	_ = s.Pay(id, false)
	target := strings.ReplaceAll(sess["success_url"].(string), "{CHECKOUT_SESSION_ID}", id)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Stub) portalPage(w http.ResponseWriter, r *http.Request) {
	back := r.URL.Query().Get("return_url")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Billing portal (stand-in)</title></head>
<body><main><h1>Billing portal</h1><p>The offline stand-in has nothing to manage.</p><p><a href="%s">Back to the site</a></p></main></body></html>`,
		template.HTMLEscapeString(back))
}
