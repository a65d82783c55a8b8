package store

import (
	"fmt"
	"testing"
	"time"
)

// The hot-path read and the webhook write against a real redis-server.

func BenchmarkEntitlements(b *testing.B) {
	s := newStore(b)
	if _, err := s.Grant(ctx, payment("evt_b", "alice", "pro", "pi_b", time.Now())); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Entitlements(ctx, "alice"); err != nil {
			b.Fatal(err)
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
		if _, err := s.Grant(ctx, payment("evt_"+id, "user"+id, "pro", "pi_"+id, now)); err != nil {
			b.Fatal(err)
		}
	}
}
