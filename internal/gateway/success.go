package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// processingRefresh is how often the processing page checks again, and
// processingStopAfter for how long (delayed payment methods take days).
const (
	processingRefresh   = 3
	processingStopAfter = 300
)

// serveSuccess is where Stripe sends the visitor back. The visitor may be
// faster than the webhook, so the session is asked for and, if paid and
// this user's, fulfilled here through the webhook's own code path.
func (g *Gateway) serveSuccess(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	user, _, d := g.whoPays(r, user)
	if user == "" {
		g.toLogin(w, r, repl)
		return
	}
	id := r.URL.Query().Get("session_id")
	if !strings.HasPrefix(id, "cs_") || len(id) > 255 {
		g.errorPage(w, http.StatusBadRequest, "Unknown payment", "This link does not name a payment.", user)
		return
	}
	s, err := g.applier.FetchSession(r.Context(), id)
	var stripeErr *stripe.Error
	if errors.As(err, &stripeErr) && stripeErr.HTTPStatusCode == http.StatusNotFound {
		g.errorPage(w, http.StatusNotFound, "Unknown payment",
			"The payment service knows no payment for this link, so nothing was charged through it. Go back to the page you wanted and start again.", user)
		return
	}
	if err != nil {
		g.log.Warn("success page: fetching checkout session", field("session", id), zapErr(err))
		g.processing(w, r, user, id, "")
		return
	}
	if s.ClientReferenceID != user && s.User() != user {
		g.errorPage(w, http.StatusForbidden, "Not your payment", "This payment belongs to another account.", user)
		return
	}
	productName := g.productName(r, s.Metadata[events.MetaProduct])
	if !s.Paid() {
		g.processing(w, r, user, id, productName)
		return
	}
	now := g.now()
	_, err = g.applier.FulfilSession(r.Context(), s, store.Meta{Cause: "success", Created: now.Unix(), Now: now})
	// Even when another gateway granted first, the next request must not
	// meet a cached "unpaid" here before the pub/sub message does.
	g.invalidate(user)
	if err != nil {
		g.log.Error("success page: fulfilling checkout session", field("session", id), zapErr(err))
		g.processing(w, r, user, id, productName)
		return
	}
	if d.ReturnTo != "" {
		http.Redirect(w, r, orRoot(d.ReturnTo), http.StatusSeeOther)
		return
	}
	_ = g.pages.Render(w, http.StatusOK, "success", pages.SuccessData{User: user, ProductName: productName, ContinueURL: "/"})
}

func (g *Gateway) processing(w http.ResponseWriter, r *http.Request, user, sessionID, productName string) {
	_ = g.pages.Render(w, http.StatusOK, "processing", pages.ProcessingData{
		User: user, ProductName: productName, RefreshURL: r.URL.RequestURI(),
		StatusURL: g.statusURL(sessionID), BackURL: "/", StandIn: g.cfg.StandIn,
		RefreshSeconds: processingRefresh, StopAfterSeconds: processingStopAfter,
	})
}

// serveCancel is where Stripe sends a visitor who gave up.
func (g *Gateway) serveCancel(w http.ResponseWriter, r *http.Request, user string) {
	user, _, d := g.whoPays(r, user)
	id := r.URL.Query().Get("product")
	data := pages.CancelData{User: user, BackURL: "/"}
	if _, ok := g.cfg.Products.ByID(id); ok {
		data.ProductName = g.productName(r, id)
		data.PayURL = g.payURL([]string{id}, d.ReturnTo)
	}
	_ = g.pages.Render(w, http.StatusOK, "cancel", data)
}

// servePortal sends a subscriber to Stripe's Billing Portal.
func (g *Gateway) servePortal(w http.ResponseWriter, r *http.Request, user string, repl Replacer) {
	user, _, d := g.whoPays(r, user)
	if user == "" {
		g.toLogin(w, r, repl)
		return
	}
	cus, err := g.store.CustomerOf(r.Context(), user)
	if err != nil {
		g.errorPage(w, http.StatusServiceUnavailable, "Temporarily unavailable", "Please try again in a moment.", user)
		return
	}
	if cus == "" {
		g.errorPage(w, http.StatusNotFound, "No billing account yet",
			"There is no billing account for you yet: it is made with your first purchase or subscription.", user)
		return
	}
	portal, err := g.api.BillingPortalSessions.New(portalParams(r, cus, orRoot(d.ReturnTo)))
	if err != nil {
		g.log.Error("creating billing portal session", zapUser(user), zapErr(err))
		g.errorPage(w, http.StatusBadGateway, "Billing is unavailable", "Please try again in a moment.", user)
		return
	}
	http.Redirect(w, r, portal.URL, http.StatusSeeOther)
}

// serveHealthz answers 200 while Redis answers.
func (g *Gateway) serveHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := g.store.Ping(r.Context()); err != nil {
		http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (g *Gateway) productName(r *http.Request, id string) string {
	if p, ok := g.cfg.Products.ByID(id); ok {
		return g.productView(r.Context(), p).Name
	}
	return ""
}
