// Package lease lets one node at a time do a piece of background work —
// the retention sweep, deadline clocks, deliveries — when several gigvault
// nodes share one PostgreSQL database (or, harmlessly, one SQLite file).
//
// A lease is a row of the leases table: a name, the holder (a node ID) and
// when it lapses. Acquire takes a free or lapsed lease, or renews one the
// caller already holds, in a single conditional statement
// (INSERT … ON CONFLICT (name) DO UPDATE … WHERE), so two nodes racing for
// it cannot both win on either engine: PostgreSQL serialises the
// conflicting upserts on the row and re-checks the WHERE against the
// winner's version; SQLite has one writer. Release gives it up early.
//
// Times come from the injected clock of each node, so nodes' clocks must
// agree to well within the TTL. A lease is an optimisation, not a lock that
// correctness may rest on: a holder that stalls past its TTL loses the
// lease to another node while it may still be working, so work done under
// a lease must itself be safe to run twice or concurrently (the retention
// sweeper's deletions are: each row is deleted and counted once). Holders
// renew between units of work and stop when a renewal fails.
package lease

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/store"
)

// Acquire takes the lease name for holder until ttl from now, and reports
// whether holder has it: true when the lease was free, had lapsed (its
// expiry is at or before now), or was already holder's (then it is
// renewed); false, without error, while another holder's lease runs.
func Acquire(ctx context.Context, db *store.DB, clk clock.Clock, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" {
		return false, errors.New("lease: name and holder are required")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("lease %s: ttl must be positive, not %s", name, ttl)
	}
	now := clk.Now()
	res, err := db.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("lease %s: acquire: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("lease %s: acquire: %w", name, err)
	}
	return n == 1, nil
}

// Release gives up holder's lease name, so another node need not wait for
// it to lapse. Releasing a lease one does not hold changes nothing.
func Release(ctx context.Context, db *store.DB, name, holder string) error {
	if _, err := db.Exec(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("lease %s: release: %w", name, err)
	}
	return nil
}

// Lease is the current state of a lease, for operators' messages.
type Lease struct {
	Name, Holder string
	ExpiresAt    time.Time
}

// Current returns the lease name as recorded, and false when nobody holds
// it (no row). A returned lease may have lapsed: compare ExpiresAt with now.
func Current(ctx context.Context, db *store.DB, name string) (Lease, bool, error) {
	l := Lease{Name: name}
	var exp int64
	err := db.QueryRow(ctx, `SELECT holder, expires_at FROM leases WHERE name = ?`, name).Scan(&l.Holder, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: read: %w", name, err)
	}
	l.ExpiresAt = time.UnixMicro(exp).UTC()
	return l, true, nil
}
