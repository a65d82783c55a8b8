package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestPingClientPrefix(t *testing.T) {
	s := newStore(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Client() == nil || !strings.HasPrefix(s.Prefix(), "{pwtest-") || s.ChangesChannel() != s.Prefix()+"changes" {
		t.Fatalf("client %v, prefix %q, channel %q", s.Client(), s.Prefix(), s.ChangesChannel())
	}
}

func TestEntitlementsOfNobody(t *testing.T) {
	s := newStore(t)
	e, err := s.Entitlements(ctx, "nobody")
	if err != nil || e.User != "nobody" || len(e.Grants) != 0 || e.Live("pro", t0) {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestEntitlementsSorted(t *testing.T) {
	s := newStore(t)
	for i, g := range [][2]string{{"pro", "pi_b"}, {"course", "pi_c"}, {"pro", "pi_a"}} {
		must(t)(s.Grant(ctx, payment(fmt.Sprint("evt_", i), "alice", g[0], g[1], t0)))
	}
	e, _ := s.Entitlements(ctx, "alice")
	var got []string
	for _, g := range e.Grants {
		got = append(got, g.Product+"|"+g.Source)
	}
	if strings.Join(got, " ") != "course|pi_c pro|pi_a pro|pi_b" {
		t.Fatalf("order: %v", got)
	}
	if p := e.LiveProducts(t0); strings.Join(p, ",") != "course,pro" {
		t.Fatalf("live products: %v", p)
	}
}

func TestEntitlementsReportsACorruptGrant(t *testing.T) {
	s := newStore(t)
	s.Client().HSet(ctx, s.userKey("alice"), "pro|pi_1", "{not json")
	if _, err := s.Entitlements(ctx, "alice"); err == nil {
		t.Fatal("a corrupt grant read as nothing")
	}
}

func TestRememberMappingAndLookup(t *testing.T) {
	s := newStore(t)
	if _, ok, err := s.Lookup(ctx, "ch_1"); ok || err != nil {
		t.Fatalf("unknown id: %v %v", ok, err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := s.RememberMapping(ctx, "ch_1", Mapping{User: "alice:x", Product: "club"}); err != nil {
			t.Fatal(err)
		}
	}
	if m, ok, err := s.Lookup(ctx, "ch_1"); err != nil || !ok || m != (Mapping{"alice:x", "club"}) {
		t.Fatalf("lookup: %+v %v %v", m, ok, err)
	}
	if a := auditActions(t, s, ""); a != "" {
		t.Fatalf("a mapping wrote audit: %s", a)
	}
	if err := s.RememberMapping(ctx, "", Mapping{User: "alice"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty id: %v", err)
	}
	if err := s.RememberMapping(ctx, "ch_2", Mapping{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no user: %v", err)
	}
	// A revoke finds its user through a remembered charge.
	must(t)(s.Grant(ctx, payment("evt_1", "alice:x", "club", "ch_1", t0)))
	must(t)(s.Revoke(ctx, refund("evt_2", "ch_1", t0.Add(time.Hour))))
	if live(t, s, "alice:x", "club", t0.Add(time.Hour)) {
		t.Fatal("revoke through a remembered mapping failed")
	}
}

func TestUsers(t *testing.T) {
	s := newStore(t)
	must(t)(s.Grant(ctx, payment("evt_1", "carol", "pro", "pi_1", t0)))
	must(t)(s.Grant(ctx, payment("evt_2", "alice", "pro", "pi_2", t0)))
	must(t)(s.Grant(ctx, payment("evt_3", "alice", "course", "pi_3", t0)))
	must(t)(s.Grant(ctx, payment("evt_4", "bob*", "course", "pi_4", t0)))
	must(t)(s.Revoke(ctx, refund("evt_5", "pi_1", t0.Add(time.Hour))))    // a revoked grant still lists
	must(t)(s.MarkPending(ctx, meta("evt_6", t0), "cs_9", "dave", "pro")) // pending is not a grant
	// Another store's users under another prefix are not listed.
	other := New(s.Client(), s.Prefix()+"x}")
	must(t)(other.Grant(ctx, payment("evt_7", "eve", "pro", "pi_7", t0)))
	tests := []struct{ product, want string }{
		{"", "alice,bob*,carol"},
		{"pro", "alice,carol"},
		{"course", "alice,bob*"},
		{"pr", ""},
		{"nothing", ""},
	}
	for _, tt := range tests {
		got, err := s.Users(ctx, tt.product)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Users(%q) = %v, want %s", tt.product, got, tt.want)
		}
	}
}

// TestUsersScansPastOnePage: SCAN returns keys in pages; every user is
// listed once.
func TestUsersScansPastOnePage(t *testing.T) {
	s := newStore(t)
	pipe := s.Client().Pipeline()
	for i := 0; i < 2500; i++ {
		pipe.HSet(ctx, s.userKey(fmt.Sprintf("u%04d", i)), "pro|admin", `{"product":"pro","source":"admin"}`)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Users(ctx, "pro")
	if err != nil || len(got) != 2500 || got[0] != "u0000" || got[2499] != "u2499" {
		t.Fatalf("%d users, %v", len(got), err)
	}
}

func TestAuditFiltering(t *testing.T) {
	s := newStore(t)
	for i := 0; i < 5; i++ {
		u := []string{"alice", "bob"}[i%2]
		must(t)(s.Grant(ctx, payment(fmt.Sprint("evt_", i), u, "pro", fmt.Sprint("pi_", i), t0.Add(time.Duration(i)*time.Minute))))
	}
	must(t)(s.Revoke(ctx, refund("evt_r", "pi_unknown", t0.Add(time.Hour)))) // a tombstone: no user
	tests := []struct {
		user    string
		limit   int
		sources string
	}{
		{"alice", 0, "pi_4,pi_2,pi_0"},
		{"alice", 2, "pi_4,pi_2"},
		{"bob", 0, "pi_3,pi_1"},
		{"", 0, "pi_unknown,pi_4,pi_3,pi_2,pi_1,pi_0"},
		{"", 3, "pi_unknown,pi_4,pi_3"},
		{"carol", 10, ""},
	}
	for _, tt := range tests {
		entries, err := s.Audit(ctx, tt.user, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Source)
		}
		if strings.Join(got, ",") != tt.sources {
			t.Errorf("Audit(%q, %d) = %v, want %s", tt.user, tt.limit, got, tt.sources)
		}
	}
	entries, _ := s.Audit(ctx, "alice", 1)
	if e := entries[0]; !e.Time.Equal(t0.Add(4*time.Minute)) || e.Cause != "evt_4" || e.ID == "" {
		t.Fatalf("entry: %+v", e)
	}
}

func TestAuditPagesPastOneRead(t *testing.T) {
	s := newStore(t)
	pipe := s.Client().Pipeline()
	for i := 0; i < 2500; i++ {
		u := "bob"
		if i%1000 == 0 {
			u = "alice"
		}
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.auditKey(), Values: []any{"action", "grant", "user", u, "source", fmt.Sprint("pi_", i)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Audit(ctx, "alice", 0)
	if err != nil || len(entries) != 3 || entries[0].Source != "pi_2000" || entries[2].Source != "pi_0" {
		t.Fatalf("%+v %v", entries, err)
	}
	all, _ := s.Audit(ctx, "", 0)
	if len(all) != 2500 {
		t.Fatalf("%d entries", len(all))
	}
}

func TestChangesArePublished(t *testing.T) {
	s := newStore(t)
	sub := s.Client().Subscribe(ctx, s.ChangesChannel())
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	next := func() string {
		t.Helper()
		msg, err := sub.ReceiveTimeout(ctx, 2*time.Second)
		if err != nil {
			t.Fatalf("no message: %v", err)
		}
		return msg.(*redis.Message).Payload
	}
	must(t)(s.Grant(ctx, payment("evt_1", "alice:1", "pro", "pi_1", t0)))
	if u := next(); u != "alice:1" {
		t.Fatalf("published %q", u)
	}
	// What changes nothing publishes nothing: a duplicate, the same payment
	// again, an acknowledged event, a pending session. The next message is
	// then the revoke's.
	must(t)(s.Grant(ctx, payment("evt_1", "alice:1", "pro", "pi_1", t0)))
	must(t)(s.Grant(ctx, payment("", "alice:1", "pro", "pi_1", t0)))
	must(t)(s.Acknowledge(ctx, meta("evt_2", t0)))
	must(t)(s.MarkPending(ctx, meta("evt_3", t0), "cs_x", "carol", "pro"))
	must(t)(s.Revoke(ctx, refund("evt_4", "pi_1", t0.Add(time.Hour))))
	if u := next(); u != "alice:1" {
		t.Fatalf("published %q", u)
	}
	must(t)(s.SetSubscription(ctx, subscription("evt_5", "bob", "club", "sub_1", "active", true, t0.Add(day), t0)))
	if u := next(); u != "bob" {
		t.Fatalf("published %q", u)
	}
}
