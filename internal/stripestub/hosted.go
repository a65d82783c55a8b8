package stripestub

import (
	"bytes"
	_ "embed"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

//go:embed hosted.html
var hostedHTML string

var pages = template.Must(template.New("hosted").Parse(hostedHTML))

// checkoutPage is what the hosted Checkout page shows.
type checkoutPage struct {
	Title         string
	State         string // open | paid | processing | failed | expired | other
	Message       string
	Lines         []pageLine
	Total         string
	DueToday      string // Total, or nothing during a trial
	TrialDays     int64
	Interval      string
	Subscription  bool
	DelayedOption bool
	SuccessURL    string
	CancelURL     string
}

type pageLine struct {
	Name     string
	Quantity int64
	Amount   string
	Interval string
}

// serveHosted is the stand-in for Stripe's hosted Checkout page:
// GET shows the order, POST action=pay|pay_delayed|cancel|settle|fail.
func (s *Stub) serveHosted(w http.ResponseWriter, r *http.Request, id string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		page, status := s.checkoutPage(id)
		render(w, status, "checkout", page)
	case http.MethodPost:
		s.hostedAction(w, r, id)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		render(w, http.StatusMethodNotAllowed, "checkout", checkoutPage{Title: "Method not allowed", Message: "This page only shows and submits a checkout."})
	}
}

func (s *Stub) checkoutPage(id string) (checkoutPage, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDueLocked()
	cs, ok := s.sessions[id]
	if !ok {
		return checkoutPage{Title: "Checkout not found", Message: "There is no checkout session at this address. Go back to the site and start again."}, http.StatusNotFound
	}
	p := checkoutPage{Subscription: cs.Mode == "subscription", SuccessURL: cs.successRedirect(),
		CancelURL: cs.CancelURL, Total: formatAmount(cs.AmountTotal, cs.Currency),
		DelayedOption: s.cfg.DelayedOption && cs.Mode == "payment", TrialDays: cs.TrialDays}
	p.DueToday = p.Total
	if cs.TrialDays > 0 {
		p.DueToday = formatAmount(0, cs.Currency)
	}
	var names []string
	for _, li := range cs.LineItems {
		pr := s.prices[li.Price]
		name := s.products[pr.ProductID].Name
		names = append(names, name)
		p.Lines = append(p.Lines, pageLine{Name: name, Quantity: li.Quantity,
			Amount: formatAmount(pr.UnitAmount*li.Quantity, pr.Currency), Interval: pr.Recurring})
		if pr.Recurring != "" {
			p.Interval = pr.Recurring
		}
	}
	p.Title = strings.Join(names, ", ")
	status := http.StatusOK
	pi := s.paymentIntents[cs.PaymentIntent]
	switch {
	case cs.Status == "open":
		p.State = "open"
	case cs.Status == "expired":
		p.State, status = "expired", http.StatusGone
	case cs.PaymentStatus == "paid" || cs.PaymentStatus == "no_payment_required":
		p.State = "paid"
	case pi != nil && pi.Status == "processing":
		p.State = "processing"
	default:
		p.State = "failed"
	}
	return p, status
}

func (s *Stub) hostedAction(w http.ResponseWriter, r *http.Request, id string) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		render(w, http.StatusBadRequest, "checkout", checkoutPage{Title: "Bad request", Message: "The form could not be read."})
		return
	}
	cs, ok := s.Session(id)
	if !ok {
		page, status := s.checkoutPage(id)
		render(w, status, "checkout", page)
		return
	}
	back := selfPath(r)
	var err error
	switch action := r.PostForm.Get("action"); action {
	case "pay", "pay_delayed":
		if cs.Status == "complete" { // a second click: go on as the first did
			http.Redirect(w, r, cs.successRedirect(), http.StatusSeeOther)
			return
		}
		if action == "pay_delayed" && (!s.cfg.DelayedOption || cs.Mode != "payment") {
			break
		}
		if err = s.pay(id, action == "pay_delayed"); err == nil || isDelivery(err) {
			// A failed webhook is recorded; the gateway's success page
			// fulfils the payment anyway, as with Stripe.
			http.Redirect(w, r, cs.successRedirect(), http.StatusSeeOther)
			return
		}
	case "settle", "fail":
		if err = s.SettleDelayed(id, action == "settle"); err == nil || isDelivery(err) {
			to := back
			if action == "settle" {
				to = cs.successRedirect()
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	case "cancel":
		to := cs.CancelURL
		if to == "" {
			to = back
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	// Not possible in this state (expired, already settled, unknown
	// action): show the page as it now is.
	page, status := s.checkoutPage(id)
	if status == http.StatusOK {
		status = http.StatusConflict
		if errors.Is(err, ErrNotOpen) {
			status = http.StatusGone
		}
	}
	render(w, status, "checkout", page)
}

// selfPath is the page's own path as the browser asked for it (with the
// mount prefix that ServeHTTP strips).
func selfPath(r *http.Request) string {
	if p, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasPrefix(p, "/") {
		return p
	}
	return r.URL.Path
}

func isDelivery(err error) bool {
	var de *DeliveryError
	return errors.As(err, &de)
}

// render writes a hosted page.
func render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "stripestub: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
