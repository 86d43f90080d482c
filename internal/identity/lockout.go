package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Lock-outs (ACC-10): LockoutThreshold consecutive failures within
// LockoutWindow lock the account or number for LockoutDuration. Counters are
// kept by keyed digest ("tag") so the table names nobody.

var errLocked = errs.New(errs.RateLimited, "", "失败次数过多，账户已临时锁定，请稍后再试",
	"too many failed attempts: temporarily locked, try again later")

func (s *Service) lockTag(kind, id string) []byte { return s.keys.Tag("lockout", kind, id) }

// lockedFor reports how long the tag stays locked (0: not locked).
func (s *Service) lockedFor(ctx context.Context, tag []byte) (time.Duration, error) {
	var until int64
	err := s.db.QueryRow(ctx, `SELECT locked_until FROM auth_lockouts WHERE key_tag = ?`, tag).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("identity: lock-out: %w", err)
	}
	if d := time.UnixMicro(until).Sub(s.now()); d > 0 {
		return d, nil
	}
	return 0, nil
}

// checkLocked returns errLocked with Retry-After when tag is locked.
func (s *Service) checkLocked(ctx context.Context, tag []byte) error {
	d, err := s.lockedFor(ctx, tag)
	if err != nil {
		return err
	}
	if d > 0 {
		return errLocked.After(d)
	}
	return nil
}

// fail counts one failure against tag and reports whether it is now locked.
func (s *Service) fail(ctx context.Context, tx *store.Tx, tag []byte) (bool, error) {
	now := s.now().UnixMicro()
	var failures int
	var first, until int64
	err := tx.QueryRow(ctx, `SELECT failures, first_failure_at, locked_until FROM auth_lockouts WHERE key_tag = ?`, tag).Scan(&failures, &first, &until)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		failures, first = 0, now
	case err != nil:
		return false, fmt.Errorf("identity: lock-out: %w", err)
	}
	if now-first > s.cfg.LockoutWindow.Microseconds() || (until != 0 && until <= now) {
		failures, first, until = 0, now, 0 // a new run of failures
	}
	failures++
	locked := failures >= s.cfg.LockoutThreshold
	s.C.LoginsFailed.Add(1)
	if locked {
		s.C.Lockouts.Add(1)
		until = now + s.cfg.LockoutDuration.Microseconds()
	}
	_, err = tx.Exec(ctx, `INSERT INTO auth_lockouts (key_tag, failures, first_failure_at, locked_until) VALUES (?, ?, ?, ?)
		ON CONFLICT (key_tag) DO UPDATE SET failures = excluded.failures, first_failure_at = excluded.first_failure_at,
		locked_until = excluded.locked_until`, tag, failures, first, until)
	if err != nil {
		return false, fmt.Errorf("identity: lock-out: %w", err)
	}
	return locked, nil
}

// clearFailures forgets tag's failures after a success or an unlock.
func clearFailures(ctx context.Context, tx *store.Tx, tag []byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM auth_lockouts WHERE key_tag = ?`, tag); err != nil {
		return fmt.Errorf("identity: lock-out: %w", err)
	}
	return nil
}
