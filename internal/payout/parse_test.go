package payout_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/errs"
	"gigvault/internal/payout"
)

func TestParseCSV(t *testing.T) {
	w1, w2 := wid(1), wid(2)
	id := idNumber("11010119900307123")
	cardNo := card("622202", 19, 42)
	memo60 := strings.Repeat("工", 60)
	type want struct {
		rows   []payout.Row
		errs   []string // line:field:code
		reason string   // of the structural error
	}
	rows2 := []payout.Row{{Line: 2, WorkerID: w1, AmountFen: 350000, Memo: "11月工资"}, {Line: 3, WorkerID: w2, AmountFen: 1, Memo: ""}}
	cases := []struct {
		name string
		in   string
		lim  payout.Limits
		want want
	}{
		{"lf", "worker,amount_fen,memo\n" + w1 + ",350000,11月工资\n" + w2 + ",1,\n", payout.Limits{}, want{rows: rows2}},
		{"bom crlf", "\ufeffworker,amount_fen,memo\r\n" + w1 + ",350000,11月工资\r\n" + w2 + ",1,\r\n", payout.Limits{}, want{rows: rows2}},
		{"no final newline, blank line", "worker,amount_fen,memo\n\n" + w1 + ",350000,11月工资", payout.Limits{},
			want{rows: []payout.Row{{Line: 3, WorkerID: w1, AmountFen: 350000, Memo: "11月工资"}}}},
		{"quoted memo with comma and quote", "worker,amount_fen,memo\n" + w1 + `,100,"加班费,11月 ""夜班"""` + "\n", payout.Limits{},
			want{rows: []payout.Row{{Line: 2, WorkerID: w1, AmountFen: 100, Memo: `加班费,11月 "夜班"`}}}},
		{"spaces trimmed, upper-case worker", "worker,amount_fen,memo\n " + strings.ToUpper(w1) + " , 100 ,  餐补 \n", payout.Limits{},
			want{rows: []payout.Row{{Line: 2, WorkerID: w1, AmountFen: 100, Memo: "餐补"}}}},
		{"memo of 60 characters", "worker,amount_fen,memo\n" + w1 + ",100," + memo60 + "\n", payout.Limits{},
			want{rows: []payout.Row{{Line: 2, WorkerID: w1, AmountFen: 100, Memo: memo60}}}},
		{"header only", "worker,amount_fen,memo\n", payout.Limits{}, want{rows: []payout.Row{}}},
		{"at the row limit", "worker,amount_fen,memo\n" + w1 + ",5000000,\n", payout.Limits{}, want{rows: []payout.Row{{Line: 2, WorkerID: w1, AmountFen: 5000000}}}},

		{"bad header", "worker,amount,memo\n" + w1 + ",1,\n", payout.Limits{}, want{reason: payout.ReasonBadHeader}},
		{"header case", "Worker,amount_fen,memo\n", payout.Limits{}, want{reason: payout.ReasonBadHeader}},
		{"header extra column", "worker,amount_fen,memo,x\n", payout.Limits{}, want{reason: payout.ReasonBadHeader}},
		{"binary", "PK\x03\x04\x14\x00\x06\x00", payout.Limits{}, want{reason: payout.ReasonBadHeader}},
		{"empty", "", payout.Limits{}, want{reason: payout.ReasonEmptyFile}},
		{"bom only", "\ufeff", payout.Limits{}, want{reason: payout.ReasonEmptyFile}},
		{"unterminated quote", "worker,amount_fen,memo\n" + w1 + `,1,"abc` + "\n", payout.Limits{}, want{reason: payout.ReasonNotCSV}},
		{"bare quote", "worker,amount_fen,memo\n" + w1 + `,1,ab"c` + "\n", payout.Limits{}, want{reason: payout.ReasonNotCSV}},
		{"too big", "worker,amount_fen,memo\n" + w1 + ",1,\n", payout.Limits{MaxFileBytes: 40}, want{reason: payout.ReasonFileTooLarge}},
		{"too many rows", "worker,amount_fen,memo\n" + w1 + ",1,\n" + w2 + ",1,\n" + wid(3) + ",1,\n", payout.Limits{MaxRows: 2},
			want{reason: payout.ReasonTooManyRows}},

		{"non-digit amount", "worker,amount_fen,memo\n" + w1 + ",12.50,\n" + w2 + `,"1,000",` + "\n" + wid(3) + ",¥100,\n" + wid(4) + ",,\n" + wid(5) + ",1e3,\n",
			payout.Limits{}, want{errs: []string{"2:amount_fen:amount_format", "3:amount_fen:amount_format", "4:amount_fen:amount_format",
				"5:amount_fen:amount_format", "6:amount_fen:amount_format"}}},
		{"zero", "worker,amount_fen,memo\n" + w1 + ",0,\n" + w2 + ",000,\n", payout.Limits{},
			want{errs: []string{"2:amount_fen:amount_zero", "3:amount_fen:amount_zero"}}},
		{"negative", "worker,amount_fen,memo\n" + w1 + ",-100,\n" + w2 + ",+100,\n", payout.Limits{},
			want{errs: []string{"2:amount_fen:amount_format", "3:amount_fen:amount_format"}}},
		{"over the row limit", "worker,amount_fen,memo\n" + w1 + ",5000001,\n" + w2 + ",99999999999999999999999999,\n" + wid(3) + ",101,\n",
			payout.Limits{MaxRowFen: 100}, want{errs: []string{"2:amount_fen:over_row_limit", "3:amount_fen:over_row_limit", "4:amount_fen:over_row_limit"}}},
		{"over the default row limit", "worker,amount_fen,memo\n" + w1 + ",5000001,\n", payout.Limits{}, want{errs: []string{"2:amount_fen:over_row_limit"}}},
		{"bad worker", "worker,amount_fen,memo\n" + "w-1,1,\n" + "{" + w2 + "},1,\n" + "00000000-0000-0000-0000-000000000000,1,\n" +
			strings.ReplaceAll(wid(4), "-", "") + ",1,\n" + ",1,\n", payout.Limits{},
			want{errs: []string{"2:worker:worker_format", "3:worker:worker_format", "4:worker:worker_format", "5:worker:worker_format", "6:worker:worker_format"}}},
		{"memo too long", "worker,amount_fen,memo\n" + w1 + ",1," + memo60 + "工\n" + w2 + ",1," + strings.Repeat(memo60, 3) + "\n", payout.Limits{},
			want{errs: []string{"2:memo:memo_too_long", "3:memo:memo_too_long"}}},
		{"memo with an ID number", "worker,amount_fen,memo\n" + w1 + ",1,工资 " + id + "\n", payout.Limits{}, want{errs: []string{"2:memo:memo_pi"}}},
		{"memo with a card", "worker,amount_fen,memo\n" + w1 + ",1,转入" + cardNo + "\n", payout.Limits{}, want{errs: []string{"2:memo:memo_pi"}}},
		{"memo with a grouped card", "worker,amount_fen,memo\n" + w1 + ",1,卡 " + cardNo[:4] + " " + cardNo[4:8] + " " + cardNo[8:12] + " " + cardNo[12:16] + " " + cardNo[16:] + "\n",
			payout.Limits{}, want{errs: []string{"2:memo:memo_pi"}}},
		{"memo with a mobile", "worker,amount_fen,memo\n" + w1 + ",1,联系13800138000\n" + w2 + ",1,电话 138 0013 8000\n" + wid(3) + ",1,１３８００１３８０００\n",
			payout.Limits{}, want{errs: []string{"2:memo:memo_pi", "3:memo:memo_pi", "4:memo:memo_pi"}}},
		{"memo formula", "worker,amount_fen,memo\n" + w1 + ",1,\"=HYPERLINK(\"\"x\"\")\"\n" + w2 + ",1,@SUM(A1)\n", payout.Limits{},
			want{errs: []string{"2:memo:memo_format", "3:memo:memo_format"}}},
		{"memo control characters", "worker,amount_fen,memo\n" + w1 + ",1,\"a\tb\"\n" + w2 + ",1,\"a\nb\"\n" + wid(3) + ",1,a\u202eb\n" + wid(4) + ",1,\xff\xfe\n",
			payout.Limits{}, want{errs: []string{"2:memo:memo_format", "3:memo:memo_format", "5:memo:memo_format", "6:memo:memo_format"}}},
		{"field count", "worker,amount_fen,memo\n" + w1 + ",1\n" + w2 + ",1,a,b\n" + wid(3) + ",1,ok\n", payout.Limits{},
			want{errs: []string{"2::field_count", "3::field_count"}}},
		{"every problem of a row", "worker,amount_fen,memo\nnobody,-1,13800138000\n", payout.Limits{},
			want{errs: []string{"2:worker:worker_format", "2:amount_fen:amount_format", "2:memo:memo_pi"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, rowErrs, err := payout.ParseCSV(strings.NewReader(c.in), c.lim)
			if c.want.reason != "" {
				wantErr(t, "structural", err, errs.Invalid, "file", c.want.reason)
				if rows != nil || rowErrs != nil {
					t.Errorf("rows %v and errors %v beside a structural error", rows, rowErrs)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if c.want.errs != nil {
				if rows != nil {
					t.Errorf("partial batch %v beside row errors", rows)
				}
				if diff := cmp.Diff(c.want.errs, codes(rowErrs)); diff != "" {
					t.Errorf("row errors (-want +got):\n%s", diff)
				}
				// No message repeats a cell.
				var cells []string
				for _, l := range strings.Split(c.in, "\n")[1:] { // not the header
					cells = append(cells, strings.Split(l, ",")...)
				}
				noLeak(t, c.name, rowErrs, append(cells, id, cardNo, "13800138000")...)
				return
			}
			if rowErrs != nil {
				t.Fatalf("unexpected row errors %v", codes(rowErrs))
			}
			if diff := cmp.Diff(c.want.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}

// The memo's PI message names the kind and the span, not the digits.
func TestParseCSVMemoMessage(t *testing.T) {
	_, rowErrs, err := payout.ParseCSV(strings.NewReader("worker,amount_fen,memo\n"+wid(1)+",1,电话13800138000\n"), payout.Limits{})
	if err != nil || len(rowErrs) != 1 {
		t.Fatalf("%v %v", rowErrs, err)
	}
	e := rowErrs[0]
	if !strings.Contains(e.Message, "a mobile number at characters 2–13") || !strings.Contains(e.MessageZh, "手机号") ||
		strings.Contains(e.Message+e.MessageZh, "13800138000") {
		t.Errorf("message %q / %q", e.Message, e.MessageZh)
	}
}

// A reader failing is an internal error, not a refusal of the file.
func TestParseCSVReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := payout.ParseCSV(failingReader{boom}, payout.Limits{})
	if !errors.Is(err, boom) || errs.CodeOf(err) != errs.Internal {
		t.Errorf("read error: %v", err)
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// fakeDir is a Directory over a map; a worker absent from it is unknown.
type fakeDir struct {
	workers map[string]payout.WorkerInfo
	org     string
	fail    error
	calls   []string
}

func (d *fakeDir) Worker(_ context.Context, orgID, workerID string) (payout.WorkerInfo, error) {
	d.calls = append(d.calls, workerID)
	if d.fail != nil {
		return payout.WorkerInfo{}, d.fail
	}
	if orgID != d.org {
		return payout.WorkerInfo{}, nil
	}
	return d.workers[workerID], nil
}

var good = payout.WorkerInfo{Known: true, Level: 3, HasCard: true}

func newDir() *fakeDir {
	return &fakeDir{org: "org-a", workers: map[string]payout.WorkerInfo{
		wid(1): good,
		wid(2): {Known: true, Level: 4, HasCard: true},
		wid(3): {Known: true, Erased: true, Level: 3, HasCard: true},
		wid(4): {Known: true, Level: 2, HasCard: true},
		wid(5): {Known: true, Level: 0, HasCard: true},
		wid(6): {Known: true, Level: 3},
		wid(7): {Known: true, Level: 2},
	}}
}

func TestValidate(t *testing.T) {
	row := func(line, w int, amount int64, memo string) payout.Row {
		return payout.Row{Line: line, WorkerID: wid(w), AmountFen: amount, Memo: memo}
	}
	cases := []struct {
		name  string
		org   string
		rows  []payout.Row
		lim   payout.Limits
		want  []string
		total int64
	}{
		{"ok", "org-a", []payout.Row{row(2, 1, 100, "工资"), row(3, 2, 250, "")}, payout.Limits{}, nil, 350},
		{"unknown worker", "org-a", []payout.Row{row(2, 1, 100, ""), row(3, 99, 100, "")}, payout.Limits{}, []string{"3:worker:unknown_worker"}, 200},
		{"another organisation's worker", "org-b", []payout.Row{row(2, 1, 100, "")}, payout.Limits{}, []string{"2:worker:unknown_worker"}, 100},
		{"erased", "org-a", []payout.Row{row(2, 3, 100, "")}, payout.Limits{}, []string{"2:worker:worker_erased"}, 100},
		{"two factors", "org-a", []payout.Row{row(2, 4, 100, "")}, payout.Limits{}, []string{"2:worker:not_verified"}, 100},
		{"not verified", "org-a", []payout.Row{row(2, 5, 100, "")}, payout.Limits{}, []string{"2:worker:not_verified"}, 100},
		{"no bank card", "org-a", []payout.Row{row(2, 6, 100, "")}, payout.Limits{}, []string{"2:worker:no_bank_card"}, 100},
		{"neither", "org-a", []payout.Row{row(2, 7, 100, "")}, payout.Limits{}, []string{"2:worker:not_verified", "2:worker:no_bank_card"}, 100},
		{"duplicate", "org-a", []payout.Row{row(2, 1, 100, ""), row(3, 2, 100, ""), row(4, 1, 100, "")}, payout.Limits{},
			[]string{"2:worker:duplicate", "4:worker:duplicate"}, 300},
		{"over the row limit", "org-a", []payout.Row{row(2, 1, 5_000_001, "")}, payout.Limits{}, []string{"2:amount_fen:over_row_limit"}, 5_000_001},
		{"over the batch limit", "org-a", []payout.Row{row(2, 1, 600, ""), row(3, 2, 500, "")}, payout.Limits{MaxBatchFen: 1000},
			[]string{"0:amount_fen:over_batch_limit"}, 1100},
		{"at the batch limit", "org-a", []payout.Row{row(2, 1, 500, ""), row(3, 2, 500, "")}, payout.Limits{MaxBatchFen: 1000}, nil, 1000},
		{"empty", "org-a", nil, payout.Limits{}, []string{"0::empty_batch"}, 0},
		{"parse codes", "org-a", []payout.Row{
			{Line: 2, WorkerID: strings.ToUpper(wid(1)), AmountFen: 1},
			row(3, 2, 0, ""),
			row(4, 6, -5, "13800138000"),
			row(5, 99, 1, strings.Repeat("a", 61)),
		}, payout.Limits{}, []string{"2:worker:worker_format", "3:amount_fen:amount_zero", "4:amount_fen:amount_zero", "4:memo:memo_pi",
			"4:worker:no_bank_card", "5:memo:memo_too_long", "5:worker:unknown_worker"}, 2},
		{"bad lines", "org-a", []payout.Row{row(0, 1, 1, ""), row(3, 2, 1, ""), row(3, 6, 1, "")}, payout.Limits{},
			[]string{"0::bad_line", "3::bad_line", "3:worker:no_bank_card"}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := newDir()
			rep := payout.Validate(ctx, c.rows, dir, c.org, c.lim)
			if c.want == nil {
				c.want = []string{}
			}
			if diff := cmp.Diff(c.want, codes(rep.Errors)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if rep.OK != (len(c.want) == 0) || rep.Rows != len(c.rows) || rep.TotalFen != c.total || rep.Err != nil {
				t.Errorf("report %+v, want total %d", rep, c.total)
			}
			noLeak(t, c.name, rep.Errors, "13800138000", strings.Repeat("a", 61))
			// Each worker of a valid form is looked up once.
			seen := map[string]bool{}
			for _, w := range dir.calls {
				if seen[w] {
					t.Errorf("worker %s looked up twice", w)
				}
				seen[w] = true
			}
		})
	}
}

func TestValidateDirectoryFailure(t *testing.T) {
	boom := errors.New("connection refused")
	dir := newDir()
	dir.fail = boom
	rows := []payout.Row{{Line: 2, WorkerID: wid(1), AmountFen: 1}, {Line: 3, WorkerID: wid(2), AmountFen: 1}}
	rep := payout.Validate(ctx, rows, dir, "org-a", payout.Limits{})
	if rep.OK || !slices.Equal(codes(rep.Errors), []string{"0:worker:directory_unavailable"}) || !errors.Is(rep.Err, boom) || len(dir.calls) != 1 {
		t.Errorf("report %+v, calls %v", rep, dir.calls)
	}
	if strings.Contains(rep.Errors[0].Message, "refused") {
		t.Errorf("the cause is shown: %q", rep.Errors[0].Message)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	rep = payout.Validate(cctx, rows, newDir(), "org-a", payout.Limits{})
	if rep.OK || !errors.Is(rep.Err, context.Canceled) {
		t.Errorf("cancelled: %+v", rep)
	}
}

// Import reports the file's and the directory's problems together and
// returns rows only for a clean batch.
func TestImport(t *testing.T) {
	in := "worker,amount_fen,memo\n" + wid(1) + ",100,\n" + wid(99) + ",100,\n" + wid(2) + ",abc,\n" + wid(4) + ",1,\n" + wid(1) + ",5,\n"
	rows, rep, err := payout.Import(ctx, strings.NewReader(in), newDir(), "org-a", payout.Limits{})
	if err != nil || rows != nil || rep.OK || rep.Rows != 5 || rep.TotalFen != 206 {
		t.Fatalf("import: %v %+v %v", rows, rep, err)
	}
	want := []string{"2:worker:duplicate", "3:worker:unknown_worker", "4:amount_fen:amount_format", "5:worker:not_verified", "6:worker:duplicate"}
	if diff := cmp.Diff(want, codes(rep.Errors)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Errors[0].Message, "line 6") || !strings.Contains(rep.Errors[4].MessageZh, "第2行") {
		t.Errorf("duplicate messages do not name the other line: %q, %q", rep.Errors[0].Message, rep.Errors[4].MessageZh)
	}

	rows, rep, err = payout.Import(ctx, strings.NewReader("worker,amount_fen,memo\n"+wid(1)+",100,ok\n"+wid(2)+",200,\n"), newDir(), "org-a", payout.Limits{})
	if err != nil || !rep.OK || len(rows) != 2 || rep.TotalFen != 300 || len(rep.Errors) != 0 {
		t.Fatalf("clean import: %v %+v %v", rows, rep, err)
	}

	_, _, err = payout.Import(ctx, strings.NewReader("nope\n"), newDir(), "org-a", payout.Limits{})
	wantErr(t, "bad header", err, errs.Invalid, "file", payout.ReasonBadHeader)
}

// A clean parse validates, and FormatCSV round-trips.
func TestFormatCSV(t *testing.T) {
	rows := []payout.Row{{Line: 2, WorkerID: wid(1), AmountFen: 100, Memo: `a,"b"`}, {Line: 3, WorkerID: wid(2), AmountFen: 7}}
	var b strings.Builder
	if err := payout.FormatCSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	got, rowErrs, err := payout.ParseCSV(strings.NewReader(b.String()), payout.Limits{})
	if err != nil || rowErrs != nil {
		t.Fatal(rowErrs, err)
	}
	if diff := cmp.Diff(rows, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if rep := payout.Validate(ctx, got, newDir(), "org-a", payout.Limits{}); !rep.OK {
		t.Errorf("validate: %+v", rep)
	}
}
