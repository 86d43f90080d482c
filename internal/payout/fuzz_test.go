package payout_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode/utf8"

	"gigvault/internal/errs"
	"gigvault/internal/payout"
	"gigvault/internal/textscan"
)

var fuzzLimits = payout.Limits{MaxRows: 50, MaxRowFen: 1_000_000, MaxFileBytes: 8 << 10}

// digitsAsZero maps every ASCII digit to 0, so messages that differ only
// in their numbers (lines, spans, limits) compare equal.
func digitsAsZero(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '0'
		}
		return r
	}, s)
}

// templates returns the messages ParseCSV gives for inputs that raise
// every code, digits as zero: text a cell may share with a message by
// coincidence rather than because the message repeats it.
func templates(t testing.TB) []string {
	w := "0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b"
	in := "worker,amount_fen,memo\n" +
		"x,1,\n" + w + ",x,\n" + w + ",0,\n" + w + ",1000001,\n" + w + ",1\n" + w + ",1,\"a\tb\"\n" + w + ",1,=x\n" + w + ",1," + strings.Repeat("a", 61) + "\n" +
		w + ",1,13800138000 13900139000 13700137000 110101199003071233 6222020200112233445\n" +
		w + ",1,110101199003071233\n" + w + ",1,6222020200112233445\n"
	var out []string
	_, rowErrs, err := payout.ParseCSV(strings.NewReader(in), fuzzLimits)
	if err != nil || len(rowErrs) == 0 {
		t.Fatalf("templates: %v %v", rowErrs, err)
	}
	for _, e := range rowErrs {
		out = append(out, digitsAsZero(e.Message), digitsAsZero(e.MessageZh))
	}
	// The structural errors' messages.
	for _, in := range []string{"", "x\n", "worker,amount_fen,memo\n\"", "worker,amount_fen,memo\n" + strings.Repeat(w+",1,\n", 51),
		strings.Repeat("x", 9<<10)} {
		_, _, err := payout.ParseCSV(strings.NewReader(in), fuzzLimits)
		if err == nil {
			t.Fatalf("templates: %q parses", in)
		}
		out = append(out, digitsAsZero(errs.As(err).Message), digitsAsZero(errs.As(err).MessageZh))
	}
	return out
}

// cells returns every field of data read as CSV, as read and trimmed.
func cells(data []byte) []string {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var out []string
	for {
		rec, err := cr.Read()
		if err != nil && rec == nil {
			break
		}
		for _, c := range rec {
			out = append(out, c, strings.TrimSpace(c))
		}
	}
	return out
}

// FuzzParseCSV: ParseCSV never panics; it returns a structural error, or
// row errors, or rows, exactly one; no message repeats a cell of more than
// five characters; rows carry no PI in their memos; and rows written back
// with FormatCSV parse to the same rows.
func FuzzParseCSV(f *testing.F) {
	tpl := templates(f)
	f.Add([]byte("worker,amount_fen,memo\n0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b,100,工资\n"))
	f.Add([]byte("worker,amount_fen,memo\r\n0190F3C4-8A7E-7CC1-B3F2-6C1D2E3F4A5B, 1 ,\" a,\"\"b\"\" \"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, rowErrs, err := payout.ParseCSV(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			if rows != nil || rowErrs != nil || errs.CodeOf(err) != errs.Invalid {
				t.Fatalf("structural error %v with rows %v / errors %v", err, rows, rowErrs)
			}
			rowErrs = []payout.RowError{{Message: errs.As(err).Message, MessageZh: errs.As(err).MessageZh}}
		} else if (rows == nil) == (rowErrs == nil) {
			t.Fatalf("rows %v and errors %v", rows, rowErrs)
		}

		for _, c := range cells(data) {
			if utf8.RuneCountInString(c) <= 5 {
				continue
			}
			nc := digitsAsZero(c)
			for _, e := range rowErrs {
				if !strings.Contains(digitsAsZero(e.Message), nc) && !strings.Contains(digitsAsZero(e.MessageZh), nc) {
					continue
				}
				coincidence := false
				for _, m := range tpl {
					coincidence = coincidence || strings.Contains(m, nc)
				}
				if !coincidence {
					t.Fatalf("message %q / %q repeats the cell %q", e.Message, e.MessageZh, c)
				}
			}
		}
		if rows == nil {
			return
		}

		for _, r := range rows {
			if fs := textscan.Scan(r.Memo); len(fs) > 0 || r.AmountFen <= 0 || r.AmountFen > fuzzLimits.MaxRowFen {
				t.Fatalf("row %+v passed with %v", r, fs)
			}
		}
		var buf bytes.Buffer
		if err := payout.FormatCSV(&buf, rows); err != nil {
			t.Fatal(err)
		}
		again, rowErrs, err := payout.ParseCSV(&buf, fuzzLimits)
		if err != nil || rowErrs != nil || len(again) != len(rows) {
			t.Fatalf("re-parse: %v %v (%d rows, want %d)", rowErrs, err, len(again), len(rows))
		}
		for i := range rows {
			a, b := rows[i], again[i]
			if a.WorkerID != b.WorkerID || a.AmountFen != b.AmountFen || a.Memo != b.Memo || b.Line != i+2 {
				t.Fatalf("row %d: %+v re-parses as %+v", i, a, b)
			}
		}
	})
}
