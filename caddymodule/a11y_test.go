package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// The accessibility check: axe-core (testenv.AxeVersion) run in the tab on
// the page it shows. Every browser test that reaches a page calls
// checkA11y(t, ctx, "page name") once the page has loaded.

// axeTags are the axe-core rule sets every page must pass: WCAG 2.0 and
// 2.1, levels A and AA, and Deque's best practices.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"}

// axeTimeout bounds one axe-core run: it waits for animation frames and
// timers, which never come in a page whose scripts are off.
const axeTimeout = 30 * time.Second

// a11yWidths are the viewport widths every page is checked at: a laptop
// and a small phone.
var a11yWidths = []int64{1280, 375}

// axeReport is what one axe-core run found, as the page's script returns it.
type axeReport struct {
	URL         string         `json:"url"`
	Version     string         `json:"version"`
	ScrollWidth int64          `json:"scrollWidth"`
	ClientWidth int64          `json:"clientWidth"` // the layout viewport
	Rules       int            `json:"rules"`       // how many rules ran
	Review      []string       `json:"review"`      // rules axe-core could not decide`
	Violations  []axeViolation `json:"violations"`
}

type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

type axeNode struct {
	Target  string `json:"target"`
	HTML    string `json:"html"`
	Summary string `json:"summary"`
}

// axeRun runs axe-core on the document and returns an axeReport. Two
// animation frames first, so the layout has followed a viewport change.
var axeRun = `(async () => {
	await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
	const res = await axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]});
	return {
		url: location.href,
		version: axe.version,
		scrollWidth: document.documentElement.scrollWidth,
		clientWidth: document.documentElement.clientWidth,
		rules: res.passes.length + res.violations.length + res.incomplete.length + res.inapplicable.length,
		review: res.incomplete.map(v => v.id),
		violations: res.violations.map(v => ({
			id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map(n => ({target: [].concat(n.target).join(" "), html: n.html, summary: n.failureSummary || ""})),
		})),
	};
})()`

// checkA11y runs axe-core's WCAG 2.0/2.1 A and AA and best-practice rules
// on the page the tab shows, at each of a11yWidths, and fails t once per
// rule broken, naming the rule, the page (name and URL), the width and
// every element at fault. At the phone width the page must not scroll
// sideways either (WCAG 1.4.10, reflow). The viewport is set back to the
// browser's own afterwards.
//
// axe-core is evaluated into the page over CDP (Runtime.evaluate), which
// the pages' Content-Security-Policy does not govern; the page itself is
// not changed.
func checkA11y(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	src := testenv.AxeScript(t)
	tags, _ := json.Marshal(axeTags)
	defer func() {
		if _, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{}); err != nil {
			t.Errorf("accessibility check of %s: resetting the viewport: %v", name, err)
		}
	}()
	for _, width := range a11yWidths {
		opts := []chromedp.EmulateViewportOption{}
		if width < 600 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800, opts...)); err != nil {
			t.Fatalf("accessibility check of %s: setting the viewport to %d px: %v", name, width, err)
		}
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
		if err != nil {
			t.Fatalf("accessibility check of %s: %v", name, err)
		}
		if !loaded {
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src+"\n;void 0")); err != nil {
				t.Fatalf("accessibility check of %s: loading axe-core into the page: %v", name, err)
			}
		}
		runCtx, cancel := context.WithTimeout(ctx, axeTimeout)
		rep, err := chromedp.Run(runCtx, chromedp.Evaluate[axeReport](fmt.Sprintf(axeRun, tags), chromedp.EvalAwaitPromise))
		cancel()
		if err != nil {
			t.Fatalf("accessibility check of %s at %d px: running axe-core: %v", name, width, err)
		}
		if rep.Version != testenv.AxeVersion {
			t.Fatalf("accessibility check of %s: axe-core %s was loaded, want %s: reinstall it (bash .ci/test.sh)", name, rep.Version, testenv.AxeVersion)
		}
		t.Logf("accessibility: page %q at %d px: %d rules, %d violated; for a person to review: %v",
			name, width, rep.Rules, len(rep.Violations), rep.Review)
		for _, v := range rep.Violations {
			t.Error(v.message(name, rep.URL, width))
		}
		if width < 600 && rep.ScrollWidth > rep.ClientWidth {
			t.Errorf("accessibility: page %q (%s) at %d px: rule \"reflow\" (WCAG 1.4.10): the page is %d px wide and scrolls sideways",
				name, rep.URL, width, rep.ScrollWidth)
		}
	}
}

