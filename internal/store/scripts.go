package store

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// Each mutating operation is one script: the shared prelude (event-id
// check, helpers, the audit/publish/marker epilogue) and its body.
var (
	grantScript        = script("grant.lua")
	revokeScript       = script("revoke.lua")
	restoreScript      = script("restore.lua")
	subscriptionScript = script("subscription.lua")
	pendingScript      = script("pending.lua")
)

func script(name string) *redis.Script {
	prelude, err := luaFiles.ReadFile("lua/prelude.lua")
	if err != nil {
		panic(err)
	}
	body, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(prelude) + "\n" + string(body))
}

// run executes a script for one change and reads its {duplicate, changed}.
func (s *Store) run(ctx context.Context, sc *redis.Script, what string, m Meta, req any) (Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	created := m.Created
	if created == 0 {
		created = m.Now.Unix()
	}
	res, err := sc.Run(ctx, s.client, []string{s.prefix + "audit"},
		s.prefix, m.Now.UnixMilli(), m.EventID, m.Cause, created, body).Slice()
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	// The reply: duplicate, changed, then action, user, product, source
	// for each audit entry written.
	if len(res) < 2 || (len(res)-2)%4 != 0 {
		return Result{}, fmt.Errorf("store: %s: unexpected script reply %v", what, res)
	}
	dup, _ := res[0].(int64)
	changed, _ := res[1].(int64)
	r := Result{Duplicate: dup == 1, Changed: int(changed), Meta: m}
	for i := 2; i < len(res); i += 4 {
		str := func(v any) string { s, _ := v.(string); return s }
		r.Changes = append(r.Changes, Change{Action: str(res[i]), User: str(res[i+1]), Product: str(res[i+2]), Source: str(res[i+3])})
	}
	return r, nil
}
