package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/caddy-paywall/caddy-paywall/internal/admin"
	"github.com/caddy-paywall/caddy-paywall/internal/events"
	"github.com/caddy-paywall/caddy-paywall/internal/reconcile"
	"github.com/caddy-paywall/caddy-paywall/internal/stripeapi"
)

// adminCommands are the `caddy paywall` commands that work on a config's
// Redis and Stripe account, in the order adminNames lists them.
func adminCommands() []*cobra.Command {
	return []*cobra.Command{grantCommand(), revokeCommand(), showCommand(), listCommand(),
		reconcileCommand(), setupCommand(), doctorCommand(), triggerCommand()}
}

// adminNames are the admin commands' names, for the usage line that
// caddycmd.RegisterCommand takes before any command is built.
var adminNames = []string{"grant", "revoke", "show", "list", "reconcile", "setup", "doctor", "trigger"}

// adminCommand is a `caddy paywall` command that works on the config's
// paywall, declared as a literal as caddycmd.Command is. Its cobra
// command checks the flags, loads the paywall, runs, and closes the
// paywall's Redis client. Errors map to exit codes 1 (failure) and 2
// (usage), including flag and argument mistakes.
type adminCommand struct {
	// Use is the usage line: the command's name, then its flags.
	Use string
	// Short is the summary `caddy paywall --help` lists.
	Short string
	// Long is what `caddy paywall NAME --help` explains.
	Long string
	// Flags declares the command's own flags. Every command also takes
	// --config, --adapter and --site, as `caddy run` does.
	Flags func(*pflag.FlagSet)
	// JSON, when set, adds --json ("print JSON") and receives its value.
	JSON *bool
	// Check validates the flags before the config is loaded; nil when
	// there is nothing to check.
	Check func() error
	// Run does the command's work on the loaded paywall.
	Run func(cmd *cobra.Command, pw *cliPaywall) error
}

// command builds the cobra command.
func (a adminCommand) command() *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{Use: a.Use, Short: a.Short, Long: a.Long, Args: cobra.ArbitraryArgs}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			exit(c, usageErr("unexpected argument %q (see --help)", args[0]))
		}
		exit(c, a.loadAndRun(c, &f))
		return nil
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		exit(c, usageErr("%v (see --help)", err))
		return nil
	})
	f.add(cmd)
	if a.JSON != nil {
		cmd.Flags().BoolVar(a.JSON, "json", false, "print JSON")
	}
	if a.Flags != nil {
		a.Flags(cmd.Flags())
	}
	return cmd
}

// exit ends a command: nothing more on success; otherwise the error as
// plain lines on stderr (not a log line: a person reads it) and exit code
// 2 for a usage mistake, 1 for a failure.
func exit(c *cobra.Command, err error) {
	if err == nil {
		return
	}
	code := 1
	if errors.Is(err, errUsage) {
		code = 2
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(c.ErrOrStderr(), "%s: %s\n", c.CommandPath(), line)
	}
	os.Exit(code)
}

func (a adminCommand) loadAndRun(c *cobra.Command, f *configFlags) error {
	if a.Check != nil {
		if err := a.Check(); err != nil {
			return err
		}
	}
	pw, err := f.loadPaywall()
	if err != nil {
		return err
	}
	defer pw.Close()
	return a.Run(c, pw)
}

func requireFlag(flag, value string) error {
	if value == "" {
		return usageErr("--%s is required", flag)
	}
	return nil
}

func (c *cliPaywall) knowsProduct(id string) error {
	for _, p := range c.Products {
		if p.ID == id {
			return nil
		}
	}
	return usageErr("no product %q in this paywall", id)
}

func grantCommand() *cobra.Command {
	var user, product string
	var forDur time.Duration
	return adminCommand{
		Use:   "grant --user U --product P [--for DURATION]",
		Short: "Gives a user a product (an admin grant)",
		Long:  "Opens the product for the user, forever or --for a duration. The audit stream records it with cause admin.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user id, as the `user` placeholder gives it")
			fs.StringVar(&product, "product", "", "the product id")
			fs.DurationVar(&forDur, "for", 0, "how long the grant lasts (default: forever)")
		},
		Check: func() error { return errors.Join(requireFlag("user", user), requireFlag("product", product)) },
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			if err := pw.knowsProduct(product); err != nil {
				return err
			}
			res, err := pw.store.AdminGrant(context.Background(), "admin", user, product, forDur, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "granted %s to %s (%d change)\n", product, user, res.Changed)
			return nil
		},
	}.command()
}

