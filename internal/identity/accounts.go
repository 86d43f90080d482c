package identity

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/obs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Account statuses.
const (
	Active   = "active"
	Disabled = "disabled"
)

var (
	errNoAccount = errs.New(errs.NotFound, "id", "账户不存在", "no such account")
	errDisabled  = errs.New(errs.Forbidden, "", "账户已停用，请联系平台", "this account is disabled: contact the platform")
	errConsent   = errs.New(errs.ConsentRequired, "agree_policy", "注册须阅读并同意隐私政策", "registering needs your agreement to the privacy policy").
			With(policy.ReasonConsentRequired, []string{"privacy_policy"}, "")
)

const accountCols = `id, kind, subject_id, COALESCE(org_id, ''), COALESCE(login_name, ''), status, created_at`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var kind string
	var created int64
	err := row.Scan(&a.ID, &kind, &a.SubjectID, &a.OrgID, &a.LoginName, &a.Status, &created)
	a.Kind, a.CreatedAt = Kind(kind), time.UnixMicro(created).UTC()
	return a, err
}

func roles(ctx context.Context, q store.Querier, account string) ([]policy.Role, error) {
	rows, err := q.Query(ctx, `SELECT role FROM account_roles WHERE account_id = ? ORDER BY role`, account)
	if err != nil {
		return nil, fmt.Errorf("identity: roles: %w", err)
	}
	defer rows.Close()
	var out []policy.Role
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("identity: roles: %w", err)
		}
		out = append(out, policy.Role(r))
	}
	return out, rows.Err()
}

// Account returns one account with its roles.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	a, err := scanAccount(s.db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, errNoAccount
	}
	if err != nil {
		return a, fmt.Errorf("identity: account: %w", err)
	}
	a.Roles, err = roles(ctx, s.db, id)
	return a, err
}

