// Package stripestub is a small, stateful stand-in for the parts of the
// Stripe API that caddy-paywall uses. It exists for the offline demo
// (`caddy paywall demo`) and for tests that need Stripe to remember what
// happened (stripe-mock's fixtures are stateless).
//
// It is not Stripe. It keeps objects in memory, accepts any test-mode key,
// moves no money, implements only the endpoints and fields the gateway
// reads (in the shape of APIVersion, the API version stripe-go v76
// pins), and serves its own stand-in for the hosted Checkout page and the
// Billing Portal. Never point a production gateway at it.
//
// Point stripe-go at it with
//
//	stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: stripe.String(url)})
//
// Paying on its hosted page (or calling Pay) completes the Checkout
// Session, creates the objects Stripe would (payment intent and charge, or
// customer, subscription and invoice) and sends a signed
// checkout.session.completed event to the configured webhook URL and to
// every webhook endpoint created through the API. Time passing never sends
// events; the verbs (Pay, Expire, Refund, Dispute, Renew, ...) do, and the
// Set methods change state silently so a test can then send the events it
// wants with SendEvent.
package stripestub

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// APIVersion is the Stripe API version the stub speaks and stamps on its
// events: the one stripe-go v76 pins.
const APIVersion = stripe.APIVersion

// Price is a Price (and its Product) the stub knows from the start.
type Price struct {
	ID          string
	ProductName string
	UnitAmount  int64  // in the currency's smallest unit (cents)
	Currency    string // ISO code, e.g. "eur"; lower-cased
	Recurring   string // "" (one-time) | "day" | "week" | "month" | "year"
	// ProductID names the product; default "prod_" + the price id without
	// its "price_" prefix. Prices with the same ProductID share a product.
	ProductID string
	// Archived makes the price inactive ("active": false).
	Archived bool
}

// Config configures a Stub.
type Config struct {
	Prices []Price
	// WebhookURL receives every event, signed with WebhookSecret. Empty:
	// events go only to endpoints created through the API.
	WebhookURL    string
	WebhookSecret string
	// Now is the stub's clock (created, periods, expiry); nil = time.Now.
	// AdvanceClock and SetNow shift it.
	Now func() time.Time
	// SignatureTime stamps webhook signatures; nil = time.Now, because
	// stripe-go's webhook package checks the tolerance against the wall
	// clock whatever the stub's clock says.
	SignatureTime func() time.Time
	// HTTPClient delivers webhooks; nil = a client with a 10s timeout that
	// does not follow redirects (Stripe treats a 3xx as a failure).
	HTTPClient *http.Client
	// DelayedOption adds a "bank transfer" button to the hosted page of
	// payment-mode sessions: the session completes with payment_status
	// "unpaid", and its page then offers to settle or fail the payment.
	DelayedOption bool
}

// Stub is the stand-in: an http.Handler serving the API under /v1/, the
// hosted Checkout page under /pay/ and the Billing Portal under /portal/.
type Stub struct {
	cfg    Config
	client *http.Client
	mux    *http.ServeMux
	offset atomic.Int64 // clock shift, nanoseconds
	start  int64        // created time of the configured prices

	mu            sync.Mutex
	base          string // URL the stub is served at, no trailing slash
	webhookURL    string
	webhookSecret string

	prices         map[string]*Price
	priceOrder     []string
	products       map[string]*stripeProduct
	sessions       map[string]*Session
	sessionOrder   []string
	customers      map[string]*customer
	customerOrder  []string
	paymentIntents map[string]*paymentIntent
	charges        map[string]*charge
	disputes       map[string]*dispute
	invoices       map[string]*invoice
	subscriptions  map[string]*Subscription
	subOrder       []string
	portals        map[string]*portalSession
	endpoints      map[string]*webhookEndpoint
	endpointOrder  []string
	events         map[string]*event
	eventOrder     []string
	idem           map[string]*idemEntry
	deliveries     []Delivery
}

