package payout

import (
	"context"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"time"

	"gigvault/internal/format"
)

// Withholding returns the individual income tax to prepay (预扣预缴) on a
// payment of labour remuneration (劳务报酬所得) of amountFen:
//
//   - the taxable income is the income less 800 yuan (not below 0) when the
//     income is at most 4,000 yuan, and 80% of the income above that;
//   - the tax is 20% of a taxable income up to 20,000 yuan; 30% less a
//     quick deduction of 2,000 yuan up to 50,000 yuan; 40% less 7,000 yuan
//     above.
//
// The tax is computed exactly and rounded to the nearest fen, halves up
// (四舍五入); with these rates a half fen cannot arise, so the rounding
// never depends on the tie rule. A non-positive amount has no tax.
func Withholding(amountFen int64) int64 {
	if amountFen <= 80_000 {
		return 0
	}
	if amountFen <= 400_000 {
		return ((amountFen-80_000)*20 + 50) / 100
	}
	// taxable = amount × 4/5; tax = taxable × rate − deduction
	//         = amount × 4 × rate% / 500 − deduction (rate in percent).
	var rate, deduction int64
	switch {
	case amountFen <= 2_500_000: // taxable ≤ 20,000 yuan
		rate, deduction = 20, 0
	case amountFen <= 6_250_000: // taxable ≤ 50,000 yuan
		rate, deduction = 30, 200_000
	default:
		rate, deduction = 40, 700_000
	}
	// amount × 160 can pass 2^63: multiply in 128 bits (hi < 2^7).
	hi, lo := bits.Mul64(uint64(amountFen), uint64(4*rate))
	lo, carry := bits.Add64(lo, 250, 0)
	q, _ := bits.Div64(hi+carry, lo, 500)
	return int64(q) - deduction
}

// IdentityFunc returns a worker's legal name and ID number, decrypted from
// the vault by the integrator for the tax filing and for nothing else.
type IdentityFunc func(ctx context.Context, subjectID string) (name, idNumber string, err error)

// WithholdingHeader is the first line of WriteWithholdingSummary's file.
const WithholdingHeader = "period,name,id_number,gross_fen,tax_fen,net_fen"

// WriteWithholdingSummary writes the withholding summary of a batch's
// rows for the tax period period ("2006-01", 税款所属期): CSV (UTF-8, CRLF,
// RFC 4180 quoting), one line per worker in the order of their first row:
//
//	period,name,id_number,gross_fen,tax_fen,net_fen
//	2026-11,张三,110101199003071234,350000,56000,294000
//
// A worker's amounts in the batch are summed into one payment (gross); tax
// is Withholding(gross) and net gross − tax. Failed rows paid nothing and
// are left out. identity is called once per worker; the name and ID number
// are checked as formats and appear in this output only. The file is
// personal information: seal it (SealFile) or hand it straight to the tax
// filing; this function's own buffer is wiped once written to w.
func WriteWithholdingSummary(ctx context.Context, w io.Writer, period string, rows []Row, identity IdentityFunc) error {
	if _, err := time.Parse("2006-01", period); err != nil || len(period) != 7 {
		return invalid("period", "税款所属期须为 YYYY-MM 格式", "the tax period must be YYYY-MM")
	}
	type worker struct {
		id    string
		line  int
		gross int64
	}
	var order []*worker
	byID := map[string]*worker{}
	for _, r := range rows {
		if r.Status == RowFailed {
			continue
		}
		if r.AmountFen <= 0 {
			return invalid("rows", fmt.Sprintf("第%d行金额无效", r.Line), fmt.Sprintf("line %d: the amount is not valid", r.Line))
		}
		x := byID[r.WorkerID]
		if x == nil {
			x = &worker{id: r.WorkerID, line: r.Line}
			byID[r.WorkerID] = x
			order = append(order, x)
		}
		if x.gross = addSat(x.gross, r.AmountFen); x.gross == 1<<63-1 {
			return invalid("rows", "金额合计过大", "the amounts add up to too much")
		}
	}

	var buf plainBuf
	defer buf.wipe()
	buf.grow(len(WithholdingHeader) + 2 + 96*len(order))
	buf.str(WithholdingHeader)
	buf.str("\r\n")
	for _, x := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		name, idNumber, err := identity(ctx, x.id)
		if err != nil {
			return fmt.Errorf("payout: identity of the worker of line %d: %w", x.line, err)
		}
		if name, err = format.Normalize(format.KindPersonName, name); err != nil {
			return invalid("name", fmt.Sprintf("第%d行收款人的姓名无效", x.line), fmt.Sprintf("line %d: the worker's name is not valid", x.line))
		}
		if idNumber, err = format.Normalize(format.KindIDNumber, idNumber); err != nil {
			return invalid("id_number", fmt.Sprintf("第%d行收款人的身份证号无效", x.line), fmt.Sprintf("line %d: the worker's ID number is not valid", x.line))
		}
		tax := Withholding(x.gross)
		buf.str(period)
		buf.comma()
		buf.field(name)
		buf.comma()
		buf.str(idNumber)
		buf.comma()
		buf.str(strconv.FormatInt(x.gross, 10))
		buf.comma()
		buf.str(strconv.FormatInt(tax, 10))
		buf.comma()
		buf.str(strconv.FormatInt(x.gross-tax, 10))
		buf.str("\r\n")
	}
	if _, err := w.Write(buf.b); err != nil {
		return fmt.Errorf("payout: write the withholding summary: %w", err)
	}
	return nil
}
