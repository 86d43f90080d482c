package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Sessions (ACC-10): opaque 256-bit tokens, of which only a digest is
// stored; idle and absolute time-outs; a cap per user (the oldest session
// gives way) and a cap in total (new log-ins wait).

// TokenPrefix starts every session token, so secret scanners recognise one.
const TokenPrefix = "gvs_"

var (
	errNoSession = errs.New(errs.Unauthenticated, "", "请先登录", "sign in first")
	errExpired   = errs.New(errs.Unauthenticated, "", "登录已过期，请重新登录", "the session has expired: sign in again")
	errFull      = errs.New(errs.Unavailable, "", "当前在线人数已达上限，请稍后再试", "too many people are signed in: try again shortly")
)

// SessionInfo describes a session without its token.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IdleUntil  time.Time `json:"idle_until"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

func (s *Service) tokenHash(token string) []byte { return cryptox.Digest(s.suite, []byte(token)) }

// startSession opens a session for a, making room under the per-user cap,
// and audits the log-in.
func (s *Service) startSession(ctx context.Context, a Account, method string, registered bool) (LoginResult, error) {
	token := randomToken(TokenPrefix, 32)
	now := s.now()
	info := SessionInfo{ID: newID(), CreatedAt: now, LastSeenAt: now, IdleUntil: now.Add(s.cfg.idle(a.Kind)),
		ExpiresAt: now.Add(s.cfg.absolute(a.Kind)), Current: true}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var live int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`, now.UnixMicro()).Scan(&live); err != nil {
			return fmt.Errorf("identity: session: %w", err)
		}
		if live >= s.cfg.GlobalSessions {
			if err := s.sweep(ctx, tx); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > ?`, now.UnixMicro()).Scan(&live); err != nil {
				return fmt.Errorf("identity: session: %w", err)
			}
			if live >= s.cfg.GlobalSessions {
				return errFull.After(time.Minute)
			}
		}
		evicted, err := s.makeRoom(ctx, tx, a)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, account_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			info.ID, s.tokenHash(token), a.ID, now.UnixMicro(), now.UnixMicro(), info.ExpiresAt.UnixMicro()); err != nil {
			return fmt.Errorf("identity: session: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET last_active_at = ? WHERE id = ?`, now.UnixMicro(), a.ID); err != nil {
			return fmt.Errorf("identity: session: %w", err)
		}
		detail := map[string]string{"method": method, "session": info.ID}
		if registered {
			detail["registered"] = "true"
		}
		if len(evicted) > 0 {
			detail["evicted"] = strings.Join(evicted, ",")
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: string(a.Kind) + ":" + a.ID, Channel: "api", Action: "auth.login",
			Subject: a.SubjectID, Detail: detail})
	})
	if err != nil {
		if errs.Is(err, errs.Unavailable) {
			_ = s.record(ctx, audit.Entry{Actor: string(a.Kind) + ":" + a.ID, Action: "auth.login", Subject: a.SubjectID,
				Outcome: "session_limit", Detail: map[string]string{"method": method}})
		}
		return LoginResult{}, err
	}
	s.C.LoginsOK.Add(1)
	return LoginResult{Token: token, Session: info, Account: a, Registered: registered}, nil
}

