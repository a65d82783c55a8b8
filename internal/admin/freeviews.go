package admin

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/meter"
)

// FreeViewsView is one product's free-view window as the commands print it.
type FreeViewsView struct {
	Product string       `json:"product"`
	Used    int          `json:"used"`
	Limit   int          `json:"limit"`
	Start   string       `json:"window_start"`
	Renews  string       `json:"renews"`
	Pages   []meter.Page `json:"pages"`
}

// FreeViewsOf turns a meter's window into a printable row.
func FreeViewsOf(w meter.Window, limit int) FreeViewsView {
	return FreeViewsView{Product: w.Product, Used: len(w.Pages), Limit: limit,
		Start: w.Start.UTC().Format(time.RFC3339), Renews: w.End.UTC().Format(time.RFC3339), Pages: w.Pages}
}

// PrintFreeViews writes the user's free-view windows as a table, one line
// per counted page.
func PrintFreeViews(w io.Writer, rows []FreeViewsView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tFREE VIEWS\tRENEWS\tPAGE\tFIRST VIEW")
	for _, r := range rows {
		for i, p := range r.Pages {
			used, renews := "", ""
			if i == 0 {
				used, renews = fmt.Sprintf("%d of %d", r.Used, r.Limit), r.Renews
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Product, orDash(used), orDash(renews), Printable(p.Page), p.First.UTC().Format(time.RFC3339))
		}
	}
	_ = tw.Flush()
}
