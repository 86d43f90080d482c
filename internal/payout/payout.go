// Package payout pays workers' wages in batches (GIG-7): an employer
// uploads a CSV of payments, the batch is validated whole against the
// platform's directory of workers, approved by a second member of the
// organisation (ACC-5), turned into a bank payment file sealed with SM4-GCM
// and handed to a payout rail, whose per-row results complete the batch.
//
// The flow, and what each step sees:
//
//  1. ParseCSV (or Import) reads the employer's file: a worker reference (the
//     subject ID the employer sees on applications), an amount in fen and a
//     memo. The memo is stored in clear, so it is scanned for ID, bank-card
//     and mobile numbers and refused if it carries one (OPS-1).
//  2. Validate checks every row against a Directory the integrator
//     implements: the worker must be known to the organisation, verified with
//     at least three factors (GIG-5) and have a bank card on file. A batch is
//     taken whole or not at all: every problem is reported, by line, and no
//     partial batch is ever returned.
//  3. Store.Create records the batch pending approval; Store.Decide approves
//     or rejects it, and refuses the member who created it.
//  4. GenerateTransferFile asks the integrator for each payee's name, card
//     and bank (decrypted from the vault), writes the bank's CSV in memory
//     only, seals it and wipes the plaintext. The card number appears in that
//     file and nowhere else: not in rows, errors, the store or logs.
//  5. A Rail takes the sealed file; Store.MarkSubmitted records its digest,
//     Store.ApplyResults (or SetRowStatus) the paid and failed rows, and the
//     batch completes when no row is pending.
//
// Withholding and WriteWithholdingSummary work out the individual income
// tax prepaid on labour remuneration (劳务报酬所得), the only place the
// workers' ID numbers are used.
//
// Messages are safe to show and to log: in zh-CN and English, they name
// lines, fields and codes, never a cell's content. Times are stored as Unix
// microseconds from the injected clock. Errors are *errs.Error naming the
// field at fault, except for internal failures.
package payout

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/textscan"
)

// Row statuses.
const (
	RowPending = "pending"
	RowPaid    = "paid"
	RowFailed  = "failed"
)

// Row is one payment of a batch. Line is the line of the uploaded file the
// row came from (the header is line 1), and identifies the row within its
// batch, in the bank file and in the rail's results. WorkerID is the
// worker's subject ID in its canonical lower-case form. The status fields
// are set once the batch is stored.
type Row struct {
	Line      int    `json:"line"`
	WorkerID  string `json:"worker"`
	AmountFen int64  `json:"amount_fen"`
	Memo      string `json:"memo"`

	Status    string    `json:"status,omitempty"`     // pending | paid | failed
	RailRef   string    `json:"rail_ref,omitempty"`   // the rail's reference of a paid row
	ErrorCode string    `json:"error_code,omitempty"` // why the rail failed a row
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Limits bound an upload. A zero field takes its default.
type Limits struct {
	MaxRows      int   // data rows in one file; default DefaultMaxRows
	MaxRowFen    int64 // amount of one row; default DefaultMaxRowFen
	MaxBatchFen  int64 // total of one batch; default DefaultMaxBatchFen
	MaxFileBytes int64 // size of the file; default DefaultMaxFileBytes
}

// The default limits.
const (
	DefaultMaxRows      = 10_000
	DefaultMaxRowFen    = 5_000_000   // 50,000 yuan
	DefaultMaxBatchFen  = 500_000_000 // 5,000,000 yuan
	DefaultMaxFileBytes = 2 << 20     // 2 MiB
)

// MaxMemoRunes is the longest memo.
const MaxMemoRunes = 60

// withDefaults fills in the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxRowFen <= 0 {
		l.MaxRowFen = DefaultMaxRowFen
	}
	if l.MaxBatchFen <= 0 {
		l.MaxBatchFen = DefaultMaxBatchFen
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	l.MaxFileBytes = min(l.MaxFileBytes, 1<<40) // the file is read into memory
	return l
}

// The codes of RowError. Clients may rely on them; never rename one.
const (
	// Found in the file alone (ParseCSV), and again by Validate on rows
	// built by other means.
	CodeFieldCount   = "field_count"   // a row without exactly three fields
	CodeWorkerFormat = "worker_format" // the worker is not a subject ID (a UUID)
	CodeAmountFormat = "amount_format" // the amount is not digits only
	CodeAmountZero   = "amount_zero"   // the amount is zero
	CodeMemoTooLong  = "memo_too_long" // the memo is longer than MaxMemoRunes
	CodeMemoFormat   = "memo_format"   // control characters, invalid UTF-8, or a leading = + - @
	CodeMemoPI       = "memo_pi"       // an ID, bank-card or mobile number in the memo (OPS-1)
	CodeOverRowLimit = "over_row_limit"
	CodeBadLine      = "bad_line" // a row's line is not positive or repeats (rows built by other means)

	// Found by Validate.
	CodeDuplicate            = "duplicate"        // the same worker on two lines; both are reported
	CodeOverBatchLimit       = "over_batch_limit" // batch-level (line 0)
	CodeEmptyBatch           = "empty_batch"      // batch-level (line 0)
	CodeUnknownWorker        = "unknown_worker"   // not a worker known to this organisation
	CodeWorkerErased         = "worker_erased"    // the worker's data was erased: pay them another way
	CodeNotVerified          = "not_verified"     // identity verified with fewer than 3 factors (GIG-5)
	CodeNoBankCard           = "no_bank_card"
	CodeDirectoryUnavailable = "directory_unavailable" // batch-level: the directory failed; try again
)

