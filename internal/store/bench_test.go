package store

import (
	"fmt"
	"testing"
	"time"
)

// The hot-path read and the webhook write, against a real redis-server.

func BenchmarkEntitlements(b *testing.B) {
	s := newStore(b)
	now := time.Now()
	for i, p := range []string{"pro", "course", "pro"} {
		if _, err := s.Grant(ctx, payment(fmt.Sprint("evt_b", i), "alice", p, fmt.Sprint("pi_b", i), now)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := s.Entitlements(ctx, "alice")
		if err != nil || len(e.Grants) != 3 {
			b.Fatal(len(e.Grants), err)
		}
	}
}

func BenchmarkGrant(b *testing.B) {
	s := newStore(b)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint(i)
		r, err := s.Grant(ctx, payment("evt_"+id, "user"+id, "pro", "pi_"+id, now))
		if err != nil || r.Changed != 1 {
			b.Fatal(r, err)
		}
	}
}
