package payout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Batch statuses.
const (
	PendingApproval = "pending_approval"
	Approved        = "approved"
	Rejected        = "rejected"
	Submitted       = "submitted"
	Completed       = "completed"
)

// Listing limits of Batches.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// ReasonSecondPerson is the errs reason of Decide's refusal of the
// batch's creator (ACC-5).
const ReasonSecondPerson = "second_person_required"

// Batch is a stored payout batch.
type Batch struct {
	ID            string    `json:"id"`
	OrgID         string    `json:"org_id"`
	Status        string    `json:"status"` // pending_approval | approved | rejected | submitted | completed
	RowCount      int       `json:"row_count"`
	TotalFen      int64     `json:"total_fen"`
	CreatedBy     string    `json:"created_by"`
	CreatedAt     time.Time `json:"created_at"`
	DecidedBy     string    `json:"decided_by,omitempty"`
	DecidedAt     time.Time `json:"decided_at,omitzero"`
	FileDigest    string    `json:"file_digest,omitempty"`
	FileCreatedAt time.Time `json:"file_created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Store keeps payout batches and their rows.
type Store struct {
	db  *store.DB
	clk clock.Clock
}

// New returns a Store; a nil clock is the wall clock.
func New(db *store.DB, clk clock.Clock) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Store{db: db, clk: clk}
}

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

var errNoBatch = errs.New(errs.NotFound, "id", "付款批次不存在", "no such payout batch")

// now is the clock's time at the stored precision, so what is returned
// equals what is read back.
func (s *Store) now() time.Time { return time.UnixMicro(s.clk.Now().UnixMicro()).UTC() }

func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicro(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicro(v.Int64)
}

// forUpdate is the row-lock suffix of a select on PostgreSQL; SQLite's
// single writer serialises write transactions already.
func forUpdate(tx *store.Tx) string {
	if tx.Engine() == store.Postgres {
		return ` FOR UPDATE`
	}
	return ""
}

// checkRows holds rows to the rules of an upload before they are stored:
// at least one; lines positive and distinct; each row as ParseCSV checks it
// (with no amount limit, which is the caller's Limits); no worker twice;
// a total an int64 holds. It returns the total.
func checkRows(rows []Row) (int64, error) {
	if len(rows) == 0 {
		return 0, invalid("rows", "批次中没有付款", "the batch has no payments").With(CodeEmptyBatch, nil, "")
	}
	lines := make(map[int]bool, len(rows))
	workers := make(map[string]bool, len(rows))
	var total int64
	for _, r := range rows {
		var e *RowError
		switch {
		case r.Line <= 0 || lines[r.Line]:
			x := rowErr(r.Line, "", CodeBadLine, "行号须为正数且不重复", "line numbers must be positive and distinct")
			e = &x
		case workers[r.WorkerID]:
			x := rowErr(r.Line, "worker", CodeDuplicate, "同一收款人在本批次中重复出现", "the same worker appears more than once in the batch")
			e = &x
		default:
			if es := checkRow(r, 1<<62); len(es) > 0 {
				e = &es[0]
			}
		}
		if e != nil {
			return 0, invalid("rows", fmt.Sprintf("第%d行:%s", r.Line, e.MessageZh), fmt.Sprintf("line %d: %s", r.Line, e.Message)).
				With(e.Code, nil, strconv.Itoa(r.Line))
		}
		lines[r.Line], workers[r.WorkerID] = true, true
		if total = addSat(total, r.AmountFen); total == 1<<63-1 {
			return 0, invalid("rows", "批次总额过大", "the batch total is too large").With(CodeOverBatchLimit, nil, "")
		}
	}
	return total, nil
}

// rowsPerInsert is how many rows one INSERT statement carries.
const rowsPerInsert = 200

// Create stores a batch of orgID created by the member createdBy, pending
// approval, every row pending, in one transaction. Call it with the rows of
// a Report that is OK: Create checks the rows again as far as it can
// without the directory (see Validate), but not the Limits. The
// organisation must exist (errs.NotFound) and so must every worker's
// subject.
func (s *Store) Create(ctx context.Context, orgID, createdBy string, rows []Row) (Batch, error) {
	orgID, createdBy = strings.TrimSpace(orgID), strings.TrimSpace(createdBy)
	if orgID == "" {
		return Batch{}, invalid("org_id", "须指明付款单位", "name the organisation paying")
	}
	if createdBy == "" {
		return Batch{}, invalid("created_by", "须指明提交人", "name the member creating the batch")
	}
	total, err := checkRows(rows)
	if err != nil {
		return Batch{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Batch{}, fmt.Errorf("payout: batch id: %w", err)
	}
	now := s.now()
	b := Batch{ID: id.String(), OrgID: orgID, Status: PendingApproval, RowCount: len(rows), TotalFen: total,
		CreatedBy: createdBy, CreatedAt: now, UpdatedAt: now}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM organisations WHERE id = ?`, orgID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.New(errs.NotFound, "org_id", "付款单位不存在", "no such organisation")
		}
		if err != nil {
			return fmt.Errorf("payout: create: %w", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO payout_batches (id, org_id, status, row_count, total_fen, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.ID, b.OrgID, b.Status, b.RowCount, b.TotalFen, b.CreatedBy, now.UnixMicro(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("payout: create: %w", err)
		}
		for start := 0; start < len(rows); start += rowsPerInsert {
			chunk := rows[start:min(start+rowsPerInsert, len(rows))]
			q := `INSERT INTO payout_rows (batch_id, line, subject_id, amount_fen, memo, status, updated_at) VALUES ` +
				strings.Repeat(`(?, ?, ?, ?, ?, ?, ?), `, len(chunk)-1) + `(?, ?, ?, ?, ?, ?, ?)`
			args := make([]any, 0, 7*len(chunk))
			for _, r := range chunk {
				args = append(args, b.ID, r.Line, r.WorkerID, r.AmountFen, r.Memo, RowPending, now.UnixMicro())
			}
			if _, err := tx.ExecHot(ctx, q, args...); err != nil {
				if isForeignKeyViolation(err) {
					return errs.Wrap(errs.Invalid, "rows", "批次中有平台不存在的收款人", "a worker of the batch does not exist on the platform", err).
						With(CodeUnknownWorker, nil, "")
				}
				return fmt.Errorf("payout: create rows: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

// isForeignKeyViolation reports a foreign-key violation on either engine.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

const batchCols = `id, org_id, status, row_count, total_fen, created_by, created_at, decided_by, decided_at, file_digest, file_created_at, updated_at`

func scanBatch(row interface{ Scan(...any) error }) (Batch, error) {
	var b Batch
	var created, updated int64
	var decidedBy sql.NullString
	var decided, fileCreated sql.NullInt64
	err := row.Scan(&b.ID, &b.OrgID, &b.Status, &b.RowCount, &b.TotalFen, &b.CreatedBy, &created, &decidedBy, &decided,
		&b.FileDigest, &fileCreated, &updated)
	b.CreatedAt, b.UpdatedAt = fromMicro(created), fromMicro(updated)
	b.DecidedBy, b.DecidedAt, b.FileCreatedAt = decidedBy.String, nullMicro(decided), nullMicro(fileCreated)
	return b, err
}

// getBatch reads a batch on q, locking it in a transaction on PostgreSQL.
func getBatch(ctx context.Context, q store.Querier, id string) (Batch, error) {
	suffix := ""
	if tx, ok := q.(*store.Tx); ok {
		suffix = forUpdate(tx)
	}
	b, err := scanBatch(q.QueryRow(ctx, `SELECT `+batchCols+` FROM payout_batches WHERE id = ?`+suffix, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Batch{}, errNoBatch
	}
	if err != nil {
		return Batch{}, fmt.Errorf("payout: batch: %w", err)
	}
	return b, nil
}

func wrongStatus(b Batch, zh, en string) error {
	return errs.New(errs.Conflict, "status", zh, en).With("status_"+b.Status, nil, b.ID)
}

// Decide approves or rejects a batch of orgID pending approval, as the
// member approver, who must not be its creator (errs.Forbidden, reason
// ReasonSecondPerson: ACC-5). Another organisation's batch is not found; a
// batch already decided is errs.Conflict. Whether approver may approve
// payments at all (their role in the organisation) is the caller's check.
func (s *Store) Decide(ctx context.Context, batchID, orgID, approver string, approve bool) (Batch, error) {
	if approver = strings.TrimSpace(approver); approver == "" {
		return Batch{}, invalid("approver", "须指明审批人", "name the member deciding")
	}
	var b Batch
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = getBatch(ctx, tx, batchID); err != nil {
			return err
		}
		switch {
		case b.OrgID != orgID:
			return errNoBatch
		case b.CreatedBy == approver:
			return errs.New(errs.Forbidden, "approver", "付款批次须由提交人以外的另一名成员审批", "a payout batch must be decided by a member other than its creator").
				With(ReasonSecondPerson, nil, b.ID)
		case b.Status != PendingApproval:
			return wrongStatus(b, "该批次已审批", "this batch has already been decided")
		}
		now := s.now()
		status := Rejected
		if approve {
			status = Approved
		}
		res, err := tx.Exec(ctx, `UPDATE payout_batches SET status = ?, decided_by = ?, decided_at = ?, updated_at = ? WHERE id = ? AND status = ?`,
			status, approver, now.UnixMicro(), now.UnixMicro(), b.ID, PendingApproval)
		if err != nil {
			return fmt.Errorf("payout: decide: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("payout: decide: %w", err)
		} else if n != 1 {
			return wrongStatus(b, "该批次已审批", "this batch has already been decided")
		}
		b.Status, b.DecidedBy, b.DecidedAt, b.UpdatedAt = status, approver, now, now
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

// Batch returns one batch, of any organisation: the caller checks OrgID.
func (s *Store) Batch(ctx context.Context, id string) (Batch, error) {
	return getBatch(ctx, s.db, id)
}

// Batches lists orgID's batches, newest first, at most limit (default
// DefaultLimit, at most MaxLimit).
func (s *Store) Batches(ctx context.Context, orgID string, limit int) ([]Batch, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	rows, err := s.db.Query(ctx, `SELECT `+batchCols+` FROM payout_batches WHERE org_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		orgID, min(limit, MaxLimit))
	if err != nil {
		return nil, fmt.Errorf("payout: batches: %w", err)
	}
	defer rows.Close()
	out := []Batch{}
	for rows.Next() {
		b, err := scanBatch(rows)
		if err != nil {
			return nil, fmt.Errorf("payout: batches: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payout: batches: %w", err)
	}
	return out, nil
}

const rowCols = `line, COALESCE(subject_id, ''), amount_fen, memo, status, rail_ref, error_code, updated_at`

// Rows returns a batch's rows in line order; like Batch, for a batch of
// any organisation: the caller checks the batch's OrgID.
func (s *Store) Rows(ctx context.Context, batchID string) ([]Row, error) {
	if _, err := getBatch(ctx, s.db, batchID); err != nil {
		return nil, err
	}
	return rowsOf(ctx, s.db, batchID)
}

func rowsOf(ctx context.Context, q store.Querier, batchID string) ([]Row, error) {
	rows, err := q.Query(ctx, `SELECT `+rowCols+` FROM payout_rows WHERE batch_id = ? ORDER BY line`, batchID)
	if err != nil {
		return nil, fmt.Errorf("payout: rows: %w", err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		var updated int64
		if err := rows.Scan(&r.Line, &r.WorkerID, &r.AmountFen, &r.Memo, &r.Status, &r.RailRef, &r.ErrorCode, &updated); err != nil {
			return nil, fmt.Errorf("payout: rows: %w", err)
		}
		r.UpdatedAt = fromMicro(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payout: rows: %w", err)
	}
	return out, nil
}

// MarkSubmitted records that an approved batch's transfer file, of digest
// fileDigest (GenerateTransferFile's), goes to the rail: the batch becomes
// submitted. Call it before Rail.Submit, so that a failure between the two
// leaves a batch marked submitted, to be reconciled with Rail.Status,
// rather than one still approved that could be paid twice.
func (s *Store) MarkSubmitted(ctx context.Context, batchID, fileDigest string) (Batch, error) {
	if fileDigest == "" || len(fileDigest) > 128 || !isLowerHex(fileDigest) {
		return Batch{}, invalid("file_digest", "文件摘要须为十六进制", "the file digest must be hexadecimal")
	}
	var b Batch
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = getBatch(ctx, tx, batchID); err != nil {
			return err
		}
		if b.Status != Approved {
			return wrongStatus(b, "只有已批准的批次可以提交付款", "only an approved batch can be submitted for payment")
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE payout_batches SET status = ?, file_digest = ?, file_created_at = ?, updated_at = ? WHERE id = ?`,
			Submitted, fileDigest, now.UnixMicro(), now.UnixMicro(), b.ID); err != nil {
			return fmt.Errorf("payout: mark submitted: %w", err)
		}
		b.Status, b.FileDigest, b.FileCreatedAt, b.UpdatedAt = Submitted, fileDigest, now, now
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// SetRowStatus records the rail's outcome for one row of a submitted
// batch: status paid (railRef, the rail's reference, required; errCode
// empty) or failed (errCode required). A row's outcome is final: setting
// it again to the same outcome changes nothing, another outcome is
// errs.Conflict. When no row is left pending the batch becomes completed.
// It returns the batch after the change.
func (s *Store) SetRowStatus(ctx context.Context, batchID string, line int, status, railRef, errCode string) (Batch, error) {
	return s.ApplyResults(ctx, batchID, []RowResult{{Line: line, Status: status, Ref: railRef, Code: errCode}})
}

// ApplyResults records many rows' outcomes, as SetRowStatus does one, in
// one transaction: all or none. Rail.Status's results are its input.
func (s *Store) ApplyResults(ctx context.Context, batchID string, results []RowResult) (Batch, error) {
	for _, r := range results {
		if err := checkResult(r); err != nil {
			return Batch{}, err
		}
	}
	var b Batch
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if b, err = getBatch(ctx, tx, batchID); err != nil {
			return err
		}
		if b.Status != Submitted && b.Status != Completed {
			return wrongStatus(b, "只有已提交付款的批次可以登记结果", "results can only be recorded for a batch submitted for payment")
		}
		current, err := rowsOf(ctx, tx, batchID)
		if err != nil {
			return err
		}
		byLine := make(map[int]Row, len(current))
		for _, r := range current {
			byLine[r.Line] = r
		}
		now := s.now()
		for _, res := range results {
			r, ok := byLine[res.Line]
			switch {
			case !ok:
				return errs.New(errs.NotFound, "line", fmt.Sprintf("批次中没有第%d行", res.Line), fmt.Sprintf("the batch has no line %d", res.Line))
			case r.Status == res.Status && r.RailRef == res.Ref && r.ErrorCode == res.Code:
				continue // a repeated report
			case r.Status != RowPending:
				return errs.New(errs.Conflict, "status", fmt.Sprintf("第%d行的付款结果已登记,不能更改", res.Line),
					fmt.Sprintf("the outcome of line %d is already recorded and cannot change", res.Line)).With("row_final", nil, strconv.Itoa(res.Line))
			}
			if _, err := tx.ExecHot(ctx, `UPDATE payout_rows SET status = ?, rail_ref = ?, error_code = ?, updated_at = ? WHERE batch_id = ? AND line = ?`,
				res.Status, res.Ref, res.Code, now.UnixMicro(), batchID, res.Line); err != nil {
				return fmt.Errorf("payout: set row status: %w", err)
			}
			byLine[res.Line] = Row{Status: res.Status, RailRef: res.Ref, ErrorCode: res.Code}
		}
		if b.Status == Completed {
			return nil
		}
		for _, r := range byLine {
			if r.Status == RowPending {
				return nil
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE payout_batches SET status = ?, updated_at = ? WHERE id = ?`, Completed, now.UnixMicro(), b.ID); err != nil {
			return fmt.Errorf("payout: complete: %w", err)
		}
		b.Status, b.UpdatedAt = Completed, now
		return nil
	})
	if err != nil {
		return Batch{}, err
	}
	return b, nil
}

// checkResult checks a row outcome before it is stored in clear: a paid
// row has the rail's reference and no code; a failed one a code. References
// are letters, digits and - _ . : only; codes lower-case letters, digits
// and _; both at most 64 characters.
func checkResult(r RowResult) error {
	if r.Line <= 0 {
		return invalid("line", "行号须为正数", "the line must be positive")
	}
	if len(r.Ref) > 64 || !refChars(r.Ref) {
		return invalid("rail_ref", "付款通道流水号格式不正确", "the rail reference is not well-formed")
	}
	if len(r.Code) > 64 || !codeChars(r.Code) {
		return invalid("error_code", "错误代码格式不正确", "the error code is not well-formed")
	}
	switch r.Status {
	case RowPaid:
		if r.Ref == "" || r.Code != "" {
			return invalid("rail_ref", "已付款的行须有付款通道流水号且没有错误代码", "a paid row has the rail's reference and no error code")
		}
	case RowFailed:
		if r.Code == "" {
			return invalid("error_code", "付款失败的行须有错误代码", "a failed row has an error code")
		}
	default:
		return invalid("status", "状态须为 paid 或 failed", "the status must be paid or failed")
	}
	return nil
}

func refChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func codeChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}
