package rights

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/calendar"
	"gigvault/internal/catalog"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Retained-record classes (RET-3).
const (
	ClassTransactions      = "transactions"       // payouts, purchases, contracts: 3 years
	ClassFinancialIdentity = "financial_identity" // name, ID number, bank card, payment account: 5 years
)

// transactionFields are the record fields of the transactions class; every
// other field with a statutory period is financial identity.
var transactionFields = []string{"payout_record", "purchase_record", "contract_record"}

// RetentionSpans say how long each class is kept after cancellation. Zero
// spans take the longest statutory period the catalog gives the class's
// fields (3y and 5y in the embedded catalog).
type RetentionSpans struct {
	Transactions      catalog.Span
	FinancialIdentity catalog.Span
}

// classOf returns a statutory field's class, or "".
func classOf(f *catalog.Field) string {
	switch {
	case f.Statutory.Unit == 0:
		return ""
	case slices.Contains(transactionFields, f.Name):
		return ClassTransactions
	}
	return ClassFinancialIdentity
}

// span returns the class's retention.
func (s *Service) span(class string) catalog.Span {
	if class == ClassTransactions && s.Retain.Transactions.Unit != 0 {
		return s.Retain.Transactions
	}
	if class == ClassFinancialIdentity && s.Retain.FinancialIdentity.Unit != 0 {
		return s.Retain.FinancialIdentity
	}
	var best catalog.Span
	ref := time.Unix(0, 0).UTC()
	for _, f := range s.Cat.Fields() {
		if classOf(f) == class && f.Statutory.After(ref).After(best.After(ref)) {
			best = f.Statutory
		}
	}
	return best
}

// Consequences is what a person is told before cancelling (DSR-5): what is
// deleted, what the law makes the platform keep and for how long, what
// stops the cancellation now, and the steps.
type Consequences struct {
	Deleted  []FieldLine   `json:"deleted"`
	Kept     []KeptLine    `json:"kept"`
	Blockers []Blocker     `json:"blockers"`
	Notices  int           `json:"recipients_notified"`
	Steps    []string      `json:"steps"`
	Digest   string        `json:"explanation"` // echo it to start: proves this text was shown
	Text     ConsequenceTx `json:"text"`
}

