package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-paywall/caddy-paywall/internal/catalog"
	"github.com/caddy-paywall/caddy-paywall/internal/console"
	"github.com/caddy-paywall/caddy-paywall/internal/store"
	"github.com/caddy-paywall/caddy-paywall/internal/testenv"
)

// BenchmarkPages renders each console page against a real redis-server
// holding 100,000 users (each with a grant, in the holders set and with
// ten entries in their audit index), 1,000,000 audit entries and 90 days
// of counters. Loading takes a while (pipelines of 10,000 commands); set
// CONSOLE_BENCH_USERS / CONSOLE_BENCH_AUDIT to change the sizes.
//
//	go test ./internal/console -run '^$' -bench Pages -benchtime 50x
func BenchmarkPages(b *testing.B) {
	c := largeConsole(b)
	for _, page := range []struct{ name, path string }{
		{"overview", "/paywall/console"},
		{"user", "/paywall/console/users?user=user-77777"},
		{"events", "/paywall/console/events"},
		{"events-by-user", "/paywall/console/events?user=user-4242"},
		{"events-by-product", "/paywall/console/events?product=club"},
		{"events-rare-action", "/paywall/console/events?action=tombstone"},
		{"events-page-500", "/paywall/console/events?before=" + strconv.FormatInt(auditBase+int64(auditSize()/2), 10) + "-0"},
	} {
		b.Run(page.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				c.ServeConsole(w, httptest.NewRequest(http.MethodGet, page.path, nil), "alice", "token")
				if w.Code != 200 {
					b.Fatalf("%s: %d\n%s", page.path, w.Code, w.Body)
				}
			}
		})
	}
}

const auditBase = int64(1700000000000) // the first entry's id (ms)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func usersSize() int { return envInt("CONSOLE_BENCH_USERS", 100000) }
func auditSize() int { return envInt("CONSOLE_BENCH_AUDIT", 1000000) }

var (
	largeOnce sync.Once
	largeURL  string
)

func largeConsole(b *testing.B) *console.Console {
	b.Helper()
	largeOnce.Do(func() {
		srv := testenv.StartRedis(b)
		_ = srv // stopped at the first benchmark's end: kept for the process
		largeURL = srv.URL()
		loadLarge(b, largeURL)
	})
	rc := redis.NewClient(&redis.Options{Addr: largeURL[len("redis://") : len(largeURL)-2]})
	b.Cleanup(func() { rc.Close() })
	c, err := console.New(console.Config{Admins: []string{"alice"}, BasePath: "/paywall",
		Products: catalog.Catalog{{ID: "pro"}, {ID: "club"}}, Store: store.New(rc, "")})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func loadLarge(b *testing.B, url string) {
	start := time.Now()
	opt, _ := redis.ParseURL(url)
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	st := store.New(rc, "")
	p := store.DefaultPrefix
	users, audits := usersSize(), auditSize()
	now := time.Now()
	pipe := rc.Pipeline()
	n := 0
	flush := func(force bool) {
		if n >= 10000 || force && n > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
			n = 0
		}
	}
	for i := 0; i < users; i++ {
		u := "user-" + strconv.Itoa(i)
		prod := "pro"
		if i%3 == 0 {
			prod = "club"
		}
		g, _ := json.Marshal(store.Grant{Product: prod, Source: "pi_" + strconv.Itoa(i), Created: now.Unix(), Cause: "evt_" + strconv.Itoa(i), Updated: now.Unix()})
		pipe.HSet(ctx, p+"user:"+u, prod+"|pi_"+strconv.Itoa(i), g)
		pipe.ZAdd(ctx, p+"holders:"+prod, redis.Z{Score: 1e18, Member: u})
		n += 2
		flush(false)
	}
	actions := []string{"grant", "revoke", "subscription", "grant"}
	for i := 0; i < audits; i++ {
		u := "user-" + strconv.Itoa(i%users)
		act := actions[i%len(actions)]
		if i%1000 == 999 {
			act = "tombstone"
		}
		prod := "pro"
		if i%7 == 0 {
			prod = "club"
		}
		id := strconv.FormatInt(auditBase+int64(i), 10) + "-0"
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: p + "audit", ID: id, Values: []any{
			"action", act, "user", u, "product", prod, "source", "pi_" + strconv.Itoa(i),
			"cause", "evt_" + strconv.Itoa(i), "detail", "", "time", strconv.FormatInt(auditBase+int64(i), 10)}})
		pipe.LPush(ctx, p+"audit-of:"+u, id)
		n += 2
		flush(false)
	}
	for d := 0; d < 90; d++ {
		k := st.StatsKey(store.Day(now.AddDate(0, 0, -d)))
		pipe.HSet(ctx, k, "pass", 1000+d, "login", 100, "pay", 300, "pay_page", 250, "checkout", 60, "payments", 40, "revenue:eur", 36000, "revenue:usd", 20000, "refunds", 1)
		n++
	}
	flush(true)
	size, _ := rc.DBSize(ctx).Result()
	xlen, _ := rc.XLen(ctx, p+"audit").Result()
	fmt.Fprintf(os.Stderr, "loaded %d users, %d audit entries (%d keys) in %v\n", users, xlen, size, time.Since(start).Round(time.Millisecond))
}
