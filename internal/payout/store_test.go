package payout_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/payout"
	"gigvault/internal/testenv"
)

type env struct {
	c   *app.Core
	st  *payout.Store
	clk *clock.Fake
}

func open(t *testing.T, e testenv.Engine) env {
	t.Helper()
	cfg := e.Config(t)
	c := testenv.Open(t, cfg)
	return env{c: c, st: payout.New(c.DB, c.Clock), clk: cfg.Clock.(*clock.Fake)}
}

// org inserts an organisation row (company data, no PI).
func (v env) org(t *testing.T, id string) string {
	t.Helper()
	if _, err := v.c.DB.Exec(ctx, `INSERT INTO organisations (id, name, uscc, created_at) VALUES (?, ?, ?, ?)`,
		id, "公司 "+id, "USCC-"+id, v.clk.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	return id
}

func (v env) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := v.c.DB.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func batchRows(workers []string, amounts ...int64) []payout.Row {
	rows := make([]payout.Row, len(workers))
	for i, w := range workers {
		rows[i] = payout.Row{Line: i + 2, WorkerID: w, AmountFen: amounts[i%len(amounts)], Memo: fmt.Sprintf("11月工资 第%d笔", i+1)}
	}
	return rows
}

func TestStore(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA, orgB := v.org(t, "org-a"), v.org(t, "org-b")
			ws := testenv.Subjects(t, v.c, "worker", 3)
			rows := batchRows(ws, 350000, 120000, 99)

			b, err := v.st.Create(ctx, orgA, "alice", rows)
			if err != nil {
				t.Fatal(err)
			}
			now := v.clk.Now()
			want := payout.Batch{ID: b.ID, OrgID: orgA, Status: payout.PendingApproval, RowCount: 3, TotalFen: 470099,
				CreatedBy: "alice", CreatedAt: now, UpdatedAt: now}
			if diff := cmp.Diff(want, b); diff != "" || uuid.Must(uuid.Parse(b.ID)).Version() != 7 {
				t.Fatalf("created (-want +got):\n%s", diff)
			}
			if got, err := v.st.Batch(ctx, b.ID); err != nil || !cmp.Equal(got, b) {
				t.Fatalf("read back %+v %v", got, err)
			}
			got, err := v.st.Rows(ctx, b.ID)
			if err != nil || len(got) != 3 {
				t.Fatalf("rows %v %v", got, err)
			}
			for i, r := range got {
				w := rows[i]
				w.Status, w.UpdatedAt = payout.RowPending, now
				if diff := cmp.Diff(w, r); diff != "" {
					t.Errorf("row %d (-want +got):\n%s", i, diff)
				}
			}

			// Listing: newest first, per organisation.
			v.clk.Advance(time.Minute)
			b2, err := v.st.Create(ctx, orgA, "alice", batchRows(ws[:1], 5))
			if err != nil {
				t.Fatal(err)
			}
			if l, err := v.st.Batches(ctx, orgA, 0); err != nil || len(l) != 2 || l[0].ID != b2.ID || l[1].ID != b.ID {
				t.Errorf("org A's batches %+v %v", l, err)
			}
			if l, err := v.st.Batches(ctx, orgA, 1); err != nil || len(l) != 1 {
				t.Errorf("limit 1: %+v %v", l, err)
			}
			if l, err := v.st.Batches(ctx, orgB, 0); err != nil || len(l) != 0 {
				t.Errorf("org B's batches %+v %v", l, err)
			}
			_, err = v.st.Batch(ctx, uuid.NewString())
			wantErr(t, "unknown batch", err, errs.NotFound, "id")
			_, err = v.st.Rows(ctx, uuid.NewString())
			wantErr(t, "rows of an unknown batch", err, errs.NotFound, "id")

			// Decide: never the creator, never another organisation.
			_, err = v.st.Decide(ctx, b.ID, orgA, "alice", true)
			wantErr(t, "creator approves", err, errs.Forbidden, "approver", payout.ReasonSecondPerson)
			_, err = v.st.Decide(ctx, b.ID, orgA, "alice", false)
			wantErr(t, "creator rejects", err, errs.Forbidden, "approver", payout.ReasonSecondPerson)
			_, err = v.st.Decide(ctx, b.ID, orgB, "bob", true)
			wantErr(t, "other organisation", err, errs.NotFound, "id")
			_, err = v.st.Decide(ctx, uuid.NewString(), orgA, "bob", true)
			wantErr(t, "unknown batch", err, errs.NotFound, "id")
			_, err = v.st.Decide(ctx, b.ID, orgA, " ", true)
			wantErr(t, "no approver", err, errs.Invalid, "approver")
			_, err = v.st.MarkSubmitted(ctx, b.ID, strings.Repeat("ab", 32))
			wantErr(t, "submit before approval", err, errs.Conflict, "status", "status_pending_approval")

			v.clk.Advance(time.Minute)
			d, err := v.st.Decide(ctx, b.ID, orgA, "bob", true)
			if err != nil || d.Status != payout.Approved || d.DecidedBy != "bob" || !d.DecidedAt.Equal(v.clk.Now()) || !d.UpdatedAt.Equal(v.clk.Now()) {
				t.Fatalf("approve: %+v %v", d, err)
			}
			if got, err := v.st.Batch(ctx, b.ID); err != nil || !cmp.Equal(got, d) {
				t.Fatalf("approved, read back %+v %v", got, err)
			}
			_, err = v.st.Decide(ctx, b.ID, orgA, "carol", false)
			wantErr(t, "decide twice", err, errs.Conflict, "status", "status_approved")

			r2, err := v.st.Decide(ctx, b2.ID, orgA, "bob", false)
			if err != nil || r2.Status != payout.Rejected {
				t.Fatalf("reject: %+v %v", r2, err)
			}
			_, err = v.st.MarkSubmitted(ctx, b2.ID, strings.Repeat("ab", 32))
			wantErr(t, "submit a rejected batch", err, errs.Conflict, "status", "status_rejected")

			// Submission and row results.
			_, err = v.st.SetRowStatus(ctx, b.ID, 2, payout.RowPaid, "REF-1", "")
			wantErr(t, "result before submission", err, errs.Conflict, "status")
			_, err = v.st.MarkSubmitted(ctx, b.ID, "NOT HEX")
			wantErr(t, "bad digest", err, errs.Invalid, "file_digest")
			digest := strings.Repeat("0f", 32)
			s, err := v.st.MarkSubmitted(ctx, b.ID, digest)
			if err != nil || s.Status != payout.Submitted || s.FileDigest != digest || !s.FileCreatedAt.Equal(v.clk.Now()) {
				t.Fatalf("submitted: %+v %v", s, err)
			}
			_, err = v.st.MarkSubmitted(ctx, b.ID, digest)
			wantErr(t, "submit twice", err, errs.Conflict, "status", "status_submitted")

			for _, c := range []struct {
				line                int
				status, ref, code   string
				wantCode            errs.Code
				wantField, wantWhat string
			}{
				{2, payout.RowPaid, "", "", errs.Invalid, "rail_ref", "paid without a reference"},
				{2, payout.RowPaid, "REF-1", "x", errs.Invalid, "rail_ref", "paid with a code"},
				{2, payout.RowFailed, "", "", errs.Invalid, "error_code", "failed without a code"},
				{2, payout.RowFailed, "", "Bad Code", errs.Invalid, "error_code", "malformed code"},
				{2, payout.RowPaid, "ref 1", "", errs.Invalid, "rail_ref", "malformed reference"},
				{2, payout.RowPending, "", "", errs.Invalid, "status", "back to pending"},
				{0, payout.RowPaid, "R", "", errs.Invalid, "line", "line 0"},
				{99, payout.RowPaid, "R", "", errs.NotFound, "line", "no such line"},
			} {
				_, err := v.st.SetRowStatus(ctx, b.ID, c.line, c.status, c.ref, c.code)
				wantErr(t, c.wantWhat, err, c.wantCode, c.wantField)
			}

			v.clk.Advance(time.Minute)
			s, err = v.st.SetRowStatus(ctx, b.ID, 2, payout.RowPaid, "REF-1", "")
			if err != nil || s.Status != payout.Submitted {
				t.Fatalf("line 2 paid: %+v %v", s, err)
			}
			if s, err = v.st.SetRowStatus(ctx, b.ID, 2, payout.RowPaid, "REF-1", ""); err != nil || s.Status != payout.Submitted {
				t.Fatalf("line 2 paid again: %+v %v", s, err)
			}
			_, err = v.st.SetRowStatus(ctx, b.ID, 2, payout.RowFailed, "", "card_frozen")
			wantErr(t, "paid then failed", err, errs.Conflict, "status", "row_final")
			_, err = v.st.SetRowStatus(ctx, b.ID, 2, payout.RowPaid, "REF-2", "")
			wantErr(t, "another reference", err, errs.Conflict, "status", "row_final")
			if s, err = v.st.SetRowStatus(ctx, b.ID, 3, payout.RowFailed, "", "card_frozen"); err != nil || s.Status != payout.Submitted {
				t.Fatalf("line 3 failed: %+v %v", s, err)
			}
			// A bad result among good ones changes nothing.
			_, err = v.st.ApplyResults(ctx, b.ID, []payout.RowResult{{Line: 4, Status: payout.RowPaid, Ref: "REF-4"}, {Line: 5, Status: payout.RowPaid, Ref: "R"}})
			wantErr(t, "apply with an unknown line", err, errs.NotFound, "line")
			if n := v.count(t, `SELECT COUNT(*) FROM payout_rows WHERE batch_id = ? AND status = 'pending'`, b.ID); n != 1 {
				t.Fatalf("%d rows pending after a refused apply, want 1", n)
			}
			v.clk.Advance(time.Minute)
			c, err := v.st.SetRowStatus(ctx, b.ID, 4, payout.RowPaid, "REF-4", "")
			if err != nil || c.Status != payout.Completed || !c.UpdatedAt.Equal(v.clk.Now()) {
				t.Fatalf("last row: %+v %v", c, err)
			}
			if got, err := v.st.Batch(ctx, b.ID); err != nil || got.Status != payout.Completed {
				t.Fatalf("completed, read back %+v %v", got, err)
			}
			// A repeated report after completion is harmless; a change is not.
			if _, err := v.st.ApplyResults(ctx, b.ID, []payout.RowResult{{Line: 4, Status: payout.RowPaid, Ref: "REF-4"}}); err != nil {
				t.Errorf("repeat after completion: %v", err)
			}
			_, err = v.st.SetRowStatus(ctx, b.ID, 3, payout.RowPaid, "REF-3", "")
			wantErr(t, "change after completion", err, errs.Conflict, "status", "row_final")

			got, _ = v.st.Rows(ctx, b.ID)
			var states []string
			for _, r := range got {
				states = append(states, fmt.Sprintf("%d:%s:%s:%s", r.Line, r.Status, r.RailRef, r.ErrorCode))
			}
			if diff := cmp.Diff([]string{"2:paid:REF-1:", "3:failed::card_frozen", "4:paid:REF-4:"}, states); diff != "" {
				t.Errorf("row states (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateRefusals(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA := v.org(t, "org-a")
			ws := testenv.Subjects(t, v.c, "worker", 2)
			ok := batchRows(ws, 100)
			dup := batchRows([]string{ws[0], ws[1], ws[0]}, 100)
			pi := batchRows(ws, 100)
			pi[1].Memo = "手机13800138000"
			upper := batchRows(ws, 100)
			upper[0].WorkerID = strings.ToUpper(upper[0].WorkerID)
			zero := batchRows(ws, 100)
			zero[1].AmountFen = 0
			lines := batchRows(ws, 100)
			lines[1].Line = 2
			for _, c := range []struct {
				what         string
				org, by      string
				rows         []payout.Row
				code         errs.Code
				field, label string
			}{
				{"no org", "", "alice", ok, errs.Invalid, "org_id", ""},
				{"no creator", orgA, " ", ok, errs.Invalid, "created_by", ""},
				{"unknown org", "org-x", "alice", ok, errs.NotFound, "org_id", ""},
				{"no rows", orgA, "alice", nil, errs.Invalid, "rows", payout.CodeEmptyBatch},
				{"duplicate worker", orgA, "alice", dup, errs.Invalid, "rows", payout.CodeDuplicate},
				{"PI in a memo", orgA, "alice", pi, errs.Invalid, "rows", payout.CodeMemoPI},
				{"non-canonical worker", orgA, "alice", upper, errs.Invalid, "rows", payout.CodeWorkerFormat},
				{"zero amount", orgA, "alice", zero, errs.Invalid, "rows", payout.CodeAmountZero},
				{"repeated line", orgA, "alice", lines, errs.Invalid, "rows", payout.CodeBadLine},
				{"unknown subject", orgA, "alice", batchRows([]string{ws[0], uuid.NewString()}, 100), errs.Invalid, "rows", payout.CodeUnknownWorker},
			} {
				_, err := v.st.Create(ctx, c.org, c.by, c.rows)
				x := wantErr(t, c.what, err, c.code, c.field)
				if c.label != "" && x.Reason != c.label {
					t.Errorf("%s: reason %q, want %q", c.what, x.Reason, c.label)
				}
				if strings.Contains(x.Message+x.MessageZh, "13800138000") {
					t.Errorf("%s: the memo's number is in the message %q", c.what, x.Message)
				}
			}
			if n := v.count(t, `SELECT COUNT(*) FROM payout_batches`) + v.count(t, `SELECT COUNT(*) FROM payout_rows`); n != 0 {
				t.Fatalf("%d batches and rows left by refused creates", n)
			}
		})
	}
}

