// Package stripefake is an offline stand-in for the part of the Stripe
// API the paywall uses, with a hosted checkout page whose Pay button sends
// a correctly signed webhook. It keeps state in memory, so the demo and
// tests see sessions and subscriptions as their actions left them (unlike
// stripe-mock, whose fixtures are stateless). It is for the demo and tests
// only; it is not Stripe.
package stripefake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Price is a price the stand-in knows.
type Price struct {
	ID, ProductName string
	UnitAmount      int64
	Currency        string
	// Recurring is "" for one-time prices, else "month" or "year".
	Recurring string
}

// Config sets the stand-in up.
type Config struct {
	Prices        []Price
	WebhookURL    string
	WebhookSecret string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Stub is the stand-in; it is an http.Handler.
type Stub struct {
	mu            sync.Mutex
	cfg           Config
	base          string
	prices        map[string]Price
	sessions      map[string]map[string]any
	sessionOrder  []string
	idempotent    map[string]string // idempotency key -> session id
	subscriptions map[string]map[string]any
	endpoints     []map[string]any
	events        []map[string]any // every event sent, oldest first
	deliveries    []Delivery
	mux           *http.ServeMux
}

// Delivery is one webhook the stand-in sent.
type Delivery struct {
	EventID, Type string
	Status        int
	Err           error
}

// New returns a stand-in.
func New(cfg Config) *Stub {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Stub{cfg: cfg, prices: map[string]Price{}, sessions: map[string]map[string]any{},
		idempotent: map[string]string{}, subscriptions: map[string]map[string]any{}}
	for _, p := range cfg.Prices {
		s.prices[p.ID] = p
	}
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/checkout/sessions", s.auth(s.createSession))
	m.HandleFunc("GET /v1/checkout/sessions", s.auth(s.listSessions))
	m.HandleFunc("GET /v1/checkout/sessions/{id}", s.auth(s.getSession))
	m.HandleFunc("GET /v1/prices/{id}", s.auth(s.getPrice))
	m.HandleFunc("GET /v1/subscriptions/{id}", s.auth(s.getSubscription))
	m.HandleFunc("POST /v1/billing_portal/sessions", s.auth(s.createPortal))
	m.HandleFunc("GET /v1/webhook_endpoints", s.auth(s.listEndpoints))
	m.HandleFunc("POST /v1/webhook_endpoints", s.auth(s.createEndpoint))
	m.HandleFunc("GET /v1/events", s.auth(s.listEvents))
	m.HandleFunc("GET /pay/{id}", s.hostedPage)
	m.HandleFunc("POST /pay/{id}", s.hostedAction)
	m.HandleFunc("GET /portal/{id}", s.portalPage)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		stripeError(w, http.StatusNotFound, "invalid_request_error", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+").")
	})
	s.mux = m
	return s
}

// ServeHTTP serves the API and the hosted pages.
func (s *Stub) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetBaseURL tells the stand-in where it is served, for the URLs it hands out.
func (s *Stub) SetBaseURL(u string) {
	s.mu.Lock()
	s.base = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// SetWebhook sets where Pay sends events, and the signing secret.
func (s *Stub) SetWebhook(url, secret string) {
	s.mu.Lock()
	s.cfg.WebhookURL, s.cfg.WebhookSecret = url, secret
	s.mu.Unlock()
}

// Deliveries lists the webhooks sent so far.
func (s *Stub) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

func (s *Stub) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !strings.HasPrefix(key, "sk_test_") && !strings.HasPrefix(key, "rk_test_") {
			stripeError(w, http.StatusUnauthorized, "invalid_request_error", "Invalid API Key provided.")
			return
		}
		if err := r.ParseForm(); err != nil {
			stripeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func stripeError(w http.ResponseWriter, status int, typ, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": typ, "message": msg}})
}

func newID(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// clone copies a JSON-like object so callers never share the stub's maps.
func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