// Accounts lists staff accounts (kind "staff") or others, newest first.
func (s *Service) Accounts(ctx context.Context, kind Kind, limit int) ([]Account, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE kind = ? ORDER BY created_at DESC LIMIT ?`, string(kind), limit)
	if err != nil {
		return nil, fmt.Errorf("identity: accounts: %w", err)
	}
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("identity: accounts: %w", err)
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Roles, err = roles(ctx, s.db, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Organisation is an employer.
type Organisation struct {
	Name        string `json:"name"`
	USCC        string `json:"uscc"`         // unified social credit code, GB 32100
	ContactName string `json:"contact_name"` // the registering member: PI, kept in the vault
}

func (o *Organisation) validate() error {
	o.Name = strings.TrimSpace(o.Name)
	if n := utf8.RuneCountInString(o.Name); n < 2 || n > 100 {
		return errs.New(errs.Invalid, "organisation.name", "请填写单位名称（2 至 100 个字）", "the organisation name must be 2 to 100 characters")
	}
	u, err := format.Normalize(format.KindUSCC, o.USCC)
	if err != nil {
		return errs.Wrap(errs.Invalid, "organisation.uscc", "统一社会信用代码无效（校验码不符）", "not a valid unified social credit code", err)
	}
	o.USCC = u
	if o.ContactName != "" {
		if err := format.Validate(format.KindPersonName, o.ContactName); err != nil {
			return errs.Wrap(errs.Invalid, "organisation.contact_name", "联系人姓名格式不正确", "the contact name is not valid", err)
		}
	}
	return nil
}

// SMSLogin is a log-in or registration by mobile number and SMS code.
type SMSLogin struct {
	Mobile string
	Code   string
	// Registration only: the privacy policy must be agreed to explicitly;
	// nothing beyond the number is asked of a worker (CAT-2, GIG-1).
	AgreePolicy   bool
	PolicyVersion string        // the version shown; "" means the current one
	Channel       string        // app | web | mini_program | api
	ClientIP      string        // pseudonymised into the consent evidence
	RegisterAs    Kind          // worker (default) or employer
	Organisation  *Organisation // employer registration
}

// LoginResult is a new session.
type LoginResult struct {
	Token      string      `json:"token"`
	Session    SessionInfo `json:"session"`
	Account    Account     `json:"account"`
	Registered bool        `json:"registered"` // a new account was created
}

// LoginSMS verifies the code and signs in, registering the number first if
// it has no account.
func (s *Service) LoginSMS(ctx context.Context, in SMSLogin) (LoginResult, error) {
	number, err := NormaliseMobile(in.Mobile)
	if err != nil {
		return LoginResult{}, err
	}
	if in.RegisterAs == "" {
		in.RegisterAs = Worker
	}
	if in.RegisterAs != Worker && in.RegisterAs != Employer {
		return LoginResult{}, errs.New(errs.Invalid, "register_as", "只能注册为求职者或用人单位", "register as worker or employer")
	}
	if in.RegisterAs == Employer && in.Organisation != nil {
		if err := in.Organisation.validate(); err != nil {
			return LoginResult{}, err
		}
	}
	codeID, err := s.checkCode(ctx, number, CodeLogin, in.Code)
	if err != nil {
		_ = s.record(ctx, audit.Entry{Actor: authActor.ID, Action: "auth.login", Outcome: string(errs.CodeOf(err)),
			Detail: map[string]string{"method": "sms"}})
		return LoginResult{}, err
	}
	acct, found, err := s.accountByNumber(ctx, number)
	if err != nil {
		return LoginResult{}, err
	}
	registered := false
	if found && acct.Status != Active {
		_ = s.record(ctx, audit.Entry{Actor: string(acct.Kind) + ":" + acct.ID, Action: "auth.login", Subject: acct.SubjectID,
			Outcome: "disabled", Detail: map[string]string{"method": "sms"}})
		return LoginResult{}, errDisabled
	}
	if !found {
		if !in.AgreePolicy {
			s.reopenCode(ctx, codeID)
			return LoginResult{}, s.refusedRegistration(ctx, errConsent)
		}
		invited := ""
		if in.RegisterAs == Employer && in.Organisation == nil {
			if invited, err = s.pendingInvite(ctx, s.db, number); err != nil {
				return LoginResult{}, err
			}
		}
		if in.RegisterAs == Employer && in.Organisation == nil && invited == "" {
			s.reopenCode(ctx, codeID)
			return LoginResult{}, s.refusedRegistration(ctx, errs.New(errs.Invalid, "organisation", "注册用人单位须填写单位名称和统一社会信用代码", "an employer registration needs the organisation's name and code"))
		}
		acct, registered, err = s.register(ctx, number, in)
		if err != nil {
			// The transaction, and the look-up it recorded, rolled back:
			// record the refused registration on its own.
			return LoginResult{}, s.refusedRegistration(ctx, err)
		}
	}
	return s.startSession(ctx, acct, "sms", registered)
}

// refusedRegistration records a registration that did not happen and
// returns why (or the audit failure).
func (s *Service) refusedRegistration(ctx context.Context, why error) error {
	if err := s.record(ctx, audit.Entry{Actor: authActor.ID, Action: "account.register", Purpose: "account_registration",
		Outcome: string(errs.CodeOf(why))}); err != nil {
		return err
	}
	return why
}

// accountByNumber finds the account holding a mobile number through the
// vault's blind index.
func (s *Service) accountByNumber(ctx context.Context, number string) (Account, bool, error) {
	return s.accountByNumberTx(ctx, nil, number)
}

// accountByNumberTx is accountByNumber inside tx (audited in it), or on its
// own when tx is nil.
func (s *Service) accountByNumberTx(ctx context.Context, tx *store.Tx, number string) (Account, bool, error) {
	var ms []vault.Match
	var err error
	if tx != nil {
		ms, err = s.vault.FindTx(ctx, tx, authActor, "account_registration", "mobile", number)
	} else {
		ms, err = s.vault.Find(ctx, authActor, "account_registration", "mobile", number)
	}
	if err != nil {
		return Account{}, false, err
	}
	for _, m := range ms {
		a, err := scanAccount(s.db.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE subject_id = ? AND kind <> 'staff'`, m.Subject))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Account{}, false, fmt.Errorf("identity: account by number: %w", err)
		}
		if a.Roles, err = roles(ctx, s.db, a.ID); err != nil {
			return Account{}, false, err
		}
		return a, true, nil
	}
	return Account{}, false, nil
}

