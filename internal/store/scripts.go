package store

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// Each change is one script: the shared prelude (the event-id check,
// helpers, and finish: audit, publish, marker) followed by its body.
var (
	grantScript        = newScript("grant.lua")
	revokeScript       = newScript("revoke.lua")
	restoreScript      = newScript("restore.lua")
	subscriptionScript = newScript("subscription.lua")
	pendingScript      = newScript("pending.lua")
)

func newScript(name string) *redis.Script {
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

// scriptMeta is ARGV[2]: the change's meta and the key lifetimes. The
// clock comes from Go (Meta.Now), never from Redis, so tests can set it.
type scriptMeta struct {
	NowMs      int64  `json:"now_ms"`
	Event      string `json:"event"`
	Cause      string `json:"cause"`
	Created    int64  `json:"created"`
	EventTTL   int64  `json:"event_ttl"`
	TombTTL    int64  `json:"tomb_ttl"`
	PendingTTL int64  `json:"pending_ttl"`
	AuditMax   int64  `json:"audit_max"`
}

// normalize fills what a Meta may leave out: Now (the wall clock),
// Created (Now) and Cause (the event id).
func normalize(m Meta) Meta {
	if m.Now.IsZero() {
		m.Now = time.Now()
	}
	if m.Created == 0 {
		m.Created = m.Now.Unix()
	}
	if m.Cause == "" {
		m.Cause = m.EventID
	}
	return m
}

// run executes one change's script: KEYS[1] the audit stream (it names the
// hash slot), ARGV[1] the prefix, ARGV[2] the meta, ARGV[3] the request,
// ARGV[4] the user id, as is (binary safe; "" when the request has none).
func (s *Store) run(ctx context.Context, sc *redis.Script, what string, m Meta, user string, req any) (Result, error) {
	m = normalize(m)
	meta, err := json.Marshal(scriptMeta{
		NowMs: m.Now.UnixMilli(), Event: m.EventID, Cause: m.Cause, Created: m.Created,
		EventTTL: int64(EventTTL / time.Second), TombTTL: int64(TombstoneTTL / time.Second),
		PendingTTL: int64(PendingTTL / time.Second), AuditMax: auditMaxLen,
	})
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	reply, err := s.runScript(ctx, sc, []string{s.auditKey()}, s.prefix, meta, body, user)
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	r, err := parseReply(reply)
	if err != nil {
		return Result{}, fmt.Errorf("store: %s: %w", what, err)
	}
	r.Meta = m
	return r, nil
}

// parseReply reads a script's reply: duplicate (0/1), changed, then
// action, user, product, source for each audit entry written.
func parseReply(v []any) (Result, error) {
	if len(v) < 2 || (len(v)-2)%4 != 0 {
		return Result{}, fmt.Errorf("unexpected script reply %v", v)
	}
	dup, _ := v[0].(int64)
	changed, _ := v[1].(int64)
	r := Result{Duplicate: dup == 1, Changed: int(changed)}
	str := func(x any) string { s, _ := x.(string); return s }
	for i := 2; i < len(v); i += 4 {
		r.Changes = append(r.Changes, Change{Action: str(v[i]), User: str(v[i+1]), Product: str(v[i+2]), Source: str(v[i+3])})
	}
	return r, nil
}
