package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi/stripefake"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// completedEvent is a checkout.session.completed event as Stripe sends it
// for a session the gateway created.
func completedEvent(id, user, product, paymentIntent string) []byte {
	return stripeevent.New(id, "checkout.session.completed", paidSession(id, user, product, paymentIntent)).MustJSON()
}

// paidSession is the paid one-time Checkout Session of completedEvent.
func paidSession(id, user, product, paymentIntent string) map[string]any {
	return map[string]any{
		"id": "cs_test_" + id, "object": "checkout.session", "status": "complete",
		"payment_status": "paid", "mode": "payment", "client_reference_id": user,
		"payment_intent": paymentIntent, "customer": nil, "subscription": nil,
		"metadata": map[string]string{"paywall_user": user, "paywall_product": product},
	}
}

func (f *fixture) deliver(t testing.TB, payload []byte, header string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/paywall/webhook", bytes.NewReader(payload))
	if header != "" {
		r.Header.Set("Stripe-Signature", header)
	}
	w := httptest.NewRecorder()
	f.gw.ServeEndpoint(w, r, "", nil)
	return w
}

func (f *fixture) live(t *testing.T, user, product string) bool {
	t.Helper()
	ents, err := f.store.Entitlements(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return ents.Live(product, time.Now())
}

// keys lists every key under the fixture's prefix: "nothing written"
// means this is empty.
func (f *fixture) keys(t *testing.T) []string {
	t.Helper()
	keys, err := f.client.Keys(context.Background(), f.store.Prefix()+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func (f *fixture) auditCount(t *testing.T, user string) int {
	t.Helper()
	entries, err := f.store.Audit(context.Background(), user, 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestWebhookGrants(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	payload := completedEvent("evt_grant", "alice", "pro", "pi_grant")
	w := f.deliver(t, payload, stripeevent.Sign(payload, testWebhookSecret, time.Now()))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if !f.live(t, "alice", "pro") {
		t.Fatal("alice does not hold pro after a paid checkout.session.completed")
	}
	if f.live(t, "alice", "course") || f.live(t, "bob", "pro") {
		t.Fatal("the grant leaked to another product or user")
	}
	if n := f.auditCount(t, "alice"); n != 1 {
		t.Fatalf("%d audit entries, want 1", n)
	}
}

func TestWebhookRotatedSecret(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	payload := completedEvent("evt_rotated", "alice", "pro", "pi_rotated")
	if w := f.deliver(t, payload, stripeevent.Sign(payload, testOldSecret, time.Now())); w.Code != http.StatusOK {
		t.Fatalf("event signed with the previous secret: status %d", w.Code)
	}
	if !f.live(t, "alice", "pro") {
		t.Fatal("not granted")
	}
}

func TestWebhookRefusesForgeries(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	good := completedEvent("evt_forged", "mallory", "pro", "pi_forged")
	tampered := bytes.Replace(good, []byte(`"mallory"`), []byte(`"eve"`), -1)
	cases := []struct {
		name    string
		payload []byte
		header  string
		status  int
	}{
		{"wrong secret", good, stripeevent.Sign(good, "whsec_someone_else", time.Now()), 400},
		{"tampered body", tampered, stripeevent.Sign(good, testWebhookSecret, time.Now()), 400},
		{"stale timestamp", good, stripeevent.Sign(good, testWebhookSecret, time.Now().Add(-6*time.Minute)), 400},
		{"no header", good, "", 400},
		{"garbage header", good, "t=abc,v1=zzz", 400},
		{"oversized body", append(good, bytes.Repeat([]byte(" "), 1<<20)...), "t=1,v1=00", 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := f.deliver(t, c.payload, c.header)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
		})
	}
	if keys := f.keys(t); len(keys) != 0 {
		t.Fatalf("refused webhooks wrote %v", keys)
	}
}

func TestWebhookMalformedButSigned(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	for name, payload := range map[string][]byte{
		"not json":                []byte(`{"id": "evt_x", "type":`),
		"object is a string":      []byte(`{"id":"evt_x","type":"checkout.session.completed","data":{"object":"cs_1"}}`),
		"no id":                   []byte(`{"type":"checkout.session.completed","data":{"object":{}}}`),
		"metadata of wrong shape": stripeevent.New("evt_shape", "checkout.session.completed", map[string]any{"id": "cs_1", "status": "complete", "payment_status": "paid", "metadata": []int{1}}).MustJSON(),
	} {
		t.Run(name, func(t *testing.T) {
			w := f.deliver(t, payload, stripeevent.Sign(payload, testWebhookSecret, time.Now()))
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", w.Code, w.Body)
			}
		})
	}
	if keys := f.keys(t); len(keys) != 0 {
		t.Fatalf("malformed events wrote %v", keys)
	}
}

func TestWebhookDuplicateDelivery(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	payload := completedEvent("evt_dup", "alice", "pro", "pi_dup")
	var outcomes []string
	for i := 0; i < 3; i++ {
		w := f.deliver(t, payload, stripeevent.Sign(payload, testWebhookSecret, time.Now()))
		if w.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, w.Code)
		}
		var body struct{ Outcome string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		outcomes = append(outcomes, body.Outcome)
	}
	if strings.Join(outcomes, ",") != "applied,duplicate,duplicate" {
		t.Fatalf("outcomes %v", outcomes)
	}
	if n := f.auditCount(t, "alice"); n != 1 {
		t.Fatalf("%d audit entries, want 1", n)
	}
}

func TestWebhookConcurrentDuplicates(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	payload := completedEvent("evt_race", "alice", "pro", "pi_race")
	header := stripeevent.Sign(payload, testWebhookSecret, time.Now())
	var wg sync.WaitGroup
	codes := make([]int, 20)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = f.deliver(t, payload, header).Code
		}(i)
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, c)
		}
	}
	if n := f.auditCount(t, "alice"); n != 1 {
		t.Fatalf("%d audit entries after 20 concurrent deliveries, want 1", n)
	}
}

