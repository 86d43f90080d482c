package identity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/credential"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Staff log-in (ACC-9): password (argon2id) and TOTP (RFC 6238), both
// required. Credentials are sealed together under the staff member's data
// key; the last accepted TOTP step is kept beside them so no code works
// twice.

var errStaffLogin = errs.New(errs.Unauthenticated, "", "登录名、密码或动态口令错误", "wrong login name, password or one-time code")

type creds struct {
	PasswordHash string `json:"p"`
	TOTPSecret   string `json:"t"`
	uri          string
}

func checkPassword(pw, loginName string) error {
	if err := credential.CheckStrength(pw, loginName); err != nil {
		if e := errs.As(err); e.Code == errs.Invalid {
			c := *e
			c.Field = "password"
			return &c
		}
		return err
	}
	return nil
}

func (s *Service) newCredentials(loginName, password string) (creds, error) {
	h, err := credential.HashPassword(password, s.cfg.Password)
	if err != nil {
		return creds{}, fmt.Errorf("identity: hash password: %w", err)
	}
	secret, uri, err := credential.NewTOTP(s.cfg.TOTPIssuer, loginName)
	if err != nil {
		return creds{}, fmt.Errorf("identity: totp: %w", err)
	}
	return creds{PasswordHash: h, TOTPSecret: secret, uri: uri}, nil
}

func credAAD(account string) []byte { return []byte("gigvault/staff-credentials/" + account) }

func (s *Service) storeCredentials(ctx context.Context, tx *store.Tx, a Account, c creds, resetStep bool) error {
	pt, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("identity: credentials: %w", err)
	}
	sealed, ver, err := s.keys.Seal(ctx, a.SubjectID, pt, credAAD(a.ID))
	clear(pt)
	if err != nil {
		return fmt.Errorf("identity: seal credentials: %w", err)
	}
	now := s.now().UnixMicro()
	if resetStep {
		_, err = tx.Exec(ctx, `INSERT INTO staff_credentials (account_id, dek_version, sealed, totp_step, updated_at) VALUES (?, ?, ?, 0, ?)
			ON CONFLICT (account_id) DO UPDATE SET dek_version = excluded.dek_version, sealed = excluded.sealed, totp_step = 0, updated_at = excluded.updated_at`,
			a.ID, ver, sealed, now)
	} else {
		_, err = tx.Exec(ctx, `UPDATE staff_credentials SET dek_version = ?, sealed = ?, updated_at = ? WHERE account_id = ?`, ver, sealed, now, a.ID)
	}
	if err != nil {
		return fmt.Errorf("identity: store credentials: %w", err)
	}
	return nil
}

func (s *Service) loadCredentials(ctx context.Context, a Account) (creds, int64, error) {
	c, step, _, err := s.loadCredentialsAt(ctx, a)
	return c, step, err
}

// loadCredentialsAt also returns when they were last written, for a
// compare-and-swap.
func (s *Service) loadCredentialsAt(ctx context.Context, a Account) (creds, int64, int64, error) {
	var ver int
	var sealed []byte
	var step, updated int64
	err := s.db.QueryRow(ctx, `SELECT dek_version, sealed, totp_step, updated_at FROM staff_credentials WHERE account_id = ?`, a.ID).Scan(&ver, &sealed, &step, &updated)
	if err != nil {
		return creds{}, 0, 0, fmt.Errorf("identity: credentials: %w", err)
	}
	pt, err := s.keys.Open(ctx, a.SubjectID, ver, sealed, credAAD(a.ID))
	if err != nil {
		return creds{}, 0, 0, fmt.Errorf("identity: open credentials: %w", err)
	}
	var c creds
	err = json.Unmarshal(pt, &c)
	clear(pt)
	if err != nil {
		return creds{}, 0, 0, fmt.Errorf("identity: credentials: %w", err)
	}
	return c, step, updated, nil
}

// dummyHash makes a log-in for an unknown name cost what a real one costs,
// with the configured parameters.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = credential.HashPassword("not a password of anyone", s.cfg.Password)
	})
	return s.dummy
}

var errBusy = errs.New(errs.Unavailable, "", "登录请求过多，请稍后再试", "too many log-ins at once: try again shortly")

// verifyPassword runs argon2id in one of a bounded number of slots: each run
// takes the configured memory (64 MiB by default), so unbounded concurrent
// log-ins would exhaust the server. Waiting past two seconds answers
// unavailable with Retry-After.
func (s *Service) verifyPassword(ctx context.Context, hash, pw string) (bool, error) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
	case <-t.C:
		return false, errBusy.After(time.Second)
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashSlots }()
	ok, _, _ := credential.VerifyPassword(hash, pw, s.cfg.Password)
	return ok, nil
}

// StaffLogin is a staff log-in.
type StaffLogin struct {
	LoginName, Password, TOTP string
}

