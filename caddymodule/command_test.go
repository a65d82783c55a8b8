package caddymodule

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// testDoubles are packages that exist for tests and the demo: none of
// them may ship in a plugin build.
var testDoubles = []string{
	"github.com/caddy-paywall/caddy-paywall/internal/demo",
	"github.com/caddy-paywall/caddy-paywall/internal/stripestub",
	"github.com/alicebob/miniredis",
	"github.com/chromedp/",
}

// goListDeps is `go list -deps pkg`: what a binary that imports pkg
// links (test files are not part of it).
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command(testenv.Binary(t, "go"), "list", "-deps", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

func doublesIn(deps []string) []string {
	var found []string
	for _, d := range deps {
		for _, double := range testDoubles {
			if strings.HasPrefix(d, double) {
				found = append(found, d)
			}
		}
	}
	return found
}

// TestDemoLeavesPluginBuild: `xcaddy build --with .../caddymodule` links
// caddymodule and what it imports; the demo, the Stripe stand-in,
// miniredis and chromedp are not among them. The demo's own package
// (democmd) does import them, which shows the check finds them.
func TestDemoLeavesPluginBuild(t *testing.T) {
	deps := goListDeps(t, ".")
	if !slices.Contains(deps, "github.com/caddy-paywall/caddy-paywall/internal/gateway") {
		t.Fatalf("go list -deps . does not list internal/gateway: is it listing caddymodule? got %d packages", len(deps))
	}
	if found := doublesIn(deps); len(found) > 0 {
		t.Errorf("a plugin build links test doubles:\n%s", strings.Join(found, "\n"))
	}
	found := doublesIn(goListDeps(t, "./democmd"))
	for _, want := range []string{"internal/demo", "internal/stripestub", "miniredis"} {
		if !slices.ContainsFunc(found, func(d string) bool { return strings.Contains(d, want) }) {
			t.Errorf("democmd's deps lack %s (found %v): the check would not see it", want, found)
		}
	}
}

// buildPaywallCommand builds `caddy paywall` as Caddy's CLI does from
// what this binary registered.
func buildPaywallCommand(t *testing.T) (caddycmd.Command, *cobra.Command) {
	t.Helper()
	reg, ok := caddycmd.Commands()["paywall"]
	if !ok {
		t.Fatal("no paywall command registered")
	}
	cmd := &cobra.Command{Use: reg.Name + " " + reg.Usage, Short: reg.Short, Long: reg.Long}
	reg.CobraFunc(cmd)
	return reg, cmd
}

func subcommandNames(cmd *cobra.Command) []string {
	var names []string
	for _, c := range cmd.Commands() {
		names = append(names, c.Name())
	}
	slices.Sort(names)
	return names
}

// TestUsageOfPluginBuild: this package's test binary has what a plugin
// build has, no demo. `caddy paywall` lists the admin commands and does
// not claim a demo.
func TestUsageOfPluginBuild(t *testing.T) {
	reg, cmd := buildPaywallCommand(t)
	want := "paywall <grant|revoke|show|list|reconcile|setup|doctor|trigger> [flags]"
	if cmd.Use != want || "paywall "+reg.Usage != want {
		t.Errorf("usage: built %q, registered %q; want %q", cmd.Use, "paywall "+reg.Usage, want)
	}
	if cmd.Short != "Manages paywall entitlements" || reg.Short != cmd.Short {
		t.Errorf("summary: built %q, registered %q", cmd.Short, reg.Short)
	}
	wantNames := slices.Clone(adminNames)
	slices.Sort(wantNames)
	if got := subcommandNames(cmd); !slices.Equal(got, wantNames) {
		t.Errorf("subcommands %v, want %v", got, wantNames)
	}
	if strings.Contains(cmd.Short+cmd.Use+cmd.Long, "demo") {
		t.Errorf("a build without the demo mentions it: %q %q %q", cmd.Use, cmd.Short, cmd.Long)
	}
}

// TestUsageNamesRegisteredSubcommands: a subcommand registered from
// another package (as democmd registers demo) comes first in the usage
// line and in the summary, worded as before the demo moved out.
func TestUsageNamesRegisteredSubcommands(t *testing.T) {
	cmd := &cobra.Command{Use: "paywall"}
	paywallCommand(cmd, []subcommand{{name: "demo", build: func() *cobra.Command {
		return &cobra.Command{Use: "demo [--listen localhost:8080]", Short: "Runs the demo"}
	}}})
	if want := "paywall <demo|grant|revoke|show|list|reconcile|setup|doctor|trigger> [flags]"; cmd.Use != want {
		t.Errorf("usage %q, want %q", cmd.Use, want)
	}
	if want := "Runs the paywall demo and manages paywall entitlements"; cmd.Short != want {
		t.Errorf("summary %q, want %q", cmd.Short, want)
	}
	if got := subcommandNames(cmd); !slices.Contains(got, "demo") || len(got) != len(adminNames)+1 {
		t.Errorf("subcommands %v, want demo and the %d admin commands", got, len(adminNames))
	}
}

// TestCommandRegisterRefusesTakenNames: a subcommand may not shadow an
// admin command or another subcommand, nor come without a name.
func TestCommandRegisterRefusesTakenNames(t *testing.T) {
	saved := subcommands
	t.Cleanup(func() { subcommands = saved })
	build := func() *cobra.Command { return &cobra.Command{Use: "extra"} }
	RegisterSubcommand("extra", build)
	for _, name := range []string{"grant", "extra", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterSubcommand(%q) did not panic", name)
				}
			}()
			RegisterSubcommand(name, build)
		}()
	}
	if len(subcommands) != len(saved)+1 {
		t.Errorf("%d subcommands registered, want %d", len(subcommands), len(saved)+1)
	}
}

