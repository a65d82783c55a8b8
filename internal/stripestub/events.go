package stripestub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeevent"
)

// event is a sent event; Payload is the exact body that was signed.
type event struct {
	ID, Type string
	Created  int64
	Payload  []byte
	targets  []target
}

// target is where an event goes and the secret that signs it.
type target struct{ url, secret string }

// Delivery records one webhook POST.
type Delivery struct {
	EventID    string
	Type       string
	URL        string
	Payload    []byte // the signed body
	Signature  string // the Stripe-Signature header
	StatusCode int    // 0 when no response came
	Response   string // the first 4 KiB of the response body
	Err        string // transport error, if any
	At         time.Time
}

// OK reports whether the receiver answered 2xx.
func (d Delivery) OK() bool { return d.Err == "" && d.StatusCode >= 200 && d.StatusCode < 300 }

// DeliveryError reports webhook deliveries that got no 2xx. The state
// change that raised the event happened all the same, as with Stripe.
type DeliveryError struct{ Failed []Delivery }

func (e *DeliveryError) Error() string {
	var parts []string
	for _, d := range e.Failed {
		why := d.Err
		if why == "" {
			why = fmt.Sprintf("%d %s", d.StatusCode, strings.TrimSpace(d.Response))
		}
		parts = append(parts, fmt.Sprintf("%s (%s) to %s: %s", d.EventID, d.Type, d.URL, why))
	}
	return "stripestub: webhook delivery failed: " + strings.Join(parts, "; ")
}

// Deliveries returns every webhook POST so far, oldest first.
func (s *Stub) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// targetsLocked lists where an event of type typ goes: the configured
// webhook URL, then each enabled endpoint created through the API that
// subscribes to typ.
func (s *Stub) targetsLocked(typ string) []target {
	var out []target
	if s.webhookURL != "" {
		out = append(out, target{s.webhookURL, s.webhookSecret})
	}
	for _, id := range s.endpointOrder {
		ep := s.endpoints[id]
		if ep.Status == "enabled" && (slices.Contains(ep.EnabledEvents, "*") || slices.Contains(ep.EnabledEvents, typ)) {
			out = append(out, target{ep.URL, ep.Secret})
		}
	}
	return out
}

// newEventLocked records an event about obj; q, when the event comes from
// an API request, fills its request field.
func (s *Stub) newEventLocked(typ string, obj any, prev map[string]any, q *call) *event {
	created := s.now()
	ev := &event{ID: newID("evt_test_", 24), Type: typ, Created: created.Unix(), targets: s.targetsLocked(typ)}
	e := stripeevent.Event{
		ID: ev.ID, Type: typ, Object: obj, PreviousAttributes: prev, Created: created,
		APIVersion: APIVersion, PendingWebhooks: len(ev.targets),
	}
	if q != nil {
		e.RequestID, e.IdempotencyKey = q.reqID, q.idemKey
	}
	var payload bytes.Buffer
	// Only our own maps and RawMessages get here: they always encode.
	if err := json.Indent(&payload, e.MustJSON(), "", "  "); err != nil {
		panic("stripestub: indenting event: " + err.Error())
	}
	ev.Payload = payload.Bytes()
	s.events[ev.ID] = ev
	s.eventOrder = append(s.eventOrder, ev.ID)
	return ev
}

// SendEvent sends a signed event of eventType whose data.object is object
// (anything that encodes to a JSON object: a map, a struct, an Object()
// result, json.RawMessage). It returns the event's id; the error is a
// *DeliveryError when a receiver answered other than 2xx.
func (s *Stub) SendEvent(eventType string, object any) (string, error) {
	raw, err := json.Marshal(object)
	if err != nil {
		return "", fmt.Errorf("stripestub: encoding the event object: %w", err)
	}
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' {
		return "", errors.New("stripestub: an event's object must encode to a JSON object")
	}
	if eventType == "" {
		return "", errors.New("stripestub: an event needs a type")
	}
	s.mu.Lock()
	ev := s.newEventLocked(eventType, json.RawMessage(raw), nil, nil)
	s.mu.Unlock()
	return ev.ID, s.deliverAll([]*event{ev})
}

