package gateway

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

const (
	testWebhookSecret = "whsec_test_current"
	testOldSecret     = "whsec_test_previous"
	testSessionSecret = "0123456789abcdef0123456789abcdef-test"
)

var testProducts = catalog.Catalog{
	{ID: "pro", Name: "Pro articles", Prices: []string{"price_pro"}, Mode: "payment"},
	{ID: "course", Name: "The course", Prices: []string{"price_course"}, Mode: "subscription"},
}

type fixture struct {
	gw     *Gateway
	store  *store.Store
	client *redis.Client
	stripe *stripeRecorder
}

type fixtureOpts struct {
	redisURL   string
	allowStore bool
	// noStripe points the client at a closed port instead of stripe-mock
	// (fuzzing: each fuzz worker would otherwise start its own).
	noStripe bool
	// stripeURL, when set, is the Stripe the gateway talks to.
	stripeURL string
	// products replace testProducts; tax sets automatic_tax and
	// tax_id_collection.
	products catalog.Catalog
	tax      bool
	// gate: who Check finds signed in, shadow and login_url.
	identity Identity
	shadow   bool
	loginURL string
}

// newFixture builds a Gateway on a real Redis (its own key prefix) and
// stripe-mock, with a recorder in between that keeps what was sent.
func newFixture(t testing.TB, o fixtureOpts) *fixture {
	t.Helper()
	if o.redisURL == "" {
		o.redisURL = testenv.RedisURL(t)
	}
	opt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 500*time.Millisecond, 500*time.Millisecond, 500*time.Millisecond
	client := redis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	st := store.New(client, testenv.UniquePrefix())
	stripeURL := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	switch {
	case o.stripeURL != "":
		stripeURL = o.stripeURL
	case !o.noStripe:
		stripeURL = testenv.StripeURL(t)
	}
	rec := newStripeRecorder(t, stripeURL)
	api := stripeapi.New("sk_test_123", rec.URL)
	if o.noStripe { // fail fast: no network retries against the closed port
		api = stripeclient.New("sk_test_123", &stripe.Backends{API: stripe.GetBackendWithConfig(stripe.APIBackend,
			&stripe.BackendConfig{URL: stripe.String(rec.URL), MaxNetworkRetries: stripe.Int64(0),
				LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})})
	}
	products := testProducts
	if o.products != nil {
		products = o.products
	}
	applier := &events.Applier{Store: st, API: api, Products: products}
	gw, err := New(Config{
		BasePath: "/paywall", Products: products,
		AutomaticTax: o.tax, TaxIDCollection: o.tax,
		WebhookSecrets:    []string{testWebhookSecret, testOldSecret},
		SessionSecret:     testSessionSecret,
		AllowOnStoreError: o.allowStore,
		Shadow:            o.shadow,
		LoginURL:          cmp.Or(o.loginURL, testLoginURL),
	}, Deps{Store: st, API: api, Applier: applier, Identity: o.identity})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{gw: gw, store: st, client: client, stripe: rec}
}

func (f *fixture) grant(t *testing.T, user, product string) {
	t.Helper()
	now := time.Now()
	_, err := f.store.Grant(context.Background(), store.GrantRequest{
		Meta: store.Meta{Cause: "test", Created: now.Unix(), Now: now},
		User: user, Product: product, Source: "pi_test_" + user + product,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// stripeRecorder forwards to stripe-mock and records each request.
type stripeRecorder struct {
	URL  string
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path   string
	Form           url.Values
	IdempotencyKey string
}

func newStripeRecorder(t testing.TB, target string) *stripeRecorder {
	rec := &stripeRecorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, form, r.Header.Get("Idempotency-Key")})
		rec.mu.Unlock()
		out, err := http.NewRequest(r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(out)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

func (r *stripeRecorder) requests(path string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, q := range r.reqs {
		if q.Path == path {
			out = append(out, q)
		}
	}
	return out
}

// browser carries cookies from one response to the next request.
type browser struct {
	cookies map[string]*http.Cookie
}

func newBrowser() *browser { return &browser{cookies: map[string]*http.Cookie{}} }

func (b *browser) do(t *testing.T, h func(http.ResponseWriter, *http.Request), r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	if r.Header.Get("Accept") == "" {
		r.Header.Set("Accept", "text/html,application/xhtml+xml")
	}
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h(w, r)
	for _, c := range w.Result().Cookies() {
		b.cookies[c.Name] = c
	}
	return w
}

// endpoint calls the gateway's endpoints as the Caddy handler does, with
// user as the `user` placeholder's value.
func (f *fixture) endpoint(user string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		f.gw.ServeEndpoint(w, r, user, testReplacer{})
	}
}

// testLoginURL is the fixtures' login_url unless they set another.
const testLoginURL = "/login?next={http.paywall.return_to}"

// testReplacer stands in for Caddy's replacer: it resolves the
// placeholders it was given with Set.
type testReplacer map[string]string

func (t testReplacer) Set(name string, v any) { t[name] = fmt.Sprint(v) }

func (t testReplacer) ReplaceAll(s, empty string) string {
	for name, v := range t {
		s = strings.ReplaceAll(s, "{"+name+"}", v)
	}
	return s
}

func postForm(target string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}
