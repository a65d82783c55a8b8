// Package meter counts free views: the distinct gated pages of a product a
// signed-in visitor may open without holding it (`free_views N per
// DURATION`).
//
// Rules:
//   - One meter per user and product, in Redis under the store's key prefix
//     (so its {hash tag} keeps it in the same Cluster slot), the user id
//     encoded as the store encodes it: <p>free-views:<product>:<user>, a
//     hash of page -> first view (unix ms), plus "@start" and "@end".
//   - Pages are distinct paths: the request path as is, so "/a" and "/a/"
//     are two pages; a path longer than 200 bytes is kept as its SHA-256.
//   - A window is fixed: it starts with the first view and ends `per`
//     later, when the key expires (its TTL is `per`). The next view after
//     that starts a new window.
//   - Counting is one Lua script, so one round trip: a page counted before
//     in the window is free again and not counted twice; a new page is
//     counted while fewer than N are; past N nothing is counted.
//   - The clock comes from Go (the caller's now), never from Redis, so
//     tests can move it; the key's TTL only collects what is left behind.
package meter

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/store"
)

// Limit is a product's free views: Views distinct pages per window of Per.
type Limit struct {
	Views int
	Per   time.Duration
}

// Outcome is what counting a view did.
type Outcome int

const (
	// UsedUp: the window's views are used and this page is not one of
	// them; nothing was counted.
	UsedUp Outcome = iota
	// Counted: the page was counted now.
	Counted
	// Again: the page was counted before in this window; free again.
	Again
)

func (o Outcome) String() string {
	switch o {
	case Counted:
		return "counted"
	case Again:
		return "again"
	}
	return "used up"
}

// View is the meter's answer for one page.
type View struct {
	Outcome Outcome
	Used    int       // distinct pages counted in the window
	Limit   int       // the views a window allows
	Ends    time.Time // when the window ends and the views renew
}

// Free reports whether the page may be read for free.
func (v View) Free() bool { return v.Outcome != UsedUp }

// Meter counts free views in Redis. It is safe for concurrent use.
type Meter struct {
	client redis.UniversalClient
	prefix string
}

// New returns a meter on client under prefix ("" means store.DefaultPrefix).
func New(client redis.UniversalClient, prefix string) *Meter {
	if prefix == "" {
		prefix = store.DefaultPrefix
	}
	return &Meter{client: client, prefix: prefix}
}

//go:embed count.lua
var countLua string

var countScript = redis.NewScript(countLua)

// maxPageField is the longest path kept as is; longer ones are hashed, so
// a meter's size is bounded by its limit whatever the URLs.
const maxPageField = 200

// Count counts a view of page on user's meter for product, at now. It is
// one round trip (EVALSHA; EVAL once if Redis lost the script).
func (m *Meter) Count(ctx context.Context, user, product, page string, l Limit, now time.Time) (View, error) {
	if l.Views < 1 || l.Per <= 0 {
		return View{}, fmt.Errorf("meter: invalid limit %d per %s", l.Views, l.Per)
	}
	res, err := countScript.Run(ctx, m.client, []string{m.key(user, product)},
		pageField(page), l.Views, l.Per.Milliseconds(), now.UnixMilli()).Int64Slice()
	if err != nil {
		return View{}, fmt.Errorf("meter: counting a free view: %w", err)
	}
	if len(res) != 3 {
		return View{}, fmt.Errorf("meter: counting a free view: unexpected reply %v", res)
	}
	return View{Outcome: Outcome(res[0]), Used: int(res[1]), Limit: l.Views, Ends: time.UnixMilli(res[2])}, nil
}

// Window is one meter as the commands and the pay page read it.
type Window struct {
	Product string    `json:"product"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Pages   []Page    `json:"pages"` // oldest first
}

// Page is one counted page.
type Page struct {
	Page  string    `json:"page"`
	First time.Time `json:"first_view"`
}

// Read returns user's current window for product, ok false when there is
// none (never counted, or the window ended at or before now).
func (m *Meter) Read(ctx context.Context, user, product string, now time.Time) (Window, bool, error) {
	h, err := m.client.HGetAll(ctx, m.key(user, product)).Result()
	if err != nil {
		return Window{}, false, fmt.Errorf("meter: reading free views: %w", err)
	}
	w := Window{Product: product}
	for k, v := range h {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Window{}, false, fmt.Errorf("meter: reading free views: field %q: bad time %q", k, v)
		}
		switch k {
		case "@start":
			w.Start = time.UnixMilli(ms)
		case "@end":
			w.End = time.UnixMilli(ms)
		default:
			w.Pages = append(w.Pages, Page{Page: k, First: time.UnixMilli(ms)})
		}
	}
	if w.End.IsZero() || !now.Before(w.End) {
		return Window{}, false, nil
	}
	sort.Slice(w.Pages, func(i, j int) bool {
		a, b := w.Pages[i], w.Pages[j]
		return a.First.Before(b.First) || a.First.Equal(b.First) && a.Page < b.Page
	})
	return w, true, nil
}

func (m *Meter) key(user, product string) string {
	return m.prefix + "free-views:" + product + ":" + store.EncodeUser(user)
}

// pageField is how a page is kept in the meter: the path itself, or
// "sha256:<hex>" for a long one (or one that could be mistaken for the
// "@start" and "@end" fields).
func pageField(page string) string {
	if len(page) <= maxPageField && strings.HasPrefix(page, "/") {
		return page
	}
	sum := sha256.Sum256([]byte(page))
	return "sha256:" + hex.EncodeToString(sum[:])
}