// SendRaw signs and sends payload as it is (any bytes: another API
// version, a malformed body) to the configured webhook and the endpoints
// subscribed to its "type". It is not recorded as an event.
func (s *Stub) SendRaw(payload []byte) error {
	var head struct{ ID, Type string }
	_ = json.Unmarshal(payload, &head)
	s.mu.Lock()
	ev := &event{ID: head.ID, Type: head.Type, Payload: slices.Clone(payload), targets: s.targetsLocked(head.Type)}
	s.mu.Unlock()
	return s.deliverAll([]*event{ev})
}

// Redeliver sends an earlier event again, byte for byte, with a fresh
// signature, as Stripe's retries do, to where such events go now.
func (s *Stub) Redeliver(eventID string) error {
	s.mu.Lock()
	old, ok := s.events[eventID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("stripestub: no event %s", eventID)
	}
	ev := &event{ID: old.ID, Type: old.Type, Created: old.Created, Payload: old.Payload, targets: s.targetsLocked(old.Type)}
	s.mu.Unlock()
	return s.deliverAll([]*event{ev})
}

// deliverAll POSTs each event to each of its targets, in order, and
// records the outcome. Call it without holding the lock: the receiver
// may call the API back.
func (s *Stub) deliverAll(evs []*event) error {
	var failed []Delivery
	for _, ev := range evs {
		for _, t := range ev.targets {
			d := s.post(ev, t)
			s.mu.Lock()
			s.deliveries = append(s.deliveries, d)
			s.mu.Unlock()
			if !d.OK() {
				failed = append(failed, d)
			}
		}
	}
	if len(failed) > 0 {
		return &DeliveryError{Failed: failed}
	}
	return nil
}

// post sends one signed event, with the headers Stripe sends.
func (s *Stub) post(ev *event, t target) Delivery {
	at := time.Now()
	if s.cfg.SignatureTime != nil {
		at = s.cfg.SignatureTime()
	}
	sig := stripeevent.Sign(ev.Payload, t.secret, at)
	d := Delivery{EventID: ev.ID, Type: ev.Type, URL: t.url, Payload: ev.Payload, Signature: sig, At: time.Now()}
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(ev.Payload))
	if err != nil {
		d.Err = err.Error()
		return d
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Accept", "*/*; q=0.5, application/xml")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Stripe-Signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	d.StatusCode, d.Response = resp.StatusCode, string(body)
	return d
}

func (s *Stub) getEvent(q *call) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ev, ok := s.events[id]
	if !ok {
		return nil, noSuch("event", id, "id")
	}
	return json.RawMessage(ev.Payload), nil
}

// listEvents: by type or types[], created, with pagination.
func (s *Stub) listEvents(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("type", "types", "created", "limit", "starting_after", "ending_before", "delivery_success"); err != nil {
		return nil, err
	}
	types, err := f.strList("types")
	if err != nil {
		return nil, err
	}
	created, err := timeFilter(f, "created")
	if err != nil {
		return nil, err
	}
	typ := f.str("type")
	match := func(t string) bool {
		if len(types) > 0 {
			return slices.Contains(types, t)
		}
		if strings.HasSuffix(typ, ".*") {
			return strings.HasPrefix(t, strings.TrimSuffix(typ, "*"))
		}
		return typ == "" || typ == t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := len(s.eventOrder) - 1; i >= 0; i-- {
		ev := s.events[s.eventOrder[i]]
		if match(ev.Type) && created(ev.Created) {
			ids = append(ids, ev.ID)
		}
	}
	ids, more, err := page(ids, f, "event")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = json.RawMessage(s.events[id].Payload)
	}
	return listEnvelope("/v1/events", data, more), nil
}
