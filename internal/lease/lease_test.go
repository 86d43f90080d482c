package lease_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/lease"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

// openDB opens a fresh, migrated business database on engine e.
func openDB(t *testing.T, e testenv.Engine) *store.DB {
	t.Helper()
	cfg := store.Config{Path: filepath.Join(t.TempDir(), "gigvault.db")}
	if e.Postgres() {
		cfg = store.Config{URL: e.SchemaURL(t)}
	}
	db, err := store.OpenMigrated(ctx, cfg, store.Main)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func acquire(t *testing.T, db *store.DB, clk clock.Clock, holder string, ttl time.Duration) bool {
	t.Helper()
	ok, err := lease.Acquire(ctx, db, clk, "work", holder, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestLease(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := openDB(t, e)
			start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

			t.Run("two holders contend", func(t *testing.T) {
				clk := clock.NewFake(start)
				if !acquire(t, db, clk, "node-a", time.Minute) {
					t.Fatal("node-a could not take a free lease")
				}
				if acquire(t, db, clk, "node-b", time.Minute) {
					t.Fatal("node-b took node-a's running lease")
				}
				clk.Advance(50 * time.Second)
				if !acquire(t, db, clk, "node-a", time.Minute) {
					t.Fatal("node-a could not renew its own lease")
				}
				l, ok, err := lease.Current(ctx, db, "work")
				if err != nil || !ok || l.Holder != "node-a" || !l.ExpiresAt.Equal(start.Add(110*time.Second)) {
					t.Fatalf("current = %+v %v %v, want node-a until %s", l, ok, err, start.Add(110*time.Second))
				}
				// The renewal moved the expiry: at the old one node-b still loses.
				clk.Advance(10 * time.Second)
				if acquire(t, db, clk, "node-b", time.Minute) {
					t.Fatal("node-b took a renewed lease at its old expiry")
				}
				if err := lease.Release(ctx, db, "work", "node-a"); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("expiry hands over", func(t *testing.T) {
				clk := clock.NewFake(start)
				if !acquire(t, db, clk, "node-a", time.Minute) {
					t.Fatal("node-a could not take a free lease")
				}
				clk.Advance(time.Minute - time.Microsecond)
				if acquire(t, db, clk, "node-b", time.Minute) {
					t.Fatal("node-b took the lease a microsecond before it lapsed")
				}
				clk.Advance(time.Microsecond)
				if !acquire(t, db, clk, "node-b", time.Minute) {
					t.Fatal("node-b could not take a lapsed lease")
				}
				if acquire(t, db, clk, "node-a", time.Minute) {
					t.Fatal("node-a renewed a lease node-b had taken over")
				}
				if err := lease.Release(ctx, db, "work", "node-b"); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("release", func(t *testing.T) {
				clk := clock.NewFake(start)
				if !acquire(t, db, clk, "node-a", time.Hour) {
					t.Fatal("node-a could not take a free lease")
				}
				// Releasing someone else's lease changes nothing.
				if err := lease.Release(ctx, db, "work", "node-b"); err != nil {
					t.Fatal(err)
				}
				if acquire(t, db, clk, "node-b", time.Hour) {
					t.Fatal("node-b took the lease after releasing a lease it did not hold")
				}
				if err := lease.Release(ctx, db, "work", "node-a"); err != nil {
					t.Fatal(err)
				}
				if _, ok, err := lease.Current(ctx, db, "work"); ok || err != nil {
					t.Fatalf("a released lease is still recorded (%v)", err)
				}
				if !acquire(t, db, clk, "node-b", time.Hour) {
					t.Fatal("node-b could not take a released lease")
				}
				if err := lease.Release(ctx, db, "work", "node-b"); err != nil {
					t.Fatal(err)
				}
			})

			t.Run("other names are independent", func(t *testing.T) {
				clk := clock.NewFake(start)
				a, err := lease.Acquire(ctx, db, clk, "sweep", "node-a", time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				b, err := lease.Acquire(ctx, db, clk, "deadlines", "node-b", time.Minute)
				if err != nil || !a || !b {
					t.Fatalf("two names: %v %v %v", a, b, err)
				}
				for _, n := range []struct{ name, holder string }{{"sweep", "node-a"}, {"deadlines", "node-b"}} {
					if err := lease.Release(ctx, db, n.name, n.holder); err != nil {
						t.Fatal(err)
					}
				}
			})

			t.Run("concurrent acquires have one winner", func(t *testing.T) {
				for round := range 5 {
					clk := clock.NewFake(start.Add(time.Duration(round) * time.Hour))
					const nodes = 16
					var wg sync.WaitGroup
					won := make([]bool, nodes)
					errs := make([]error, nodes)
					gate := make(chan struct{})
					for i := range nodes {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-gate
							won[i], errs[i] = lease.Acquire(ctx, db, clk, "race", fmt.Sprintf("node-%d", i), time.Minute)
						}()
					}
					close(gate)
					wg.Wait()
					winners := 0
					for i := range nodes {
						if errs[i] != nil {
							t.Fatalf("node-%d: %v", i, errs[i])
						}
						if won[i] {
							winners++
						}
					}
					if winners != 1 {
						t.Fatalf("round %d: %d winners, want exactly 1", round, winners)
					}
					// The next round starts an hour later: the lease has lapsed.
				}
			})

			t.Run("bad arguments", func(t *testing.T) {
				clk := clock.NewFake(start)
				if _, err := lease.Acquire(ctx, db, clk, "work", "", time.Minute); err == nil {
					t.Error("an empty holder was accepted")
				}
				if _, err := lease.Acquire(ctx, db, clk, "work", "node-a", 0); err == nil {
					t.Error("a zero TTL was accepted")
				}
			})
		})
	}
}