// A batch is stored whole: a failure in the last of several INSERTs rolls
// back the first.
func TestCreateAllOrNothing(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA := v.org(t, "org-a")
			ws := testenv.Subjects(t, v.c, "worker", 449)
			rows := batchRows(append(ws, uuid.NewString()), 100) // the 450th worker does not exist
			_, err := v.st.Create(ctx, orgA, "alice", rows)
			wantErr(t, "unknown last worker", err, errs.Invalid, "rows")
			if n := v.count(t, `SELECT COUNT(*) FROM payout_batches`) + v.count(t, `SELECT COUNT(*) FROM payout_rows`); n != 0 {
				t.Fatalf("%d batches and rows left by a failed create", n)
			}
			b, err := v.st.Create(ctx, orgA, "alice", rows[:449])
			if err != nil || b.RowCount != 449 || b.TotalFen != 44900 {
				t.Fatalf("449 rows: %+v %v", b, err)
			}
			if got, err := v.st.Rows(ctx, b.ID); err != nil || len(got) != 449 || got[448].Line != 450 {
				t.Fatalf("rows: %d %v", len(got), err)
			}
		})
	}
}

// The whole flow: import, create, approve, seal, submit to the sandbox,
// apply its results; the card numbers are only ever in the sealed file.
func TestFlow(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			orgA := v.org(t, "org-a")
			ws := testenv.Subjects(t, v.c, "worker", 3)
			dir := &fakeDir{org: orgA, workers: map[string]payout.WorkerInfo{ws[0]: good, ws[1]: good, ws[2]: good}}
			payees := map[string]payout.Payee{
				ws[0]: {Name: "张三", CardNumber: card("622202", 19, 1), BankName: "中国工商银行"},
				ws[1]: {Name: "李四", CardNumber: frozenCard(), BankName: "中国农业银行"},
				ws[2]: {Name: "王五", CardNumber: card("621700", 19, 3), BankName: "中国建设银行"},
			}
			csvIn := "\ufeffworker,amount_fen,memo\r\n" + ws[0] + ",350000,11月工资\r\n" + ws[1] + ",120000,\"加班费,11月\"\r\n" + ws[2] + ",8800,餐补\r\n"
			rows, rep, err := payout.Import(ctx, strings.NewReader(csvIn), dir, orgA, payout.Limits{})
			if err != nil || !rep.OK {
				t.Fatalf("import: %+v %v", rep, err)
			}
			b, err := v.st.Create(ctx, orgA, "alice", rows)
			if err != nil {
				t.Fatal(err)
			}
			if b, err = v.st.Decide(ctx, b.ID, orgA, "bob", true); err != nil {
				t.Fatal(err)
			}
			stored, err := v.st.Rows(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			key := cryptox.NewKey(cryptox.SM{})
			sealed, digest, err := payout.GenerateTransferFile(ctx, cryptox.SM{}, key, b, stored, mapPayee(payees, nil))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = v.st.MarkSubmitted(ctx, b.ID, digest); err != nil {
				t.Fatal(err)
			}
			rail, err := payout.NewSandboxRail(payout.SandboxConfig{Key: key})
			if err != nil {
				t.Fatal(err)
			}
			rc, err := rail.Submit(ctx, b.ID, sealed)
			if err != nil || rc.Digest != digest || rc.Rows != 3 || rc.TotalFen != b.TotalFen {
				t.Fatalf("submit: %+v %v", rc, err)
			}
			results, err := rail.Status(ctx, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			done, err := v.st.ApplyResults(ctx, b.ID, results)
			if err != nil || done.Status != payout.Completed || done.FileDigest != digest {
				t.Fatalf("apply: %+v %v", done, err)
			}
			final, _ := v.st.Rows(ctx, b.ID)
			var states []string
			for _, r := range final {
				states = append(states, r.Status+":"+r.ErrorCode)
			}
			if diff := cmp.Diff([]string{"paid:", "failed:card_frozen", "paid:"}, states); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}

			// No card number or name at rest on this engine's database.
			var dump []byte
			if e.Postgres() {
				dump, _ = testenv.DumpSchema(t, v.c.Cfg.DatabaseURL)
			} else {
				for _, tb := range []string{"payout_batches", "payout_rows"} {
					rs, err := v.c.DB.Query(ctx, `SELECT * FROM `+tb)
					if err != nil {
						t.Fatal(err)
					}
					cols, _ := rs.Columns()
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					for rs.Next() {
						if err := rs.Scan(ptrs...); err != nil {
							t.Fatal(err)
						}
						dump = fmt.Appendln(dump, vals...)
					}
					rs.Close()
				}
			}
			if !strings.Contains(string(dump), "11月工资") {
				t.Fatalf("the dump does not hold the rows")
			}
			for _, p := range payees {
				if strings.Contains(string(dump), p.CardNumber) || strings.Contains(string(dump), p.Name) {
					t.Errorf("a payee's card or name is in the database")
				}
			}
		})
	}
}
