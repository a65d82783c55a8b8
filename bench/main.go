// Command bench measures the paywall against bare Caddy reverse_proxy:
// the front end's CPU time per request in adjacent pairs (wrk), the
// webhook rate, the start-up with 1,000,000 entitlements, and a soak of
// mixed traffic against two gateways. See bench/README.md.
//
//	go run ./bench                       # wrk, webhook, startup
//	go run ./bench -parts wrk -pairs 5 -duration 3s -cases paid,ungated
//	go run ./bench -parts soak -soak-duration 60s
//	go run ./bench -parts profile             # where the paid path's CPU goes
//
// Every process it starts is stopped by its PID when it ends, also on
// failure and ^C; its temporary directory is removed.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

type config struct {
	parts       []string
	cases       string
	pairs       int
	duration    time.Duration
	connections int
	frontCPU    string
	loadCPU     string
	webhookN    int
	webhookC    int
	startupN    int
	startupRuns int
	soak        soakConfig

	profileDuration time.Duration
	profileTop      int
	profileDir      string
}

func parseFlags() config {
	var c config
	parts := flag.String("parts", "wrk,webhook,startup", "parts to run, comma-separated: wrk, webhook, startup, soak, profile")
	flag.StringVar(&c.cases, "cases", "paid,paid-console,ungated,unpaid-machine,anon-browser,paid-forward_auth,paid-whoami", "wrk cases (the A/A control always runs)")
	flag.IntVar(&c.pairs, "pairs", 9, "adjacent pairs (bare run, then the case's run) per case")
	flag.DurationVar(&c.duration, "duration", 3*time.Second, "length of each timed wrk run")
	flag.IntVar(&c.connections, "connections", 32, "wrk connections (wrk runs one thread)")
	flag.StringVar(&c.frontCPU, "front-cpu", "1", "taskset CPU list of the front ends under test (\"\": not pinned)")
	flag.StringVar(&c.loadCPU, "load-cpu", "0", "taskset CPU list of wrk, the upstream and Redis (\"\": not pinned)")
	flag.IntVar(&c.webhookN, "webhook-events", 20000, "webhook: events to send")
	flag.IntVar(&c.webhookC, "webhook-concurrency", 16, "webhook: concurrent senders")
	flag.IntVar(&c.startupN, "startup-users", 1000000, "startup: entitlements in the full database")
	flag.IntVar(&c.startupRuns, "startup-runs", 3, "startup: runs per database")
	flag.DurationVar(&c.soak.duration, "soak-duration", 60*time.Second, "soak: how long the traffic runs")
	flag.IntVar(&c.soak.workers, "soak-workers", 4, "soak: concurrent page-traffic workers")
	flag.IntVar(&c.soak.paid, "soak-paid", 20, "soak: users granted before the start")
	flag.DurationVar(&c.profileDuration, "profile-duration", 10*time.Second, "profile: length of the wrk run profiled on each side")
	flag.IntVar(&c.profileTop, "profile-top", 25, "profile: functions listed in each table")
	flag.StringVar(&c.profileDir, "profile-dir", "", "profile: keep the two profiles in this directory (\"\": removed with the rest)")
	flag.Parse()
	c.parts = strings.Split(*parts, ",")
	return c
}

func main() {
	cfg := parseFlags()
	procs, err := harness.NewProcs()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	err = run(cfg, procs)
	procs.Close()
	fmt.Printf("load average after: %s\n", harness.LoadAverage())
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg config, procs *harness.Procs) error {
	for _, p := range cfg.parts {
		if !slices.Contains([]string{"wrk", "webhook", "startup", "soak", "profile"}, p) {
			return fmt.Errorf("-parts: unknown part %q (wrk, webhook, startup, soak, profile)", p)
		}
	}
	selected, err := selectCases(cfg.cases)
	if err != nil {
		return err
	}
	for _, tool := range []string{"go", "wrk", "redis-server", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed", tool)
		}
	}
	fmt.Printf("load average before: %s on %d CPUs (others running on this machine make the figures noisier: see the A/A control)\n",
		harness.LoadAverage(), runtime.NumCPU())
	e, err := newEnv(cfg, procs)
	if err != nil {
		return err
	}
	steps := map[string]func() error{
		"wrk":     func() error { return e.runWrk(selected) },
		"webhook": e.runWebhook,
		"startup": e.runStartup,
		"soak":    e.runSoak,
		"profile": e.runProfile,
	}
	for _, p := range cfg.parts {
		if err := steps[p](); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
