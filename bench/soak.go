package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/soak"
)

type soakConfig struct {
	duration time.Duration
	workers  int
	paid     int
}

// soakSnippet is the paywall of the soak's two gateways (same bench-only
// X-User shortcut as gatewaySnippet; never deploy it).
const soakSnippet = `	paywall {
		stripe_secret_key     sk_test_soak
		stripe_webhook_secret {{.Secret}}
		stripe_api_url        {{.Stripe}}
		redis                 {{.Redis}}
		key_prefix            {soak}:
		session_secret        soak-session-secret-of-at-least-32-chars
		user                  {http.request.header.X-User}
		login_url             /login?next={http.paywall.return_to}
		on_store_error        deny
		product pro {
			name  "Pro articles"
			price price_pro
			paths /premium/*
		}
	}`

// runSoak starts a Redis with AOF on, the soak's own upstream and two
// gateways from the same Caddyfile (only the port differs), runs the
// mixed traffic and its checks, then checks the gateways lived to the end
// with no panic in their logs.
func (e *env) runSoak() error {
	rd, err := e.procs.StartRedis("soak-redis", e.cfg.loadCPU, true)
	if err != nil {
		return err
	}
	up, err := soak.NewUpstream()
	if err != nil {
		return err
	}
	defer up.Listener.Close()
	v := e.vars
	v.Redis, v.Upstream, v.Secret = rd.URL(0), up.Listener.Addr().String(), fmt.Sprintf("whsec_soak_%d", time.Now().UnixNano())
	var gws []*front
	var urls []string
	for n := range 2 {
		gw, err := e.startCaddy(fmt.Sprintf("soak-gateway%d", n+1), "", nil, soakSnippet, v)
		if err != nil {
			return err
		}
		gws, urls = append(gws, gw), append(urls, gw.url(""))
	}
	fmt.Printf("== soak: redis :%d, gateways %s, %s\n", rd.Port, strings.Join(urls, " "), e.cfg.soak.duration)
	err = soak.Run(soak.Config{Gateways: urls, Redis: rd.Client, Prefix: "{soak}:", Secret: v.Secret,
		Duration: e.cfg.soak.duration, Workers: e.cfg.soak.workers, Paid: e.cfg.soak.paid,
		Caddy: e.caddy, CaddyConfig: e.procs.Path(gws[0].name + ".caddyfile")}, up)
	return errors.Join(err, e.checkGateways(gws))
}

// checkGateways: each gateway still runs, with no panic in its log.
func (e *env) checkGateways(gws []*front) error {
	var problems []string
	for _, gw := range gws {
		if !e.procs.Alive(gw.cmd) {
			problems = append(problems, gw.name+" died during the soak\n"+e.procs.Tail(gw.name))
		}
		log, _ := os.ReadFile(e.procs.Path(gw.name + ".log"))
		if n := strings.Count(strings.ToLower(string(log)), "panic"); n > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d panic lines in its log", gw.name, n))
		}
	}
	fmt.Printf("soak: gateways alive to the end, no panic in their logs: %v\n", len(problems) == 0)
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}
