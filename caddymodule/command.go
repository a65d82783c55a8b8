package caddymodule

import (
	"fmt"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name: "paywall",
		// The usage and summary of a plugin-only build; a binary with
		// subcommands registered from elsewhere (RegisterSubcommand) gets
		// them named in both when its CLI is built.
		Usage: "<" + strings.Join(adminNames, "|") + "> [flags]",
		Short: "Manages paywall entitlements",
		Long: `
The paywall commands read the same config as 'caddy run' (--config,
--adapter); where it holds several paywall blocks, --site HOST picks one.

Exit codes: 0 success, 1 failure, 2 usage error.`,
		CobraFunc: func(cmd *cobra.Command) { paywallCommand(cmd, subcommands) },
	})
}

// subcommand is a `caddy paywall` command registered from another package.
type subcommand struct {
	name  string
	build func() *cobra.Command
}

// subcommands are those RegisterSubcommand added, in the order it did.
var subcommands []subcommand

// RegisterSubcommand adds a command under `caddy paywall`, as
// caddycmd.RegisterCommand adds one under `caddy`: call it from an init
// function. build makes the command (named name) when the CLI is built.
//
// It keeps commands out of the plugin: the offline demo, with its
// embedded Redis and Stripe stand-in, registers itself this way from
// caddymodule/democmd, which this repository's cmd/caddy imports and an
// `xcaddy build --with .../caddymodule` does not. `caddy paywall` lists
// only the commands the binary has.
//
// It panics if name is empty or already taken.
func RegisterSubcommand(name string, build func() *cobra.Command) {
	if name == "" || build == nil {
		panic("caddy paywall: a subcommand needs a name and a build function")
	}
	for _, n := range adminNames {
		if n == name {
			panic("caddy paywall: subcommand already registered: " + name)
		}
	}
	for _, s := range subcommands {
		if s.name == name {
			panic("caddy paywall: subcommand already registered: " + name)
		}
	}
	subcommands = append(subcommands, subcommand{name: name, build: build})
}

// paywallCommand fills in `caddy paywall`: the registered subcommands,
// then the admin commands, with a usage line and summary that name the
// registered ones.
func paywallCommand(cmd *cobra.Command, extra []subcommand) {
	var names []string
	for _, s := range extra {
		sub := s.build()
		if sub.Name() != s.name {
			panic(fmt.Sprintf("caddy paywall: subcommand registered as %q builds %q", s.name, sub.Name()))
		}
		cmd.AddCommand(sub)
		names = append(names, s.name)
	}
	if len(names) > 0 {
		cmd.Short = "Runs the paywall " + strings.Join(names, " and ") + " and manages paywall entitlements"
	}
	for _, sub := range adminCommands() {
		cmd.AddCommand(sub)
		names = append(names, sub.Name())
	}
	cmd.Use = "paywall <" + strings.Join(names, "|") + "> [flags]"
}
