package main

import (
	"context"
	"fmt"
	"time"

	"github.com/caddy-paywall/caddy-paywall/bench/internal/harness"
)

// fillScript writes users u<from>..u<to> in the store's layout, as
// internal/store/lua/grant.lua writes a grant.
const fillScript = `local p, from, to, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
for i = from, to do
  local src = "pi_fill_" .. i
  redis.call("HSET", p .. "user:u" .. i, "pro|" .. src,
    "{\"product\":\"pro\",\"source\":\"" .. src .. "\",\"created\":" .. now ..
    ",\"cause\":\"evt_fill_" .. i .. "\",\"payment_intent\":\"" .. src .. "\",\"updated\":" .. now .. "}")
end
return to - from + 1`

const emptyDB, fullDB = 1, 2

// runStartup times a gateway's start with no entitlements and with
// startup-users of them in Redis: until /paywall/healthz answers 200, and
// until a paid user's gated request does.
func (e *env) runStartup() error {
	if err := e.fill(); err != nil {
		return err
	}
	v := e.vars
	v.DB, v.Redis = emptyDB, e.redis.URL(emptyDB)
	if err := e.grant("u777", "pro", v); err != nil {
		return err
	}
	ready, first := map[int][]float64{}, map[int][]float64{}
	for range e.cfg.startupRuns {
		for _, db := range []int{emptyDB, fullDB} {
			r, f, err := e.startOnce(db)
			if err != nil {
				return err
			}
			ready[db], first[db] = append(ready[db], r), append(first[db], f)
		}
	}
	fmt.Println("\nStart-up: from starting the gateway Caddy to /paywall/healthz 200, and to a paid gated request 200 (ms)")
	fmt.Printf("%-34s %-24s %8s %22s\n", "Redis holds", "ready (runs)", "median", "first paid 200 median")
	for _, db := range []int{emptyDB, fullDB} {
		label := "no entitlements (one probe user)"
		if db == fullDB {
			label = fmt.Sprintf("%d entitlements", e.cfg.startupN)
		}
		fmt.Printf("%-34s %-24s %8.0f %22.0f\n", label, fmt.Sprint(ready[db]), harness.Median(ready[db]), harness.Median(first[db]))
	}
	fmt.Println()
	return nil
}

// fill writes startup-users users into the full database in batches.
func (e *env) fill() error {
	fmt.Printf("== start-up: filling Redis db %d with %d users\n", fullDB, e.cfg.startupN)
	rc, ctx, t0 := e.redis.DB(fullDB), context.Background(), time.Now()
	defer rc.Close()
	if err := rc.FlushDB(ctx).Err(); err != nil {
		return err
	}
	const batch = 50000
	for from := 0; from < e.cfg.startupN; from += batch {
		to := min(from+batch, e.cfg.startupN) - 1
		if err := rc.Eval(ctx, fillScript, nil, keyPrefix, from, to, time.Now().Unix()).Err(); err != nil {
			return err
		}
	}
	if n, err := rc.DBSize(ctx).Result(); err != nil || n != int64(e.cfg.startupN) {
		return fmt.Errorf("fill: %d keys in db %d, want %d (%v)", n, fullDB, e.cfg.startupN, err)
	}
	fmt.Printf("   filled in %d ms\n", time.Since(t0).Milliseconds())
	return nil
}

// startOnce starts a gateway on db and returns its ready and first-paid
// times in ms; the filled data's user proves the gateway reads that
// format.
func (e *env) startOnce(db int) (ready, first float64, err error) {
	v := e.vars
	v.DB, v.Redis = db, e.redis.URL(db)
	path, port, err := e.writeCaddyfile("startup", gatewaySnippet, v)
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	cmd, err := e.procs.Start(harness.Spec{Name: "startup", Args: []string{e.caddy, "run", "--config", path, "--adapter", "caddyfile"}})
	if err != nil {
		return 0, 0, err
	}
	defer e.procs.Stop(cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := harness.WaitStatus(base+"/paywall/healthz", 200, time.Minute); err != nil {
		return 0, 0, fmt.Errorf("db %d: %w\n%s", db, err, e.procs.Tail("startup"))
	}
	t1 := time.Since(t0)
	probe := "u777"
	if db == fullDB {
		probe = fmt.Sprintf("u%d", e.cfg.startupN*7/10)
	}
	if err := harness.WaitStatus(base+"/premium/article", 200, time.Minute, "X-User: "+probe, "Accept: text/html"); err != nil {
		return 0, 0, fmt.Errorf("db %d, %s: %w\n%s", db, probe, err, e.procs.Tail("startup"))
	}
	return float64(t1.Milliseconds()), float64(time.Since(t0).Milliseconds()), nil
}