// New returns a Stub knowing cfg's prices. It panics on an invalid price
// (a programming error in a test or the demo).
func New(cfg Config) *Stub {
	s := &Stub{
		cfg:            cfg,
		webhookURL:     cfg.WebhookURL,
		webhookSecret:  cfg.WebhookSecret,
		prices:         map[string]*Price{},
		products:       map[string]*stripeProduct{},
		sessions:       map[string]*Session{},
		customers:      map[string]*customer{},
		paymentIntents: map[string]*paymentIntent{},
		charges:        map[string]*charge{},
		disputes:       map[string]*dispute{},
		invoices:       map[string]*invoice{},
		subscriptions:  map[string]*Subscription{},
		portals:        map[string]*portalSession{},
		endpoints:      map[string]*webhookEndpoint{},
		events:         map[string]*event{},
		idem:           map[string]*idemEntry{},
	}
	s.client = cfg.HTTPClient
	if s.client == nil {
		s.client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	s.start = s.now().Unix()
	for _, p := range cfg.Prices {
		s.addPrice(p)
	}
	s.routes()
	return s
}

// SetBaseURL sets the URL the stub is served at, for the hosted page and
// portal links it hands out. Unset, they use the Host of the API request.
func (s *Stub) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(u, "/")
}

// BaseURL is the URL set by SetBaseURL or Start.
func (s *Stub) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// SetWebhook changes where events go and the secret that signs them.
func (s *Stub) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL, s.webhookSecret = url, secret
}

// Start serves the stub on a free loopback port, sets its base URL and
// returns that URL and a function that stops the server.
func (s *Stub) Start() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	u := "http://" + l.Addr().String()
	s.SetBaseURL(u)
	return u, func() { _ = srv.Close() }, nil
}

// Now is the stub's clock.
func (s *Stub) Now() time.Time { return s.now() }

// AdvanceClock moves the stub's clock forward by d (backward if d < 0).
// Open sessions past their expires_at read as expired; subscriptions are
// not renewed (call Renew) and no event is sent.
func (s *Stub) AdvanceClock(d time.Duration) { s.offset.Add(int64(d)) }

// SetNow moves the stub's clock to t (it keeps ticking from there).
func (s *Stub) SetNow(t time.Time) {
	base := time.Now
	if s.cfg.Now != nil {
		base = s.cfg.Now
	}
	s.offset.Store(int64(t.Sub(base())))
}

func (s *Stub) now() time.Time {
	base := time.Now
	if s.cfg.Now != nil {
		base = s.cfg.Now
	}
	return base().Add(time.Duration(s.offset.Load()))
}

// ServeHTTP serves the API, the hosted pages, and Stripe-shaped 404s.
func (s *Stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := s.pathPrefix(); p != "" && strings.HasPrefix(r.URL.Path, p+"/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, p)
		r2.URL.RawPath = ""
		r = r2
	}
	switch path := r.URL.Path; {
	case strings.HasPrefix(path, "/v1/"):
		s.serveAPI(w, r)
	case strings.HasPrefix(path, "/pay/"):
		s.serveHosted(w, r, strings.TrimPrefix(path, "/pay/"))
	case strings.HasPrefix(path, "/portal/"):
		s.servePortal(w, r, strings.TrimPrefix(path, "/portal/"))
	case path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = fmt.Fprintln(w, "caddy-paywall's offline Stripe stand-in (not Stripe): the API is under /v1/.")
	default:
		writeError(w, "", errUnrecognized(r))
	}
}