func revokeCommand() *cobra.Command {
	var user, product string
	return adminCommand{
		Use:   "revoke --user U --product P",
		Short: "Takes a product away from a user",
		Long:  "Closes every grant of the product for the user. Only a new payment opens it again. The audit stream records it with cause admin.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user id")
			fs.StringVar(&product, "product", "", "the product id")
		},
		Check: func() error { return errors.Join(requireFlag("user", user), requireFlag("product", product)) },
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			res, err := pw.store.AdminRevoke(context.Background(), "admin", user, product, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s from %s (%d grants closed)\n", product, user, res.Changed)
			return nil
		},
	}.command()
}

func showCommand() *cobra.Command {
	var user string
	var limit int
	var asJSON bool
	return adminCommand{
		Use:   "show --user U",
		Short: "Shows a user's entitlements and audit trail",
		Long:  "Lists every grant the user has (its source, whether it is open, its expiry and what last changed it), the free views counted in the current window of each product that has free_views, then the user's audit trail, newest first.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user id")
			fs.IntVar(&limit, "limit", 50, "how many audit entries to show")
		},
		JSON:  &asJSON,
		Check: func() error { return requireFlag("user", user) },
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			ctx := context.Background()
			ents, err := pw.store.Entitlements(ctx, user)
			if err != nil {
				return err
			}
			audit, err := pw.store.Audit(ctx, user, limit)
			if err != nil {
				return err
			}
			free, err := pw.freeViews(ctx, user)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			views := admin.Views(ents, time.Now())
			if asJSON {
				return admin.PrintJSON(out, map[string]any{"user": user, "grants": views, "audit": admin.AuditViews(audit), "free_views": free})
			}
			if len(views) == 0 && len(audit) == 0 && len(free) == 0 {
				fmt.Fprintf(out, "%s has never bought or been granted anything, and no payment, refund or grant names them.\n",
					admin.Printable(user))
				return nil
			}
			if len(views) == 0 {
				fmt.Fprintf(out, "%s holds no product.\n", admin.Printable(user))
			} else {
				admin.PrintGrants(out, views)
			}
			if len(free) > 0 {
				fmt.Fprintln(out)
				admin.PrintFreeViews(out, free)
			}
			fmt.Fprintln(out)
			admin.PrintAudit(out, audit)
			return nil
		},
	}.command()
}

func listCommand() *cobra.Command {
	var product string
	var asJSON bool
	return adminCommand{
		Use:   "list [--product P]",
		Short: "Lists users and their grants",
		Long:  "Lists every user with a grant (of --product, if given). It scans Redis: meant for operators, not for hot paths.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&product, "product", "", "only this product")
		},
		JSON: &asJSON,
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			ctx := context.Background()
			users, err := pw.store.Users(ctx, product)
			if err != nil {
				return err
			}
			var rows []admin.GrantView
			now := time.Now()
			for _, u := range users {
				ents, err := pw.store.Entitlements(ctx, u)
				if err != nil {
					return err
				}
				for _, v := range admin.Views(ents, now) {
					if product == "" || v.Product == product {
						rows = append(rows, v)
					}
				}
			}
			if asJSON {
				return admin.PrintJSON(cmd.OutOrStdout(), rows)
			}
			admin.PrintGrants(cmd.OutOrStdout(), rows)
			return nil
		},
	}.command()
}

func triggerCommand() *cobra.Command {
	var t admin.Trigger
	var url string
	return adminCommand{
		Use:   "trigger --event TYPE --user U --product P [--url URL]",
		Short: "Sends a signed test event to a running gateway",
		Long:  fmt.Sprintf("Builds a Stripe event of TYPE for the user and product, signs it with the config's first webhook secret, and posts it to the gateway's webhook.\nTypes: %v", admin.TriggerTypeNames()),
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&t.Type, "event", "", "the event type")
			fs.StringVar(&t.User, "user", "", "the user id")
			fs.StringVar(&t.Product, "product", "", "the product id")
			fs.StringVar(&t.PaymentIntent, "payment-intent", "", "the payment intent a refund or dispute refers to")
			fs.StringVar(&url, "url", "", "the webhook URL (default: https://SITE/BASE_PATH/webhook)")
		},
		Check: func() error {
			return errors.Join(requireFlag("event", t.Type), requireFlag("user", t.User), requireFlag("product", t.Product))
		},
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			if url == "" {
				site := pw.site.url()
				if site == "" {
					return usageErr("--url is required: the config names no site host")
				}
				url = site + pw.BasePath + "/webhook"
			}
			t.Livemode = pw.applier.LiveMode
			payload, err := t.Event()
			if err != nil {
				return usageErr("%v", err)
			}
			status, body, err := admin.Send(context.Background(), url, pw.resolved.webhookSecrets[0], payload)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s -> %s: %d %s\n", t.Type, url, status, body)
			if status/100 != 2 {
				return fmt.Errorf("the gateway answered %d", status)
			}
			if !admin.WebhookAnswer(body) {
				return fmt.Errorf("%s answered %d but not as the paywall's webhook does: is the URL right?", url, status)
			}
			return nil
		},
	}.command()
}

