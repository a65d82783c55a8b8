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
