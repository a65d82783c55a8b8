package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/caddy-paywall/caddy-paywall/internal/pages"
	"github.com/caddy-paywall/caddy-paywall/internal/paths"
)

// Deny answers a request the gate did not pass (see Check). repl
// resolves login_url for the Login outcome.
func (g *Gateway) Deny(w http.ResponseWriter, r *http.Request, d Decision, repl Replacer) {
	machine := IsMachine(r)
	switch d.Outcome {
	case Login:
		loginURL := g.loginURL(repl, ReturnTo(r))
		if machine || loginURL == "" {
			g.problem(w, r, http.StatusUnauthorized, "Login required", "Log in to reach this resource.", nil)
			return
		}
		http.Redirect(w, r, loginURL, http.StatusFound)
	case Pay:
		payURL := g.payURL(d.Products, ReturnTo(r))
		if machine {
			extra := map[string]any{
				"products": g.productInfo(r, d.Products),
				"pay_url":  absoluteURL(r, payURL),
			}
			detail := "This resource is part of a paid product."
			if d.Metered != nil { // free views used up
				extra["free_views"] = freeViewsInfo(d.Metered)
				detail += " The free views are used."
			}
			g.problem(w, r, http.StatusPaymentRequired, "Payment required", detail, extra)
			return
		}
		g.sessions.update(w, r, func(s *sessionData) {
			s.User = d.User
			s.ReturnTo = ReturnTo(r)
		})
		http.Redirect(w, r, payURL, http.StatusSeeOther)
	case Lenient:
		http.Error(w, "400 Bad Request: this path is read differently by different servers", http.StatusBadRequest)
	default: // StoreDenied, IdentityUnavailable
		w.Header().Set("Retry-After", "5")
		if machine {
			g.problem(w, r, http.StatusServiceUnavailable, "Service unavailable",
				"Access cannot be checked right now; try again shortly.", nil)
			return
		}
		g.errorPage(w, http.StatusServiceUnavailable, "Temporarily unavailable",
			"We cannot check your access right now. Please try again in a moment.", d.User)
	}
}

// payURL is the pay page for products, carrying return_to.
func (g *Gateway) payURL(products []string, returnTo string) string {
	q := url.Values{"product": products}
	if returnTo = paths.SafeReturnTo(returnTo); returnTo != "" {
		q.Set("return_to", returnTo)
	}
	return g.cfg.BasePath + "/pay?" + q.Encode()
}

type productInfo struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Price  string       `json:"price"`            // the first Stripe Price id
	Amount string       `json:"amount,omitempty"` // e.g. "€9.00", when Stripe told us
	Prices []priceOffer `json:"prices"`           // every price, the first one included
	Mode   string       `json:"mode"`
	// TrialDays: a subscription's free trial, in days.
	TrialDays int64 `json:"trial_days,omitempty"`
}

// priceOffer is one price in the 402 body.
type priceOffer struct {
	ID     string `json:"id"`               // the Stripe Price id
	Amount string `json:"amount,omitempty"` // e.g. "€9 a month", when Stripe told us
}

func (g *Gateway) productInfo(r *http.Request, ids []string) []productInfo {
	out := make([]productInfo, 0, len(ids))
	for _, id := range ids {
		p, ok := g.cfg.Products.ByID(id)
		if !ok {
			continue
		}
		v := g.productViewOf(r.Context(), p, false) // the 402 never waits on Stripe
		info := productInfo{ID: p.ID, Name: v.Name, Amount: v.Price, Mode: p.Mode, TrialDays: p.TrialDays(),
			Prices: make([]priceOffer, len(v.Prices))}
		for i, pr := range v.Prices {
			info.Prices[i] = priceOffer{ID: pr.ID, Amount: pr.Label}
		}
		if prices := p.AllPrices(); len(prices) > 0 {
			info.Price = prices[0]
		}
		out = append(out, info)
	}
	return out
}

// problem writes an RFC 9457 problem+json body.
func (g *Gateway) problem(w http.ResponseWriter, r *http.Request, status int, title, detail string, extra map[string]any) {
	body := map[string]any{
		"type":   "about:blank",
		"title":  title,
		"status": status,
		"detail": detail,
	}
	for k, v := range extra {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

func (g *Gateway) errorPage(w http.ResponseWriter, status int, title, message, user string) {
	_ = g.pages.Render(w, status, "error", pages.ErrorData{
		Status: status, Title: title, Message: message, BackURL: "/", User: user,
	})
}

// absoluteURL makes a path absolute on the request's own origin.
func absoluteURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}
