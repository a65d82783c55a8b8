package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-paywall/caddy-paywall/internal/pages"
)

// processingServer serves the built-in processing page (checking every
// second, for two seconds) and a status endpoint that never confirms.
func processingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var asked atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/processing", func(w http.ResponseWriter, r *http.Request) {
		err := pages.Builtin().Render(w, http.StatusOK, pages.Processing, pages.ProcessingData{
			User: "alice", ProductName: "Pro articles", RefreshURL: "/next", StatusURL: "/status",
			BackURL: "/", RefreshSeconds: 1, StopAfterSeconds: 2,
		})
		if err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"state":"processing"}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &asked
}

// TestProcessingPageStopsChecking: a payment that stays unconfirmed. The
// page's script checks for a while, then stops and says so.
func TestProcessingPageStopsChecking(t *testing.T) {
	srv, asked := processingServer(t)
	ctx := startChromium(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/processing"),
		chromedp.WaitVisible(chromedp.CSS(`#payment-check[data-state="stopped"]`)),
	); err != nil {
		t.Fatal(err)
	}
	said, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("payment-check-status")))
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, "live region", said, "stopped checking", "Check again")
	if asked.Load() == 0 {
		t.Error("the script never asked the status endpoint")
	}
	checkA11y(t, ctx, "processing, stopped checking")
}

// TestProcessingPageWithoutScripts: with scripts off, the page neither
// reloads nor checks by itself, and offers the Check again link.
func TestProcessingPageWithoutScripts(t *testing.T) {
	srv, asked := processingServer(t)
	ctx := startChromium(t)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/processing"),
		chromedp.WaitVisible(chromedp.CSS(`a#check-again[href="/next"]`)),
	); err != nil {
		t.Fatal(err)
	}
	// Runtime.evaluate runs even with the page's scripts off.
	state, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({
		refresh: document.querySelector('meta[http-equiv]') !== null,
		noteHidden: document.getElementById("payment-check-note").hidden,
		state: document.getElementById("payment-check").getAttribute("data-state"),
	})`))
	if err != nil {
		t.Fatal(err)
	}
	if state["refresh"] != false || state["noteHidden"] != true || state["state"] != nil {
		t.Errorf("with scripts off: %v; want no meta refresh, the note about automatic checks hidden, no checking", state)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the status endpoint was asked %d times with scripts off", n)
	}
	// axe-core needs timers; the page's script, skipped while it loaded,
	// does not run now.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	checkA11y(t, ctx, "processing, scripts off")
}