// lockNumber serialises the transactions about one number (by its tag).
func lockNumber(ctx context.Context, tx *store.Tx, tag []byte) error {
	return tx.LockKey(ctx, "gigvault/number/"+hex.EncodeToString(tag))
}

func (s *Service) register(ctx context.Context, number string, in SMSLogin) (Account, bool, error) {
	var acct Account
	registered := false
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockNumber(ctx, tx, s.keys.Tag("register", number)); err != nil {
			return fmt.Errorf("identity: register: %w", err)
		}
		// Someone may have registered this number since we looked.
		a, found, err := s.accountByNumberTx(ctx, tx, number)
		if err != nil {
			return err
		}
		if found {
			acct, registered = a, false
			return nil
		}
		subject, err := s.vault.CreateSubject(ctx, tx, string(in.RegisterAs))
		if err != nil {
			return err
		}
		now := s.now()
		acct = Account{ID: newID(), Kind: in.RegisterAs, SubjectID: subject, Status: Active, CreatedAt: now}
		role := policy.Worker
		items := []vault.Item{{Field: "mobile", Value: number}}
		if in.RegisterAs == Employer && in.Organisation == nil {
			// Joining on an invitation, which is used up.
			role = policy.EmployerMember
			if acct.OrgID, err = s.pendingInvite(ctx, tx, number); err != nil {
				return err
			}
			if acct.OrgID == "" {
				return errs.New(errs.Invalid, "organisation", "邀请已失效", "the invitation has expired")
			}
			if _, err := tx.Exec(ctx, `DELETE FROM org_invites WHERE number_tag = ?`, s.keys.Tag("invite", number)); err != nil {
				return fmt.Errorf("identity: register: %w", err)
			}
		} else if in.RegisterAs == Employer {
			role = policy.EmployerMember
			org := in.Organisation
			acct.OrgID = newID()
			if _, err := tx.Exec(ctx, `INSERT INTO organisations (id, name, uscc, created_at) VALUES (?, ?, ?, ?)`,
				acct.OrgID, org.Name, org.USCC, now.UnixMicro()); err != nil {
				if store.IsUniqueViolation(err) {
					return errs.New(errs.Conflict, "organisation.uscc", "该统一社会信用代码已注册，请由已注册的成员邀请加入", "this organisation is registered: ask a member to invite you")
				}
				return fmt.Errorf("identity: register organisation: %w", err)
			}
			if org.ContactName != "" {
				items = append(items, vault.Item{Field: "employer_contact_name", Value: org.ContactName})
			}
		}
		acct.Roles = []policy.Role{role}
		if err := s.insertAccount(ctx, tx, acct, "", "self-registration"); err != nil {
			return err
		}
		if err := s.vault.PutTx(ctx, tx, vault.Actor{ID: string(acct.Kind) + ":" + acct.ID, Channel: "api"}, "account_registration", subject, items...); err != nil {
			return err
		}
		actor := string(acct.Kind) + ":" + acct.ID
		eventID, version, err := s.consent.AgreePolicyTx(ctx, tx, consent.PolicyAgreement{Subject: subject, Version: in.PolicyVersion,
			Channel: in.Channel, IP: in.ClientIP, Actor: actor})
		if err != nil {
			return err
		}
		registered = true
		return s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: "api", Action: "account.register",
			Subject: subject, Purpose: "account_registration", Detail: map[string]string{"kind": string(acct.Kind), "policy_version": version,
				"consent": eventID}})
	})
	return acct, registered, err
}