// FieldLine names a field.
type FieldLine struct {
	Field string `json:"field"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
}

// KeptLine is a class of record kept after cancellation.
type KeptLine struct {
	Class  string   `json:"class"`
	Fields []string `json:"fields"`
	Years  string   `json:"kept_for"`
}

// Blocker stops a cancellation until it is resolved.
type Blocker struct {
	Code string `json:"code"`
	Zh   string `json:"zh"`
	En   string `json:"en"`
}

// ConsequenceTx is the explanation in both languages.
type ConsequenceTx struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Explain builds the consequences of cancelling p's account.
func (s *Service) Explain(ctx context.Context, p *access.Principal) (Consequences, error) {
	c := Consequences{Deleted: []FieldLine{}, Kept: []KeptLine{}, Blockers: []Blocker{},
		Steps: []string{"explain", "confirm", "send_code", "confirm_with_code", "done"},
		Text: ConsequenceTx{
			Zh: "注销后，您的账户将无法登录和找回；您的简历、求职申请、身份核验信息等个人信息将被删除或匿名化，加密密钥将被销毁，任何人均无法再读取。法律要求保存的交易记录和财务身份信息将与您的账户断开关联、单独加密保存至法定期限届满，不用于日常业务。曾接收您个人信息的第三方将收到删除通知。",
			En: "After cancellation you can no longer log in or recover the account; your résumé, applications, identity-verification data and other personal information are deleted or anonymised and their encryption key destroyed, so no one can read them again. Transaction records and financial identity the law requires are cut loose from the account, kept apart under their own key until the statutory period ends, and never used in daily business. Every third party that received your data is told to delete it.",
		}}
	held, err := s.HeldFields(ctx, s.db, p.SubjectID)
	if err != nil {
		return c, err
	}
	fields := map[string]bool{}
	for _, f := range held {
		fields[f] = true
	}
	kept := map[string][]string{}
	for _, f := range s.Cat.Fields() {
		if !fields[f.Name] {
			continue
		}
		c.Deleted = append(c.Deleted, FieldLine{Field: f.Name, Zh: f.Zh, En: f.En})
		if cl := classOf(f); cl != "" {
			kept[cl] = append(kept[cl], f.Name)
		}
	}
	n, err := s.count(ctx, `SELECT COUNT(*) FROM payout_rows WHERE subject_id = ?`, p.SubjectID)
	if err != nil {
		return c, err
	}
	if n > 0 && !slices.Contains(kept[ClassTransactions], "payout_rows") {
		kept[ClassTransactions] = append(kept[ClassTransactions], "payout_rows")
	}
	for _, cl := range []string{ClassTransactions, ClassFinancialIdentity} {
		if len(kept[cl]) > 0 {
			c.Kept = append(c.Kept, KeptLine{Class: cl, Fields: kept[cl], Years: s.span(cl).String()})
		}
	}
	pending, err := s.count(ctx, `SELECT COUNT(*) FROM payout_rows r JOIN payout_batches b ON b.id = r.batch_id
		WHERE r.subject_id = ? AND r.status = 'pending' AND b.status NOT IN ('rejected', 'failed')`, p.SubjectID)
	if err != nil {
		return c, err
	}
	if pending > 0 {
		c.Blockers = append(c.Blockers, Blocker{Code: "payout_pending", Zh: "您有尚未完成的收款，请待其完成后再注销", En: "a payment to you is still pending: cancel once it completes"})
	}
	open, err := s.count(ctx, `SELECT COUNT(*) FROM rights_requests WHERE subject_id = ? AND kind = 'cancellation' AND status IN ('open', 'in_progress')`, p.SubjectID)
	if err != nil {
		return c, err
	}
	if open > 0 {
		c.Blockers = append(c.Blockers, Blocker{Code: "cancellation_in_progress", Zh: "注销申请正在处理中", En: "a cancellation is already in progress"})
	}
	rows, err := s.Ledger.BySubject(ctx, p.SubjectID)
	if err != nil {
		return c, err
	}
	rcp := map[string]bool{}
	for _, r := range rows {
		rcp[r.Recipient] = true
	}
	c.Notices = len(rcp)
	js, err := json.Marshal(struct {
		D []FieldLine
		K []KeptLine
		T ConsequenceTx
	}{c.Deleted, c.Kept, c.Text})
	if err != nil {
		return c, err
	}
	c.Digest = hex.EncodeToString(cryptox.Digest(s.Keys.Suite(), js))[:32]
	return c, nil
}

func (s *Service) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("rights: %w", err)
	}
	return n, nil
}

// retainedPayout is one payment kept after cancellation.
type retainedPayout struct {
	BatchID   string `json:"batch_id"`
	Line      int    `json:"line"`
	OrgID     string `json:"org_id"`
	AmountFen int64  `json:"amount_fen"`
	Memo      string `json:"memo"`
	Status    string `json:"status"`
	RailRef   string `json:"rail_ref"`
	At        string `json:"at"`
}

// retainedContract is one contract kept after cancellation.
type retainedContract struct {
	ID     string `json:"contract_id"`
	OrgID  string `json:"org_id"`
	Status string `json:"status"`
	Digest string `json:"digest"`
}

// RetainedPayload is the plaintext of a retained record.
type RetainedPayload struct {
	Class     string              `json:"class"`
	Values    map[string][]string `json:"values,omitempty"`
	Payouts   []retainedPayout    `json:"payouts,omitempty"`
	Contracts []retainedContract  `json:"contracts,omitempty"`
	KeptUntil string              `json:"kept_until"`
	Basis     string              `json:"basis"`
}

func retainedAAD(id, class string) []byte { return []byte("gigvault/retained/" + class + "/" + id) }

// day truncates t to 00:00 UTC of its date.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// statutoryValues reads, whole, the values of subject the law requires to
// be kept after cancellation — before the cancellation's transaction, since
// the read is audited in a transaction of its own.
func (s *Service) statutoryValues(ctx context.Context, subject string) ([]vault.Value, error) {
	var names []string
	for _, f := range s.Cat.Fields() {
		if classOf(f) != "" {
			names = append(names, f.Name)
		}
	}
	return s.Guard.SystemRead(ctx, vault.Actor{ID: "system:rights", Channel: "system"}, subject, "legal_compliance",
		"records kept by law after cancellation", names)
}

// retain builds the records the law requires of subject (vals, from
// statutoryValues, and its payout rows and signed contracts) and writes them
// under the retention key inside tx (RET-3). The records carry nothing that
// leads back to the account: random IDs, whole-day times, no subject ID.
func (s *Service) retain(ctx context.Context, tx *store.Tx, subject string, vals []vault.Value) (int, error) {
	payloads := map[string]*RetainedPayload{}
	get := func(class string) *RetainedPayload {
		if payloads[class] == nil {
			payloads[class] = &RetainedPayload{Class: class, Values: map[string][]string{}}
		}
		return payloads[class]
	}
	for _, v := range vals {
		f, _ := s.Cat.Field(v.Field)
		p := get(classOf(f))
		p.Values[v.Field] = append(p.Values[v.Field], v.Text)
	}
	rows, err := tx.Query(ctx, `SELECT r.batch_id, r.line, b.org_id, r.amount_fen, r.memo, r.status, r.rail_ref, r.updated_at
		FROM payout_rows r JOIN payout_batches b ON b.id = r.batch_id WHERE r.subject_id = ? ORDER BY r.batch_id, r.line`, subject)
	if err != nil {
		return 0, fmt.Errorf("rights: retain payouts: %w", err)
	}
	var pays []retainedPayout
	for rows.Next() {
		var p retainedPayout
		var at int64
		if err := rows.Scan(&p.BatchID, &p.Line, &p.OrgID, &p.AmountFen, &p.Memo, &p.Status, &p.RailRef, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("rights: retain payouts: %w", err)
		}
		p.At = micros(at).Format(time.RFC3339)
		pays = append(pays, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rights: retain payouts: %w", err)
	}
	if len(pays) > 0 {
		get(ClassTransactions).Payouts = pays
	}
	rows, err = tx.Query(ctx, `SELECT id, org_id, status, digest FROM contracts WHERE subject_id = ? AND status = 'signed' ORDER BY id`, subject)
	if err != nil {
		return 0, fmt.Errorf("rights: retain contracts: %w", err)
	}
	var cons []retainedContract
	for rows.Next() {
		var c retainedContract
		if err := rows.Scan(&c.ID, &c.OrgID, &c.Status, &c.Digest); err != nil {
			rows.Close()
			return 0, fmt.Errorf("rights: retain contracts: %w", err)
		}
		cons = append(cons, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rights: retain contracts: %w", err)
	}
	if len(cons) > 0 {
		get(ClassTransactions).Contracts = cons
	}
	if len(payloads) == 0 {
		return 0, nil
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return 0, fmt.Errorf("rights: retain: %w", err)
	}
	bundle := hex.EncodeToString(b)
	today := day(s.clk.Now())
	classes := make([]string, 0, len(payloads))
	for c := range payloads {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	for _, class := range classes {
		p := payloads[class]
		until := s.span(class).After(today)
		p.KeptUntil, p.Basis = until.Format(time.DateOnly), "RET-3: kept as the law requires after account cancellation; not for daily business"
		pt, err := json.Marshal(p)
		if err != nil {
			return 0, fmt.Errorf("rights: retain: %w", err)
		}
		id := uuid.NewString() // random (v4): a time-ordered ID would date the cancellation
		sealed, err := s.Keys.SealRetained(ctx, pt, retainedAAD(id, class))
		clear(pt)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO retained_records (id, class, bundle, sealed, created_day, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, class, bundle, sealed, today.UnixMicro(), until.UnixMicro()); err != nil {
			return 0, fmt.Errorf("rights: retain: %w", err)
		}
	}
	return len(classes), nil
}

// OpenRetained opens a retained record for a legal request (a tax or
// labour inspection): never from daily business. The caller audits it.
func (s *Service) OpenRetained(ctx context.Context, id string) (RetainedPayload, error) {
	var class string
	var sealed []byte
	err := s.db.QueryRow(ctx, `SELECT class, sealed FROM retained_records WHERE id = ?`, id).Scan(&class, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return RetainedPayload{}, errs.New(errs.NotFound, "id", "留存记录不存在", "no such retained record")
	}
	if err != nil {
		return RetainedPayload{}, fmt.Errorf("rights: retained: %w", err)
	}
	pt, err := s.Keys.OpenRetained(ctx, sealed, retainedAAD(id, class))
	if err != nil {
		return RetainedPayload{}, err
	}
	var p RetainedPayload
	if err := json.Unmarshal(pt, &p); err != nil {
		return p, fmt.Errorf("rights: retained: %w", err)
	}
	return p, nil
}

// StartCancellation records the first confirmation of a cancellation: the
// person saw the consequences (their digest is echoed) and confirmed once.
func (s *Service) StartCancellation(ctx context.Context, p *access.Principal, explanation string) (Request, error) {
	c, err := s.Explain(ctx, p)
	if err != nil {
		return Request{}, err
	}
	if explanation != c.Digest {
		return Request{}, errs.New(errs.Invalid, "explanation", "请先阅读注销须知（须知内容已更新）", "read the consequences first (they have changed)").With("explanation_stale", nil, "")
	}
	if len(c.Blockers) > 0 {
		codes := make([]string, len(c.Blockers))
		for i, b := range c.Blockers {
			codes[i] = b.Code
		}
		return Request{}, errs.New(errs.Conflict, "", "当前无法注销账户", "the account cannot be cancelled now").With("cancellation_blocked", codes, "")
	}
	id, err := NewID()
	if err != nil {
		return Request{}, err
	}
	var r Request
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.LockKey(ctx, "cancel:"+p.SubjectID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE rights_requests SET status = 'withdrawn', outcome = 'superseded', completed_at = ?, updated_at = ?
			WHERE subject_id = ? AND kind = 'cancellation' AND status = 'confirming'`, s.clk.Now().UnixMicro(), s.clk.Now().UnixMicro(), p.SubjectID); err != nil {
			return fmt.Errorf("rights: cancel: %w", err)
		}
		var err error
		r, err = s.Create(ctx, tx, id, New{Subject: p.SubjectID, Kind: Cancellation, Status: Confirming, Params: Params{Explanation: explanation}}, p.ActorID(), "api")
		return err
	})
	return r, err
}