// LoginStaff checks password and TOTP and starts a session.
func (s *Service) LoginStaff(ctx context.Context, in StaffLogin) (LoginResult, error) {
	name := strings.ToLower(strings.TrimSpace(in.LoginName))
	lock := s.lockTag("staff", name)
	n, err := s.attempt(ctx, lock)
	if err != nil {
		if aerr := s.record(ctx, audit.Entry{Actor: authActor.ID, Action: "auth.login", Outcome: "locked", Detail: map[string]string{"method": "password+totp"}}); aerr != nil {
			return LoginResult{}, aerr
		}
		return LoginResult{}, err
	}
	a, err := scanAccount(s.db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE login_name = ? AND kind = 'staff'`, name))
	known := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return LoginResult{}, fmt.Errorf("identity: staff log-in: %w", err)
	}
	ok := false
	var c creds
	var step int64
	if known {
		if c, step, err = s.loadCredentials(ctx, a); err != nil {
			return LoginResult{}, err
		}
	}
	hash := s.dummyHash()
	if known {
		hash = c.PasswordHash
	}
	pwOK, err := s.verifyPassword(ctx, hash, in.Password)
	if err != nil {
		return LoginResult{}, err
	}
	if known {
		newStep, totpOK := credential.VerifyTOTP(c.TOTPSecret, in.TOTP, s.now(), step)
		ok = pwOK && totpOK
		if ok {
			// Claim the step: a code seen once is never accepted again,
			// even by a concurrent log-in.
			res, err := s.db.Exec(ctx, `UPDATE staff_credentials SET totp_step = ? WHERE account_id = ? AND totp_step = ?`, newStep, a.ID, step)
			if err != nil {
				return LoginResult{}, fmt.Errorf("identity: staff log-in: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				ok = false
			}
		}
	}
	actor := authActor.ID
	if known {
		actor = "staff:" + a.ID
	}
	if !ok {
		verdict := s.failed(n, errStaffLogin)
		detail := map[string]string{"method": "password+totp"}
		if errs.Is(verdict, errs.RateLimited) {
			detail["locked"] = "true"
		}
		if err := s.record(ctx, audit.Entry{Actor: actor, Action: "auth.login", Subject: a.SubjectID, Outcome: "failed", Detail: detail}); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, verdict
	}
	// Right credentials: now say whether the account may be used.
	if a.Status == Active && s.now().Sub(s.lastActive(ctx, a.ID)) > s.cfg.StaffIdleDisable {
		if err := s.db.InTx(ctx, func(tx *store.Tx) error { return s.setStatus(ctx, tx, a, Disabled, "idle", "system:identity") }); err != nil {
			return LoginResult{}, err
		}
		a.Status = Disabled
	}
	if a.Status != Active {
		if err := s.record(ctx, audit.Entry{Actor: actor, Action: "auth.login", Subject: a.SubjectID, Outcome: "disabled", Detail: map[string]string{"method": "password+totp"}}); err != nil {
			return LoginResult{}, err
		}
		return LoginResult{}, errDisabled
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM auth_lockouts WHERE key_tag = ?`, lock); err != nil {
		return LoginResult{}, fmt.Errorf("identity: staff log-in: %w", err)
	}
	if a.Roles, err = roles(ctx, s.db, a.ID); err != nil {
		return LoginResult{}, err
	}
	return s.startSession(ctx, a, "password+totp", false)
}

func (s *Service) lastActive(ctx context.Context, account string) time.Time {
	var at int64
	if err := s.db.QueryRow(ctx, `SELECT last_active_at FROM accounts WHERE id = ?`, account).Scan(&at); err != nil {
		return s.now()
	}
	return time.UnixMicro(at)
}

