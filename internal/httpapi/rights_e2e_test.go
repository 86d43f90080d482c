package httpapi_test

// Data-subject rights end to end (issue 6), through the /v1 API on every
// engine: account cancellation (DSR-5, RET-3, RET-4, DSR-4 notices) and the
// requests (DSR-1..7, CON-12).

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gigvault/internal/apitest"
	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/consent"
	"gigvault/internal/dsrexport"
	"gigvault/internal/errs"
	"gigvault/internal/keys"
	"gigvault/internal/policy"
	"gigvault/internal/rights"
	"gigvault/internal/store"
	"gigvault/internal/synth"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
	"gigvault/internal/verify"
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

// fillEveryField stores a valid value of every storable catalog field for
// subject (two records of multi-valued ones) and returns field → values.
func fillEveryField(t *testing.T, c *app.Core, subject string, seed int64) map[string][]string {
	t.Helper()
	g := synth.New(seed)
	want := map[string][]string{}
	for _, f := range c.Catalog.Fields() {
		if !f.Retention.Stored() || f.Name == "mobile" { // the number stays the one the account logs in with
			continue
		}
		recs := []string{""}
		if f.Multi {
			recs = []string{"r1", "r2"}
		}
		for _, rec := range recs {
			v := g.Value(f.Format)
			purpose := "rights_request"
			if len(f.Purposes) > 0 {
				purpose = f.Purposes[0]
			}
			if err := c.Vault.Put(context.Background(), vault.Actor{ID: "test:setup", Channel: "test"}, purpose, subject,
				vault.Item{Field: f.Name, Record: rec, Value: v}); err != nil {
				t.Fatalf("put %s: %v", f.Name, err)
			}
			got, err := c.Vault.Get(context.Background(), vault.Actor{ID: "test:setup", Channel: "test"}, purpose, subject, f.Name, rec,
				mustReveal(t, c, subject, f.Name, rec, purpose))
			if err != nil {
				t.Fatalf("get %s: %v", f.Name, err)
			}
			if got.Masked {
				t.Fatalf("setup read of %s came back masked", f.Name)
			}
			want[f.Name] = append(want[f.Name], got.Text)
		}
	}
	return want
}

