package pages

import (
	"math"
	"testing"
)

func TestFormatPrice(t *testing.T) {
	cases := []struct {
		amount   int64
		currency string
		interval string
		want     string
	}{
		{900, "eur", "", "€9.00"},
		{500, "usd", "month", "$5.00 / month"},
		{500, "USD", "year", "$5.00 / year"},
		{5, "usd", "", "$0.05"},
		{0, "usd", "", "$0.00"},
		{123456789, "gbp", "", "£1,234,567.89"},
		{100000, "usd", "", "$1,000.00"},
		{1500, "jpy", "", "¥1,500"},
		{1000, "krw", "month", "₩1,000 / month"},
		{500, "xof", "", "500 XOF"},
		{900, "chf", "", "9.00 CHF"},
		{1999, "sek", "3 months", "19.99 SEK / 3 months"},
		{1234, "kwd", "", "1.234 KWD"},
		{5000, "bhd", "", "5.000 BHD"},
		{50000, "isk", "", "500 ISK"},
		{2500, "cad", "", "CA$25.00"},
		{-900, "eur", "", "-€9.00"},
		{-150, "chf", "", "-1.50 CHF"},
		{math.MinInt64, "usd", "", "-$92,233,720,368,547,758.08"},
		{900, "", "", ""},
	}
	for _, c := range cases {
		if got := FormatPrice(c.amount, c.currency, c.interval); got != c.want {
			t.Errorf("FormatPrice(%d, %q, %q) = %q, want %q", c.amount, c.currency, c.interval, got, c.want)
		}
	}
}

func TestFormatPlan(t *testing.T) {
	for _, c := range []struct {
		amount   int64
		currency string
		interval string
		count    int64
		want     string
	}{
		{900, "eur", "month", 1, "€9 a month"},
		{9000, "eur", "year", 1, "€90 a year"},
		{950, "eur", "month", 1, "€9.50 a month"},
		{905, "usd", "week", 1, "$9.05 a week"},
		{2550, "usd", "month", 3, "$25.50 every 3 months"},
		{2500, "eur", "", 0, "€25"},
		{1500, "jpy", "month", 1, "¥1,500 a month"},
		{900, "chf", "year", 1, "9 CHF a year"},
		{123456, "gbp", "year", 1, "£1,234.56 a year"},
		{12000, "kwd", "month", 1, "12 KWD a month"},
		{900, "", "month", 1, ""},
	} {
		if got := FormatPlan(c.amount, c.currency, c.interval, c.count); got != c.want {
			t.Errorf("FormatPlan(%d, %q, %q, %d) = %q, want %q", c.amount, c.currency, c.interval, c.count, got, c.want)
		}
	}
}

func TestOffer(t *testing.T) {
	for _, c := range []struct {
		days  int64
		label string
		want  string
	}{
		{0, "€9 a month", "€9 a month"},
		{14, "€9 a month", "14 days free, then €9 a month"},
		{1, "€90 a year", "1 day free, then €90 a year"},
		{0, "", "Price shown at checkout"},
		{7, "", "7 days free, then the price shown at checkout"},
	} {
		if got := Offer(c.days, c.label); got != c.want {
			t.Errorf("Offer(%d, %q) = %q, want %q", c.days, c.label, got, c.want)
		}
	}
}
