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

// attempt counts an authentication attempt against tag before it is
// checked, in one atomic statement, and refuses it when tag is locked. The
// count is of attempts since the last success: the caller clears it when the
// attempt succeeds. Counting first means a burst of parallel guesses cannot
// all be checked before the lock-out applies. It returns the attempt's
// number in the current run.
func (s *Service) attempt(ctx context.Context, tag []byte) (int, error) {
	now := s.now().UnixMicro()
	lockAt := now + s.cfg.LockoutDuration.Microseconds()
	first := int64(0) // locked_until for a first attempt
	if s.cfg.LockoutThreshold <= 1 {
		first = lockAt
	}
	windowStart := now - s.cfg.LockoutWindow.Microseconds()
	const reset = `(auth_lockouts.first_failure_at < ? OR (auth_lockouts.locked_until <> 0 AND auth_lockouts.locked_until <= ?))`
	var n int
	var until int64
	err := s.db.QueryRowWriter(ctx, `INSERT INTO auth_lockouts (key_tag, failures, first_failure_at, locked_until) VALUES (?, 1, ?, ?)
		ON CONFLICT (key_tag) DO UPDATE SET
		failures = CASE WHEN `+reset+` THEN 1 ELSE auth_lockouts.failures + 1 END,
		first_failure_at = CASE WHEN `+reset+` THEN ? ELSE auth_lockouts.first_failure_at END,
		locked_until = CASE WHEN `+reset+` THEN ? WHEN auth_lockouts.locked_until > ? THEN auth_lockouts.locked_until
			WHEN auth_lockouts.failures + 1 >= ? THEN ? ELSE 0 END
		RETURNING failures, locked_until`,
		tag, now, first,
		windowStart, now,
		windowStart, now, now,
		windowStart, now, first, now, s.cfg.LockoutThreshold, lockAt,
	).Scan(&n, &until)
	if err != nil {
		return 0, fmt.Errorf("identity: lock-out: %w", err)
	}
	if n > s.cfg.LockoutThreshold && until > now {
		return n, errLocked.After(time.Duration(until-now) * time.Microsecond)
	}
	return n, nil
}

// failed records that attempt n failed and returns the error to answer:
// errLocked once the run reached the threshold, else wrong.
func (s *Service) failed(n int, wrong error) error {
	s.C.LoginsFailed.Add(1)
	if n >= s.cfg.LockoutThreshold {
		if n == s.cfg.LockoutThreshold {
			s.C.Lockouts.Add(1)
		}
		return errLocked.After(s.cfg.LockoutDuration)
	}
	return wrong
}

// PruneLockouts forgets counters whose run and lock are over, and returns
// how many. serve runs it hourly.
func (s *Service) PruneLockouts(ctx context.Context) (int64, error) {
	now := s.now().UnixMicro()
	res, err := s.db.Exec(ctx, `DELETE FROM auth_lockouts WHERE locked_until <= ? AND first_failure_at < ?`,
		now, now-s.cfg.LockoutWindow.Microseconds())
	if err != nil {
		return 0, fmt.Errorf("identity: prune lock-outs: %w", err)
	}
	return res.RowsAffected()
}

// clearFailures forgets tag's failures after a success or an unlock.
func clearFailures(ctx context.Context, tx *store.Tx, tag []byte) error {
	if _, err := tx.Exec(ctx, `DELETE FROM auth_lockouts WHERE key_tag = ?`, tag); err != nil {
		return fmt.Errorf("identity: lock-out: %w", err)
	}
	return nil
}
