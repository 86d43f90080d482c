package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/sms"
	"gigvault/internal/store"
)

// SMS one-time codes (GIG-1, DSR-7): 6 digits, CodeTTL lifetime, CodeTries
// tries per code, ResendCooldown between codes to one number, CodesPerDay
// per number; a new code supersedes the previous one. The number is kept
// only as a keyed digest; the code only as a keyed digest bound to its
// challenge ID.

// Code purposes.
const (
	CodeLogin  = "login"  // log in or register
	CodeVerify = "verify" // re-verify the signed-in person before a sensitive act (DSR-7)
	CodeSign   = "sign"   // the act of intent when signing a contract
	CodeRights = "rights" // a data-subject rights request (DSR-7)
	CodeCancel = "cancel" // the second confirmation of an account cancellation (DSR-5)
)

var codePurposes = []string{CodeLogin, CodeVerify, CodeSign, CodeRights, CodeCancel}

var templateOf = map[string]string{CodeLogin: "login_code", CodeVerify: "verify_code", CodeSign: "sign_intent",
	CodeRights: "rights_code", CodeCancel: "cancel_code"}

// Challenge is a sent code, as the client sees it.
type Challenge struct {
	ID        string    `json:"challenge_id"`
	ExpiresAt time.Time `json:"expires_at"`
	ResendAt  time.Time `json:"resend_at"`
}

var (
	errBadCode      = errs.New(errs.Invalid, "code", "验证码错误或已过期", "the code is wrong or has expired")
	errCodeTries    = errs.New(errs.Invalid, "code", "验证码尝试次数过多，请重新获取", "too many tries for this code: request a new one")
	errCodePurpose  = errs.New(errs.Invalid, "purpose", "验证码用途无效", "unknown code purpose")
	errResendTooSon = errs.New(errs.RateLimited, "mobile", "发送过于频繁，请稍后再试", "a code was sent moments ago: wait before asking again")
	errDailyCodes   = errs.New(errs.RateLimited, "mobile", "今日验证码发送次数已达上限", "too many codes sent to this number today")
)

// NormaliseMobile validates a mainland mobile number and returns it in
// canonical form, or an invalid error naming the field "mobile".
func NormaliseMobile(m string) (string, error) {
	n, err := format.Normalize(format.KindMobile, m)
	if err != nil {
		return "", errs.Wrap(errs.Invalid, "mobile", "手机号码格式不正确", "not a valid mainland mobile number", err)
	}
	return n, nil
}

func (s *Service) numberTag(purpose, number string) []byte { return s.keys.Tag("sms", purpose, number) }

func (s *Service) codeTag(id, code string) []byte { return s.keys.Tag("sms-code", id, code) }

// SendCode sends a code for purpose to a mobile number. It says nothing
// about whether the number has an account.
func (s *Service) SendCode(ctx context.Context, mobile, purpose string) (Challenge, error) {
	if !slices.Contains(codePurposes, purpose) {
		return Challenge{}, errCodePurpose
	}
	number, err := NormaliseMobile(mobile)
	if err != nil {
		return Challenge{}, err
	}
	if err := s.checkLocked(ctx, s.lockTag("number", number)); err != nil {
		return Challenge{}, err
	}
	code, err := sixDigits()
	if err != nil {
		return Challenge{}, err
	}
	tag := s.numberTag(purpose, number)
	now := s.now()
	ch := Challenge{ID: newID(), ExpiresAt: now.Add(s.cfg.CodeTTL), ResendAt: now.Add(s.cfg.ResendCooldown)}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		// Parallel sends to one number queue here on PostgreSQL, so the
		// cool-down and the daily cap hold (SQLite's writes are serial).
		if err := lockNumber(ctx, tx, tag); err != nil {
			return fmt.Errorf("identity: send code: %w", err)
		}
		var last, oldest sql.NullInt64
		var n int
		dayAgo := now.Add(-24 * time.Hour).UnixMicro()
		if err := tx.QueryRow(ctx, `SELECT MAX(created_at), MIN(created_at), COUNT(*) FROM sms_codes WHERE number_tag = ? AND created_at > ?`,
			tag, dayAgo).Scan(&last, &oldest, &n); err != nil {
			return fmt.Errorf("identity: send code: %w", err)
		}
		if last.Valid {
			if wait := time.UnixMicro(last.Int64).Add(s.cfg.ResendCooldown).Sub(now); wait > 0 {
				return errResendTooSon.After(wait)
			}
		}
		if n >= s.cfg.CodesPerDay {
			return errDailyCodes.After(time.UnixMicro(oldest.Int64).Add(24 * time.Hour).Sub(now))
		}
		// The new code supersedes any earlier one.
		if _, err := tx.Exec(ctx, `UPDATE sms_codes SET used_at = ? WHERE number_tag = ? AND used_at IS NULL`, now.UnixMicro(), tag); err != nil {
			return fmt.Errorf("identity: send code: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sms_codes (id, number_tag, purpose, code_tag, created_at, expires_at, tries) VALUES (?, ?, ?, ?, ?, ?, 0)`,
			ch.ID, tag, purpose, s.codeTag(ch.ID, code), now.UnixMicro(), ch.ExpiresAt.UnixMicro()); err != nil {
			return fmt.Errorf("identity: send code: %w", err)
		}
		// Codes older than a day are of no further use to the limits.
		if _, err := tx.Exec(ctx, `DELETE FROM sms_codes WHERE created_at < ?`, dayAgo); err != nil {
			return fmt.Errorf("identity: send code: %w", err)
		}
		return nil
	})
	if err == nil {
		_, err = s.sms.Send(ctx, sms.Message{To: number, Template: templateOf[purpose],
			Params: map[string]string{"code": code, "minutes": strconv.Itoa(int(s.cfg.CodeTTL / time.Minute))}})
		if err != nil {
			// Void the code: the person never received it.
			_, _ = s.db.Exec(ctx, `UPDATE sms_codes SET used_at = ? WHERE id = ?`, now.UnixMicro(), ch.ID)
		} else {
			s.C.CodesSent.Add(1)
		}
	}
	// Recorded once the outcome is known, gateway failures included.
	outcome := "ok"
	if err != nil {
		outcome = string(errs.CodeOf(err))
	}
	if aerr := s.record(ctx, audit.Entry{Actor: authActor.ID, Action: "auth.sms_send", Outcome: outcome,
		Detail: map[string]string{"challenge": ch.ID, "purpose": purpose, "gateway": s.sms.Name()}}); aerr != nil {
		return Challenge{}, aerr
	}
	if err != nil {
		return Challenge{}, err
	}
	return ch, nil
}

