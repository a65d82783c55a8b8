package caddymodule

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Stripe's bounds on subscription_data.trial_period_days.
const (
	minTrialDays = 1
	maxTrialDays = 730
)

const day = 24 * time.Hour

var errTrialMode = errors.New("trial applies to mode subscription only: a one-time payment has no period to start later")

// checkTrial accepts a trial Checkout can start: whole days, within
// Stripe's bounds. written is the value as the user wrote it.
func checkTrial(trial caddy.Duration, written string) error {
	d := time.Duration(trial)
	switch {
	case d%day != 0:
		return fmt.Errorf("%s is not a whole number of days (Checkout counts trials in days: write 14d or 336h)", written)
	case d < minTrialDays*day:
		return fmt.Errorf("%s is too short: Stripe's shortest trial is %d day", written, minTrialDays)
	case d > maxTrialDays*day:
		return fmt.Errorf("%s is %d days: Stripe's longest trial is %d days", written, d/day, maxTrialDays)
	}
	return nil
}

// trialDays is a checked trial in days.
func trialDays(trial caddy.Duration) int64 {
	return int64(time.Duration(trial) / day)
}

// checkPriceID refuses a value that cannot be a Price id.
func checkPriceID(id string) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n/?#") {
		return fmt.Errorf("invalid price id %q (want a Stripe Price id such as price_1Nabc)", id)
	}
	return nil
}

// checkPrices refuses a price listed twice for one product.
func checkPrices(prices []string) error {
	seen := make(map[string]bool, len(prices))
	for _, id := range prices {
		if seen[id] {
			return fmt.Errorf("%q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}
