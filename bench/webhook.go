package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/webhookload"
)

const keyPrefix = "{paywall}:"

// gateway starts (once) the gateway the webhook part posts to.
func (e *env) gateway() (*front, error) {
	return e.startFront("gateway", gatewaySnippet)
}

// runWebhook posts signed checkout.session.completed events to the
// gateway and checks Redis: one user hash and one audit entry per event.
func (e *env) runWebhook() error {
	gw, err := e.gateway()
	if err != nil {
		return err
	}
	ctx, rc := context.Background(), e.redis.Client
	fmt.Printf("== webhook: %d signed checkout.session.completed events, %d senders, to the gateway\n",
		e.cfg.webhookN, e.cfg.webhookC)
	before, err := rc.XLen(ctx, keyPrefix+"audit").Result()
	if err != nil {
		return err
	}
	run := fmt.Sprintf("wl%d", time.Now().UnixNano())
	err = webhookload.Run(webhookload.Config{URL: gw.url("/paywall/webhook"), Secret: e.vars.Secret,
		Events: e.cfg.webhookN, Concurrency: e.cfg.webhookC, Product: "pro", Prefix: run})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, e.procs.Tail(gw.name))
	}
	users, err := e.countKeys(keyPrefix + "user:" + run + "-u*")
	if err != nil {
		return err
	}
	after, err := rc.XLen(ctx, keyPrefix+"audit").Result()
	if err != nil {
		return err
	}
	grant, _ := rc.HGet(ctx, keyPrefix+"user:"+run+"-u7", "pro|pi_"+run+"_7").Result()
	switch {
	case users != e.cfg.webhookN:
		return fmt.Errorf("%d user hashes in Redis, want %d", users, e.cfg.webhookN)
	case after-before != int64(e.cfg.webhookN):
		return fmt.Errorf("%d audit entries, want %d", after-before, e.cfg.webhookN)
	case !strings.Contains(grant, `"product":"pro"`):
		return fmt.Errorf("the grant of %s-u7 is not in Redis", run)
	}
	fmt.Printf("   verified in Redis: %d user hashes, %d audit entries (target >= 2000 events/s)\n\n", users, after-before)
	return nil
}

func (e *env) countKeys(pattern string) (int, error) {
	n := 0
	iter := e.redis.Client.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for iter.Next(context.Background()) {
		n++
	}
	return n, iter.Err()
}