// TestCLIDemo runs `caddy paywall demo` from this repository's binary as
// the README's first command does: it prints where to go and who to log
// in as, serves the demo site, and stops cleanly on Ctrl-C.
func TestCLIDemo(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(caddyBinary(t), "paywall", "demo", "--listen", addr)
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		_ = pw.Close()
	})

	// Everything up to "Press Ctrl-C to stop.", then the rest is drained.
	printed := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if sc.Text() == "Press Ctrl-C to stop." {
				break
			}
		}
		printed <- b.String()
		_, _ = io.Copy(io.Discard, pr)
	}()
	var out string
	select {
	case out = <-printed:
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo printed nothing within 60s; stderr:\n%s", stderr.String())
	}
	url := "http://" + addr
	want := "\ncaddy-paywall demo, using the offline Stripe stand-in\n\n" +
		"  open     " + url + "/\n" +
		"  log in   alice / alice-pays   or   bob / bob-pays\n" +
		"  then     open a premium article, pay on the checkout page, and read it\n" +
		"  console  " + url + "/paywall/console   as owner / owner-reads\n\n" +
		"Press Ctrl-C to stop.\n"
	if out != want {
		t.Fatalf("the demo printed:\n%s\nwant:\n%s\nstderr:\n%s", out, want, stderr.String())
	}

	resp, err := http.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `href="/premium/first-article"`) {
		t.Fatalf("the demo site's home: %d\n%s", resp.StatusCode, body)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the demo did not stop cleanly on Ctrl-C: %v\n%s", err, stderr.String())
	}
}

// TestCommandFlags: every admin command takes the config flags `caddy
// run` takes; those that print tables also take --json, the others not.
func TestCommandFlags(t *testing.T) {
	withJSON := map[string]bool{"show": true, "list": true, "doctor": true, "reconcile": true}
	for _, cmd := range adminCommands() {
		for _, flag := range []string{"config", "adapter", "site"} {
			if cmd.Flags().Lookup(flag) == nil {
				t.Errorf("%s has no --%s", cmd.Name(), flag)
			}
		}
		if got := cmd.Flags().Lookup("json") != nil; got != withJSON[cmd.Name()] {
			t.Errorf("%s: --json %v, want %v", cmd.Name(), got, withJSON[cmd.Name()])
		}
		if cmd.Short == "" || cmd.Long == "" || cmd.RunE == nil {
			t.Errorf("%s lacks a summary, a description or a Run", cmd.Name())
		}
	}
}

// TestInternalIsFreeOfCaddy: the logic in internal/ does not depend on
// Caddy; only caddymodule adapts it (catalog.Duration exists for this).
func TestInternalIsFreeOfCaddy(t *testing.T) {
	deps := goListDeps(t, "../internal/...")
	if !slices.Contains(deps, "github.com/caddy-paywall/caddy-paywall/internal/catalog") {
		t.Fatalf("go list -deps ../internal/... does not list internal/catalog: got %d packages", len(deps))
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/caddyserver/") {
			t.Errorf("internal/ depends on %s", d)
		}
	}
}
