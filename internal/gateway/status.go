package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// serveStatus answers whether a Checkout Session is paid yet, for the
// processing page's script: {"state":"paid"} or {"state":"processing"}.
// It only reads; the success endpoint, which the page goes to next,
// fulfils. Errors are problem+json: 401 nobody signed in, 400 no session
// id, 403 another user's session, 502 Stripe did not answer.
func (g *Gateway) serveStatus(w http.ResponseWriter, r *http.Request, user string) {
	user, _, _ = g.whoPays(r, user)
	if user == "" {
		g.problem(w, r, http.StatusUnauthorized, "Login required", "Log in to the site first.", nil)
		return
	}
	id := r.URL.Query().Get("session_id")
	if !strings.HasPrefix(id, "cs_") || len(id) > 255 {
		g.problem(w, r, http.StatusBadRequest, "Unknown payment", "session_id does not name a payment.", nil)
		return
	}
	s, err := g.applier.FetchSession(r.Context(), id)
	if err != nil {
		g.log.Warn("status: fetching checkout session", field("session", id), zapErr(err))
		g.problem(w, r, http.StatusBadGateway, "Stripe unavailable", "Please try again in a moment.", nil)
		return
	}
	if s.ClientReferenceID != user && s.User() != user {
		g.problem(w, r, http.StatusForbidden, "Not your payment", "This payment belongs to another account.", nil)
		return
	}
	state := "processing"
	if s.Paid() {
		state = "paid"
	}
	b, _ := json.Marshal(map[string]string{"state": state})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// statusURL is the status endpoint for a Checkout Session.
func (g *Gateway) statusURL(sessionID string) string {
	return g.cfg.BasePath + "/status?session_id=" + url.QueryEscape(sessionID)
}