// message names the rule, the page, the width and each element at fault.
func (v axeViolation) message(page, url string, width int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "accessibility: page %q (%s) at %d px: rule %q (%s): %s; %s", page, url, width, v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		html := n.HTML
		if r := []rune(html); len(r) > 160 {
			html = string(r[:160]) + "…"
		}
		fmt.Fprintf(&b, "\n\telement %s: %s", n.Target, html)
		if s := strings.TrimSpace(n.Summary); s != "" {
			fmt.Fprintf(&b, "\n\t\t%s", strings.ReplaceAll(s, "\n", "\n\t\t"))
		}
	}
	return b.String()
}

// failRecorder stands in for a test so that checkA11y's failures can be
// read instead of failing the test that checks them.
type failRecorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *failRecorder) Helper() {}

func (r *failRecorder) Logf(string, ...any) {}

func (r *failRecorder) Error(args ...any) { r.record(fmt.Sprint(args...)) }

func (r *failRecorder) Errorf(format string, args ...any) { r.record(fmt.Sprintf(format, args...)) }

func (r *failRecorder) Fatal(args ...any) {
	r.record("FATAL " + fmt.Sprint(args...))
	runtime.Goexit()
}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.record("FATAL " + fmt.Sprintf(format, args...))
	runtime.Goexit()
}

func (r *failRecorder) record(s string) {
	r.mu.Lock()
	r.errors = append(r.errors, s)
	r.mu.Unlock()
}

// recordA11y runs checkA11y on the tab's page and returns its failures.
func recordA11y(t *testing.T, ctx context.Context, name string) []string {
	r := &failRecorder{TB: t}
	done := make(chan struct{})
	go func() { // a Fatalf ends this goroutine, not the test
		defer close(done)
		checkA11y(r, ctx, name)
	}()
	<-done
	return r.errors
}

// TestCheckA11yFails shows that the check fails on a page with faults, and
// says which rule, page and element: it is not a check that always passes.
func TestCheckA11yFails(t *testing.T) {
	pages := map[string]string{
		// No lang, an input without a label, a page wider than a phone.
		"/broken": `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Broken</title>
<meta http-equiv="refresh" content="600">
<style>.wide { width: 900px; }</style></head>
<body><main><h1>Broken</h1><form><input type="text" id="unlabelled" name="q"></form><p class="wide">Wide</p></main></body></html>`,
		// The same page with the faults mended.
		"/mended": `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Mended</title></head>
<body><main><h1>Mended</h1><form><label for="q">Search</label> <input type="text" id="q" name="q"></form></main></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// As strict as the paywall's pages: axe-core still runs.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	ctx := startChromium(t)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/broken"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	got := recordA11y(t, ctx, "broken page")
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`page "broken page" (` + srv.URL + `/broken) at 1280 px: rule "html-has-lang"`,
		`page "broken page" (` + srv.URL + `/broken) at 1280 px: rule "label"`,
		`element #unlabelled: <input type="text" id="unlabelled" name="q">`,
		`page "broken page" (` + srv.URL + `/broken) at 375 px: rule "html-has-lang"`,
		`page "broken page" (` + srv.URL + `/broken) at 375 px: rule "label"`,
		`at 375 px: rule "reflow"`,
		`at 1280 px: rule "meta-refresh"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the check did not report %q; it reported:\n%s", want, all)
		}
	}
	if strings.Contains(all, "FATAL") || strings.Contains(all, `1280 px: rule "reflow"`) {
		t.Errorf("unexpected failures:\n%s", all)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/mended"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	if got := recordA11y(t, ctx, "mended page"); len(got) != 0 {
		t.Errorf("the mended page failed:\n%s", strings.Join(got, "\n"))
	}
}
