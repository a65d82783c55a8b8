package catalog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/internal/paths"
)

// OptionError is a product's option that breaks a rule. Option is the
// option as the Caddyfile and JSON both spell it ("access_for", "paths[2]"),
// or "" when the error is about the product as a whole, so that the
// Caddyfile can point at the line that set it.
type OptionError struct {
	Option string
	Err    error
}

func (e *OptionError) Error() string {
	msg := e.Err.Error()
	if e.Option == "" || strings.HasPrefix(msg, e.Option+" ") {
		return msg // a sentence that names the option already
	}
	return e.Option + ": " + msg
}

func (e *OptionError) Unwrap() error { return e.Err }

// The rules a product breaks when one of its options needs another.
var (
	ErrAccessForMode = errors.New("access_for applies to mode payment only: a subscription's access follows its billing period")
	ErrTrialMode     = errors.New("trial applies to mode subscription only: a one-time payment has no period to start later")
)

// Stripe's bounds on subscription_data.trial_period_days.
const (
	MinTrialDays = 1
	MaxTrialDays = 730
)

// Validate checks the products of one paywall: each product (see
// Product.Validate), ids used once, and no price shared by two
// subscriptions. Its errors name the product as the JSON config does.
func (c Catalog) Validate() error {
	ids := make(map[string]bool, len(c))
	subscriptionPrices := make(map[string]string) // price → product
	for i, p := range c {
		if p.ID == "" {
			return fmt.Errorf("products[%d]: id is required", i)
		}
		if err := CheckID(p.ID); err != nil {
			return fmt.Errorf("products[%d]: %v", i, err)
		}
		if ids[p.ID] {
			return fmt.Errorf("product %q is defined twice", p.ID)
		}
		ids[p.ID] = true
		if err := p.Validate(); err != nil {
			return fmt.Errorf("product %q: %v", p.ID, err)
		}
		// A subscription's product is found from its price, so two
		// subscription products may not share one.
		if p.IsSubscription() {
			for _, price := range p.AllPrices() {
				if other, ok := subscriptionPrices[price]; ok {
					return fmt.Errorf("products %q and %q are subscriptions with the same price %q: their subscriptions could not be told apart", other, p.ID, price)
				}
				subscriptionPrices[price] = p.ID
			}
		}
	}
	return nil
}

// Validate checks one product whose id is already checked. Every error is
// an *OptionError naming the option at fault. An empty Mode is taken as
// its default.
func (p Product) Validate() error {
	var missing []string
	if len(p.AllPrices()) == 0 {
		missing = append(missing, "price")
	}
	if len(p.Paths) == 0 {
		missing = append(missing, "paths")
	}
	if len(missing) > 0 {
		return &OptionError{Err: errors.New(RequiredMessage(missing))}
	}
	if p.Mode != "" {
		if err := CheckEnum(p.Mode, Modes...); err != nil {
			return &OptionError{"mode", err}
		}
	}
	switch {
	case p.AccessFor < 0:
		return &OptionError{"access_for", errors.New("access_for must not be negative")}
	case p.AccessFor != 0 && p.IsSubscription():
		return &OptionError{"access_for", ErrAccessForMode}
	case p.Trial != 0 && !p.IsSubscription():
		return &OptionError{"trial", ErrTrialMode}
	}
	if p.Trial != 0 {
		if err := CheckTrial(time.Duration(p.Trial), time.Duration(p.Trial).String()); err != nil {
			return &OptionError{"trial", err}
		}
	}
	for i, price := range p.Prices {
		if err := CheckPriceID(price); err != nil {
			return &OptionError{fmt.Sprintf("prices[%d]", i), err}
		}
	}
	if err := CheckPrices(p.AllPrices()); err != nil {
		return &OptionError{"price", err}
	}
	for i, pattern := range p.Paths {
		if err := CheckPattern(pattern); err != nil {
			return &OptionError{fmt.Sprintf("paths[%d]", i), err}
		}
	}
	for i, pattern := range p.Except {
		if err := CheckPattern(pattern); err != nil {
			return &OptionError{fmt.Sprintf("except[%d]", i), err}
		}
	}
	if err := p.FreeViews.Validate(); err != nil {
		return &OptionError{"free_views", err}
	}
	return nil
}

// Validate refuses free views a config got wrong; nil means none.
func (fv *FreeViews) Validate() error {
	switch {
	case fv == nil:
		return nil
	case fv.Views < 1:
		return errors.New("views must be at least 1 (leave free_views out for no free views)")
	case fv.Per <= 0:
		return errors.New("per is required and must be more than 0, such as 720h")
	}
	return nil
}

// CheckID refuses an id that is not letters, digits, "-" and "_": ids go
// into URLs, Stripe metadata and Redis keys as they are.
func CheckID(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("invalid id %q (use only letters, digits, \"-\" and \"_\")", id)
	}
	return nil
}

// ValidID reports whether id is a non-empty run of letters, digits, "-"
// and "_".
func ValidID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CheckPriceID refuses a value that cannot be a Price id.
func CheckPriceID(id string) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n/?#") {
		return fmt.Errorf("invalid price id %q (want a Stripe Price id such as price_1Nabc)", id)
	}
	return nil
}

// CheckPrices refuses a price listed twice for one product.
func CheckPrices(prices []string) error {
	seen := make(map[string]bool, len(prices))
	for _, id := range prices {
		if seen[id] {
			return fmt.Errorf("%q is listed twice", id)
		}
		seen[id] = true
	}
	return nil
}

// CheckTrial accepts a trial Checkout can start: whole days, within
// Stripe's bounds. written is the value as the user wrote it.
func CheckTrial(d time.Duration, written string) error {
	switch {
	case d%Day != 0:
		return fmt.Errorf("%s is not a whole number of days (Checkout counts trials in days: write 14d or 336h)", written)
	case d < MinTrialDays*Day:
		return fmt.Errorf("%s is too short: Stripe's shortest trial is %d day", written, MinTrialDays)
	case d > MaxTrialDays*Day:
		return fmt.Errorf("%s is %d days: Stripe's longest trial is %d days", written, d/Day, MaxTrialDays)
	}
	return nil
}

// CheckPattern accepts what the gates compile (the path matcher's forms:
// "/exact", "/prefix/*", "*.suffix", "*substring*").
func CheckPattern(pattern string) error {
	_, err := paths.Compile([]string{pattern})
	return err
}

// CheckEnum accepts only one of allowed.
func CheckEnum(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("unknown value %q (want %s)", v, strings.Join(allowed, " or "))
}

// RequiredMessage says which required options are missing: "price is
// required", "price and paths are required".
func RequiredMessage(missing []string) string {
	if len(missing) == 1 {
		return missing[0] + " is required"
	}
	return strings.Join(missing[:len(missing)-1], ", ") + " and " + missing[len(missing)-1] + " are required"
}
