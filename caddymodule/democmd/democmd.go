// Package democmd adds `caddy paywall demo`, the whole paywall flow on one
// machine with nothing installed (internal/demo: an embedded Redis, the
// offline Stripe stand-in, a small site), to the binaries that import it:
//
//	import _ "github.com/caddy-paywall/caddy-paywall/caddymodule/democmd"
//
// This repository's cmd/caddy does. A plugin build (`xcaddy build --with
// github.com/caddy-paywall/caddy-paywall/caddymodule`) does not, so the
// demo's test doubles stay out of production binaries.
package democmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/spf13/cobra"

	"github.com/caddy-paywall/caddy-paywall/caddymodule"
	"github.com/caddy-paywall/caddy-paywall/internal/demo"
)

func init() {
	caddymodule.RegisterSubcommand("demo", demoCommand)
}

func demoCommand() *cobra.Command {
	var o demo.Options
	cmd := &cobra.Command{
		Use:   "demo [--listen localhost:8080] [--redis URL] [--price price_...]",
		Short: "Runs the whole paywall flow on this machine, offline",
		Long: `Starts, in one process, an embedded Redis (unless --redis is given), an
offline stand-in for Stripe with its own hosted checkout page, a small site
with public and paid pages, and Caddy with the paywall in front of the site.
Open the printed URL and log in with one of the printed users.

With STRIPE_SECRET_KEY set and --price given, it uses real Stripe test mode
instead of the stand-in (set STRIPE_WEBHOOK_SECRET to the secret of a
webhook endpoint that reaches this machine, e.g. 'stripe listen').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.StripeKey = os.Getenv("STRIPE_SECRET_KEY")
			o.WebhookSecret = os.Getenv("STRIPE_WEBHOOK_SECRET")
			return runDemo(cmd, o)
		},
	}
	cmd.Flags().StringVar(&o.Listen, "listen", "localhost:8080", "host:port the demo site listens on")
	cmd.Flags().StringVar(&o.RedisURL, "redis", "", "use this Redis instead of an embedded one")
	cmd.Flags().StringVar(&o.Price, "price", "", "a Stripe test-mode Price id (with STRIPE_SECRET_KEY): use real Stripe")
	cmd.Flags().StringVar(&o.Mode, "mode", "payment", "the price's mode with --price: payment or subscription")
	return cmd
}

func runDemo(cmd *cobra.Command, o demo.Options) error {
	d, err := demo.Start(o)
	if err != nil {
		return err
	}
	defer d.Close()
	caddyfileText := caddyfile.Format([]byte(d.Caddyfile))
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfileText, map[string]any{"filename": "demo"})
	if err != nil {
		return fmt.Errorf("demo config: %v", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("starting caddy: %v", err)
	}
	defer func() { _ = caddy.Stop() }()

	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "\ncaddy-paywall demo, using %s\n\n", d.Stripe)
	fmt.Fprintf(out, "  open     %s/\n", d.URL)
	fmt.Fprintf(out, "  log in   alice / %s   or   bob / %s\n", demo.Users["alice"], demo.Users["bob"])
	fmt.Fprintf(out, "  then     open a premium article, pay on the checkout page, and read it\n")
	fmt.Fprintf(out, "  console  %s/paywall/console   as %s / %s\n\n", d.URL, demo.ConsoleAdmin, demo.Users[demo.ConsoleAdmin])
	fmt.Fprintf(out, "Press Ctrl-C to stop.\n")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