func sixDigits() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("identity: code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// checkCode verifies the latest code sent to number for purpose. The code's
// try is counted whether or not it matches, so the sixth try fails even
// with the right code; failures also count towards the number's lock-out.
func (s *Service) checkCode(ctx context.Context, number, purpose, code string) (string, error) {
	lock := s.lockTag("number", number)
	n, err := s.attempt(ctx, lock)
	if err != nil {
		return "", err
	}
	tag := s.numberTag(purpose, number)
	now := s.now().UnixMicro()
	var verdict error
	var id string
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		verdict = nil
		var ctag []byte
		var expires int64
		var tries int
		var used sql.NullInt64
		// On PostgreSQL the row is locked, so concurrent checks of one code
		// see each other's tries and use: a code signs in once. SQLite's
		// write transactions are serial already.
		q := `SELECT id, code_tag, expires_at, tries, used_at FROM sms_codes WHERE number_tag = ?
			ORDER BY created_at DESC LIMIT 1`
		if tx.Engine() == store.Postgres {
			q += ` FOR UPDATE`
		}
		err := tx.QueryRow(ctx, q, tag).Scan(&id, &ctag, &expires, &tries, &used)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			verdict = errBadCode
		case err != nil:
			return fmt.Errorf("identity: check code: %w", err)
		case used.Valid || expires < now:
			verdict = errBadCode
		case tries >= s.cfg.CodeTries:
			verdict = errCodeTries
		default:
			if _, err := tx.Exec(ctx, `UPDATE sms_codes SET tries = tries + 1 WHERE id = ?`, id); err != nil {
				return fmt.Errorf("identity: check code: %w", err)
			}
			if !hmac.Equal(ctag, s.codeTag(id, code)) {
				verdict = errBadCode
				if tries+1 >= s.cfg.CodeTries {
					verdict = errCodeTries
				}
			} else if _, err := tx.Exec(ctx, `UPDATE sms_codes SET used_at = ? WHERE id = ?`, now, id); err != nil {
				return fmt.Errorf("identity: check code: %w", err)
			}
		}
		if verdict == nil {
			return clearFailures(ctx, tx, lock)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if verdict != nil {
		s.C.CodesRejected.Add(1)
		return id, s.failed(n, verdict)
	}
	return id, nil
}

// reopenCode makes a just-used code usable again, for a registration that
// was refused only for want of the policy agreement; its tries still count.
func (s *Service) reopenCode(ctx context.Context, id string) {
	_, _ = s.db.Exec(ctx, `UPDATE sms_codes SET used_at = NULL WHERE id = ?`, id)
}

// VerifyCode checks a fresh code sent to the signed-in person's own number
// (DSR-7: the requester is verified before a request is carried out).
func (s *Service) VerifyCode(ctx context.Context, p *Principal, purpose, code string) error {
	if purpose == CodeLogin || !slices.Contains(codePurposes, purpose) {
		return errCodePurpose
	}
	number, err := s.ownNumber(ctx, p)
	if err != nil {
		return err
	}
	_, err = s.checkCode(ctx, number, purpose, code)
	outcome := "ok"
	if err != nil {
		outcome = string(errs.CodeOf(err))
	}
	if aerr := s.record(ctx, audit.Entry{Actor: p.ActorID(), Action: "auth.verify_code", Subject: p.SubjectID,
		Outcome: outcome, Detail: map[string]string{"purpose": purpose}}); aerr != nil {
		return aerr
	}
	return err
}

// SendOwnCode sends a verification code to the signed-in person's number.
func (s *Service) SendOwnCode(ctx context.Context, p *Principal, purpose string) (Challenge, error) {
	if purpose == CodeLogin {
		return Challenge{}, errCodePurpose
	}
	number, err := s.ownNumber(ctx, p)
	if err != nil {
		return Challenge{}, err
	}
	return s.SendCode(ctx, number, purpose)
}

func (s *Service) ownNumber(ctx context.Context, p *Principal) (string, error) {
	if p.Kind == string(Staff) {
		return "", errs.New(errs.Forbidden, "", "工作人员账户没有登记手机号码", "staff accounts have no mobile number on file")
	}
	return s.guard.OwnValue(ctx, p, "mobile", "security_risk_control")
}