func (s *Service) insertAccount(ctx context.Context, tx *store.Tx, a Account, loginName, grantedBy string) error {
	var login, org any
	if loginName != "" {
		login = loginName
	}
	if a.OrgID != "" {
		org = a.OrgID
	}
	now := a.CreatedAt.UnixMicro()
	if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, kind, subject_id, org_id, login_name, status, created_at, last_active_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, string(a.Kind), a.SubjectID, org, login, a.Status, now, now); err != nil {
		if store.IsUniqueViolation(err) {
			return errs.New(errs.Conflict, "login_name", "该登录名已被使用", "this login name is taken")
		}
		return fmt.Errorf("identity: create account: %w", err)
	}
	for _, r := range a.Roles {
		if _, err := tx.Exec(ctx, `INSERT INTO account_roles (account_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)`,
			a.ID, string(r), grantedBy, now); err != nil {
			return fmt.Errorf("identity: grant role: %w", err)
		}
	}
	return nil
}

// Invitation is what an inviting employer member is told: the same answer
// whether or not the number already has an account, so inviting cannot be
// used to learn who is registered.
type Invitation struct {
	Invited   bool      `json:"invited"`
	ExpiresAt time.Time `json:"expires_at"`
}

// invitesPerDay bounds how many invitations one organisation sends a day.
const invitesPerDay = 50

// inviteTTL is how long an invitation waits for its number's owner.
const inviteTTL = 7 * 24 * time.Hour

// InviteMember invites a mobile number to join the caller's employer
// organisation. Nothing is created for the number: its owner joins by
// signing in with an SMS code, agreeing to the privacy policy and
// registering as an employer without naming an organisation. A number that
// already has an account cannot join (one account per person) and the
// invitation simply expires.
func (s *Service) InviteMember(ctx context.Context, by *Principal, mobile string) (Invitation, error) {
	if by.Kind != string(Employer) || by.OrgID == "" {
		return Invitation{}, errs.New(errs.Forbidden, "", "只有用人单位成员可以邀请成员", "only employer members may invite members")
	}
	number, err := NormaliseMobile(mobile)
	if err != nil {
		return Invitation{}, err
	}
	now := s.now()
	inv := Invitation{Invited: true, ExpiresAt: now.Add(inviteTTL)}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM org_invites WHERE org_id = ? AND created_at > ?`,
			by.OrgID, now.Add(-24*time.Hour).UnixMicro()).Scan(&n); err != nil {
			return fmt.Errorf("identity: invite: %w", err)
		}
		if n >= invitesPerDay {
			return errs.New(errs.RateLimited, "", "今日邀请次数已达上限", "this organisation sent too many invitations today").After(time.Hour)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO org_invites (number_tag, org_id, invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (number_tag, org_id) DO UPDATE SET invited_by = excluded.invited_by, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			s.keys.Tag("invite", number), by.OrgID, by.AccountID, now.UnixMicro(), inv.ExpiresAt.UnixMicro()); err != nil {
			return fmt.Errorf("identity: invite: %w", err)
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: by.ActorID(), Channel: "api", Action: "account.invite",
			Detail: map[string]string{"org": by.OrgID}})
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// pendingInvite returns the organisation of the newest live invitation of
// number, or "".
func (s *Service) pendingInvite(ctx context.Context, q store.Querier, number string) (string, error) {
	var org string
	err := q.QueryRow(ctx, `SELECT org_id FROM org_invites WHERE number_tag = ? AND expires_at > ? ORDER BY created_at DESC LIMIT 1`,
		s.keys.Tag("invite", number), s.now().UnixMicro()).Scan(&org)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("identity: invitation: %w", err)
	}
	return org, nil
}

var loginNameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{2,31}$`)

// staffRoles are the roles a staff account may hold.
var staffRoles = []policy.Role{policy.SecurityAdmin, policy.AuditAdmin, policy.SystemAdmin, policy.DataOperator, policy.DPO, policy.Support, policy.KeyOfficer}