func doctorCommand() *cobra.Command {
	var url string
	var asJSON bool
	return adminCommand{
		Use:   "doctor [--url WEBHOOK_URL]",
		Short: "Checks Redis, the Stripe key, prices and webhook endpoint",
		Long:  "Checks that Redis answers, the secret key's mode, that each product's Prices exist and fit its mode, whether Stripe Tax is set up when automatic_tax is on, and that a webhook endpoint points at this gateway with every event it handles and the API version it reads. With whoami, checks that its URL answers and that a request without cookies comes back signed out. With --url it also checks the webhook is reachable without credentials and, when user reads a request header, that the paywall's pages refuse a made-up one. Exit code 1 if anything needs fixing.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&url, "url", "", "the public webhook URL to probe without credentials")
		},
		JSON: &asJSON,
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			d := admin.Doctor{Store: pw.store, API: pw.api, SecretKey: pw.resolved.stripeKey, BasePath: pw.BasePath, WebhookURL: url, AutomaticTax: pw.AutomaticTax, Products: pw.Products}
			if err := pw.doctorIdentity(&d, url, cmd.ErrOrStderr()); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			checks := d.Run(ctx)
			if asJSON {
				if err := admin.PrintJSON(cmd.OutOrStdout(), checks); err != nil {
					return err
				}
			} else {
				admin.PrintChecks(cmd.OutOrStdout(), checks)
			}
			if admin.Failed(checks) {
				return errors.New("doctor found problems")
			}
			return nil
		},
	}.command()
}

func reconcileCommand() *cobra.Command {
	var since time.Duration
	var asJSON bool
	return adminCommand{
		Use:   "reconcile --since DURATION",
		Short: "Applies payments, refunds and subscription changes the webhook missed",
		Long:  "Lists the complete Checkout Sessions created in the last DURATION and fulfils any the store has not seen, then replays refunds, disputes and subscription events from Stripe's event log (kept 30 days) through the webhook's code path. At most 25 Stripe requests a second. Safe to run at any time, any number of times: it prints only what it changed.",
		Flags: func(fs *pflag.FlagSet) {
			fs.DurationVar(&since, "since", 0, "how far back to look, e.g. 72h")
		},
		JSON: &asJSON,
		Check: func() error {
			if since <= 0 {
				return usageErr("--since is required, e.g. --since 72h")
			}
			return nil
		},
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			pw.applier.API = stripeapi.NewRateLimited(pw.resolved.stripeKey, pw.resolved.apiURL, 25)
			rep, err := reconcile.Run(context.Background(), pw.applier, time.Now().Add(-since), cmd.OutOrStdout())
			if asJSON {
				if jerr := admin.PrintJSON(cmd.OutOrStdout(), rep); jerr != nil {
					return jerr
				}
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%d paid sessions seen, %d fulfilled now; %d other events seen, %d applied now\n",
					rep.Sessions, rep.Fulfilled, rep.Events, rep.Applied)
			}
			return err
		},
	}.command()
}

func setupCommand() *cobra.Command {
	var url string
	return adminCommand{
		Use:   "setup --url https://SITE/paywall/webhook",
		Short: "Creates the Stripe webhook endpoint for this gateway",
		Long:  "Creates a webhook endpoint for --url with API version " + events.PinnedAPIVersion + " (the version this gateway reads; Stripe sets an endpoint's version only when it is created) and exactly the events the gateway handles, and prints its signing secret once. Older endpoints for the same URL are named, to delete.",
		Flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&url, "url", "", "the webhook's public URL")
		},
		Check: func() error { return requireFlag("url", url) },
		Run: func(cmd *cobra.Command, pw *cliPaywall) error {
			return admin.Setup(context.Background(), pw.api, url, cmd.OutOrStdout())
		},
	}.command()
}
