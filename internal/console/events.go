package console

import (
	"net/http"
	"strconv"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// actions are the audit actions the events page filters by.
var actions = []string{"grant", "grant-blocked", "revoke", "restore", "tombstone", "subscription",
	"pending", "pending-expired", "payment-failed"}

type eventsPage struct {
	view
	User, Product, Action string
	Products              []catalog.Product
	Actions               []string
	Entries               []store.AuditEntry
	// Next is the cursor of the next (older) page; "" at the end.
	Next, NextOffset string
	// Searched: the page stopped after reading its bound of entries.
	Partial bool
}

// events shows the audit stream newest first, filtered by user, product
// and action, a page at a time. Filtering by user reads the user's index;
// otherwise the stream is read from the cursor in bounded steps.
func (c *Console) events(w http.ResponseWriter, r *http.Request, v view) {
	v.Title, v.Nav = "Events", "events"
	q := r.URL.Query()
	p := eventsPage{view: v, User: q.Get("user"), Product: q.Get("product"), Action: q.Get("action"),
		Products: c.products(), Actions: actions}
	ctx, cancel := readCtx(r)
	defer cancel()
	filter := store.AuditFilter{Product: p.Product, Action: p.Action}
	var err error
	if p.User != "" {
		offset, _ := strconv.Atoi(q.Get("offset"))
		offset = max(offset, 0)
		var all []store.AuditEntry
		all, err = c.cfg.Store.UserAudit(ctx, p.User, offset, eventsLimit)
		for _, e := range all {
			if (filter.Product == "" || e.Product == filter.Product) && (filter.Action == "" || e.Action == filter.Action) {
				p.Entries = append(p.Entries, e)
			}
		}
		if len(all) == eventsLimit {
			p.NextOffset = strconv.Itoa(offset + eventsLimit)
		}
	} else {
		var read int
		p.Entries, p.Next, read, err = c.cfg.Store.AuditPage(ctx, filter, q.Get("before"), eventsLimit, eventsRead)
		p.Partial = p.Next != "" && len(p.Entries) < eventsLimit && read >= eventsRead
	}
	if err != nil {
		c.storeFailed(&p.view, "reading the audit stream", err)
		c.render(w, http.StatusServiceUnavailable, "events", p)
		return
	}
	c.render(w, http.StatusOK, "events", p)
}