// pathPrefix is the path part of the base URL, if the stub is mounted
// below the root.
func (s *Stub) pathPrefix() string {
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// baseFor is the stub's URL as seen by the client of r.
func (s *Stub) baseForLocked(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveAPI authenticates and dispatches an API request.
func (s *Stub) serveAPI(w http.ResponseWriter, r *http.Request) {
	reqID := newID("req_", 14)
	if err := authenticate(r); err != nil {
		writeError(w, reqID, err)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(w, reqID, errUnrecognized(r))
		return
	}
	w.Header().Set("Request-Id", reqID)
	s.mux.ServeHTTP(w, r)
}

// authenticate accepts test-mode secret and restricted keys, as Bearer
// tokens or as the basic-auth user name (both are Stripe's).
func authenticate(r *http.Request) *apiError {
	key := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		key = strings.TrimSpace(h[7:])
	} else if u, _, ok := r.BasicAuth(); ok {
		key = u
	}
	if key == "" {
		return &apiError{status: http.StatusUnauthorized, Type: "invalid_request_error",
			Message: "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). This is Stripe's offline stand-in; any sk_test_ key works."}
	}
	for _, p := range []string{"sk_test_", "rk_test_"} {
		if strings.HasPrefix(key, p) && len(key) > len(p) {
			return nil
		}
	}
	return &apiError{status: http.StatusUnauthorized, Type: "invalid_request_error",
		Message: "Invalid API Key provided: " + redactKey(key) + " (the offline Stripe stand-in accepts test-mode keys only: sk_test_... or rk_test_...)"}
}

func redactKey(k string) string {
	if len(k) <= 12 {
		return strings.Repeat("*", len(k))
	}
	return k[:8] + strings.Repeat("*", len(k)-12) + k[len(k)-4:]
}

// apiError is a Stripe error response.
type apiError struct {
	status  int
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
	Param   string `json:"param,omitempty"`
	DocURL  string `json:"doc_url,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func invalid(param, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, Type: "invalid_request_error", Param: param,
		Message: fmt.Sprintf(format, args...)}
}

func missingParam(param string) *apiError {
	e := invalid(param, "Missing required param: %s.", param)
	e.Code, e.DocURL = "parameter_missing", "https://stripe.com/docs/error-codes/parameter-missing"
	return e
}

func noSuch(kind, id, param string) *apiError {
	return &apiError{status: http.StatusNotFound, Type: "invalid_request_error", Code: "resource_missing",
		DocURL: "https://stripe.com/docs/error-codes/resource-missing", Param: param,
		Message: fmt.Sprintf("No such %s: '%s'", kind, id)}
}

func errUnrecognized(r *http.Request) *apiError {
	return &apiError{status: http.StatusNotFound, Type: "invalid_request_error",
		Message: fmt.Sprintf("Unrecognized request URL (%s: %s). This is Stripe's offline stand-in, which serves only the endpoints caddy-paywall uses.", r.Method, r.URL.Path)}
}

func writeError(w http.ResponseWriter, reqID string, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, Type: "api_error", Message: err.Error()}
	}
	if reqID != "" {
		w.Header().Set("Request-Id", reqID)
	}
	writeJSON(w, ae.status, map[string]any{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"type":"api_error","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Stripe-Version", APIVersion)
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

const idChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix followed by n random letters and digits.
func newID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return prefix + string(b)
}

// Object returns the current state of any object the stub holds (a
// session, price, product, customer, payment intent, charge, dispute,
// invoice, subscription), as the API returns it unexpanded: handy as the
// payload of SendEvent.
func (s *Stub) Object(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	return s.lookupLocked(id)
}

// lookupLocked renders the object with this id, whatever its kind.
func (s *Stub) lookupLocked(id string) (map[string]any, bool) {
	if cs, ok := s.sessions[id]; ok {
		return s.renderSessionLocked(cs), true
	}
	if p, ok := s.prices[id]; ok {
		return s.renderPriceLocked(p), true
	}
	if p, ok := s.products[id]; ok {
		return p.render(), true
	}
	if c, ok := s.customers[id]; ok {
		return c.render(), true
	}
	if pi, ok := s.paymentIntents[id]; ok {
		return pi.render(), true
	}
	if ch, ok := s.charges[id]; ok {
		return ch.render(), true
	}
	if dp, ok := s.disputes[id]; ok {
		return dp.render(), true
	}
	if in, ok := s.invoices[id]; ok {
		return s.renderInvoiceLocked(in), true
	}
	if sub, ok := s.subscriptions[id]; ok {
		return s.renderSubscriptionLocked(sub), true
	}
	return nil, false
}

// nullable renders "" as JSON null.
func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// nullableInt renders 0 as JSON null.
func nullableInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func metadata(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