func checkStaffRoles(rs []policy.Role) error {
	if len(rs) == 0 {
		return errs.New(errs.Invalid, "roles", "请至少指定一个角色", "name at least one role")
	}
	for _, r := range rs {
		if !slices.Contains(staffRoles, r) {
			return errs.New(errs.Invalid, "roles", "未知或非工作人员角色", "not a staff role").With(policy.ReasonUnknown, []string{string(r)}, "")
		}
	}
	if why, ok := policy.CheckRoles(rs); !ok {
		return errs.New(errs.Invalid, "roles", "审计管理员、安全管理员不得同时担任系统管理员或数据操作员", "audit and security administrators may not also be system administrators or data operators").
			With(why, nil, "")
	}
	return nil
}

// StaffEnrolment is what a new staff member (or one whose credentials were
// reset) is shown once: the TOTP URI to scan and, when generated, the
// password. Neither is stored in plaintext or logged.
type StaffEnrolment struct {
	Account  Account `json:"account"`
	Password string  `json:"password,omitempty"`
	TOTPURI  string  `json:"totp_uri,omitempty"`
}

// CreateStaff creates a staff account with roles (ACC-1), directly: the
// bootstrap path of "gigvault admin create" (host access and the master
// key) and of the development demo administrator. Through the API a staff
// account is created with RequestStaff, under another security
// administrator's approval. An empty password generates a strong one,
// returned once. by is the audit actor, e.g. "cli:admin-create".
func (s *Service) CreateStaff(ctx context.Context, by vault.Actor, loginName string, rs []policy.Role, password string) (StaffEnrolment, error) {
	loginName, rs, err := checkNewStaff(loginName, rs)
	if err != nil {
		return StaffEnrolment{}, err
	}
	return s.createStaff(ctx, by, loginName, rs, password, nil, nil)
}

