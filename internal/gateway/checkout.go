package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
)

// checkoutExpiry is how long a Checkout Session lives after its pay page
// was shown (Stripe allows 30 minutes to 24 hours).
const checkoutExpiry = 60 * 60

// serveCheckout creates a Checkout Session for the form's product and sends
// the visitor to it.
func (g *Gateway) serveCheckout(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	if !sameOrigin(r) {
		g.errorPage(w, http.StatusForbidden, "Request refused", "This form must be sent from this site.", user)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		g.errorPage(w, http.StatusBadRequest, "Bad request", "The form could not be read.", user)
		return
	}
	user, sess, d := g.whoPays(r, user)
	if user == "" {
		g.toLogin(w, r, repl)
		return
	}
	if g.refuseUncarriableUser(w, r, user) {
		return
	}
	token := r.PostForm.Get("csrf_token")
	if d.CSRF == "" || subtle.ConstantTimeCompare([]byte(token), []byte(d.CSRF)) != 1 {
		g.errorPage(w, http.StatusForbidden, "Request refused",
			"This form has expired or did not come from this site. Go back and try again.", user)
		return
	}
	p, ok := g.cfg.Products.ByID(r.PostForm.Get("product"))
	if !ok {
		g.errorPage(w, http.StatusBadRequest, "Unknown product", "There is nothing to buy here.", user)
		return
	}
	price, ok := p.ChoosePrice(r.PostForm.Get("price"))
	if !ok {
		g.errorPage(w, http.StatusBadRequest, "Unknown price", "This price is not offered for "+p.ID+". Go back and choose one of the prices shown.", user)
		return
	}
	returnTo := paths.SafeReturnTo(r.PostForm.Get("return_to"))
	if returnTo == "" {
		returnTo = d.ReturnTo
	}
	nonce := r.PostForm.Get("nonce")
	issued, ok := d.Nonces[nonce]
	if !ok || g.now().Unix()-issued >= nonceLifetime {
		// An old or foreign page: show a fresh one.
		http.Redirect(w, r, g.payURL([]string{p.ID}, returnTo), http.StatusSeeOther)
		return
	}
	if g.holds(r, user, p.ID) {
		http.Redirect(w, r, orRoot(returnTo), http.StatusSeeOther)
		return
	}
	if ok, wait := g.checkouts.allow(user, g.now()); !ok {
		g.log.Warn("checkout rate limit reached", zapUser(user), zapProduct(p.ID))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		g.errorPage(w, http.StatusTooManyRequests, "Too many attempts",
			"You have started several payments in a short time. Please wait a few seconds, then try again.", user)
		return
	}
	params := g.checkoutParams(r, user, p, price, issued+checkoutExpiry)
	params.SetIdempotencyKey(idempotencyKey(user, p.ID, price, nonce))
	params.Context = r.Context()
	cs, err := g.api.CheckoutSessions.New(params)
	if err != nil {
		g.log.Error("creating checkout session", zapUser(user), zapProduct(p.ID), zapErr(err))
		g.errorPage(w, http.StatusBadGateway, "Payment is unavailable",
			"We could not reach the payment provider. Please try again in a moment.", user)
		return
	}
	g.tally.Add(tally.Checkout)
	d.User, d.ReturnTo = user, returnTo
	g.sessions.save(w, r, sess, d)
	http.Redirect(w, r, cs.URL, http.StatusSeeOther)
}

// checkoutParams describes the Checkout Session: who pays (metadata on the
// session and on the payment intent or subscription, so every later event
// finds the user), what (price, one of p's), and where to come back.
func (g *Gateway) checkoutParams(r *http.Request, user string, p catalog.Product, price string, expiresAt int64) *stripe.CheckoutSessionParams {
	meta := map[string]string{events.MetaUser: user, events.MetaProduct: p.ID}
	params := &stripe.CheckoutSessionParams{
		Mode:              stripe.String(p.Mode),
		ClientReferenceID: stripe.String(user),
		LineItems:         []*stripe.CheckoutSessionLineItemParams{{Price: stripe.String(price), Quantity: stripe.Int64(1)}},
		SuccessURL:        stripe.String(absoluteURL(r, g.cfg.BasePath+"/success?session_id={CHECKOUT_SESSION_ID}")),
		CancelURL:         stripe.String(absoluteURL(r, g.cfg.BasePath+"/cancel?"+url.Values{"product": {p.ID}}.Encode())),
		Metadata:          meta,
		ExpiresAt:         stripe.Int64(expiresAt),
	}
	if p.AllowPromotionCodes {
		params.AllowPromotionCodes = stripe.Bool(true)
	}
	if p.Mode == "subscription" {
		params.SubscriptionData = &stripe.CheckoutSessionSubscriptionDataParams{Metadata: meta}
		if p.TrialDays() > 0 {
			params.SubscriptionData.TrialPeriodDays = stripe.Int64(p.TrialDays())
		}
	} else {
		params.PaymentIntentData = &stripe.CheckoutSessionPaymentIntentDataParams{Metadata: meta}
		// A receipt (invoice) the buyer can find again in the portal.
		params.InvoiceCreation = &stripe.CheckoutSessionInvoiceCreationParams{Enabled: stripe.Bool(true)}
	}
	cus, err := g.store.CustomerOf(r.Context(), user)
	reused := err == nil && cus != ""
	switch {
	case reused:
		params.Customer = stripe.String(cus) // the returning customer keeps one Stripe customer
	case p.Mode == "payment":
		// Subscriptions always create a customer; one-time payments only
		// when asked. Stripe refuses this beside customer.
		params.CustomerCreation = stripe.String(string(stripe.CheckoutSessionCustomerCreationAlways))
	}
	g.taxParams(params, reused)
	return params
}

// idempotencyKey is the same for one user, product, price and pay page, so
// a double click or a retried POST yields one Checkout Session.
func idempotencyKey(user, product, price, nonce string) string {
	h := sha256.Sum256([]byte(user + "\x00" + product + "\x00" + price + "\x00" + nonce))
	return "paywall-checkout-" + hex.EncodeToString(h[:16])
}

// sameOrigin refuses cross-site form posts: the browser's Sec-Fetch-Site,
// else Origin, must name this site. Requests with neither (old browsers,
// scripts) rely on the CSRF token alone.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