// RowError is one problem of a batch: its line in the file (0 for the
// batch as a whole), the field at fault ("worker", "amount_fen", "memo", or
// "" for the row or the batch), a stable code and messages that never
// contain a cell's content.
type RowError struct {
	Line      int    `json:"line"`
	Field     string `json:"field,omitempty"`
	Code      string `json:"code"`
	MessageZh string `json:"message_zh"`
	Message   string `json:"message"`
}

func rowErr(line int, field, code, zh, en string) RowError {
	return RowError{Line: line, Field: field, Code: code, MessageZh: zh, Message: en}
}

// canonicalWorker returns the canonical lower-case form of a subject ID:
// the 36-character hyphenated UUID form, not the nil UUID. Other spellings
// uuid.Parse would take (braces, urn:uuid:, no hyphens) are refused, so
// one worker has one spelling.
func canonicalWorker(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil {
		return "", false
	}
	return u.String(), true
}

func checkWorker(line int, v string) (string, *RowError) {
	w, ok := canonicalWorker(v)
	if !ok {
		e := rowErr(line, "worker", CodeWorkerFormat, "收款人须为平台的人员编号(UUID格式)", "the worker must be the platform's subject ID (a UUID)")
		return "", &e
	}
	return w, nil
}

// parseAmount reads an amount cell: digits only, positive, within the row
// limit.
func parseAmount(line int, v string, maxRow int64) (int64, *RowError) {
	if v == "" || !digitsOnly(v) {
		e := rowErr(line, "amount_fen", CodeAmountFormat, "金额须为以分为单位的正整数,只能填数字", "the amount must be a positive whole number of fen, digits only")
		return 0, &e
	}
	t := strings.TrimLeft(v, "0")
	if t == "" {
		e := rowErr(line, "amount_fen", CodeAmountZero, "金额不能为零", "the amount must not be zero")
		return 0, &e
	}
	if len(t) > 18 { // beyond any limit an int64 can hold
		return 0, overRow(line, maxRow)
	}
	n, _ := strconv.ParseInt(t, 10, 64) // at most 18 digits: cannot fail
	if e := checkAmount(line, n, maxRow); e != nil {
		return 0, e
	}
	return n, nil
}

func checkAmount(line int, n, maxRow int64) *RowError {
	if n <= 0 {
		e := rowErr(line, "amount_fen", CodeAmountZero, "金额须大于零", "the amount must be more than zero")
		return &e
	}
	if n > maxRow {
		return overRow(line, maxRow)
	}
	return nil
}

func overRow(line int, maxRow int64) *RowError {
	e := rowErr(line, "amount_fen", CodeOverRowLimit,
		"单笔金额超过上限 "+yuan(maxRow)+" 元", "the amount is over the limit of "+yuan(maxRow)+" yuan per payment")
	return &e
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// yuan formats fen as yuan: 5000000 → "50000", 12345 → "123.45".
func yuan(fen int64) string {
	s := strconv.FormatInt(fen/100, 10)
	if c := fen % 100; c != 0 {
		s += "." + strconv.FormatInt(100+c, 10)[1:]
	}
	return s
}

// checkMemo checks a memo: optional; at most MaxMemoRunes; valid UTF-8
// without control or bidirectional characters; not starting with a
// character spreadsheets take for a formula (the memo goes into the bank's
// file); and no ID, bank-card or mobile number in it (OPS-1: memos are
// stored in clear).
func checkMemo(line int, memo string) *RowError {
	if memo == "" {
		return nil
	}
	if n := utf8.RuneCountInString(memo); n > MaxMemoRunes {
		e := rowErr(line, "memo", CodeMemoTooLong, "备注不能超过"+strconv.Itoa(MaxMemoRunes)+"个字符", "the memo must be at most "+strconv.Itoa(MaxMemoRunes)+" characters")
		return &e
	}
	if format.Validate(format.KindShortText, memo) != nil {
		e := rowErr(line, "memo", CodeMemoFormat, "备注含有不允许的字符(控制字符或无效编码)", "the memo contains characters that are not allowed (control characters or invalid encoding)")
		return &e
	}
	switch memo[0] {
	case '=', '+', '-', '@':
		e := rowErr(line, "memo", CodeMemoFormat, "备注不能以 = + - @ 开头", "the memo must not start with = + - or @")
		return &e
	}
	if err := textscan.Check("memo", memo); err != nil {
		x := errs.As(err)
		e := rowErr(line, "memo", CodeMemoPI, x.MessageZh, x.Message)
		return &e
	}
	return nil
}

// checkRow checks a row built by other means than ParseCSV as ParseCSV
// checks a parsed one. It does not check the line.
func checkRow(r Row, maxRow int64) []RowError {
	var out []RowError
	if w, e := checkWorker(r.Line, r.WorkerID); e != nil {
		out = append(out, *e)
	} else if w != r.WorkerID {
		out = append(out, rowErr(r.Line, "worker", CodeWorkerFormat, "人员编号须为小写的标准UUID格式", "the subject ID must be a UUID in canonical lower-case form"))
	}
	if e := checkAmount(r.Line, r.AmountFen, maxRow); e != nil {
		out = append(out, *e)
	}
	if e := checkMemo(r.Line, r.Memo); e != nil {
		out = append(out, *e)
	}
	return out
}