// RequestStaff creates a staff account through the API (security
// administrators): without approvalID it files a request for another
// security administrator to approve and answers approval_required with its
// ID; with the ID of such a request, approved for exactly this login name
// and these roles, it creates the account, using the approval up. The new
// member's password (generated) and TOTP enrolment are returned once.
func (s *Service) RequestStaff(ctx context.Context, by *Principal, loginName string, rs []policy.Role, approvalID string) (StaffEnrolment, error) {
	if !by.Has(policy.SecurityAdmin) {
		return StaffEnrolment{}, errs.New(errs.Forbidden, "", "只有安全管理员可以创建工作人员账户", "only security administrators create staff accounts")
	}
	loginName, rs, err := checkNewStaff(loginName, rs)
	if err != nil {
		return StaffEnrolment{}, err
	}
	if approvalID == "" {
		// No request for a name already taken (the insert checks again).
		var n int
		if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE login_name = ?`, loginName).Scan(&n); err != nil {
			return StaffEnrolment{}, fmt.Errorf("identity: create account: %w", err)
		}
		if n > 0 {
			return StaffEnrolment{}, errs.New(errs.Conflict, "login_name", "该登录名已被使用", "this login name is taken")
		}
	}
	params := approval.Params{Subjects: []string{loginName}, Fields: roleNames(rs), Purpose: PurposeStaffManagement}
	if err := s.staffGate(ctx, by, policy.ManageStaff, params, approvalID, "account.create", "", "create staff account "+loginName); err != nil {
		return StaffEnrolment{}, err
	}
	consume := func(tx *store.Tx) error { return s.consumeStaff(ctx, tx, by, policy.ManageStaff, params, approvalID) }
	return s.createStaff(ctx, by.Actor(), loginName, rs, "", consume, map[string]string{"approval": approvalID})
}

// checkNewStaff normalises and checks a new staff member's login name and
// roles.
func checkNewStaff(loginName string, rs []policy.Role) (string, []policy.Role, error) {
	loginName = strings.ToLower(strings.TrimSpace(loginName))
	if !loginNameRE.MatchString(loginName) {
		return "", nil, errs.New(errs.Invalid, "login_name", "登录名须为 3 至 32 位小写字母、数字或 . _ -，以字母开头", "a login name is 3-32 lower-case letters, digits, '.', '_' or '-', starting with a letter")
	}
	rs = slices.Compact(slices.Sorted(slices.Values(rs))) // a copy: the caller's slice is left alone
	if err := checkStaffRoles(rs); err != nil {
		return "", nil, err
	}
	return loginName, rs, nil
}

// createStaff creates the account; consume, when set, runs first in the
// same transaction (using up an approval), and detail is added to the
// audit entry.
func (s *Service) createStaff(ctx context.Context, by vault.Actor, loginName string, rs []policy.Role, password string,
	consume func(*store.Tx) error, detail map[string]string) (StaffEnrolment, error) {
	enr := StaffEnrolment{}
	if password == "" {
		password = randomToken("", 18)
		enr.Password = password
	}
	if err := checkPassword(password, loginName); err != nil {
		return StaffEnrolment{}, err
	}
	cred, err := s.newCredentials(loginName, password)
	if err != nil {
		return StaffEnrolment{}, err
	}
	enr.TOTPURI = cred.uri
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if consume != nil {
			if err := consume(tx); err != nil {
				return err
			}
		}
		subject, err := s.vault.CreateSubject(ctx, tx, string(Staff))
		if err != nil {
			return err
		}
		a := Account{ID: newID(), Kind: Staff, SubjectID: subject, LoginName: loginName, Status: Active, CreatedAt: s.now(), Roles: rs}
		if err := s.insertAccount(ctx, tx, a, loginName, by.ID); err != nil {
			return err
		}
		if err := s.storeCredentials(ctx, tx, a, cred, true); err != nil {
			return err
		}
		enr.Account = a
		d := map[string]string{"account": a.ID, "kind": "staff", "roles": joinRoles(rs)}
		for k, v := range detail {
			d[k] = v
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: by.ID, Channel: by.Channel, Action: "account.create", Subject: subject, Detail: d})
	})
	if err != nil {
		return StaffEnrolment{}, err
	}
	return enr, nil
}

func joinRoles(rs []policy.Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ",")
}

// SetRoles replaces a staff account's roles (security administrators only,
// never their own), keeping the separation of duties, and ends the
// account's sessions so the change applies at once. It needs another
// security administrator's approval: without approvalID a request is filed
// and approval_required answered with its ID; with the ID of a request
// approved for exactly this account and these roles, the change runs once.
func (s *Service) SetRoles(ctx context.Context, by *Principal, account string, rs []policy.Role, approvalID string) (Account, error) {
	if !by.Has(policy.SecurityAdmin) {
		return Account{}, errs.New(errs.Forbidden, "", "只有安全管理员可以分配角色", "only security administrators grant roles")
	}
	if account == by.AccountID {
		return Account{}, errs.New(errs.Forbidden, "id", "不能修改自己的角色", "nobody changes their own roles").With("self_grant", nil, "")
	}
	rs = slices.Compact(slices.Sorted(slices.Values(rs)))
	if err := checkStaffRoles(rs); err != nil {
		return Account{}, err
	}
	a, err := s.Account(ctx, account)
	if err != nil {
		return Account{}, err
	}
	if a.Kind != Staff {
		return Account{}, errs.New(errs.Invalid, "id", "只能为工作人员账户分配角色", "roles are granted to staff accounts only")
	}
	params := approval.Params{Subjects: []string{account}, Fields: roleNames(rs), Purpose: PurposeStaffManagement}
	if err := s.staffGate(ctx, by, policy.ManageStaff, params, approvalID, "account.roles", a.SubjectID, "set roles of "+account+" to "+joinRoles(rs)); err != nil {
		return Account{}, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := s.consumeStaff(ctx, tx, by, policy.ManageStaff, params, approvalID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM account_roles WHERE account_id = ?`, account); err != nil {
			return fmt.Errorf("identity: set roles: %w", err)
		}
		for _, r := range rs {
			if _, err := tx.Exec(ctx, `INSERT INTO account_roles (account_id, role, granted_by, granted_at) VALUES (?, ?, ?, ?)`,
				account, string(r), by.ActorID(), s.now().UnixMicro()); err != nil {
				return fmt.Errorf("identity: set roles: %w", err)
			}
		}
		if err := s.revokeAll(ctx, tx, account, "roles_changed"); err != nil {
			return err
		}
		return s.log.Append(ctx, tx, audit.Entry{Actor: by.ActorID(), Channel: "api", Action: "account.roles", Subject: a.SubjectID,
			Detail: map[string]string{"account": account, "from": joinRoles(a.Roles), "to": joinRoles(rs), "approval": approvalID}})
	})
	if err != nil {
		return Account{}, err
	}
	a.Roles = rs
	return a, nil
}

