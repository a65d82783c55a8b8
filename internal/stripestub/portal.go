package stripestub

import (
	"net/http"
	"strings"
	"time"
)

// portalSession is a Billing Portal session.
type portalSession struct {
	ID, Customer, ReturnURL, URL string
	Created                      int64
}

func (p *portalSession) render() map[string]any {
	return map[string]any{
		"id": p.ID, "object": "billing_portal.session", "configuration": "bpc_test_default",
		"created": p.Created, "customer": p.Customer, "flow": nil, "livemode": false, "locale": nil,
		"on_behalf_of": nil, "return_url": nullable(p.ReturnURL), "url": p.URL,
	}
}

func (s *Stub) createPortalSession(q *call) (any, *apiError) {
	f := q.f
	if err := f.only("customer", "return_url", "configuration", "flow_data", "locale", "on_behalf_of"); err != nil {
		return nil, err
	}
	p := &portalSession{Customer: f.str("customer"), ReturnURL: f.str("return_url")}
	if p.Customer == "" {
		return nil, missingParam("customer")
	}
	if p.ReturnURL != "" && !validURL(p.ReturnURL) {
		return nil, invalid("return_url", "Not a valid URL")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[p.Customer]; !ok {
		return nil, noSuch("customer", p.Customer, "customer")
	}
	p.ID, p.Created = newID("bps_test_", 24), s.now().Unix()
	p.URL = q.base + "/portal/" + p.ID
	s.portals[p.ID] = p
	return p.render(), nil
}

type portalPage struct {
	Title, Email, ReturnURL, Notice string
	Subs                            []portalSub
}

type portalSub struct {
	ID, Product, Price, Status, PeriodLabel, PeriodDate string
	Active                                              bool
	Options                                             []portalOption
}

type portalOption struct {
	ID, Label string
	Selected  bool
}

// servePortal is the stand-in for the Billing Portal: the customer's
// subscriptions, each with "Cancel subscription now" and, when there are
// other recurring prices, "Switch plan"; both send the events Stripe
// would.
func (s *Stub) servePortal(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	p, ok := s.portals[id]
	s.mu.Unlock()
	if !ok {
		render(w, http.StatusNotFound, "checkout", checkoutPage{Title: "Portal session not found",
			Message: "There is no billing portal session at this address. Go back to the site and open it again."})
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		subID := r.PostForm.Get("subscription")
		done, err := "", error(nil)
		if sub, ok := s.Subscription(subID); !ok || sub.Customer != p.Customer {
			render(w, http.StatusNotFound, "checkout", checkoutPage{Title: "Subscription not found",
				Message: "That subscription does not belong to this billing account."})
			return
		}
		switch r.PostForm.Get("action") {
		case "cancel":
			done, err = "canceled", s.CancelSubscription(subID)
		case "switch":
			done, err = "switched", s.ChangePrice(subID, r.PostForm.Get("price"))
		default:
			http.Error(w, "unknown action", http.StatusBadRequest)
			return
		}
		if err != nil && !isDelivery(err) {
			render(w, http.StatusConflict, "checkout", checkoutPage{Title: "Not possible", Message: err.Error()})
			return
		}
		http.Redirect(w, r, selfPath(r)+"?done="+done, http.StatusSeeOther)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	render(w, http.StatusOK, "portal", s.portalPage(p, r.URL.Query().Get("done")))
}

func (s *Stub) portalPage(p *portalSession, done string) portalPage {
	s.mu.Lock()
	defer s.mu.Unlock()
	page := portalPage{Title: "Billing", ReturnURL: p.ReturnURL}
	switch done {
	case "canceled":
		page.Notice = "Your subscription has been canceled."
	case "switched":
		page.Notice = "Your plan has been changed."
	}
	if c, ok := s.customers[p.Customer]; ok {
		page.Email = c.Email
	}
	for i := len(s.subOrder) - 1; i >= 0; i-- {
		sub := s.subscriptions[s.subOrder[i]]
		if sub.Customer != p.Customer || len(sub.Items) == 0 {
			continue
		}
		pr := s.prices[sub.Items[0].Price]
		ps := portalSub{ID: sub.ID, Product: s.products[pr.ProductID].Name,
			Price:  formatAmount(pr.UnitAmount*sub.Items[0].Quantity, pr.Currency) + " per " + pr.Recurring,
			Status: strings.ReplaceAll(sub.Status, "_", " "), Active: sub.Status != "canceled" && sub.Status != "incomplete_expired"}
		switch {
		case !ps.Active:
			ps.PeriodLabel, ps.PeriodDate = "Ended", day(sub.EndedAt)
		case sub.CancelAtPeriodEnd:
			ps.PeriodLabel, ps.PeriodDate = "Ends", day(sub.CurrentPeriodEnd)
		default:
			ps.PeriodLabel, ps.PeriodDate = "Renews", day(sub.CurrentPeriodEnd)
		}
		for _, id := range s.priceOrder {
			o := s.prices[id]
			if o.Recurring == "" || o.Archived || o.Currency != pr.Currency {
				continue
			}
			ps.Options = append(ps.Options, portalOption{ID: o.ID, Selected: o.ID == pr.ID,
				Label: s.products[o.ProductID].Name + " · " + formatAmount(o.UnitAmount, o.Currency) + " per " + o.Recurring})
		}
		if len(ps.Options) < 2 {
			ps.Options = nil
		}
		page.Subs = append(page.Subs, ps)
	}
	return page
}

func day(unix int64) string {
	if unix == 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format("2 January 2006")
}