// makeRoom revokes the account's oldest live sessions so that a new one
// fits under its cap, and returns their IDs.
func (s *Service) makeRoom(ctx context.Context, tx *store.Tx, a Account) ([]string, error) {
	now := s.now()
	idleCut := now.Add(-s.cfg.idle(a.Kind)).UnixMicro()
	rows, err := tx.Query(ctx, `SELECT id FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ?
		ORDER BY created_at DESC, id DESC`, a.ID, now.UnixMicro(), idleCut)
	if err != nil {
		return nil, fmt.Errorf("identity: session cap: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("identity: session cap: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	limit := s.cfg.sessionCap(a.Kind)
	if len(ids) < limit {
		return nil, nil
	}
	evict := ids[limit-1:]
	s.C.SessionsEvicted.Add(uint64(len(evict)))
	for _, id := range evict {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = 'session_cap' WHERE id = ?`, now.UnixMicro(), id); err != nil {
			return nil, fmt.Errorf("identity: session cap: %w", err)
		}
	}
	return evict, nil
}

// sweep ends sessions past their idle time-out, by kind of account.
func (s *Service) sweep(ctx context.Context, tx *store.Tx) error {
	now := s.now()
	for _, k := range []Kind{Worker, Employer, Staff} {
		_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = 'idle' WHERE revoked_at IS NULL AND last_seen_at < ?
			AND account_id IN (SELECT id FROM accounts WHERE kind = ?)`, now.UnixMicro(), now.Add(-s.cfg.idle(k)).UnixMicro(), string(k))
		if err != nil {
			return fmt.Errorf("identity: sweep sessions: %w", err)
		}
	}
	return nil
}

// Authenticate turns a bearer token into a Principal, enforcing the idle
// and absolute time-outs and the account's status. The last-seen time is
// written at most every TouchEvery.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) != len(TokenPrefix)+43 {
		return nil, errNoSession
	}
	var p Principal
	var kind, status string
	var lastSeen, expires int64
	err := s.db.QueryRow(ctx, `SELECT s.id, s.account_id, s.last_seen_at, s.expires_at, a.kind, a.subject_id, COALESCE(a.org_id, ''), a.status
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = ? AND s.revoked_at IS NULL`,
		s.tokenHash(token)).Scan(&p.SessionID, &p.AccountID, &lastSeen, &expires, &kind, &p.SubjectID, &p.OrgID, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("identity: authenticate: %w", err)
	}
	p.Kind = kind
	now := s.now()
	reason := ""
	switch {
	case status != Active:
		reason = "account_" + status
	case now.UnixMicro() >= expires:
		reason = "absolute_timeout"
	case now.Sub(time.UnixMicro(lastSeen)) > s.cfg.idle(Kind(kind)):
		reason = "idle_timeout"
	}
	if reason != "" {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			res, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL`, now.UnixMicro(), reason, p.SessionID)
			if err != nil {
				return fmt.Errorf("identity: expire session: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			return s.log.Append(ctx, tx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "auth.session_end", Subject: p.SubjectID,
				Outcome: reason, Detail: map[string]string{"session": p.SessionID}})
		})
		if err != nil {
			return nil, err
		}
		return nil, errExpired
	}
	if now.Sub(time.UnixMicro(lastSeen)) >= s.cfg.TouchEvery {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, now.UnixMicro(), p.SessionID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE accounts SET last_active_at = ? WHERE id = ?`, now.UnixMicro(), p.AccountID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("identity: touch session: %w", err)
		}
	}
	if p.Roles, err = roles(ctx, s.db, p.AccountID); err != nil {
		return nil, err
	}
	return &p, nil
}

// Sessions lists the caller's live sessions.
func (s *Service) Sessions(ctx context.Context, p *Principal) ([]SessionInfo, error) {
	now := s.now()
	idle := s.cfg.idle(Kind(p.Kind))
	rows, err := s.db.Query(ctx, `SELECT id, created_at, last_seen_at, expires_at FROM sessions
		WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ? ORDER BY created_at DESC`,
		p.AccountID, now.UnixMicro(), now.Add(-idle).UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("identity: sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		var si SessionInfo
		var c, l, e int64
		if err := rows.Scan(&si.ID, &c, &l, &e); err != nil {
			return nil, fmt.Errorf("identity: sessions: %w", err)
		}
		si.CreatedAt, si.LastSeenAt, si.ExpiresAt = time.UnixMicro(c).UTC(), time.UnixMicro(l).UTC(), time.UnixMicro(e).UTC()
		si.IdleUntil = si.LastSeenAt.Add(idle)
		si.Current = si.ID == p.SessionID
		out = append(out, si)
	}
	return out, rows.Err()
}

// Revoke ends one of the caller's own sessions ("" = the current one: log-out).
func (s *Service) Revoke(ctx context.Context, p *Principal, id string) error {
	if id == "" {
		id = p.SessionID
	}
	reason := "revoked"
	if id == p.SessionID {
		reason = "logout"
	}
	var found bool
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`,
			s.now().UnixMicro(), reason, id, p.AccountID)
		if err != nil {
			return fmt.Errorf("identity: revoke: %w", err)
		}
		n, _ := res.RowsAffected()
		found = n == 1
		if !found {
			return nil
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "auth." + reason, Subject: p.SubjectID,
			Detail: map[string]string{"session": id}})
	})
	if err != nil {
		return err
	}
	if !found {
		// Another account's session looks exactly like a missing one.
		return errs.New(errs.NotFound, "id", "会话不存在或已结束", "no such live session")
	}
	return nil
}

// revokeAll ends every live session of an account inside tx.
func (s *Service) revokeAll(ctx context.Context, tx *store.Tx, account, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ?, revoked_reason = ? WHERE account_id = ? AND revoked_at IS NULL`,
		s.now().UnixMicro(), reason, account)
	if err != nil {
		return fmt.Errorf("identity: revoke sessions: %w", err)
	}
	return nil
}

// IsStaff reports whether the principal is a staff member.
func IsStaff(p *Principal) bool { return p != nil && p.Kind == string(Staff) }

// StaffRoles lists the roles staff accounts may hold.
func StaffRoles() []policy.Role { return append([]policy.Role(nil), staffRoles...) }
