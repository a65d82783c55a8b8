package caddymodule

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/demo"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/tally"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// seedConsole gives the demo's Redis three weeks of history through the
// same code that writes it in production: the counters through a Tally
// whose clock is set to each day, payments through the grant script with
// their amounts, a refund through an acknowledged event, a webhook
// failure.
func seedConsole(t *testing.T, redisURL string) {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	st := store.New(rc, "")
	ctx := context.Background()
	now := time.Now()
	for d := 20; d >= 0; d-- {
		at := now.AddDate(0, 0, -d)
		tl := tally.New(st, time.Hour, func() time.Time { return at })
		for i := 0; i < 40+(d*7)%23; i++ {
			tl.Add(tally.Pass)
		}
		for i := 0; i < 5+d%4; i++ {
			tl.Add(tally.Login)
		}
		for i := 0; i < 12+(d*5)%9; i++ {
			tl.Add(tally.Pay)
			tl.Add(tally.PayPage)
		}
		for i := 0; i < 3+d%3; i++ {
			tl.Add(tally.Checkout)
		}
		if d == 1 {
			tl.Webhook("", "bad_signature")
		}
		if err := tl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 1+d%3; i++ {
			user := "reader-" + string(rune('a'+d)) + string(rune('a'+i))
			m := store.Meta{Cause: "seed", Created: at.Unix(), Now: at,
				Tally: &store.Tally{Payments: 1, Amount: 900, Currency: "eur", PerSource: true}}
			if _, err := st.Grant(ctx, store.GrantRequest{Meta: m, User: user, Product: "pro",
				Source: "pi_seed_" + user}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.Acknowledge(ctx, store.Meta{EventID: "evt_seed_refund", Cause: "evt_seed_refund",
		Created: now.Unix(), Now: now, Tally: &store.Tally{Refunds: 1}}); err != nil {
		t.Fatal(err)
	}
}

// consoleShots are the console's screenshots in docs/, written when
// PAYWALL_UPDATE_SCREENSHOT=1 or when missing (as the pay page's).
func (b *browserRun) consoleShot(name string) {
	b.t.Helper()
	for _, width := range []int64{1280, 375} {
		b.do("resizing for "+name,
			chromedp.EmulateViewport(width, 800, chromedp.EmulateScale(1)),
			chromedp.Sleep(100*time.Millisecond), // layout after the resize
		)
		shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot of %s: %v", name, err)
		}
		if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
			b.t.Fatalf("the screenshot of %s is not a PNG", name)
		}
		path := filepath.Join("..", "docs", "console-"+name+"-"+itoa(width)+".png")
		if _, err := os.Stat(path); os.Getenv("PAYWALL_UPDATE_SCREENSHOT") != "1" && err == nil {
			path = filepath.Join(b.t.TempDir(), filepath.Base(path))
		}
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("back to the desktop width", chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(1)))
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// The site owner opens the console, reads the overview, finds a user,
// grants and revokes, and checks the audit; a customer is refused.
func TestBrowserConsole(t *testing.T) {
	srv := testenv.StartRedis(t)
	seedConsole(t, srv.URL())
	b := startBrowserDemo(t, demo.ConsoleAdmin, demo.Options{RedisURL: srv.URL()})

	b.do("opening the console",
		chromedp.Navigate(b.url+"/paywall/console"),
		chromedp.WaitVisible(chromedp.ID("gated-h")),
	)
	wantContains(t, "overview heading", b.text("main h1"), "Overview")
	wantContains(t, "who", b.text("header .who"), demo.ConsoleAdmin)
	wantContains(t, "live entitlements", b.text("#live-h + table"), "Pro articles", "Members' club")
	wantContains(t, "revenue", b.text("main"), "Revenue in EUR", "€", "Refunds and disputes", "bad_signature")
	// The table beside the chart has the seeded day's numbers.
	today := time.Now().UTC().Format("2006-01-02")
	wantContains(t, "gated table", b.text("#gated-h + figure table"), today, "Total")
	b.consoleShot("overview")
	checkA11y(t, b.ctx, "console overview")

	// Find a user.
	b.do("finding dave",
		chromedp.Click(chromedp.CSS(`nav a[href="/paywall/console/users"]`)),
		chromedp.WaitVisible(chromedp.ID("find-user")),
		chromedp.SendKeys(chromedp.ID("find-user"), "dave"),
		chromedp.Submit(chromedp.ID("find-user")),
		chromedp.WaitVisible(chromedp.ID("grant-b")),
	)
	wantContains(t, "user page", b.text("main h1"), "dave")
	wantContains(t, "user page", b.text("main"), "Holds no product now")

	// Grant for 30 days, then revoke.
	b.do("granting pro for 30 days",
		chromedp.SetValue(chromedp.ID("grant-product"), "pro"),
		chromedp.SendKeys(chromedp.ID("grant-for"), "30d"),
		chromedp.Click(chromedp.ID("grant-b")),
		chromedp.WaitVisible(chromedp.CSS(`.done[data-done="grant"]`)),
	)
	wantContains(t, "after the grant", b.text(".done"), "Granted Pro articles.")
	wantContains(t, "grants", b.text("#grants-h + div table"), "pro", "admin", "open")
	wantContains(t, "trail", b.text("#trail-h + div table"), "grant", "console:owner")
	b.consoleShot("user")
	checkA11y(t, b.ctx, "console user")
	b.do("revoking pro",
		chromedp.SetValue(chromedp.ID("revoke-product"), "pro"),
		chromedp.Click(chromedp.ID("revoke-b")),
		chromedp.WaitVisible(chromedp.CSS(`.done[data-done="revoke"]`)),
	)
	wantContains(t, "after the revoke", b.text(".done"), "Revoked Pro articles.")
	wantContains(t, "after the revoke", b.text("main"), "Holds no product now")

	// The audit, in Redis and on the events page.
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	audit, err := store.New(rc, "").Audit(context.Background(), "dave", 0)
	if err != nil || len(audit) != 2 || audit[0].Action != "revoke" || audit[1].Action != "grant" ||
		audit[0].Cause != "console:owner" || audit[1].Cause != "console:owner" {
		t.Fatalf("dave's audit: %+v %v", audit, err)
	}
	b.do("the events page, filtered by dave",
		chromedp.Click(chromedp.CSS(`nav a[href="/paywall/console/events"]`)),
		chromedp.WaitVisible(chromedp.ID("ev-user")),
		chromedp.SendKeys(chromedp.ID("ev-user"), "dave"),
		chromedp.Submit(chromedp.ID("ev-user")),
		chromedp.WaitVisible(chromedp.CSS(`#list-h[data-user="dave"]`)), // the filtered page, not the one before
	)
	rows := b.text("main table tbody")
	if strings.Count(rows, "console:owner") != 2 || strings.Contains(rows, "reader-") || strings.Index(rows, "revoke") > strings.Index(rows, "grant") {
		t.Fatalf("events for dave, newest first: %q", rows)
	}
	b.do("all events", chromedp.Navigate(b.url+"/paywall/console/events"), chromedp.WaitVisible(chromedp.ID("list-h")))
	b.consoleShot("events")
	checkA11y(t, b.ctx, "console events")

	// A customer signed in is refused.
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+demo.Users["alice"]))
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatal(err)
	}
	b.do("alice opens the console",
		chromedp.Navigate(b.url+"/paywall/console"),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	wantContains(t, "alice at the console", b.text("main h1"), "Not allowed")
	checkA11y(t, b.ctx, "console refused")
	if strings.Contains(b.text("body"), "Live entitlements") {
		t.Fatal("alice sees the console")
	}
}
