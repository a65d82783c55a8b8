package console

import (
	"strconv"

	"github.com/caddy-paywall/caddy-paywall/internal/pages"
)

// A chart is drawn as inline SVG (grouped bars, one group per day) and
// given again as a table beside it, which is what a screen reader reads.
type chart struct {
	ID, Title string
	// Summary is the SVG's accessible name: what it shows and its totals.
	Summary string
	Series  []series
	Bars    []bar
	// MaxLabel is the value of the top of the plot; First and Last the
	// days at either end.
	MaxLabel, First, Last string
	Columns               []string
	Rows                  []tableRow
	Totals                []string
}

type series struct {
	Name, Color string
	LegendX     int
}

type bar struct {
	X, Y, W, H int
	Color      string
	Title      string
}

type tableRow struct {
	Day   string
	Cells []string
}

// The plot's geometry, in SVG user units (the SVG scales to its box).
const (
	chartW, chartH = 640, 220
	plotLeft       = 8
	plotTop        = 28
	plotBottom     = 24
	plotW          = chartW - 2*plotLeft
	plotH          = chartH - plotTop - plotBottom
)

// Colours with at least 4.5:1 contrast on white.
var palette = []string{"#1d4ed8", "#b45309", "#15803d", "#7e22ce"}

// newChart draws values[s][day] for each series; format writes a value
// for the table and the labels.
func newChart(id, title string, days []string, names []string, values [][]int64, format func(int64) string) chart {
	c := chart{ID: id, Title: title, Columns: names}
	var peak int64
	totals := make([]int64, len(names))
	for s := range values {
		for _, v := range values[s] {
			peak = max(peak, v)
			totals[s] += v
		}
	}
	for s, n := range names {
		c.Series = append(c.Series, series{Name: n, Color: palette[s%len(palette)], LegendX: plotLeft + s*150})
		c.Totals = append(c.Totals, format(totals[s]))
	}
	c.MaxLabel = format(peak)
	if len(days) > 0 {
		c.First, c.Last = days[0], days[len(days)-1]
	}
	group := plotW / max(len(days), 1)
	barW := max((group-2)/max(len(names), 1), 1)
	for d, day := range days {
		row := tableRow{Day: day}
		for s := range names {
			v := values[s][d]
			row.Cells = append(row.Cells, format(v))
			if v <= 0 || peak <= 0 {
				continue
			}
			h := max(int(v*plotH/peak), 1)
			c.Bars = append(c.Bars, bar{
				X: plotLeft + d*group + 1 + s*barW, Y: plotTop + plotH - h, W: barW, H: h,
				Color: palette[s%len(palette)], Title: day + ": " + names[s] + " " + format(v),
			})
		}
		c.Rows = append([]tableRow{row}, c.Rows...) // newest first
	}
	c.Summary = title + ", per day from " + c.First + " to " + c.Last + "; totals:"
	for s, n := range names {
		c.Summary += " " + n + " " + c.Totals[s] + ";"
	}
	c.Summary += " the table beside it gives every day."
	return c
}

func count(v int64) string { return strconv.FormatInt(v, 10) }

func money(currency string) func(int64) string {
	return func(v int64) string { return pages.FormatPrice(v, currency, "") }
}

// Geometry the template needs.
func (chart) Width() int   { return chartW }
func (chart) Height() int  { return chartH }
func (chart) Base() int    { return plotTop + plotH }
func (chart) Right() int   { return plotLeft + plotW }
func (chart) Left() int    { return plotLeft }
func (chart) TopY() int    { return plotTop }
func (chart) LabelY() int  { return chartH - 6 }
func (chart) LegendY() int { return 14 }
