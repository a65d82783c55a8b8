// Package stripefake is an in-memory stripeapi.API for unit tests.
//
// Objects go in as the JSON Stripe would send (Put) and come out as
// stripe-go reads them: typed, and, when read by id, with the JSON in
// LastResponse.RawJSON, so code that decodes Stripe's JSON into its own
// types reads the same shape as from Stripe. Top-level expand is honoured
// for objects that were Put; a missing object is Stripe's 404
// resource_missing. Lists are newest first, filtered as the paywall asks
// (status, created >=, event types).
//
// It checks no request shapes: stripe-mock does that for the real client.
// It is a test double and must never be imported by production code.
package stripefake

import (
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// Stripe is the fake. The zero value is not usable: call New.
type Stripe struct {
	// Now stamps the objects the fake creates. Default: time.Now.
	Now func() time.Time

	mu      sync.Mutex
	objects map[string]map[string]json.RawMessage // object type, then id
	order   map[string][]string                   // ids by object type, oldest first
	fail    map[string]error                      // by method name
	keys    map[string]string                     // idempotency key -> checkout session id
	calls   []Call
	seq     int
}

// Call is one request the fake answered.
type Call struct {
	Method string // the API method, e.g. "GetPrice"
	ID     string // the object id asked for, if any
	Params any    // the stripe-go params as given
}

// New returns an empty fake.
func New() *Stripe {
	return &Stripe{
		objects: map[string]map[string]json.RawMessage{},
		order:   map[string][]string{},
		fail:    map[string]error{},
		keys:    map[string]string{},
	}
}

// Put stores objects as Stripe sends them: each is JSON (a string or
// []byte) or a value that encodes to it, with "object" (its type, e.g.
// "price", "checkout.session", "event") and "id" (none for the singleton
// "tax.settings"). Putting an id again replaces the object. It panics on
// an object without a type, a mistake in the test.
func (f *Stripe) Put(objs ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range objs {
		f.put(encode(o))
	}
}

func encode(o any) json.RawMessage {
	switch v := o.(type) {
	case string:
		return json.RawMessage(v)
	case []byte:
		return json.RawMessage(v)
	}
	b, err := json.Marshal(o)
	if err != nil {
		panic(fmt.Sprintf("stripefake: encoding %T: %v", o, err))
	}
	return b
}

func (f *Stripe) put(raw json.RawMessage) {
	var head struct {
		Object string `json:"object"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.Object == "" {
		panic(fmt.Sprintf("stripefake: not a Stripe object (no \"object\"): %s", raw))
	}
	byID := f.objects[head.Object]
	if byID == nil {
		byID = map[string]json.RawMessage{}
		f.objects[head.Object] = byID
	}
	if _, ok := byID[head.ID]; !ok {
		f.order[head.Object] = append(f.order[head.Object], head.ID)
	}
	byID[head.ID] = raw
}

// Fail makes every later call of method (e.g. "CreateCheckoutSession",
// "ListEvents") return err; a nil err makes it answer again.
func (f *Stripe) Fail(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, method)
		return
	}
	f.fail[method] = err
}

// Calls returns the requests answered so far, in order.
func (f *Stripe) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Object returns a stored object's JSON as Stripe would send it now.
func (f *Stripe) Object(typ, id string) (json.RawMessage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, ok := f.objects[typ][id]
	return raw, ok
}

// NotFound is the error Stripe answers for an object it does not have.
func NotFound(typ, id string) *stripe.Error {
	return &stripe.Error{
		HTTPStatusCode: http.StatusNotFound,
		Type:           stripe.ErrorTypeInvalidRequest,
		Code:           stripe.ErrorCodeResourceMissing,
		Msg:            fmt.Sprintf("No such %s: '%s'", typ, id),
		Param:          "id",
	}
}

// call records a request and returns the error set for its method.
func (f *Stripe) call(method, id string, params any) error {
	f.calls = append(f.calls, Call{Method: method, ID: id, Params: params})
	return f.fail[method]
}

func (f *Stripe) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Stripe) newID(prefix string) string {
	f.seq++
	return prefix + "_fake_" + strconv.Itoa(f.seq)
}

// read records a request for a stored object and returns it.
func read[O any, PO interface {
	*O
	SetLastResponse(*stripe.APIResponse)
}](f *Stripe, method, typ, id string, params any, expand []*string) (PO, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method, id, params); err != nil {
		return nil, err
	}
	return decode[O, PO](f, typ, id, expand)
}

// decode reads a stored object as stripe-go does, expanding the top-level
// fields asked for, and keeps the JSON as the raw response. f.mu is held.
func decode[O any, PO interface {
	*O
	SetLastResponse(*stripe.APIResponse)
}](f *Stripe, typ, id string, expand []*string) (PO, error) {
	raw, ok := f.objects[typ][id]
	if !ok {
		return nil, NotFound(typ, id)
	}
	raw = f.expand(raw, expand)
	obj := PO(new(O))
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("stripefake: decoding %s %s: %v", typ, id, err)
	}
	obj.SetLastResponse(&stripe.APIResponse{StatusCode: http.StatusOK, Status: "200 OK", RawJSON: raw})
	return obj, nil
}

// expand replaces each named top-level field holding the id of a stored
// object with that object.
func (f *Stripe) expand(raw json.RawMessage, fields []*string) json.RawMessage {
	if len(fields) == 0 {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	for _, field := range fields {
		var id string
		if field == nil || json.Unmarshal(m[*field], &id) != nil {
			continue
		}
		for _, byID := range f.objects {
			if o, ok := byID[id]; ok && id != "" {
				m[*field] = o
			}
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return out
}

// list yields the stored objects of typ, newest first, that keep says to,
// decoded as a list's items are (no response of their own).
func list[O any](f *Stripe, method, typ string, params any, keep func(map[string]json.RawMessage) bool) iter.Seq2[*O, error] {
	return func(yield func(*O, error) bool) {
		f.mu.Lock()
		err := f.call(method, "", params)
		var items []json.RawMessage
		ids := f.order[typ]
		for i := len(ids) - 1; i >= 0; i-- {
			raw := f.objects[typ][ids[i]]
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) == nil && keep(m) {
				items = append(items, raw)
			}
		}
		f.mu.Unlock()
		if err != nil {
			yield(nil, err)
			return
		}
		for _, raw := range items {
			obj := new(O)
			if err := json.Unmarshal(raw, obj); err != nil {
				yield(nil, fmt.Errorf("stripefake: decoding a %s: %v", typ, err))
				return
			}
			if !yield(obj, nil) {
				return
			}
		}
	}
}

// field matchers for list filters.

func str(m map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

func createdSince(m map[string]json.RawMessage, r *stripe.RangeQueryParams) bool {
	if r == nil || r.GreaterThanOrEqual == 0 {
		return true
	}
	var created int64
	_ = json.Unmarshal(m["created"], &created)
	return created >= r.GreaterThanOrEqual
}

var _ stripeapi.API = (*Stripe)(nil)