func TestWebhookUnhandledAndOtherMode(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	unknown := stripeevent.New("evt_unknown", "customer.created", map[string]any{"id": "cus_1"}).MustJSON()
	w := f.deliver(t, unknown, stripeevent.Sign(unknown, testWebhookSecret, time.Now()))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "unhandled") {
		t.Fatalf("unknown type: %d %s", w.Code, w.Body)
	}
	liveEvent := stripeevent.New("evt_live", "checkout.session.completed", paidSession("evt_live", "alice", "pro", "pi_live"))
	liveEvent.Livemode = true
	live := liveEvent.MustJSON()
	w = f.deliver(t, live, stripeevent.Sign(live, testWebhookSecret, time.Now()))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ignored") {
		t.Fatalf("live event for a test key: %d %s", w.Code, w.Body)
	}
	if f.live(t, "alice", "pro") {
		t.Fatal("a live-mode event opened access for a test-mode key")
	}
}

func TestWebhookStoreDown(t *testing.T) {
	// AOF with fsync on every write: what Redis acknowledged survives the
	// kill, so the checks below see what was really written.
	r := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	f := newFixture(t, fixtureOpts{redisURL: r.URL()})
	f.grant(t, "bob", "pro")
	payload := completedEvent("evt_outage", "alice", "pro", "pi_outage")
	r.Stop()
	if w := f.deliver(t, payload, stripeevent.Sign(payload, testWebhookSecret, time.Now())); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("with Redis down: status %d, want 503", w.Code)
	}
	r.Start()
	if !f.live(t, "bob", "pro") {
		t.Fatal("the restarted Redis lost earlier data; this test cannot see what was written")
	}
	if f.live(t, "alice", "pro") || f.auditCount(t, "alice") != 0 {
		t.Fatal("the failed delivery wrote something")
	}
	// Stripe retries; the retry is applied, not taken for a duplicate.
	w := f.deliver(t, payload, stripeevent.Sign(payload, testWebhookSecret, time.Now()))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "applied") {
		t.Fatalf("retry after the outage: %d %s", w.Code, w.Body)
	}
	if !f.live(t, "alice", "pro") {
		t.Fatal("the retried payment was lost")
	}
}

func TestWebhookMethod(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	r := httptest.NewRequest(http.MethodGet, "/paywall/webhook", nil)
	w := httptest.NewRecorder()
	f.gw.ServeEndpoint(w, r, "", nil)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "POST" {
		t.Fatalf("GET webhook: %d Allow=%q", w.Code, w.Header().Get("Allow"))
	}

}

// A webhook body that trickles in cannot hold the connection: the webhook
// has its own read deadline, and answers 408 when it passes.
func TestWebhookSlowBodyTimesOut(t *testing.T) {
	f := newFixture(t, fixtureOpts{api: stripefake.New()})
	f.gw.webhookReadTimeout = 300 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(f.endpoint("")))
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /paywall/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nStripe-Signature: t=1,v1=00\r\n\r\n{\"id\":")
	// The bound here is the test's own guard against a hang, far above
	// the deadline; the server's default read timeout is none at all.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("stalled body: %d, want 408", resp.StatusCode)
	}
}
