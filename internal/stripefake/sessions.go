package stripefake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// metadataFrom reads "prefix[key]=value" form fields.
func metadataFrom(form url.Values, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range form {
		if strings.HasPrefix(k, prefix+"[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			out[k[len(prefix)+1:len(k)-1]] = v[0]
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Stub) createSession(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if id, ok := s.idempotent[key]; ok {
			writeJSON(w, http.StatusOK, clone(s.sessions[id]))
			return
		}
	}
	price, ok := s.prices[f.Get("line_items[0][price]")]
	if !ok {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "No such price: '"+f.Get("line_items[0][price]")+"'")
		return
	}
	mode := f.Get("mode")
	if (mode == "subscription") != (price.Recurring != "") {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "The price's type does not fit mode "+mode)
		return
	}
	id := newID("cs_test_")
	now := s.cfg.Now().Unix()
	expires, _ := strconv.ParseInt(f.Get("expires_at"), 10, 64)
	if expires == 0 {
		expires = now + 24*3600
	}
	sess := map[string]any{
		"id": id, "object": "checkout.session", "status": "open", "payment_status": "unpaid",
		"mode": mode, "client_reference_id": nullable(f.Get("client_reference_id")),
		"customer": nullable(f.Get("customer")), "payment_intent": nil, "subscription": nil,
		"success_url": f.Get("success_url"), "cancel_url": f.Get("cancel_url"),
		"metadata": metadataFrom(f, "metadata"), "created": now, "expires_at": expires,
		"livemode": false, "amount_total": price.UnitAmount, "currency": price.Currency,
		"url":                   s.base + "/pay/" + id,
		"allow_promotion_codes": f.Get("allow_promotion_codes") == "true",
		"x_price":               price.ID,
		"x_intent_metadata":     metadataFrom(f, "payment_intent_data[metadata]"),
		"x_subscription_meta":   metadataFrom(f, "subscription_data[metadata]"),
	}
	s.sessions[id] = sess
	s.sessionOrder = append(s.sessionOrder, id)
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		s.idempotent[key] = id
	}
	writeJSON(w, http.StatusOK, public(sess))
}

// public drops the stand-in's own bookkeeping (x_ fields).
func public(sess map[string]any) map[string]any {
	out := clone(sess)
	for k := range out {
		if strings.HasPrefix(k, "x_") {
			delete(out, k)
		}
	}
	return out
}

func (s *Stub) getSession(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[r.PathValue("id")]
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "No such checkout.session: '"+r.PathValue("id")+"'")
		return
	}
	writeJSON(w, http.StatusOK, public(sess))
}

// listSessions lists newest first, with created[gte], status, limit and
// starting_after, as stripe-go's iterator pages through them.
func (s *Stub) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.Form
	gte, _ := strconv.ParseInt(q.Get("created[gte]"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 10
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := append([]string(nil), s.sessionOrder...) // reversed below: newest first
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	var data []any
	started := q.Get("starting_after") == ""
	more := false
	for _, id := range ids {
		if !started {
			started = id == q.Get("starting_after")
			continue
		}
		sess := s.sessions[id]
		if toInt(sess["created"]) < gte || (q.Get("status") != "" && sess["status"] != q.Get("status")) {
			continue
		}
		if len(data) == limit {
			more = true
			break
		}
		data = append(data, public(sess))
	}
	if data == nil {
		data = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/checkout/sessions", "has_more": more, "data": data})
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

// Session returns a copy of a session as the API would show it.
func (s *Stub) Session(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, false
	}
	return public(sess), true
}