// CompleteCancellation carries out a confirmed cancellation (DSR-5):
//
//  1. in one transaction: the records the law requires are sealed under the
//     retention key without any link to the account (RET-3); every
//     recipient of the person's data gets a deletion notice; verification
//     records, the résumé, applications, personalisation, calendar feeds,
//     consent state and sessions are deleted; payout rows lose their link
//     to the person; the account is marked cancelled; the request is in
//     progress ("erasing");
//  2. the vault erases the subject: data key destroyed, values deleted;
//  3. the request is completed.
//
// A crash after step 1 leaves a request in progress that ResumeCancellations
// finishes (erasure is idempotent). A legal hold stops it before step 1.
func (s *Service) CompleteCancellation(ctx context.Context, r Request, tool string) (Request, error) {
	if r.Kind != Cancellation {
		return r, errs.New(errs.Invalid, "id", "不是注销申请", "not a cancellation")
	}
	if r.Status == Open {
		held, err := s.UnderHold(ctx, s.db, r.SubjectID)
		if err != nil {
			return r, err
		}
		if held {
			return r, Held
		}
		vals, err := s.statutoryValues(ctx, r.SubjectID)
		if err != nil {
			return r, err
		}
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.LockKey(ctx, "cancel:"+r.SubjectID); err != nil {
				return err
			}
			cur, err := s.Get(ctx, tx, r.ID)
			if err != nil {
				return err
			}
			if cur.Status != Open {
				r = cur
				return nil
			}
			retained, err := s.retain(ctx, tx, r.SubjectID, vals)
			if err != nil {
				return err
			}
			notices, err := s.notify(ctx, tx, r, r.SubjectID, nil)
			if err != nil {
				return err
			}
			if err := s.unlink(ctx, tx, r.SubjectID); err != nil {
				return err
			}
			if err := s.log.Append(ctx, tx, audit.Entry{Actor: "system:rights", Channel: "system", Action: "account.cancel", Subject: r.SubjectID,
				Purpose: "rights_request", Outcome: "ok", Detail: map[string]string{"request": r.ID, "tool": tool,
					"retained_records": fmt.Sprint(retained), "notices": fmt.Sprint(notices),
					"method": "verification data, résumé, applications and sessions deleted; payouts unlinked; legally required records sealed under the retention key"}}); err != nil {
				return err
			}
			r, err = s.Transition(ctx, tx, cur, InProgress, "system:rights", "erasing", "system:rights", "system")
			return err
		})
		if err != nil {
			return r, err
		}
	}
	if r.Status != InProgress {
		return r, nil
	}
	if _, err := s.Vault.Erase(ctx, vault.Actor{ID: "system:rights", Channel: "system"}, "rights_request", r.SubjectID, tool); err != nil && !errs.Is(err, errs.Erased) {
		return r, err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := s.Get(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		r, err = s.Transition(ctx, tx, cur, Completed, "system:rights", "cancelled", "system:rights", "system")
		return err
	})
	return r, err
}

