package stripestub

import (
	"regexp"
	"slices"
)

// webhookEndpoint is an endpoint created through the API (by `caddy
// paywall setup`); events go to it too, signed with its secret.
type webhookEndpoint struct {
	ID, URL, APIVersion, Description, Secret, Status string
	EnabledEvents                                    []string
	Metadata                                         map[string]string
	Created                                          int64
}

func (ep *webhookEndpoint) render(withSecret bool) map[string]any {
	m := map[string]any{
		"id": ep.ID, "object": "webhook_endpoint", "api_version": nullable(ep.APIVersion),
		"application": nil, "created": ep.Created, "description": nullable(ep.Description),
		"enabled_events": slices.Clone(ep.EnabledEvents), "livemode": false,
		"metadata": metadata(ep.Metadata), "status": ep.Status, "url": ep.URL,
	}
	if withSecret {
		m["secret"] = ep.Secret // Stripe shows it only in the create response
	}
	return m
}

var eventName = regexp.MustCompile(`^(\*|[a-z_]+(\.[a-z_]+)+)$`)

// readEndpoint reads url, enabled_events, description and metadata into
// ep; create requires url and enabled_events.
func readEndpoint(f *form, ep *webhookEndpoint, create bool) *apiError {
	if f.has("url") || create {
		if ep.URL = f.str("url"); ep.URL == "" {
			return missingParam("url")
		}
		if !validURL(ep.URL) {
			return invalid("url", "Invalid URL: %s", ep.URL)
		}
	}
	if f.has("enabled_events") || create {
		evs, err := f.strList("enabled_events")
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return missingParam("enabled_events")
		}
		for _, e := range evs {
			if !eventName.MatchString(e) {
				return invalid("enabled_events", "Invalid event type: %s", e)
			}
		}
		ep.EnabledEvents = evs
	}
	if f.has("description") {
		ep.Description = f.str("description")
	}
	if f.has("metadata") {
		m, err := readMetadata(f, "metadata")
		if err != nil {
			return err
		}
		ep.Metadata = m
	}
	return nil
}

func (s *Stub) createEndpoint(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("url", "enabled_events", "api_version", "description", "metadata", "connect"); err != nil {
		return nil, err
	}
	ep := &webhookEndpoint{Status: "enabled", APIVersion: f.str("api_version")}
	if err := readEndpoint(f, ep, true); err != nil {
		return nil, err
	}
	if ep.APIVersion == "" {
		// Stripe uses the account's default version; the stand-in's
		// account is on the version it speaks.
		ep.APIVersion = APIVersion
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ep.ID, ep.Secret, ep.Created = newID("we_test_", 24), newID("whsec_", 32), s.now().Unix()
	s.endpoints[ep.ID] = ep
	s.endpointOrder = append(s.endpointOrder, ep.ID)
	return ep.render(true), nil
}

func (s *Stub) getEndpoint(q *call) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[id]
	if !ok {
		return nil, noSuch("webhook_endpoint", id, "id")
	}
	return ep.render(false), nil
}

func (s *Stub) updateEndpoint(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("url", "enabled_events", "description", "metadata", "disabled"); err != nil {
		return nil, err
	}
	disabled, hasDisabled, err := f.bool("disabled")
	if err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, ok := s.endpoints[id]
	if !ok {
		return nil, noSuch("webhook_endpoint", id, "id")
	}
	updated := *ep
	if err := readEndpoint(f, &updated, false); err != nil {
		return nil, err
	}
	if hasDisabled {
		updated.Status = "enabled"
		if disabled {
			updated.Status = "disabled"
		}
	}
	*ep = updated
	return ep.render(false), nil
}

func (s *Stub) deleteEndpoint(q *call) (any, *apiError) {
	if err := q.f.only(); err != nil {
		return nil, err
	}
	id := q.r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.endpoints[id]; !ok {
		return nil, noSuch("webhook_endpoint", id, "id")
	}
	delete(s.endpoints, id)
	s.endpointOrder = slices.DeleteFunc(s.endpointOrder, func(x string) bool { return x == id })
	return map[string]any{"id": id, "object": "webhook_endpoint", "deleted": true}, nil
}

func (s *Stub) listEndpoints(q *call) (any, *apiError) {
	if err := q.f.only("limit", "starting_after", "ending_before"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for i := len(s.endpointOrder) - 1; i >= 0; i-- {
		ids = append(ids, s.endpointOrder[i])
	}
	ids, more, err := page(ids, q.f, "webhook_endpoint")
	if err != nil {
		return nil, err
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		data[i] = s.endpoints[id].render(false)
	}
	return listEnvelope("/v1/webhook_endpoints", data, more), nil
}

// WebhookEndpoints returns the endpoints created through the API, with
// their secrets: what `caddy paywall setup` printed once.
func (s *Stub) WebhookEndpoints() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.endpointOrder))
	for _, id := range s.endpointOrder {
		out = append(out, s.endpoints[id].render(true))
	}
	return out
}
