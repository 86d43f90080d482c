package payout

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"gigvault/internal/errs"
)

// Header is the first line of an upload, exactly.
const Header = "worker,amount_fen,memo"

var header = []string{"worker", "amount_fen", "memo"}

var bom = []byte("\xef\xbb\xbf")

// The reasons of ParseCSV's structural errors (errs.Invalid, field "file").
const (
	ReasonFileTooLarge = "file_too_large"
	ReasonEmptyFile    = "empty_file"
	ReasonNotCSV       = "not_csv"
	ReasonBadHeader    = "bad_header"
	ReasonTooManyRows  = "too_many_rows"
)

func fileErr(reason, zh, en string, cause error) error {
	return errs.Wrap(errs.Invalid, "file", zh, en, cause).With(reason, nil, "")
}

// ParseCSV reads an employer's payment file: UTF-8, an optional byte-order
// mark, LF or CRLF line ends, the header line Header and one payment per
// line:
//
//	worker,amount_fen,memo
//	0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b,350000,11月工资
//
// worker is the worker's subject ID (a UUID, any case; returned in lower
// case); amount_fen is a positive whole number of fen, digits only (no
// sign, point or separators); memo is optional, at most MaxMemoRunes
// characters, and must not carry an ID, bank-card or mobile number. Spaces
// around a cell are ignored. Quoted cells follow RFC 4180, so a memo may
// hold a comma.
//
// A file that is too big, empty, not CSV, has another header or more than
// lim.MaxRows rows is refused with an error (errs.Invalid, field "file",
// the reason one of the Reason constants). Otherwise every problem of every
// row is returned as a RowError, and then no row is: a batch is never
// partial. Rows are returned only when there is no problem. The batch's
// total, duplicates and the workers themselves are Validate's to check.
//
// Errors and RowErrors never contain a cell's content.
func ParseCSV(r io.Reader, lim Limits) ([]Row, []RowError, error) {
	rows, rowErrs, _, err := parse(r, lim.withDefaults())
	if err != nil {
		return nil, nil, err
	}
	if len(rowErrs) > 0 {
		return nil, rowErrs, nil
	}
	return rows, nil, nil
}

// parse reads the file and returns the rows without a problem, the
// problems, and how many data rows the file has.
func parse(r io.Reader, lim Limits) ([]Row, []RowError, int, error) {
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxFileBytes+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("payout: read the file: %w", err)
	}
	if int64(len(data)) > lim.MaxFileBytes {
		return nil, nil, 0, fileErr(ReasonFileTooLarge,
			fmt.Sprintf("文件不能超过%d字节", lim.MaxFileBytes), fmt.Sprintf("the file must be at most %d bytes", lim.MaxFileBytes), nil)
	}
	data = bytes.TrimPrefix(data, bom)

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // counted here, so a short row is a row error
	cr.ReuseRecord = true
	notCSV := func(err error) error {
		line := 0
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.Line
		}
		// csv.ParseError's text names the line, column and kind of fault,
		// never the content.
		return fileErr(ReasonNotCSV, fmt.Sprintf("文件不是有效的CSV(第%d行)", line), fmt.Sprintf("the file is not valid CSV (line %d)", line), err)
	}

	h, err := cr.Read()
	if err == io.EOF {
		return nil, nil, 0, fileErr(ReasonEmptyFile, "文件是空的", "the file is empty", nil)
	}
	if err != nil {
		return nil, nil, 0, notCSV(err)
	}
	if !slices.Equal(h, header) {
		return nil, nil, 0, fileErr(ReasonBadHeader, "第一行须为 "+Header+"(请将表格另存为UTF-8编码的CSV文件)",
			"the first line must be exactly "+Header+" (save the sheet as CSV, UTF-8)", nil)
	}

	var rows []Row
	var rowErrs []RowError
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, 0, notCSV(err)
		}
		n++
		if n > lim.MaxRows {
			return nil, nil, 0, fileErr(ReasonTooManyRows,
				fmt.Sprintf("一个批次最多%d行", lim.MaxRows), fmt.Sprintf("a batch has at most %d rows", lim.MaxRows), nil)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			rowErrs = append(rowErrs, rowErr(line, "", CodeFieldCount,
				fmt.Sprintf("每行须有%d列(收款人、金额、备注),本行有%d列", len(header), len(rec)),
				fmt.Sprintf("each row must have %d fields (worker, amount, memo); this one has %d", len(header), len(rec))))
			continue
		}
		ok := true
		worker, e := checkWorker(line, strings.TrimSpace(rec[0]))
		if e != nil {
			rowErrs, ok = append(rowErrs, *e), false
		}
		amount, e := parseAmount(line, strings.TrimSpace(rec[1]), lim.MaxRowFen)
		if e != nil {
			rowErrs, ok = append(rowErrs, *e), false
		}
		memo := strings.TrimSpace(rec[2])
		if e := checkMemo(line, memo); e != nil {
			rowErrs, ok = append(rowErrs, *e), false
		}
		if ok {
			rows = append(rows, Row{Line: line, WorkerID: worker, AmountFen: amount, Memo: memo})
		}
	}
	if rows == nil {
		rows = []Row{}
	}
	return rows, rowErrs, n, nil
}

// FormatCSV writes rows as an upload ParseCSV reads back to the same rows
// (their lines renumbered from 2): for tests, examples and templates.
func FormatCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rows {
		if err := cw.Write([]string{r.WorkerID, strconv.FormatInt(r.AmountFen, 10), r.Memo}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
