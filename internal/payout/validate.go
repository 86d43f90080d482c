package payout

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MinPayoutLevel is the identity verification a worker needs to be paid
// to a bank card: three factors (name, ID number, card; GIG-5).
const MinPayoutLevel = 3

// WorkerInfo is what the platform knows of a worker, as far as paying them
// goes. Known is false for a subject the organisation has no relationship
// with (no application to its jobs), whether or not it exists.
type WorkerInfo struct {
	Known   bool
	Erased  bool
	Level   int // identity verification factors passed: 0, 2, 3 or 4
	HasCard bool
}

// Directory tells Validate about workers. The integrator implements it
// over applications, verifications and the vault; an error is a failure of
// the directory itself (an unknown worker is WorkerInfo{}).
type Directory interface {
	Worker(ctx context.Context, orgID, workerID string) (WorkerInfo, error)
}

// Report is the outcome of validating a batch: OK when Errors is empty;
// Rows counts the data rows, TotalFen sums the amounts that could be read.
// Errors are sorted by line, batch-level ones (line 0) first.
type Report struct {
	OK       bool       `json:"ok"`
	Rows     int        `json:"rows"`
	TotalFen int64      `json:"total_fen"`
	Errors   []RowError `json:"errors"`
	// Err is the directory's failure behind a directory_unavailable error,
	// for the log; it is never shown.
	Err error `json:"-"`
}

// Validate checks a batch whole: every row as ParseCSV checks it (so rows
// built by other means are held to the same rules), lines positive and
// distinct, at least one row, no worker twice (every line of a repeated
// worker is reported), the total within lim.MaxBatchFen, and each worker,
// once, in dir: known to orgID, not erased, verified with at least
// MinPayoutLevel factors, with a bank card.
//
// A failure of dir stops the look-ups and is reported as a batch-level
// directory_unavailable error, the cause in Report.Err.
func Validate(ctx context.Context, rows []Row, dir Directory, orgID string, lim Limits) Report {
	lim = lim.withDefaults()
	var pre []RowError
	for _, r := range rows {
		pre = append(pre, checkRow(r, lim.MaxRowFen)...)
	}
	return validate(ctx, rows, len(rows), dir, orgID, lim, pre)
}

// Import parses an upload and validates it in one go, so the employer sees
// every problem at once: the rows that parse are checked against the
// directory even when others do not. Rows are returned only when the report
// is OK. A structural problem of the file is an error, as from ParseCSV.
func Import(ctx context.Context, r io.Reader, dir Directory, orgID string, lim Limits) ([]Row, Report, error) {
	lim = lim.withDefaults()
	rows, rowErrs, n, err := parse(r, lim)
	if err != nil {
		return nil, Report{}, err
	}
	rep := validate(ctx, rows, n, dir, orgID, lim, rowErrs)
	if !rep.OK {
		return nil, rep, nil
	}
	return rows, rep, nil
}

// validate adds the batch's and the directory's problems to pre, the rows'
// own, for rows (of n data rows in all).
func validate(ctx context.Context, rows []Row, n int, dir Directory, orgID string, lim Limits, pre []RowError) Report {
	rep := Report{Rows: n, Errors: pre}
	add := func(e RowError) { rep.Errors = append(rep.Errors, e) }
	if n == 0 {
		add(rowErr(0, "", CodeEmptyBatch, "批次中没有付款", "the batch has no payments"))
	}

	lines := make(map[int]bool, len(rows))
	byWorker := make(map[string][]int, len(rows))
	var order []string // distinct valid workers, in order of first appearance
	for _, r := range rows {
		if r.Line <= 0 || lines[r.Line] {
			add(rowErr(r.Line, "", CodeBadLine, "行号须为正数且不重复", "line numbers must be positive and distinct"))
		}
		lines[r.Line] = true
		if r.AmountFen > 0 {
			rep.TotalFen = addSat(rep.TotalFen, r.AmountFen)
		}
		if w, ok := canonicalWorker(r.WorkerID); ok && w == r.WorkerID {
			if _, seen := byWorker[w]; !seen {
				order = append(order, w)
			}
			byWorker[w] = append(byWorker[w], r.Line)
		}
	}
	if rep.TotalFen > lim.MaxBatchFen {
		add(rowErr(0, "amount_fen", CodeOverBatchLimit, "批次总额超过上限 "+yuan(lim.MaxBatchFen)+" 元",
			"the batch total is over the limit of "+yuan(lim.MaxBatchFen)+" yuan"))
	}
	for _, w := range order {
		ls := byWorker[w]
		if len(ls) < 2 {
			continue
		}
		for _, l := range ls {
			others := joinLines(ls, l)
			add(rowErr(l, "worker", CodeDuplicate, "同一收款人在本批次中重复出现(另见第"+others+"行)",
				"the same worker appears more than once in the batch (see also line "+others+")"))
		}
	}

	for _, w := range order {
		if err := ctx.Err(); err != nil {
			rep.Err = err
		} else {
			info, err := dir.Worker(ctx, orgID, w)
			if err == nil {
				for _, l := range byWorker[w] {
					for _, e := range workerErrors(l, info) {
						add(e)
					}
				}
				continue
			}
			rep.Err = fmt.Errorf("payout: directory: %w", err)
		}
		add(rowErr(0, "worker", CodeDirectoryUnavailable, "暂时无法核对收款人,请稍后重试", "the workers cannot be checked at the moment; try again later"))
		break
	}

	slices.SortStableFunc(rep.Errors, func(a, b RowError) int { return a.Line - b.Line })
	rep.OK = len(rep.Errors) == 0
	if rep.Errors == nil {
		rep.Errors = []RowError{}
	}
	return rep
}

// workerErrors are the problems of paying the worker described by info.
func workerErrors(line int, info WorkerInfo) []RowError {
	switch {
	case !info.Known:
		return []RowError{rowErr(line, "worker", CodeUnknownWorker, "收款人不是本单位的用工人员", "the worker is not known to your organisation")}
	case info.Erased:
		return []RowError{rowErr(line, "worker", CodeWorkerErased, "该人员的个人信息已删除,无法通过平台付款,请另行结算",
			"this worker's data has been erased and the platform cannot pay them: settle with them another way")}
	}
	var out []RowError
	if info.Level < MinPayoutLevel {
		out = append(out, rowErr(line, "worker", CodeNotVerified, "收款人未通过三要素实名认证,不能付款到银行卡",
			"the worker has not passed the three-factor identity verification that payment to a bank card requires"))
	}
	if !info.HasCard {
		out = append(out, rowErr(line, "worker", CodeNoBankCard, "收款人未绑定银行卡", "the worker has no bank card on file"))
	}
	return out
}

// joinLines lists ls but skip, comma-separated, at most five.
func joinLines(ls []int, skip int) string {
	var parts []string
	for _, l := range ls {
		if l == skip {
			continue
		}
		if len(parts) == 5 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, strconv.Itoa(l))
	}
	return strings.Join(parts, ",")
}

// addSat adds two non-negative amounts, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