// unlink deletes or detaches the business rows of a cancelled account.
func (s *Service) unlink(ctx context.Context, tx *store.Tx, subject string) error {
	stmts := []string{
		`DELETE FROM verifications WHERE subject_id = ?`,
		`UPDATE contracts SET application_id = NULL WHERE application_id IN (SELECT id FROM applications WHERE subject_id = ?)`,
		`DELETE FROM applications WHERE subject_id = ?`,
		`DELETE FROM resume_terms WHERE resume_id IN (SELECT id FROM resumes WHERE subject_id = ?)`,
		`DELETE FROM resumes WHERE subject_id = ?`,
		`DELETE FROM personalisation WHERE subject_id = ?`,
		`DELETE FROM calendar_feeds WHERE subject_id = ?`,
		`DELETE FROM consents WHERE subject_id = ?`,
		`UPDATE payout_rows SET subject_id = NULL WHERE subject_id = ?`,
		`DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE subject_id = ?)`,
	}
	for _, q := range stmts {
		if _, err := tx.Exec(ctx, q, subject); err != nil {
			return fmt.Errorf("rights: unlink: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE accounts SET status = 'cancelled', login_name = NULL, disabled_at = ? WHERE subject_id = ?`,
		s.clk.Now().UnixMicro(), subject); err != nil {
		return fmt.Errorf("rights: unlink: %w", err)
	}
	return nil
}

// ResumeCancellations finishes cancellations a crash interrupted after
// their first step, and carries out confirmed ones a legal hold had held
// back once it is released.
func (s *Service) ResumeCancellations(ctx context.Context) (int, error) {
	rs, err := s.list(ctx, `WHERE kind = 'cancellation' AND status IN ('open', 'in_progress') ORDER BY created_at`)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		if _, err := s.CompleteCancellation(ctx, r, "resume"); err != nil {
			if errs.Is(err, errs.Conflict) {
				continue // held
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// Calendar returns the working-day calendar in use.
func (s *Service) Calendar() *calendar.Calendar { return s.dl.Cal }