func mustReveal(t *testing.T, c *app.Core, subject, field, rec, purpose string) *vault.Reveal {
	t.Helper()
	if rec == "" {
		rec = vault.MainRecord
	}
	rv, err := c.Issuer.Issue("test:setup", subject, field, rec, purpose, "test setup", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

// TestFlowCopyExport (DSR-3, DSR-7): the copy contains every catalog field
// the person has, whole, and nothing of anyone else; identity data needs
// 2-factor verification; a copy sent to a named recipient is a ledger row
// and a delivery with its status.
func TestFlowCopyExport(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		ctx := context.Background()
		c := f.Core
		a := f.WorkerWith(f.mobile())
		b := f.WorkerWith(f.mobile())
		wantA := fillEveryField(t, c, a.SubjectID, 1)
		wantB := fillEveryField(t, c, b.SubjectID, 2)
		// The mobile number the account registered with is a value too.
		wantA["mobile"] = []string{a.Mobile}
		if len(wantA) < 50 {
			t.Fatalf("only %d fields filled", len(wantA))
		}

		// Without a fresh code: refused. With identity data and no 2-factor
		// verification: refused before the code is spent.
		f.fails(f.do("POST", "/v1/me/requests", a.Token, map[string]any{"kind": "copy", "code": "123456"}), http.StatusForbidden, "forbidden",
			"include_identity", "identity_verification_required", "a copy of identity data without 2-factor verification")
		code := f.rightsCode(a, "rights")
		f.fails(f.do("POST", "/v1/me/requests", a.Token, map[string]any{"kind": "copy", "code": "000000", "include_identity": false}),
			http.StatusBadRequest, "invalid", "code", "", "a wrong code")
		r := f.do("POST", "/v1/me/requests", a.Token, map[string]any{"kind": "copy", "code": code, "include_identity": false})
		f.ok(r, http.StatusCreated, "a copy without identity data")
		var first rqResp
		r.Decode(t, &first)
		r = f.do("GET", "/v1/me/requests/"+first.Request.ID+"/copy", a.Token, nil)
		f.ok(r, http.StatusOK, "download the copy")
		cp, err := dsrexport.Read(bytes.NewReader(r.Body), int64(len(r.Body)))
		if err != nil {
			t.Fatalf("read the copy: %v", err)
		}
		for _, v := range cp.Values {
			if fl, _ := c.Catalog.Field(v.Field); fl.Category == "identity" {
				t.Fatalf("the copy without identity data holds %s", v.Field)
			}
		}
		// 2-factor verified: the whole copy.
		err = c.DB.InTx(ctx, func(tx *store.Tx) error {
			_, err := c.IDV.Add(ctx, tx, a.SubjectID, verify.Result{Level: 2, Passed: true, Provider: "sandbox", ProviderRef: "T-1", At: f.Clock.Now()})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		code = f.rightsCode(a, "rights")
		r = f.do("POST", "/v1/me/requests", a.Token, map[string]any{"kind": "copy", "code": code, "deliver_to": app.SandboxCopyRecipient})
		f.ok(r, http.StatusCreated, "a whole copy, also sent to a named recipient")
		var whole rqResp
		r.Decode(t, &whole)
		if whole.Request.VerifiedWith != "sms+2f" || whole.Request.Status != rights.Completed {
			t.Fatalf("the whole copy request: %s", r.Body)
		}
		r = f.do("GET", "/v1/me/requests/"+whole.Request.ID+"/copy", a.Token, nil)
		f.ok(r, http.StatusOK, "download the whole copy")
		if ct := r.Header.Get("Content-Type"); ct != dsrexport.ContentType {
			t.Fatalf("content type %q", ct)
		}
		cp, err = dsrexport.Read(bytes.NewReader(r.Body), int64(len(r.Body)))
		if err != nil {
			t.Fatalf("read the copy: %v", err)
		}
		got := map[string][]string{}
		for _, v := range cp.Values {
			got[v.Field] = append(got[v.Field], v.Text)
		}
		for fld, vs := range wantA {
			g := slices.Clone(got[fld])
			slices.Sort(g)
			w := slices.Clone(vs)
			slices.Sort(w)
			if !slices.Equal(g, w) {
				t.Errorf("field %s: copy has %q, want %q", fld, g, w)
			}
		}
		for fld := range got {
			if _, ok := wantA[fld]; !ok && fld != "support_ticket" {
				t.Errorf("the copy has a field the person was not given: %s", fld)
			}
		}
		// Nothing of the other person, in any file of the archive.
		raw := unzipAll(t, r.Body)
		for fld, vs := range wantB {
			for _, v := range vs {
				if len([]rune(v)) >= 6 && !slices.Contains(wantA[fld], v) && bytes.Contains(raw, []byte(v)) {
					t.Fatalf("the copy holds the other person's %s", fld)
				}
			}
		}
		if bytes.Contains(raw, []byte(b.SubjectID)) || bytes.Contains(raw, []byte(b.Mobile)) {
			t.Fatal("the copy names the other person")
		}
		// The copy sent to the named recipient: a ledger row, a delivery.
		var n int
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM sharing_ledger WHERE recipient = ? AND recipient_kind = 'subject_named' AND consent_ref = ?`,
			app.SandboxCopyRecipient, whole.Request.ID).Scan(&n); err != nil || n != 1 {
			t.Fatalf("ledger rows for the sent copy: %d, %v", n, err)
		}
		if delivered, failed, _, err := c.Notices.RunOnce(ctx); err != nil || delivered != 1 || failed != 0 {
			t.Fatalf("send the copy: %d delivered, %d failed, %v", delivered, failed, err)
		}
		r = f.do("GET", "/v1/me/requests/"+whole.Request.ID, a.Token, nil)
		f.ok(r, http.StatusOK, "the request with its delivery")
		var view struct {
			Deliveries []rights.Delivery `json:"deliveries"`
		}
		r.Decode(t, &view)
		if len(view.Deliveries) != 1 || view.Deliveries[0].Status != "delivered" || view.Deliveries[0].Kind != "copy" {
			t.Fatalf("deliveries: %s", r.Body)
		}
		// Another person cannot download it.
		f.fails(f.do("GET", "/v1/me/requests/"+whole.Request.ID+"/copy", b.Token, nil), http.StatusNotFound, "not_found", "id", "", "another person's copy")
		// After 7 days it is gone.
		f.Clock.Advance(8 * 24 * time.Hour)
		a = f.WorkerWith(a.Mobile) // the session expired meanwhile
		f.fails(f.do("GET", "/v1/me/requests/"+whole.Request.ID+"/copy", a.Token, nil), http.StatusConflict, "conflict", "id", "copy_expired", "an old copy")
		f.AuditVerify()
	})
}

func unzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(&out, rc)
		rc.Close()
	}
	return out.Bytes()
}

// TestFlowRightsRequests (DSR-1, DSR-2, DSR-4, DSR-6, DSR-7, CON-12, SHR-1):
// access answers what is held with its recipients; deletion of chosen
// fields keeps what the law and the account need and notifies recipients;
// a correction, a complaint and an appeal go to the handlers' queue with a
// deadline, messages both ways, an extension told to the requester, and a
// resolution (a human review for the appeal).
func TestFlowRightsRequests(t *testing.T) {
	forEachEngine(t, func(t *testing.T, eng testenv.Engine) {
		f := newFlow(t, eng, apitest.Options{})
		ctx := context.Background()
		c := f.Core
		emp := f.conEmployer("深圳速达同城配送有限公司")
		job := f.conJob(emp.Token, "周末促销员", "深圳", "promotion")
		w := f.WorkerWith(f.mobile())
		f.conResume(w.Token, map[string]any{"text": "两年促销经验。", "skills": []string{"促销", "理货"}})
		f.conApply(w.Token, job)
		if err := c.Vault.Put(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "contract_signing", w.SubjectID, vault.Item{Field: "name", Value: "张三"}); err != nil {
			t.Fatal(err)
		}
		ask := func(body map[string]any) apitest.Response {
			body["code"] = f.rightsCode(w, "rights")
			return f.do("POST", "/v1/me/requests", w.Token, body)
		}

		// Access (DSR-1).
		r := ask(map[string]any{"kind": "access"})
		f.ok(r, http.StatusCreated, "access")
		var acc struct {
			Request   rights.Request   `json:"request"`
			Inventory rights.Inventory `json:"inventory"`
		}
		r.Decode(t, &acc)
		held := map[string]rights.FieldInfo{}
		for _, cat := range acc.Inventory.Categories {
			for _, fi := range cat.Fields {
				held[fi.Field] = fi
			}
		}
		if fi := held["resume_text"]; fi.Source == "" || len(fi.Purposes) == 0 || fi.Retention == "" || len(fi.Values) != 1 || fi.Values[0].Value != "两年促销经验。" {
			t.Fatalf("access: résumé text: %+v", fi)
		}
		if len(acc.Inventory.Recipients) != 1 || acc.Inventory.Recipients[0].Recipient != emp.OrgID || acc.Request.Status != rights.Completed {
			t.Fatalf("access: %s", r.Body)
		}

		// Deletion of chosen fields (DSR-4).
		f.fails(ask(map[string]any{"kind": "deletion", "fields": []string{"no_such_field"}}), http.StatusBadRequest, "invalid", "fields", "", "an unknown field")
		r = ask(map[string]any{"kind": "deletion", "fields": []string{"skills", "mobile", "name"}})
		f.ok(r, http.StatusCreated, "delete chosen fields")
		var del struct {
			Request rights.Request      `json:"request"`
			Deleted []string            `json:"deleted_fields"`
			Values  int                 `json:"deleted_values"`
			Kept    []map[string]string `json:"kept"`
			Notices int                 `json:"notices"`
		}
		r.Decode(t, &del)
		if !slices.Equal(del.Deleted, []string{"skills"}) || del.Values != 2 || del.Notices != 1 || len(del.Kept) != 2 ||
			del.Kept[0]["reason"] != "needed_for_account" || del.Kept[1]["reason"] != "legally_retained" {
			t.Fatalf("deletion: %s", r.Body)
		}
		if has, _ := c.Vault.Has(ctx, w.SubjectID, "skills"); has {
			t.Fatal("skills survived the deletion")
		}
		if n := f.conCount(`SELECT COUNT(*) FROM outbound_deliveries WHERE request_id = ? AND recipient = ? AND fields = 'skills'`, del.Request.ID, emp.OrgID); n != 1 {
			t.Fatalf("deletion notices: %d", n)
		}

		// A correction, a complaint and an appeal go to the handlers.
		f.fails(ask(map[string]any{"kind": "correction", "field": "name", "value": ""}), http.StatusBadRequest, "invalid", "value", "", "an empty correction")
		r = ask(map[string]any{"kind": "correction", "field": "name", "value": "张叁", "message": "身份证上是“叁”"})
		f.ok(r, http.StatusCreated, "correction")
		var corr rqResp
		r.Decode(t, &corr)
		r = ask(map[string]any{"kind": "complaint", "category": "marketing", "message": "我没有同意却收到了营销短信。"})
		f.ok(r, http.StatusCreated, "complaint")
		var comp rqResp
		r.Decode(t, &comp)
		f.fails(ask(map[string]any{"kind": "appeal", "category": "identity_verification", "message": "核验失败"}), http.StatusBadRequest, "invalid",
			"decision_ref", "", "an appeal without the decision")
		r = ask(map[string]any{"kind": "appeal", "category": "identity_verification", "decision_ref": "verification:0001", "message": "核验结果有误，请人工复核。"})
		f.ok(r, http.StatusCreated, "appeal")
		var apl rqResp
		r.Decode(t, &apl)
		for _, rq := range []rights.Request{corr.Request, comp.Request, apl.Request} {
			if rq.Status != rights.Open || rq.DueDate == "" || !rq.DueAt.After(rq.ReceivedAt) {
				t.Fatalf("queued request: %+v", rq)
			}
		}
		sup := f.StaffLogin(f.Staff(policy.Support))
		f.fails(f.do("GET", "/v1/staff/requests", w.Token, nil), http.StatusForbidden, "forbidden", "", "", "a worker reads the queue")
		r = f.do("GET", "/v1/staff/requests", sup, nil)
		f.ok(r, http.StatusOK, "the queue")
		var q struct {
			Requests []struct {
				ID              string `json:"id"`
				WorkingDaysLeft int    `json:"working_days_left"`
			} `json:"requests"`
		}
		r.Decode(t, &q)
		if len(q.Requests) != 3 || q.Requests[0].WorkingDaysLeft != 15 {
			t.Fatalf("queue: %s", r.Body)
		}
		// The handler sees the correction masked, the complaint whole.
		r = f.do("GET", "/v1/staff/requests/"+corr.Request.ID, sup, nil)
		f.ok(r, http.StatusOK, "the correction, to a handler")
		var cv struct {
			Proposal string           `json:"proposed_value"`
			Messages []rights.Message `json:"messages"`
		}
		r.Decode(t, &cv)
		if cv.Proposal == "" || cv.Proposal == "张叁" || len(cv.Messages) != 1 || cv.Messages[0].Text != "身份证上是“叁”" {
			t.Fatalf("correction view: %s", r.Body)
		}
		f.ok(f.do("POST", "/v1/staff/requests/"+comp.Request.ID+"/messages", sup, map[string]any{"message": "已收到，正在核查短信发送记录。"}),
			http.StatusCreated, "a handler's reply")
		f.ok(f.do("POST", "/v1/me/requests/"+comp.Request.ID+"/messages", w.Token, map[string]any{"message": "短信是昨天收到的。"}),
			http.StatusCreated, "the person's reply")
		// An extension: a reason without PI, told to the requester.
		f.fails(f.do("POST", "/v1/staff/requests/"+comp.Request.ID+"/extend", sup, map[string]any{"working_days": 5, "reason": "需联系13800138000核实"}),
			http.StatusBadRequest, "invalid", "reason", "pi_in_free_text", "a reason carrying a number")
		r = f.do("POST", "/v1/staff/requests/"+comp.Request.ID+"/extend", sup, map[string]any{"working_days": 5, "reason": "需向短信服务商调取发送记录"})
		f.ok(r, http.StatusOK, "extend")
		var ext rqResp
		r.Decode(t, &ext)
		if ext.Request.DueDate == comp.Request.DueDate || ext.Request.ExtensionReason == "" {
			t.Fatalf("extended: %s", r.Body)
		}
		r = f.do("GET", "/v1/me/requests/"+comp.Request.ID, w.Token, nil)
		f.ok(r, http.StatusOK, "the complaint, to the person")
		var mv struct {
			Messages []rights.Message `json:"messages"`
		}
		r.Decode(t, &mv)
		if len(mv.Messages) != 4 || mv.Messages[1].Author != "staff" || mv.Messages[3].Author != "system" ||
			!strings.Contains(mv.Messages[3].Text, ext.Request.DueDate) || !strings.Contains(mv.Messages[3].Text, "需向短信服务商调取发送记录") {
			t.Fatalf("the thread: %s", r.Body)
		}
		// Resolutions: the correction applied, the appeal reviewed by a person.
		f.ok(f.do("POST", "/v1/staff/requests/"+corr.Request.ID+"/resolve", sup, map[string]any{"outcome": "completed", "message": "已按身份证更正。"}),
			http.StatusOK, "resolve the correction")
		v, err := c.Vault.Get(ctx, vault.Actor{ID: "test:setup", Channel: "test"}, "contract_signing", w.SubjectID, "name", "",
			mustReveal(t, c, w.SubjectID, "name", "", "contract_signing"))
		if err != nil || v.Text != "张叁" {
			t.Fatalf("the corrected name: %q, %v", v.Text, err)
		}
		f.fails(f.do("POST", "/v1/staff/requests/"+apl.Request.ID+"/resolve", sup, map[string]any{"outcome": "completed", "message": "已复核。"}),
			http.StatusBadRequest, "invalid", "review", "", "an appeal resolved without a review result")
		r = f.do("POST", "/v1/staff/requests/"+apl.Request.ID+"/resolve", sup, map[string]any{"outcome": "completed", "review": "overturned", "message": "经人工复核，核验结果更正为通过。"})
		f.ok(r, http.StatusOK, "resolve the appeal")
		var res rqResp
		r.Decode(t, &res)
		if res.Request.Outcome != "completed:overturned" || res.Request.Handler == "" || res.Request.Status != rights.Completed {
			t.Fatalf("appeal resolved: %s", r.Body)
		}
		f.fails(f.do("POST", "/v1/staff/requests/"+apl.Request.ID+"/resolve", sup, map[string]any{"outcome": "rejected", "message": "x"}),
			http.StatusConflict, "conflict", "id", "", "resolving twice")
		// The person withdraws the complaint.
		r = f.do("POST", "/v1/me/requests/"+comp.Request.ID+"/withdraw", w.Token, nil)
		f.ok(r, http.StatusOK, "withdraw")
		// No message text in the table, the log or the audit.
		for _, secret := range []string{"营销短信", "张叁", "身份证上是"} {
			if strings.Contains(f.LogText(), secret) {
				t.Fatalf("the log holds %q", secret)
			}
			for _, e := range f.Entries(audit.Filter{}) {
				js, _ := json.Marshal(e)
				if strings.Contains(string(js), secret) {
					t.Fatalf("the audit holds %q: %s", secret, js)
				}
			}
		}
		f.AuditVerify()
	})
}
