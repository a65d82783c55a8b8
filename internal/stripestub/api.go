package stripestub

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

// routes registers the API endpoints the stub serves.
func (s *Stub) routes() {
	m := http.NewServeMux()
	h := func(pattern string, fn apiFunc) { m.Handle(pattern, s.api(fn)) }

	h("POST /v1/checkout/sessions", s.createSession)
	h("GET /v1/checkout/sessions", s.listSessions)
	h("GET /v1/checkout/sessions/{id}", s.getSession)
	h("GET /v1/checkout/sessions/{id}/line_items", s.listSessionLineItems)
	h("POST /v1/checkout/sessions/{id}/expire", s.expireSession)

	h("GET /v1/prices", s.listPrices)
	h("GET /v1/prices/{id}", s.getPrice)
	h("GET /v1/products/{id}", s.getProduct)

	h("GET /v1/subscriptions", s.listSubscriptions)
	h("GET /v1/subscriptions/{id}", s.getSubscription)
	h("DELETE /v1/subscriptions/{id}", s.deleteSubscription)

	h("POST /v1/customers", s.createCustomer)
	h("GET /v1/customers/{id}", s.getObject("customer"))
	h("GET /v1/payment_intents/{id}", s.getObject("payment_intent"))
	h("GET /v1/charges/{id}", s.getObject("charge"))
	h("GET /v1/disputes/{id}", s.getObject("dispute"))
	h("GET /v1/invoices/{id}", s.getObject("invoice"))

	h("POST /v1/billing_portal/sessions", s.createPortalSession)

	h("GET /v1/webhook_endpoints", s.listEndpoints)
	h("POST /v1/webhook_endpoints", s.createEndpoint)
	h("GET /v1/webhook_endpoints/{id}", s.getEndpoint)
	h("POST /v1/webhook_endpoints/{id}", s.updateEndpoint)
	h("DELETE /v1/webhook_endpoints/{id}", s.deleteEndpoint)

	h("GET /v1/events", s.listEvents)
	h("GET /v1/events/{id}", s.getEvent)
	s.mux = m
}

// call is one API request as a handler sees it.
type call struct {
	r       *http.Request
	f       *form
	reqID   string
	idemKey string
	base    string   // the stub's URL as the client sees it
	send    []*event // events to deliver once the state lock is released
}

// expand is the request's expand[] list.
func (q *call) expand() ([]string, *apiError) { return q.f.strList("expand") }

type apiFunc func(q *call) (any, *apiError)

// idemEntry remembers an idempotent POST and its successful response.
type idemEntry struct {
	fingerprint string
	running     bool
	status      int
	body        any
}

// api adapts an apiFunc: it parses the parameters, honours the
// Idempotency-Key header on writes, delivers the events the call raised,
// then writes the JSON response.
func (s *Stub) api(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := w.Header().Get("Request-Id")
		vals, err := params(r)
		if err != nil {
			writeError(w, reqID, invalid("", "Invalid request body: %v", err))
			return
		}
		f, aerr := parseForm(vals)
		if aerr != nil {
			writeError(w, reqID, aerr)
			return
		}
		q := &call{r: r, f: f, reqID: reqID}
		s.mu.Lock()
		q.base = s.baseForLocked(r)
		s.mu.Unlock()

		if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != "" && r.Method != http.MethodGet {
			q.idemKey = key
			w.Header().Set("Idempotency-Key", key)
			fp := r.Method + " " + r.URL.Path + "?" + vals.Encode()
			s.mu.Lock()
			e, seen := s.idem[key]
			if !seen {
				s.idem[key] = &idemEntry{fingerprint: fp, running: true}
			}
			s.mu.Unlock()
			if seen {
				switch {
				case e.fingerprint != fp:
					writeError(w, reqID, &apiError{status: http.StatusBadRequest, Type: "idempotency_error",
						Message: "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '" + key + "' if you meant to execute a different request."})
				case e.running:
					writeError(w, reqID, &apiError{status: http.StatusConflict, Type: "idempotency_error",
						Message: "There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later."})
				default:
					w.Header().Set("Idempotent-Replayed", "true")
					writeJSON(w, e.status, e.body)
				}
				return
			}
		}

		body, aerr := fn(q)
		if q.idemKey != "" {
			s.mu.Lock()
			if aerr != nil {
				delete(s.idem, q.idemKey) // Stripe saves no result for a refused request
			} else {
				s.idem[q.idemKey] = &idemEntry{fingerprint: s.idem[q.idemKey].fingerprint, status: http.StatusOK, body: body}
			}
			s.mu.Unlock()
		}
		// Delivered before answering, so a caller that sees the response
		// knows the webhook has had its turn.
		s.deliverAll(q.send)
		if aerr != nil {
			writeError(w, reqID, aerr)
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
}

// params reads the query (GET, DELETE) or the form body (POST).
func params(r *http.Request) (url.Values, error) {
	vals := r.URL.Query()
	if r.Method == http.MethodPost || r.Method == http.MethodDelete {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, err
		}
		body, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, err
		}
		for k, v := range body {
			vals[k] = append(vals[k], v...)
		}
	}
	return vals, nil
}

// getObject serves a plain retrieve for the kinds without their own
// handler.
func (s *Stub) getObject(kind string) apiFunc {
	return func(q *call) (any, *apiError) {
		id := q.r.PathValue("id")
		expand, err := q.expand()
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		obj, ok := s.lookupLocked(id)
		if !ok || obj["object"] != kind {
			return nil, noSuch(kind, id, "id")
		}
		if err := s.expandLocked(obj, expand); err != nil {
			return nil, err
		}
		return obj, nil
	}
}
