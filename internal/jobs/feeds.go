package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gigvault/internal/errs"
)

// Calendar feeds: a worker subscribes a calendar application to a secret
// URL; only the token's digest is stored, so a copy of the database gives
// no working URL.

var errNoFeed = errs.New(errs.NotFound, "token", "日历订阅链接无效或已撤销", "no such calendar feed, or it was revoked")

// CreateFeed records a feed token digest for subject.
func (s *Store) CreateFeed(ctx context.Context, subject string, hash []byte) error {
	if _, err := s.db.Exec(ctx, `INSERT INTO calendar_feeds (token_hash, subject_id, created_at) VALUES (?, ?, ?)`,
		hash, subject, s.now().UnixMicro()); err != nil {
		return fmt.Errorf("jobs: calendar feed: %w", err)
	}
	return nil
}

// FeedSubject returns the subject of a live feed token digest.
func (s *Store) FeedSubject(ctx context.Context, hash []byte) (string, error) {
	var subject string
	err := s.db.QueryRow(ctx, `SELECT f.subject_id FROM calendar_feeds f JOIN subjects s ON s.id = f.subject_id
		WHERE f.token_hash = ? AND f.revoked_at IS NULL AND s.erased_at IS NULL`, hash).Scan(&subject)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoFeed
	}
	if err != nil {
		return "", fmt.Errorf("jobs: calendar feed: %w", err)
	}
	return subject, nil
}

// RevokeFeeds revokes every feed of subject and says how many were live.
func (s *Store) RevokeFeeds(ctx context.Context, subject string) (int, error) {
	res, err := s.db.Exec(ctx, `UPDATE calendar_feeds SET revoked_at = ? WHERE subject_id = ? AND revoked_at IS NULL`, s.now().UnixMicro(), subject)
	if err != nil {
		return 0, fmt.Errorf("jobs: calendar feed: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// UndoReveal clears the record of a contact reveal whose read failed, so
// the employer keeps their one reveal.
func (s *Store) UndoReveal(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, `UPDATE applications SET contact_revealed_at = NULL, contact_revealed_by = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("jobs: undo reveal: %w", err)
	}
	return nil
}
