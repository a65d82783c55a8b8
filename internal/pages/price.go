package pages

import (
	"strconv"
	"strings"
)

// decimals is how many minor-unit digits Stripe uses for a currency's
// amounts (unit_amount), when not 2. See https://docs.stripe.com/currencies.
var decimals = map[string]int{
	// Zero-decimal currencies: the amount is in whole units.
	"bif": 0, "clp": 0, "djf": 0, "gnf": 0, "jpy": 0, "kmf": 0, "krw": 0,
	"mga": 0, "pyg": 0, "rwf": 0, "ugx": 0, "vnd": 0, "vuv": 0, "xaf": 0,
	"xof": 0, "xpf": 0,
	// Three-decimal currencies.
	"bhd": 3, "jod": 3, "kwd": 3, "omr": 3, "tnd": 3,
}

// shownWhole are currencies Stripe counts in hundredths but that are shown
// without decimals (ISK: amounts must be whole krónur times 100).
var shownWhole = map[string]bool{"isk": true}

// symbols are the currencies shown with a prefix symbol. Others are shown
// as the amount then the upper-case code: "9.00 CHF".
var symbols = map[string]string{
	"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "krw": "₩", "inr": "₹",
	"cad": "CA$", "aud": "A$", "nzd": "NZ$", "hkd": "HK$", "sgd": "S$",
	"mxn": "MX$", "brl": "R$", "cny": "CN¥", "ils": "₪", "php": "₱",
	"vnd": "₫", "ngn": "₦", "try": "₺", "uah": "₴",
}

// FormatPrice formats a Stripe price for display: unitAmount in the
// currency's minor unit (as Stripe's unit_amount), currency as Stripe's
// lower-case ISO code, interval "" for a one-time price or the
// subscription's interval ("month", "year", or a phrase like "3 months").
//
//	FormatPrice(900, "eur", "")       == "€9.00"
//	FormatPrice(500, "usd", "month")  == "$5.00 / month"
//	FormatPrice(1500, "jpy", "")      == "¥1,500"
//	FormatPrice(900, "chf", "")       == "9.00 CHF"
//
// Zero-decimal (JPY, KRW, …) and three-decimal (KWD, …) currencies are
// handled; an empty currency gives "".
func FormatPrice(unitAmount int64, currency string, interval string) string {
	cur := strings.ToLower(strings.TrimSpace(currency))
	if cur == "" {
		return ""
	}
	digits, ok := decimals[cur]
	if !ok {
		digits = 2
	}
	amount := unitAmount
	if shownWhole[cur] {
		amount /= 100
		digits = 0
	}
	num := formatAmount(amount, digits)
	var s string
	if sym, ok := symbols[cur]; ok {
		if strings.HasPrefix(num, "-") {
			s = "-" + sym + num[1:]
		} else {
			s = sym + num
		}
	} else {
		s = num + " " + strings.ToUpper(cur)
	}
	if interval = strings.TrimSpace(interval); interval != "" {
		s += " / " + interval
	}
	return s
}

// formatAmount writes minor units as a decimal with digits fraction digits
// and comma-grouped thousands: 123456, 2 -> "1,234.56".
func formatAmount(minor int64, digits int) string {
	neg := minor < 0
	// Work in uint64 so that the most negative int64 has a magnitude.
	mag := uint64(minor)
	if neg {
		mag = -mag
	}
	var scale uint64 = 1
	for range digits {
		scale *= 10
	}
	whole, frac := mag/scale, mag%scale

	w := strconv.FormatUint(whole, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range w {
		if i > 0 && (len(w)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if digits > 0 {
		f := strconv.FormatUint(frac, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", digits-len(f)))
		b.WriteString(f)
	}
	return b.String()
}

// FormatPlan writes a price in words for the pay page: the amount without
// a zero fraction, then how often it is charged. interval is Stripe's
// recurring interval ("day", "week", "month", "year"; "" for a one-time
// price) and count its interval_count.
//
//	FormatPlan(900, "eur", "month", 1)  == "€9 a month"
//	FormatPlan(9000, "eur", "year", 1)  == "€90 a year"
//	FormatPlan(2550, "usd", "month", 3) == "$25.50 every 3 months"
//	FormatPlan(2500, "eur", "", 0)      == "€25"
func FormatPlan(unitAmount int64, currency, interval string, count int64) string {
	amount := FormatPrice(unitAmount, currency, "")
	if amount == "" {
		return ""
	}
	amount = trimZeroFraction(amount)
	switch {
	case interval == "":
		return amount
	case count <= 1:
		return amount + " a " + interval
	}
	return amount + " every " + strconv.FormatInt(count, 10) + " " + interval + "s"
}

// trimZeroFraction drops ".00" (or ".000") from a formatted amount.
func trimZeroFraction(s string) string {
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return s
	}
	end := dot + 1
	for end < len(s) && s[end] == '0' {
		end++
	}
	if end == dot+1 || (end < len(s) && s[end] >= '1' && s[end] <= '9') {
		return s // no fraction digits, or a non-zero fraction
	}
	return s[:dot] + s[end:]
}

// Offer is what a visitor is offered for a price with label: the label,
// after the trial when there is one ("14 days free, then €9 a month").
// An unknown label reads "the price shown at checkout".
func Offer(trialDays int64, label string) string {
	if label == "" {
		label = "Price shown at checkout"
		if trialDays > 0 {
			label = "the price shown at checkout"
		}
	}
	switch trialDays {
	case 0:
		return label
	case 1:
		return "1 day free, then " + label
	}
	return strconv.FormatInt(trialDays, 10) + " days free, then " + label
}
