package catalog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLookups(t *testing.T) {
	c := Catalog{
		{ID: "pro", Price: "price_pro"},
		{ID: "club", Price: "price_m", Prices: []string{"price_y"}, Mode: ModeSubscription},
	}
	if p, ok := c.ByID("club"); !ok || p.Price != "price_m" {
		t.Errorf("ByID(club) = %+v, %v", p, ok)
	}
	if _, ok := c.ByID("nope"); ok {
		t.Error("ByID found an unknown id")
	}
	for price, want := range map[string]string{"price_pro": "pro", "price_m": "club", "price_y": "club"} {
		if p, ok := c.ByPrice(price); !ok || p.ID != want {
			t.Errorf("ByPrice(%s) = %q, %v; want %q", price, p.ID, ok, want)
		}
	}
	if _, ok := c.ByPrice("price_other"); ok {
		t.Error("ByPrice found an unknown price")
	}
	if got := strings.Join(c.IDs(), ","); got != "pro,club" {
		t.Errorf("IDs = %s", got)
	}
}

func TestChoosePrice(t *testing.T) {
	p := Product{Price: "price_m", Prices: []string{"price_y"}}
	for chosen, want := range map[string]string{"": "price_m", "price_y": "price_y", "price_m": "price_m"} {
		if got, ok := p.ChoosePrice(chosen); !ok || got != want {
			t.Errorf("ChoosePrice(%q) = %q, %v", chosen, got, ok)
		}
	}
	if _, ok := p.ChoosePrice("price_other"); ok {
		t.Error("a price of another product was accepted")
	}
}

// Each broken rule names the option at fault, so the Caddyfile can point
// at the line that set it.
func TestValidateNamesTheOption(t *testing.T) {
	good := Product{ID: "club", Price: "price_m", Mode: ModeSubscription, Paths: []string{"/club/*"}}
	cases := []struct {
		name, option, msg string
		edit              func(*Product)
	}{
		{"nothing", "", "price and paths are required", func(p *Product) { *p = Product{ID: "club"} }},
		{"mode", "mode", `mode: unknown value "monthly" (want payment or subscription)`, func(p *Product) { p.Mode = "monthly" }},
		{"access_for on a subscription", "access_for", "access_for applies to mode payment only", func(p *Product) { p.AccessFor = Duration(time.Hour) }},
		{"negative access_for", "access_for", "access_for must not be negative", func(p *Product) { p.Mode = ModePayment; p.AccessFor = -1 }},
		{"trial on a payment", "trial", "trial applies to mode subscription only", func(p *Product) { p.Mode = ""; p.Trial = Duration(14 * Day) }},
		{"trial in part days", "trial", "not a whole number of days", func(p *Product) { p.Trial = Duration(36 * time.Hour) }},
		{"price twice", "price", `"price_m" is listed twice`, func(p *Product) { p.Prices = []string{"price_m"} }},
		{"bad price id", "prices[0]", "invalid price id", func(p *Product) { p.Prices = []string{"price x"} }},
		{"bad path", "paths[1]", "paths[1]:", func(p *Product) { p.Paths = append(p.Paths, "club") }},
		{"bad except", "except[0]", "except[0]:", func(p *Product) { p.Except = []string{"except"} }},
		{"free views", "free_views", "free_views: views must be at least 1", func(p *Product) { p.FreeViews = &FreeViews{Per: Duration(time.Hour)} }},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("a good product: %v", err)
	}
	for _, tc := range cases {
		p := good
		tc.edit(&p)
		err := p.Validate()
		var oe *OptionError
		if !errors.As(err, &oe) {
			t.Errorf("%s: %v is not an *OptionError", tc.name, err)
			continue
		}
		if oe.Option != tc.option || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: option %q, error %q; want option %q and %q", tc.name, oe.Option, err, tc.option, tc.msg)
		}
	}
}

func TestCatalogValidate(t *testing.T) {
	club := Product{ID: "club", Price: "price_m", Mode: ModeSubscription, Paths: []string{"/club/*"}}
	cases := []struct {
		c    Catalog
		want string
	}{
		{Catalog{{}}, "products[0]: id is required"},
		{Catalog{{ID: "a b"}}, `products[0]: invalid id "a b"`},
		{Catalog{club, club}, `product "club" is defined twice`},
		{Catalog{club, {ID: "club2", Prices: []string{"price_m"}, Mode: ModeSubscription, Paths: []string{"/c2"}}},
			`products "club" and "club2" are subscriptions with the same price "price_m"`},
		{Catalog{{ID: "x", Paths: []string{"/x"}}}, `product "x": price is required`},
	}
	for _, tc := range cases {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
	// One-time products may share a price: the session's metadata names
	// the product.
	shared := Catalog{{ID: "a", Price: "price_x", Paths: []string{"/a"}}, {ID: "b", Price: "price_x", Paths: []string{"/b"}}}
	if err := shared.Validate(); err != nil {
		t.Errorf("one-time products sharing a price: %v", err)
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"pro", "Club_2", "a-b"} {
		if !ValidID(id) {
			t.Errorf("%q refused", id)
		}
	}
	for _, id := range []string{"", "a b", "a|b", "é", "a:b", "a/b"} {
		if ValidID(id) {
			t.Errorf("%q accepted", id)
		}
	}
}

func TestParseDuration(t *testing.T) {
	cases := map[string]time.Duration{
		"720h": 720 * time.Hour, "30d": 30 * Day, "1d12h": 36 * time.Hour, "1.5d": 36 * time.Hour,
		"-2d": -2 * Day, "90m": 90 * time.Minute, "1d30m": Day + 30*time.Minute,
	}
	for in, want := range cases {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "1x", "", "1..5d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) accepted", in)
		}
	}
}