// SetStatus disables or re-enables an account (security administrators,
// never their own). Disabling ends its sessions.
func (s *Service) SetStatus(ctx context.Context, by *Principal, account string, enable bool, reason string) (Account, error) {
	if !by.Has(policy.SecurityAdmin) {
		return Account{}, errs.New(errs.Forbidden, "", "只有安全管理员可以停用或启用账户", "only security administrators disable or enable accounts")
	}
	if account == by.AccountID {
		return Account{}, errs.New(errs.Forbidden, "id", "不能停用或启用自己的账户", "nobody disables or enables their own account")
	}
	a, err := s.Account(ctx, account)
	if err != nil {
		return Account{}, err
	}
	status := Disabled
	if enable {
		status = Active
	}
	// The free-text reason goes to the permanent log and the account row:
	// redacted like approval and reveal reasons, so a number typed in stays out.
	reason = obs.Redact(strings.TrimSpace(reason))
	if r := []rune(reason); len(r) > 200 {
		reason = string(r[:200])
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		return s.setStatus(ctx, tx, a, status, reason, by.ActorID())
	})
	if err != nil {
		return Account{}, err
	}
	a.Status = status
	return a, nil
}

func (s *Service) setStatus(ctx context.Context, tx *store.Tx, a Account, status, reason, actor string) error {
	now := s.now().UnixMicro()
	var err error
	if status == Active {
		// Re-enabled: the idle clock starts again now.
		_, err = tx.Exec(ctx, `UPDATE accounts SET status = 'active', disabled_at = NULL, disabled_reason = NULL, last_active_at = ? WHERE id = ?`, now, a.ID)
	} else {
		_, err = tx.Exec(ctx, `UPDATE accounts SET status = ?, disabled_at = ?, disabled_reason = ? WHERE id = ?`, status, now, reason, a.ID)
		if err == nil {
			err = s.revokeAll(ctx, tx, a.ID, "account_"+status)
		}
	}
	if err != nil {
		return fmt.Errorf("identity: set status: %w", err)
	}
	return s.log.Append(ctx, tx, audit.Entry{Actor: actor, Channel: "api", Action: "account.status", Subject: a.SubjectID,
		Detail: map[string]string{"account": a.ID, "status": status, "reason": reason}})
}

// DisableIdleStaff disables staff accounts unused for StaffIdleDisable
// (ACC-4) and returns how many.
func (s *Service) DisableIdleStaff(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.cfg.StaffIdleDisable).UnixMicro()
	rows, err := s.db.Query(ctx, `SELECT `+accountCols+` FROM accounts WHERE kind = 'staff' AND status = 'active' AND last_active_at < ?`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("identity: idle staff: %w", err)
	}
	var idle []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("identity: idle staff: %w", err)
		}
		idle = append(idle, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, a := range idle {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			return s.setStatus(ctx, tx, a, Disabled, "idle", "system:identity")
		})
		if err != nil {
			return 0, err
		}
	}
	return len(idle), nil
}

// HasStaff reports whether any staff account exists.
func (s *Service) HasStaff(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE kind = 'staff'`).Scan(&n); err != nil {
		return false, fmt.Errorf("identity: staff count: %w", err)
	}
	return n > 0, nil
}
