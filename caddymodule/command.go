package caddymodule

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "paywall",
		Usage: "<demo|grant|revoke|show|list|reconcile|setup|doctor|trigger> [flags]",
		Short: "Runs the paywall demo and manages paywall entitlements",
		Long: `
The paywall commands read the same config as 'caddy run' (--config,
--adapter); where it holds several paywall blocks, --site HOST picks one.

Exit codes: 0 success, 1 failure, 2 usage error.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.AddCommand(demoCommand())
			for _, sub := range adminCommands() {
				cmd.AddCommand(sub)
			}
		},
	})
}
