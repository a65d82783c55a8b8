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
		s.prefix, m.Now.UnixMilli(), m.EventID, m.Cause, created, body).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	if len(res) != 2 {
		return Result{}, fmt.Errorf("store: %s: unexpected script reply %v", what, res)
	}
	return Result{Duplicate: res[0] == 1, Changed: int(res[1])}, nil
}
