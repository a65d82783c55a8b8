package gateway

import (
	"net/http"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
)

// nonceLifetime bounds how long a pay page's form stays usable. The
// Checkout Session it creates expires an hour after the page was shown, so
// it always has more than the 30 minutes Stripe requires left.
const nonceLifetime = 25 * 60

// servePay shows the pay page: the products gating the path, who pays, and
// a form that posts to checkout.
func (g *Gateway) servePay(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	user, sess, d := g.whoPays(r, user)
	if user == "" {
		g.toLogin(w, r, repl)
		return
	}
	if g.refuseUncarriableUser(w, r, user) {
		return
	}
	var products []catalog.Product
	for _, id := range r.URL.Query()["product"] {
		if p, ok := g.cfg.Products.ByID(id); ok {
			products = append(products, p)
		}
	}
	if len(products) == 0 {
		g.errorPage(w, http.StatusNotFound, "Unknown product", "There is nothing to buy here.", user)
		return
	}
	if rt := paths.SafeReturnTo(r.URL.Query().Get("return_to")); rt != "" {
		d.ReturnTo = rt
	}
	ids := make([]string, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	if g.holds(r, user, ids...) { // never ask to pay twice
		http.Redirect(w, r, orRoot(d.ReturnTo), http.StatusSeeOther)
		return
	}
	d.User = user
	if d.CSRF == "" {
		d.CSRF = randomToken()
	}
	nonce := randomToken()
	d.Nonces = pruneNonces(d.Nonces, g.now().Unix())
	d.Nonces[nonce] = g.now().Unix()
	g.sessions.save(w, r, sess, d)

	data := pages.PayData{
		User: user, CheckoutURL: g.cfg.BasePath + "/checkout",
		CSRFToken: d.CSRF, Nonce: nonce, ReturnTo: d.ReturnTo, BackURL: "/", StandIn: g.cfg.StandIn,
		AutomaticTax: g.cfg.AutomaticTax, TaxIDCollection: g.cfg.TaxIDCollection,
	}
	for _, p := range products {
		data.Products = append(data.Products, g.productView(r.Context(), p))
	}
	g.tally.Add(tally.PayPage)
	data.FreeViewsUsed = g.freeViewsUsed(r.Context(), user, data.Products)
	_ = g.pages.Render(w, http.StatusOK, "pay", data)
}

// pruneNonces drops expired nonces and keeps at most maxNonces-1, so one
// more fits.
func pruneNonces(n map[string]int64, now int64) map[string]int64 {
	out := make(map[string]int64, maxNonces)
	for k, t := range n {
		if now-t < nonceLifetime {
			out[k] = t
		}
	}
	for len(out) >= maxNonces {
		var oldest string
		for k, t := range out {
			if oldest == "" || t < out[oldest] {
				oldest = k
			}
		}
		delete(out, oldest)
	}
	return out
}
