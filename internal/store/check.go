package store

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
)

// ErrInvalid is wrapped by the error of a change whose request is
// malformed (a bad product id, a missing user); nothing is written.
var ErrInvalid = errors.New("invalid request")

func invalid(what, msg string) error { return fmt.Errorf("store: %s: %w: %s", what, ErrInvalid, msg) }

// check runs the checks of a change's request and its meta.
func check(what string, m Meta, checks ...func() error) error {
	checks = append(checks, maybeID("event id", m.EventID))
	for _, c := range checks {
		if err := c(); err != nil {
			return fmt.Errorf("store: %s: %w", what, err)
		}
	}
	return nil
}

func needUser(u string) func() error {
	return func() error {
		if u == "" {
			return fmt.Errorf("%w: no user", ErrInvalid)
		}
		return nil
	}
}

// product: product ids are [A-Za-z0-9_-]+ ("|" separates product and
// source in a grant's field).
func needProduct(p string) func() error {
	return func() error {
		if p == "" {
			return fmt.Errorf("%w: no product", ErrInvalid)
		}
		if !catalog.ValidID(p) {
			return fmt.Errorf("%w: product id %q is not [A-Za-z0-9_-]+", ErrInvalid, p)
		}
		return nil
	}
}

func maybeProduct(p string) func() error {
	if p == "" {
		return func() error { return nil }
	}
	return needProduct(p)
}

func needID(what, v string) func() error { return func() error { return checkID(what, v) } }

func maybeID(what, v string) func() error {
	return func() error {
		if v == "" {
			return nil
		}
		return checkID(what, v)
	}
}

// checkID accepts a Stripe id (or "admin"): 1 to 255 bytes of valid
// UTF-8 with no control character. (The scripts receive ids inside JSON,
// which would rewrite invalid UTF-8 and so name another key; a "|" is
// harmless: a grant's field splits at the first one, and product ids
// have none.)
func checkID(what, v string) error {
	if v == "" || len(v) > 255 {
		return fmt.Errorf("%w: %s %q is empty or too long", ErrInvalid, what, v)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, what, v)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %q has a control character", ErrInvalid, what, v)
		}
	}
	return nil
}
