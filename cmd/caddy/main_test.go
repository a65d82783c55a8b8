package main

import (
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// TestPaywallDemo: this repository's binary has `caddy paywall demo`,
// with the flags and defaults it has always had, and its usage says so.
func TestPaywallDemo(t *testing.T) {
	reg, ok := caddycmd.Commands()["paywall"]
	if !ok {
		t.Fatal("no paywall command registered")
	}
	cmd := &cobra.Command{Use: reg.Name + " " + reg.Usage, Short: reg.Short, Long: reg.Long}
	reg.CobraFunc(cmd)
	if want := "paywall <demo|grant|revoke|show|list|reconcile|setup|doctor|trigger> [flags]"; cmd.Use != want {
		t.Errorf("usage %q, want %q", cmd.Use, want)
	}
	if want := "Runs the paywall demo and manages paywall entitlements"; cmd.Short != want {
		t.Errorf("summary %q, want %q", cmd.Short, want)
	}
	demo, _, err := cmd.Find([]string{"demo"})
	if err != nil || demo.Name() != "demo" {
		t.Fatalf("no demo subcommand: %v", err)
	}
	if want := "demo [--listen localhost:8080] [--redis URL] [--price price_...]"; demo.Use != want {
		t.Errorf("demo usage %q, want %q", demo.Use, want)
	}
	for flag, def := range map[string]string{"listen": "localhost:8080", "redis": "", "price": "", "mode": "payment"} {
		f := demo.Flags().Lookup(flag)
		if f == nil {
			t.Errorf("demo has no --%s", flag)
			continue
		}
		if f.DefValue != def {
			t.Errorf("demo --%s defaults to %q, want %q", flag, f.DefValue, def)
		}
	}
}
