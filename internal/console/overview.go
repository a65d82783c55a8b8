package console

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

type overviewPage struct {
	view
	NotFound   bool
	Charts     []chart
	Holders    []holderRow
	PayPages   int64
	Payments   int64
	Conversion string
	Webhook    store.WebhookHealth
	Failures   []failureRow
}

type holderRow struct {
	ID, Name string
	Live     int64
}

type failureRow struct {
	Reason string
	Count  int64
}

// overview shows the last 30 days.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, v view) {
	v.Title, v.Nav = "Overview", "overview"
	ctx, cancel := readCtx(r)
	defer cancel()
	now := c.now()
	p := overviewPage{view: v}

	stats, err := c.cfg.Store.Stats(ctx, now, Days)
	if err == nil {
		var holders map[string]int64
		holders, err = c.cfg.Store.LiveHolders(ctx, now, c.cfg.Products.IDs())
		for _, pr := range c.cfg.Products {
			p.Holders = append(p.Holders, holderRow{ID: pr.ID, Name: c.productName(pr.ID), Live: holders[pr.ID]})
		}
	}
	if err == nil {
		p.Webhook, err = c.cfg.Store.Webhook(ctx, now)
	}
	if err != nil {
		c.storeFailed(&p.view, "reading the overview", err)
		c.render(w, http.StatusServiceUnavailable, "overview", p)
		return
	}

	days := make([]string, len(stats))
	for i, d := range stats {
		days[i] = d.Day
	}
	col := func(field string) []int64 {
		out := make([]int64, len(stats))
		for i, d := range stats {
			out[i] = d.Counts[field]
		}
		return out
	}
	sum := func(vals []int64) (n int64) {
		for _, v := range vals {
			n += v
		}
		return n
	}
	p.Charts = append(p.Charts,
		newChart("gated", "Gated requests by outcome", days,
			[]string{"pass", "login", "pay", "store error"},
			[][]int64{col("pass"), col("login"), col("pay"), col("store_error")}, count),
		newChart("funnel", "Pay pages, checkouts and payments", days,
			[]string{"pay pages shown", "checkouts started", "payments confirmed"},
			[][]int64{col("pay_page"), col("checkout"), col("payments")}, count),
	)
	var currencies []string
	for _, d := range stats {
		for k := range d.Counts {
			if cur, ok := strings.CutPrefix(k, "revenue:"); ok && !slices.Contains(currencies, cur) {
				currencies = append(currencies, cur)
			}
		}
	}
	sort.Strings(currencies)
	for _, cur := range currencies {
		p.Charts = append(p.Charts, newChart("revenue-"+cur, "Revenue in "+strings.ToUpper(cur), days,
			[]string{"revenue"}, [][]int64{col("revenue:" + cur)}, money(cur)))
	}
	if len(currencies) == 0 {
		p.Charts = append(p.Charts, newChart("revenue", "Revenue", days,
			[]string{"revenue"}, [][]int64{make([]int64, len(days))}, count))
	}
	p.Charts = append(p.Charts, newChart("refunds", "Refunds and disputes", days,
		[]string{"refunds", "disputes"}, [][]int64{col("refunds"), col("disputes")}, count))

	p.PayPages, p.Payments = sum(col("pay_page")), sum(col("payments"))
	if p.PayPages > 0 {
		p.Conversion = strconv.FormatFloat(float64(p.Payments)*100/float64(p.PayPages), 'f', 1, 64) + " %"
	} else {
		p.Conversion = "no pay page shown yet"
	}
	for reason, n := range p.Webhook.Failures {
		p.Failures = append(p.Failures, failureRow{Reason: reason, Count: n})
	}
	sort.Slice(p.Failures, func(i, j int) bool { return p.Failures[i].Count > p.Failures[j].Count })
	c.render(w, http.StatusOK, "overview", p)
}
