package httpapi_test

// Data-subject rights end to end (issue 6), through the /v1 API on every
// engine: account cancellation (DSR-5, RET-3, RET-4, DSR-4 notices) and the
// requests (DSR-1..7, CON-12).

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/apitest"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/keys"
	"gigvault/internal/policy"
	"gigvault/internal/rights"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

type rqResp struct {
	Request rights.Request `json:"request"`
}

// rightsCode sends a code of purpose to the user's own number and returns it.
func (f *flow) rightsCode(u apitest.User, purpose string) string {
	f.t.Helper()
	f.Clock.Advance(2 * 60e9)
	f.ok(f.do("POST", "/v1/me/verification/send", u.Token, map[string]any{"purpose": purpose}), http.StatusAccepted, "send a "+purpose+" code")
	return f.LastCode(u.Mobile)
}

// TestFlowCancelAccount: a worker with a résumé shared with an employer,
// a 3-factor verified identity and a payment cancels their account in four
// calls. Afterwards no role can read any of their PI; the employer got a
// deletion notice; the payment survives, unlinked, and with the financial
// identity is sealed under the retention key; a copy of the database taken
// before the cancellation yields nothing with the keys that remain; the
// audit chain verifies.
func TestFlowCancelAccount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		ctx := context.Background()
		c := f.Core
		emp := f.conEmployer("深圳速达同城配送有限公司")
		job := f.conJob(emp.Token, "周末促销员", "深圳", "promotion")
		mobile := f.mobile()
		w := f.WorkerWith(mobile)
		other := f.WorkerWith(f.mobile())
		f.conResume(w.Token, map[string]any{"text": "两年促销经验，普通话流利。", "skills": []string{"促销", "理货"}})
		f.conResume(other.Token, map[string]any{"text": "另一位求职者的简历。", "skills": []string{"理货"}})
		applied := f.conApply(w.Token, job)
		f.conActOK(w.Token, "function:identity_verification", consent.Agree)
		f.conActOK(w.Token, "sensitive:identity_verification", consent.Agree)
		f.ok(f.do("POST", "/v1/me/identity/verify", w.Token, map[string]any{"level": 3, "name": e2eName, "id_number": e2eIDNumber, "bank_card": e2eCard}),
			http.StatusOK, "3-factor verification")
		// A payment made to the worker (the payout flow itself is tested in
		// the platform end-to-end test).
		now := f.Clock.Now().UnixMicro()
		for _, q := range []string{
			`INSERT INTO payout_batches (id, org_id, status, row_count, total_fen, created_by, created_at, updated_at) VALUES ('b-1', ?, 'completed', 1, 350000, 'employer:x', ?, ?)`,
			`INSERT INTO payout_rows (batch_id, line, subject_id, amount_fen, memo, status, rail_ref, updated_at) VALUES ('b-1', 2, ?, 350000, '11月兼职报酬', 'paid', 'RAIL-0001', ?)`,
		} {
			args := []any{emp.OrgID, now, now}
			if strings.Contains(q, "payout_rows") {
				args = []any{w.SubjectID, now}
			}
			if _, err := c.DB.Exec(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}

		// The copy of the business database an attacker (or a backup) took
		// before the cancellation.
		backup := filepath.Join(t.TempDir(), "before.db")
		if c.DB.Engine() == store.SQLite {
			if _, err := c.DB.Exec(ctx, `VACUUM INTO '`+backup+`'`); err != nil {
				t.Fatal(err)
			}
		} else if _, err := c.DB.Exec(ctx, `CREATE TABLE snap_pi AS SELECT * FROM pi_values`); err != nil {
			t.Fatal(err)
		}

		// ---- Click 1: the consequences, before anything else.
		r := f.do("GET", "/v1/me/cancellation", w.Token, nil)
		f.ok(r, http.StatusOK, "the consequences")
		var cq rights.Consequences
		r.Decode(t, &cq)
		deleted := map[string]bool{}
		for _, d := range cq.Deleted {
			deleted[d.Field] = true
		}
		for _, fld := range []string{"mobile", "resume_text", "skills", "name", "id_number", "bank_card"} {
			if !deleted[fld] {
				t.Errorf("the consequences do not say %s is deleted: %s", fld, r.Body)
			}
		}
		kept := map[string]rights.KeptLine{}
		for _, k := range cq.Kept {
			kept[k.Class] = k
		}
		if k := kept[rights.ClassFinancialIdentity]; k.Years != "5y" || !slices.Contains(k.Fields, "id_number") || !slices.Contains(k.Fields, "bank_card") {
			t.Errorf("financial identity kept: %+v", k)
		}
		if k := kept[rights.ClassTransactions]; k.Years != "3y" || !slices.Contains(k.Fields, "payout_rows") {
			t.Errorf("transactions kept: %+v", k)
		}
		if cq.Notices != 1 || len(cq.Blockers) != 0 || cq.Digest == "" || cq.Text.Zh == "" || cq.Text.En == "" {
			t.Fatalf("consequences: %s", r.Body)
		}
		// ---- Click 2: the first confirmation, echoing what was shown.
		f.fails(f.do("POST", "/v1/me/cancellation", w.Token, map[string]any{"explanation": "stale"}), http.StatusBadRequest, "invalid", "explanation",
			"explanation_stale", "a confirmation without having seen the consequences")
		r = f.do("POST", "/v1/me/cancellation", w.Token, map[string]any{"explanation": cq.Digest})
		f.ok(r, http.StatusCreated, "the first confirmation")
		var started rqResp
		r.Decode(t, &started)
		if started.Request.Status != rights.Confirming || started.Request.Kind != rights.Cancellation {
			t.Fatalf("started: %s", r.Body)
		}
		confirm := "/v1/me/cancellation/" + started.Request.ID + "/confirm"
		f.fails(f.do("POST", confirm, w.Token, map[string]any{"code": "000000"}), http.StatusBadRequest, "invalid", "code", "", "a confirmation without a code")
		f.fails(f.do("POST", confirm, other.Token, map[string]any{"code": "000000"}), http.StatusNotFound, "not_found", "id", "", "another person's cancellation")
		// ---- Click 3: the code; click 4: the second confirmation.
		code := f.rightsCode(w, "cancel")
		r = f.do("POST", confirm, w.Token, map[string]any{"code": code})
		f.ok(r, http.StatusOK, "the second confirmation")
		var done rqResp
		r.Decode(t, &done)
		if done.Request.Status != rights.Completed || done.Request.Outcome != "cancelled" || done.Request.VerifiedWith != "sms" || done.Request.CompletedAt == nil ||
			done.Request.CompletedAt.After(done.Request.DueAt) {
			t.Fatalf("cancelled: %s", r.Body)
		}

		// ---- Afterwards no PI of the person can be read by any role.
		f.fails(f.do("GET", "/v1/me", w.Token, nil), http.StatusUnauthorized, "unauthenticated", "", "", "the cancelled account's session")
		for _, role := range []policy.Role{policy.Support, policy.DataOperator, policy.DPO} {
			st := f.Staff(role)
			tok := f.StaffLogin(st)
			r := f.do("GET", "/v1/staff/subjects/"+w.SubjectID+"?purpose=customer_service", tok, nil)
			if r.Status == http.StatusOK {
				var got struct {
					Values []meValue `json:"values"`
				}
				r.Decode(t, &got)
				if len(got.Values) != 0 {
					t.Fatalf("%v reads %d values of the cancelled person: %s", role, len(got.Values), r.Body)
				}
			}
			rv := f.do("POST", "/v1/staff/subjects/"+w.SubjectID+"/reveal", tok, map[string]any{"field": "mobile", "purpose": "customer_service",
				"reason_code": "customer_request", "reason": "用户来电核实"})
			if rv.Status == http.StatusOK {
				t.Fatalf("%v revealed the cancelled person's number: %s", role, rv.Body)
			}
		}
		f.fails(f.do("GET", "/v1/employer/applications/"+applied.Application.ID, emp.Token, nil), http.StatusNotFound, "not_found", "", "", "the employer's view")
		if vs, err := c.Vault.List(ctx, vault.Actor{ID: "test", Channel: "test"}, "legal_compliance", w.SubjectID, vault.ListOptions{}); len(vs) != 0 || (err != nil && !errs.Is(err, errs.Erased)) {
			t.Fatalf("the vault after cancellation: %d values, %v", len(vs), err)
		}
		if _, err := c.Vault.Get(ctx, vault.Actor{ID: "test", Channel: "test"}, "legal_compliance", w.SubjectID, "id_number", "", nil); !errs.Is(err, errs.Erased) {
			t.Fatalf("get after cancellation: %v, want erased", err)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, `SELECT COUNT(*) FROM verifications WHERE subject_id = ?`,
			`SELECT COUNT(*) FROM applications WHERE subject_id = ?`, `SELECT COUNT(*) FROM resumes WHERE subject_id = ?`,
			`SELECT COUNT(*) FROM payout_rows WHERE subject_id = ?`, `SELECT COUNT(*) FROM accounts WHERE subject_id = ? AND status <> 'cancelled'`} {
			if n := f.conCount(q, w.SubjectID); n != 0 {
				t.Errorf("%s: %d rows left", q, n)
			}
		}
		var idx int
		if err := c.KMS.QueryRow(ctx, `SELECT COUNT(*) FROM kms_blind WHERE subject_id = ?`, w.SubjectID).Scan(&idx); err != nil || idx != 0 {
			t.Fatalf("blind indexes left: %d, %v", idx, err)
		}
		// The other person is untouched.
		if n := f.conCount(`SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, other.SubjectID); n == 0 {
			t.Fatal("the other worker lost their data")
		}

		// ---- The employer got a deletion notice.
		var kind, rcp, fields, status string
		if err := c.DB.QueryRow(ctx, `SELECT kind, recipient, fields, status FROM outbound_deliveries WHERE request_id = ?`, done.Request.ID).
			Scan(&kind, &rcp, &fields, &status); err != nil {
			t.Fatalf("deletion notice: %v", err)
		}
		if kind != "deletion_notice" || rcp != emp.OrgID || !strings.Contains(fields, "resume_text") || status != "pending" {
			t.Fatalf("deletion notice: %s %s %s %s", kind, rcp, fields, status)
		}
		if delivered, failed, _, err := c.Notices.RunOnce(ctx); err != nil || delivered != 1 || failed != 0 {
			t.Fatalf("deliver the notice: %d delivered, %d failed, %v", delivered, failed, err)
		}
		if err := c.DB.QueryRow(ctx, `SELECT status FROM outbound_deliveries WHERE request_id = ?`, done.Request.ID).Scan(&status); err != nil || status != "delivered" {
			t.Fatalf("the notice after delivery: %s, %v", status, err)
		}

		// ---- The transaction record remains, unlinked; the law's records
		// are sealed under the retention key, with no way back to the account.
		var amount int64
		if err := c.DB.QueryRow(ctx, `SELECT amount_fen FROM payout_rows WHERE batch_id = 'b-1' AND subject_id IS NULL`).Scan(&amount); err != nil || amount != 350000 {
			t.Fatalf("the unlinked payout row: %d, %v", amount, err)
		}
		rows, err := c.DB.Query(ctx, `SELECT id, class, bundle, created_day FROM retained_records ORDER BY class`)
		if err != nil {
			t.Fatal(err)
		}
		var ids, classes []string
		for rows.Next() {
			var id, class, bundle string
			var day int64
			if err := rows.Scan(&id, &class, &bundle, &day); err != nil {
				t.Fatal(err)
			}
			ids, classes = append(ids, id), append(classes, class)
			for _, link := range []string{w.SubjectID, w.AccountID, done.Request.ID} {
				if strings.Contains(id+class+bundle, link) {
					t.Fatalf("a retained record's columns carry %q", link)
				}
			}
			if day%86_400_000_000 != 0 {
				t.Fatalf("created_day %d is not a whole day", day)
			}
		}
		rows.Close()
		if !slices.Equal(classes, []string{rights.ClassFinancialIdentity, rights.ClassTransactions}) {
			t.Fatalf("retained classes %v", classes)
		}
		for i, id := range ids {
			p, err := c.Rights.OpenRetained(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(p)
			for _, link := range []string{w.SubjectID, w.AccountID, done.Request.ID, mobile} {
				if bytes.Contains(js, []byte(link)) {
					t.Fatalf("retained %s carries %q: %s", classes[i], link, js)
				}
			}
			switch classes[i] {
			case rights.ClassFinancialIdentity:
				if p.Values["name"][0] != e2eName || p.Values["id_number"][0] != e2eIDNumber || p.Values["bank_card"][0] != e2eCard {
					t.Fatalf("financial identity kept: %s", js)
				}
			case rights.ClassTransactions:
				if len(p.Payouts) != 1 || p.Payouts[0].AmountFen != 350000 || p.Payouts[0].RailRef != "RAIL-0001" || p.Payouts[0].OrgID != emp.OrgID {
					t.Fatalf("transactions kept: %s", js)
				}
			}
		}

		// ---- The copy taken before cancellation yields nothing for the
		// person with the keys that remain.
		if c.DB.Engine() == store.SQLite {
			for _, q := range []string{`ATTACH DATABASE '` + backup + `' AS old`,
				`INSERT INTO pi_values SELECT * FROM old.pi_values WHERE subject_id = '` + w.SubjectID + `'`, `DETACH DATABASE old`} {
				if _, err := c.DB.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		} else if _, err := c.DB.Exec(ctx, `INSERT INTO pi_values SELECT * FROM snap_pi WHERE subject_id = ?`, w.SubjectID); err != nil {
			t.Fatal(err)
		}
		restored := f.conCount(`SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, w.SubjectID)
		if restored < 6 {
			t.Fatalf("restored %d old rows", restored)
		}
		rows, err = c.DB.Query(ctx, `SELECT field, record_id, dek_version, ciphertext FROM pi_values WHERE subject_id = ?`, w.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var field, rec string
			var ver int
			var ct []byte
			if err := rows.Scan(&field, &rec, &ver, &ct); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Keys.Open(ctx, w.SubjectID, ver, ct, nil); err == nil {
				t.Fatalf("an old ciphertext of %s opened after cancellation", field)
			}
		}
		rows.Close()
		if c.DB.Engine() == store.SQLite {
			raw, err := os.ReadFile(backup)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(e2eIDNumber)) || bytes.Contains(raw, []byte(mobile)) {
				t.Fatal("the old copy holds PI in clear")
			}
		}
		// Nor does a fresh keyring over the same key store.
		root, _ := keys.LoadRoot(keys.RootConfig{Value: testenv.TestKey})
		fresh, err := keys.Open(ctx, c.KMS, c.Suite, root, keys.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var ct []byte
		var ver int
		if err := c.DB.QueryRow(ctx, `SELECT dek_version, ciphertext FROM pi_values WHERE subject_id = ? AND field = 'id_number'`, w.SubjectID).Scan(&ver, &ct); err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.Open(ctx, w.SubjectID, ver, ct, nil); err == nil {
			t.Fatal("a fresh keyring opened the old ID number")
		}

		// ---- The number can start afresh: a new person, nothing carried over.
		again := f.WorkerWith(mobile)
		if again.SubjectID == w.SubjectID || again.AccountID == w.AccountID {
			t.Fatalf("the number came back to the cancelled account: %+v", again)
		}
		f.AuditVerify()
	})
}
