package sqlite_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/wildwarden/wildwarden"
)

// BenchmarkSession measures the read the console makes on every request:
// one session by its token hash, among 10,000 live sessions, serially
// and from as many goroutines as GOMAXPROCS.
func BenchmarkSession(b *testing.B) {
	s, _ := open(b)
	defer s.Close()
	ctx := context.Background()
	tn := &wildwarden.Tenant{Name: "shop"}
	if err := s.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	u := &wildwarden.User{TenantID: tn.ID, Name: "alice", Role: wildwarden.RoleReviewer}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	const sessions = 10_000
	hashes := make([][]byte, sessions)
	expires := time.Now().Add(time.Hour)
	for i := range hashes {
		h := sha256.Sum256(fmt.Appendf(nil, "token %d", i))
		hashes[i] = h[:]
		if err := s.CreateSession(ctx, &wildwarden.ConsoleSession{TokenHash: hashes[i], TenantID: tn.ID, UserID: u.ID, Role: u.Role, CSRF: "c", ExpiresAt: expires}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	b.Run("serial", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Session(ctx, hashes[i%sessions], now); err != nil {
				b.Fatal(err)
			}
			i += 7919 // a prime: visits every session, out of order
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Session(ctx, hashes[i%sessions], now); err != nil {
					b.Error(err)
					return
				}
				i += 7919
			}
		})
	})
}
