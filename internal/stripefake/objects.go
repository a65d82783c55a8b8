package stripefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func (s *Stub) getPrice(w http.ResponseWriter, r *http.Request) {
	p, ok := s.prices[r.PathValue("id")]
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "No such price: '"+r.PathValue("id")+"'")
		return
	}
	prodID := "prod_" + p.ID
	var product any = prodID
	for _, e := range r.Form["expand[]"] {
		if e == "product" {
			product = map[string]any{"id": prodID, "object": "product", "name": p.ProductName, "active": true}
		}
	}
	obj := map[string]any{"id": p.ID, "object": "price", "active": true, "currency": p.Currency,
		"unit_amount": p.UnitAmount, "product": product, "type": "one_time", "recurring": nil, "livemode": false}
	if p.Recurring != "" {
		obj["type"] = "recurring"
		obj["recurring"] = map[string]any{"interval": p.Recurring, "interval_count": 1}
	}
	writeJSON(w, http.StatusOK, obj)
}

// newSubscription creates the subscription a paid subscription session
// starts; s.mu is held.
func (s *Stub) newSubscription(sess map[string]any, now time.Time) map[string]any {
	price := s.prices[sess["x_price"].(string)]
	end := now.AddDate(0, 1, 0)
	if price.Recurring == "year" {
		end = now.AddDate(1, 0, 0)
	}
	sub := map[string]any{
		"id": newID("sub_test_"), "object": "subscription", "status": "active",
		"customer": sess["customer"], "current_period_start": now.Unix(), "current_period_end": end.Unix(),
		"metadata": sess["x_subscription_meta"], "livemode": false, "created": now.Unix(),
		"items": map[string]any{"object": "list", "data": []any{map[string]any{
			"id": newID("si_test_"), "object": "subscription_item", "price": map[string]any{"id": price.ID, "object": "price"},
		}}},
	}
	s.subscriptions[sub["id"].(string)] = sub
	return sub
}

func (s *Stub) getSubscription(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[r.PathValue("id")]
	if !ok {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "No such subscription: '"+r.PathValue("id")+"'")
		return
	}
	writeJSON(w, http.StatusOK, clone(sub))
}

// Subscription returns a copy of a subscription.
func (s *Stub) Subscription(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[id]
	if !ok {
		return nil, false
	}
	return clone(sub), true
}

// UpdateSubscription changes a subscription as Stripe would after a
// renewal, a failed payment, a plan change or a cancellation: status
// ("active", "past_due", "canceled", ...), price id ("" keeps it) and
// period end (zero keeps it).
func (s *Stub) UpdateSubscription(id, status, price string, periodEnd time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subscriptions[id]
	if !ok {
		return fmt.Errorf("no subscription %s", id)
	}
	if status != "" {
		sub["status"] = status
	}
	if price != "" {
		sub["items"].(map[string]any)["data"].([]any)[0].(map[string]any)["price"] = map[string]any{"id": price, "object": "price"}
	}
	if !periodEnd.IsZero() {
		sub["current_period_end"] = periodEnd.Unix()
	}
	return nil
}

func (s *Stub) createPortal(w http.ResponseWriter, r *http.Request) {
	cus := r.PostForm.Get("customer")
	if cus == "" {
		stripeError(w, http.StatusBadRequest, "invalid_request_error", "Missing required param: customer.")
		return
	}
	id := newID("bps_test_")
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "billing_portal.session", "customer": cus,
		"return_url": r.PostForm.Get("return_url"), "url": base + "/portal/" + id + "?return_url=" + urlQueryEscape(r.PostForm.Get("return_url")), "livemode": false})
}

func (s *Stub) listEndpoints(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := make([]any, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		c := clone(e)
		delete(c, "secret") // shown only at creation, as Stripe does
		data = append(data, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/webhook_endpoints", "has_more": false, "data": data})
}

func (s *Stub) createEndpoint(w http.ResponseWriter, r *http.Request) {
	events := r.PostForm["enabled_events[]"]
	for i := 0; ; i++ {
		v := r.PostForm.Get(fmt.Sprintf("enabled_events[%d]", i))
		if v == "" {
			break
		}
		events = append(events, v)
	}
	e := map[string]any{"id": newID("we_test_"), "object": "webhook_endpoint", "url": r.PostForm.Get("url"),
		"enabled_events": events, "api_version": nullable(r.PostForm.Get("api_version")), "status": "enabled",
		"secret": "whsec_" + newID(""), "livemode": false}
	s.mu.Lock()
	s.endpoints = append(s.endpoints, e)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, e)
}

// listEvents lists the events sent, newest first, filtered by created[gte]
// and types[]; one page holds them all.
func (s *Stub) listEvents(w http.ResponseWriter, r *http.Request) {
	gte, _ := strconv.ParseInt(r.Form.Get("created[gte]"), 10, 64)
	types := map[string]bool{}
	for k, v := range r.Form {
		if strings.HasPrefix(k, "types[") {
			for _, t := range v {
				types[t] = true
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data := []any{}
	for i := len(s.events) - 1; i >= 0; i-- {
		e := s.events[i]
		if toInt(e["created"]) < gte || (len(types) > 0 && !types[e["type"].(string)]) {
			continue
		}
		data = append(data, clone(e))
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "url": "/v1/events", "has_more": false, "data": data})
}
