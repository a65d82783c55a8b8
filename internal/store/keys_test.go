package store

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var hostileUsers = []string{
	"alice", "alice:x", "alice%3Ax", "alice%3ax", "alice|pro", "a}b", "a{b}c", "a\nb", "a\r\nb", "a\x00b",
	"", " ", "*", "?", "[a]", "%", "%%", "%25", "ålice", "日本", "\xff\xfe", "{paywall}:user:alice",
	"../alice", "alice user", "a\\b", "🙂",
}

func TestEncodeUser(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"a.b_c~d@e-f", "a.b_c~d@e-f"},
		{"alice:x", "alice%3Ax"},
		{"alice%3Ax", "alice%253Ax"},
		{"a}b", "a%7Db"},
		{"a\nb", "a%0Ab"},
		{"", ""},
		{"é", "%C3%A9"},
		{"*", "%2A"},
		{"|", "%7C"},
	}
	for _, tt := range tests {
		if got := EncodeUser(tt.in); got != tt.want {
			t.Errorf("EncodeUser(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeUserIsInjective(t *testing.T) {
	seen := map[string]string{}
	for _, u := range hostileUsers {
		enc := EncodeUser(u)
		if other, ok := seen[enc]; ok {
			t.Fatalf("%q and %q both encode to %q", u, other, enc)
		}
		seen[enc] = u
		for i := 0; i < len(enc); i++ {
			if !isPlain(enc[i]) && enc[i] != '%' {
				t.Fatalf("%q encodes to %q, with a raw %q", u, enc, enc[i])
			}
		}
		dec, err := DecodeUser(enc)
		if err != nil || dec != u {
			t.Fatalf("DecodeUser(EncodeUser(%q)) = %q, %v", u, dec, err)
		}
	}
	// Every single byte, and every pair of bytes, encodes distinctly.
	all := map[string]bool{}
	for a := 0; a < 256; a++ {
		for b := -1; b < 256; b += 7 {
			u := string([]byte{byte(a)})
			if b >= 0 {
				u += string([]byte{byte(b)})
			}
			enc := EncodeUser(u)
			if all[enc] {
				t.Fatalf("%q encodes to an encoding seen before: %q", u, enc)
			}
			all[enc] = true
		}
	}
}

func TestDecodeUserRejectsWhatEncodeNeverWrites(t *testing.T) {
	for _, enc := range []string{"alice%3ax", "%41lice", "a:b", "a%", "a%4", "a%G1", "a b", "a\nb", "a}b"} {
		if u, err := DecodeUser(enc); err == nil {
			t.Errorf("DecodeUser(%q) = %q, want an error", enc, u)
		}
	}
}

// TestUserIDsCannotReachOtherKeys: hostile user ids land each in a key of
// their own, through the Lua encoder as well as the Go one.
func TestUserIDsCannotReachOtherKeys(t *testing.T) {
	s := newStore(t)
	var users []string
	for _, u := range hostileUsers {
		if u != "" {
			users = append(users, u)
		}
	}
	for i, u := range users {
		must(t)(s.Grant(ctx, payment(fmt.Sprintf("evt_%d", i), u, fmt.Sprintf("p%d", i), fmt.Sprintf("pi_%d", i), t0)))
	}
	for i, u := range users {
		e, err := s.Entitlements(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Grants) != 1 || e.Grants[0].Product != fmt.Sprintf("p%d", i) || !e.Grants[0].LiveAt(t0) {
			t.Fatalf("%q sees %+v", u, e.Grants)
		}
		// The customer-of key, written by Lua, is read back by Go.
		if c, err := s.CustomerOf(ctx, u); err != nil || c != "cus_"+EncodeUser(u) {
			t.Fatalf("customer of %q: %q %v", u, c, err)
		}
	}
	// An admin revoke of "alice:x" for alice's product touches "alice:x" only.
	must(t)(s.Revoke(ctx, RevokeRequest{Meta: adminMeta(t0.Add(time.Hour)), Source: SourceAdmin, User: "alice:x", Product: "p0"}))
	if !live(t, s, "alice", "p0", t0.Add(2*time.Hour)) || !live(t, s, "alice:x", "p1", t0.Add(2*time.Hour)) {
		t.Fatal("an admin revoke of a hostile id reached another user")
	}
	got, err := s.Users(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\x00") != strings.Join(sorted(users), "\x00") {
		t.Fatalf("Users = %q, want %q", got, sorted(users))
	}
	if _, err := s.Grant(ctx, payment("evt_empty", "", "pro", "pi_e", t0)); err == nil {
		t.Fatal("a grant to the empty user id was accepted")
	}
}

func TestDefaultPrefix(t *testing.T) {
	s := New(nil, "")
	if s.Prefix() != "{paywall}:" || s.ChangesChannel() != "{paywall}:changes" || s.userKey("a:b") != "{paywall}:user:a%3Ab" {
		t.Fatalf("prefix %q, channel %q, key %q", s.Prefix(), s.ChangesChannel(), s.userKey("a:b"))
	}
}

// TestLuaEncodesUsersAsGo: the scripts compute a user's keys themselves,
// also for users they find in Redis (the user a payment intent maps to),
// so passing the encoded key from Go cannot replace prelude.lua's enc().
// Here the scripts' own prelude, on the real redis-server, encodes every
// byte, alone and between plain ones, and odd and multi-byte strings
// exactly as EncodeUser does.
func TestLuaEncodesUsersAsGo(t *testing.T) {
	s := newStore(t)
	prelude, err := luaFiles.ReadFile("lua/prelude.lua")
	if err != nil {
		t.Fatal(err)
	}
	// The prelude's head reads ARGV[1..4]; the users follow.
	encode := redis.NewScript(string(prelude) + `
local out = {}
for i = 5, #ARGV do out[#out + 1] = enc(ARGV[i]) end
return out`)

	var users []string
	var every []byte
	for c := 0; c < 256; c++ {
		users = append(users, string([]byte{byte(c)}), "a"+string([]byte{byte(c)})+"Z", string([]byte{byte(c), byte(c)}))
		every = append(every, byte(c))
	}
	users = append(users, string(every), strings.Repeat(string(every), 40))
	users = append(users, hostileUsers...)
	users = append(users, "%", "%25", "%%41", "%C3%A9", "é", "\xc3", "\xe6\x97", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\U0010FFFF", "\ufeffalice", "a\u200bb", "ﬁ", "İ", "a\tb\vc\fd", "\x7f\x80\x9f\xa0", "%zz", "[^%w]", "%s", "%%s")
	rnd := rand.New(rand.NewPCG(10, 10))
	for range 500 {
		b := make([]byte, rnd.IntN(64))
		for i := range b {
			b[i] = byte(rnd.IntN(256))
		}
		users = append(users, string(b))
	}

	args := []any{s.Prefix(), `{"now_ms":0,"event":""}`, `{}`, ""}
	for _, u := range users {
		args = append(args, u)
	}
	got, err := encode.Run(ctx, s.Client(), []string{s.auditKey()}, args...).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(users) {
		t.Fatalf("%d encodings for %d users", len(got), len(users))
	}
	for i, u := range users {
		if want := EncodeUser(u); got[i] != want {
			t.Errorf("user %q: Lua encodes %q, Go %q", u, got[i], want)
		}
	}
}