// ResetCredentials gives another staff member a new password, a new TOTP
// secret, or both (ACC-9): only a security administrator may, never for
// their own account; the target's sessions end and lock-out is cleared.
// The new secrets are returned once. It needs another security
// administrator's approval: without approvalID a request is filed and
// approval_required answered with its ID; with the ID of a request approved
// for exactly this account and what is reset, the reset runs once.
func (s *Service) ResetCredentials(ctx context.Context, by *Principal, account string, password, totp bool, approvalID string) (StaffEnrolment, error) {
	if !by.Has(policy.SecurityAdmin) {
		return StaffEnrolment{}, errs.New(errs.Forbidden, "", "只有安全管理员可以重置凭据", "only security administrators reset credentials")
	}
	if account == by.AccountID {
		return StaffEnrolment{}, errs.New(errs.Forbidden, "id", "重置自己的凭据须由另一名安全管理员操作", "another security administrator must reset your credentials").With("self_reset", nil, "")
	}
	if !password && !totp {
		return StaffEnrolment{}, errs.New(errs.Invalid, "password", "请指定重置密码或动态口令", "reset the password, the TOTP secret, or both")
	}
	a, err := s.Account(ctx, account)
	if err != nil {
		return StaffEnrolment{}, err
	}
	if a.Kind != Staff {
		return StaffEnrolment{}, errs.New(errs.Invalid, "id", "只能重置工作人员账户的凭据", "only staff accounts have credentials to reset")
	}
	var what []string
	if password {
		what = append(what, "password")
	}
	if totp {
		what = append(what, "totp")
	}
	params := approval.Params{Subjects: []string{account}, Fields: what, Purpose: PurposeStaffManagement}
	if err := s.staffGate(ctx, by, policy.ResetCredentials, params, approvalID, "account.reset_credentials", a.SubjectID, "reset "+strings.Join(what, ",")+" of "+account); err != nil {
		return StaffEnrolment{}, err
	}
	c, _, err := s.loadCredentials(ctx, a)
	if err != nil {
		return StaffEnrolment{}, err
	}
	enr := StaffEnrolment{Account: a}
	fresh, err := s.newCredentials(a.LoginName, randomToken("", 18))
	if err != nil {
		return StaffEnrolment{}, err
	}
	if password {
		enr.Password = randomToken("", 18)
		if c.PasswordHash, err = credential.HashPassword(enr.Password, s.cfg.Password); err != nil {
			return StaffEnrolment{}, fmt.Errorf("identity: reset: %w", err)
		}
	}
	if totp {
		c.TOTPSecret, enr.TOTPURI = fresh.TOTPSecret, fresh.uri
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.consumeStaff(ctx, tx, by, policy.ResetCredentials, params, approvalID); err != nil {
			return err
		}
		if err := s.storeCredentials(ctx, tx, a, c, totp); err != nil {
			return err
		}
		if err := clearFailures(ctx, tx, s.lockTag("staff", a.LoginName)); err != nil {
			return err
		}
		if err := s.revokeAll(ctx, tx, a.ID, "credentials_reset"); err != nil {
			return err
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: by.ActorID(), Channel: "api", Action: "account.reset_credentials", Subject: a.SubjectID,
			Detail: map[string]string{"account": a.ID, "reset": strings.Join(what, ","), "approval": approvalID}})
	})
	if err != nil {
		return StaffEnrolment{}, err
	}
	return enr, nil
}

// ChangePassword lets a staff member replace their own password, proving
// the current one and a fresh TOTP code.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next, totp string) error {
	if p.Kind != string(Staff) {
		return errs.New(errs.Forbidden, "", "只有工作人员账户使用密码", "only staff accounts have passwords")
	}
	a, err := s.Account(ctx, p.AccountID)
	if err != nil {
		return err
	}
	c, step, updated, err := s.loadCredentialsAt(ctx, a)
	if err != nil {
		return err
	}
	lock := s.lockTag("staff", a.LoginName)
	n, err := s.attempt(ctx, lock)
	if err != nil {
		return err
	}
	pwOK, err := s.verifyPassword(ctx, c.PasswordHash, current)
	if err != nil {
		return err
	}
	newStep, totpOK := credential.VerifyTOTP(c.TOTPSecret, totp, s.now(), step)
	if !pwOK || !totpOK {
		// Counts towards the lock-out like a failed log-in; the session
		// stays valid, so the answer is 403, not 401.
		if err := s.record(ctx, audit.Entry{Actor: p.ActorID(), Action: "account.change_password", Subject: a.SubjectID, Outcome: "failed"}); err != nil {
			return err
		}
		return s.failed(n, errs.New(errs.Forbidden, "current_password", "当前密码或动态口令错误", "the current password or one-time code is wrong"))
	}
	if err := checkPassword(next, a.LoginName); err != nil {
		if e := errs.As(err); e.Field == "password" {
			c := *e
			c.Field = "new_password"
			return &c
		}
		return err
	}
	if c.PasswordHash, err = credential.HashPassword(next, s.cfg.Password); err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		// Claim the TOTP step and check nothing changed the credentials
		// since they were read (a concurrent reset or log-in): the code is
		// used once, and a reset is never silently undone.
		res, err := tx.Exec(ctx, `UPDATE staff_credentials SET totp_step = ? WHERE account_id = ? AND totp_step = ? AND updated_at = ?`,
			newStep, a.ID, step, updated)
		if err != nil {
			return fmt.Errorf("identity: change password: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errs.New(errs.Conflict, "", "凭据刚被更改，请重新操作", "the credentials changed meanwhile: try again")
		}
		if err := s.storeCredentials(ctx, tx, a, c, false); err != nil {
			return err
		}
		if err := clearFailures(ctx, tx, lock); err != nil {
			return err
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "account.change_password", Subject: a.SubjectID})
	})
}

// Unlock clears a lock-out on a staff account before it runs out (security
// administrators).
func (s *Service) Unlock(ctx context.Context, by *Principal, account string) error {
	if !by.Has(policy.SecurityAdmin) {
		return errs.New(errs.Forbidden, "", "只有安全管理员可以解除锁定", "only security administrators unlock accounts")
	}
	a, err := s.Account(ctx, account)
	if err != nil {
		return err
	}
	if a.Kind != Staff {
		// A worker's lock-out is on their number and runs out by itself.
		return errs.New(errs.Invalid, "id", "只能解除工作人员账户的锁定", "only staff accounts are unlocked this way")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := clearFailures(ctx, tx, s.lockTag("staff", a.LoginName)); err != nil {
			return err
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: by.ActorID(), Channel: "api", Action: "account.unlock", Subject: a.SubjectID,
			Detail: map[string]string{"account": a.ID}})
	})
}
