package httpapi

import (
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"strconv"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/payout"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// routesPayout registers payout batches (GIG-7): upload with a whole-batch
// validation report, a second member's approval (ACC-5), the sealed bank
// file through the payout rail, per-row statuses, and the withholding
// summary that is the one use of the workers' tax identity.
func (s *Server) routesPayout() {
	s.authed("POST", "/v1/employer/payouts", employers, s.uploadPayout)
	s.authed("GET", "/v1/employer/payouts", employers, s.listPayouts)
	s.authed("GET", "/v1/employer/payouts/{id}", employers, s.getPayout)
	s.authed("POST", "/v1/employer/payouts/{id}/decision", employers, s.decidePayout)
	s.authed("POST", "/v1/employer/payouts/{id}/submit", employers, s.submitPayout)
	s.authed("GET", "/v1/employer/payouts/{id}/withholding", employers, s.withholdingSummary)
	s.authed("GET", "/v1/me/payouts", workers, s.myPayouts)
}

func (s *Server) payoutReady(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.Payouts == nil || s.deps.Rail == nil || s.deps.IDV == nil || s.deps.Vault == nil || s.deps.Keys == nil {
		WriteError(w, r, errNoService)
		return false
	}
	return true
}

// payoutDirectory answers payout.Validate's questions from the platform:
// a worker is known to an organisation when they have an accepted or
// completed application with it.
type payoutDirectory struct{ s *Server }

func (d payoutDirectory) Worker(ctx context.Context, orgID, workerID string) (payout.WorkerInfo, error) {
	var n int
	err := d.s.deps.DB.QueryRow(ctx, `SELECT COUNT(*) FROM applications WHERE org_id = ? AND subject_id = ? AND status IN ('accepted', 'completed')`,
		orgID, workerID).Scan(&n)
	if err != nil || n == 0 {
		return payout.WorkerInfo{}, err
	}
	info := payout.WorkerInfo{Known: true}
	var erased sql.NullInt64
	if err := d.s.deps.DB.QueryRow(ctx, `SELECT erased_at FROM subjects WHERE id = ?`, workerID).Scan(&erased); err != nil {
		return payout.WorkerInfo{}, err
	}
	if info.Erased = erased.Valid; info.Erased {
		return info, nil
	}
	lvl, err := d.s.deps.IDV.Level(ctx, workerID)
	if err != nil {
		return payout.WorkerInfo{}, err
	}
	info.Level = lvl.Level
	info.HasCard, err = d.s.deps.Vault.Has(ctx, workerID, "bank_card")
	return info, err
}

func (s *Server) uploadPayout(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	ctx := r.Context()
	if err := s.verifiedOrg(r, p); err != nil {
		s.fail(w, r, err)
		return
	}
	rows, rep, err := payout.Import(ctx, r.Body, payoutDirectory{s}, p.OrgID, s.deps.PayoutLimits)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rep.Err != nil {
		s.deps.Log.Error("payout directory", "err", rep.Err)
	}
	if !rep.OK {
		// Nothing is applied: the whole batch comes back with every
		// row's problem.
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"error": map[string]any{"code": errs.Invalid, "field": "file", "reason": "batch_invalid",
				"message_zh": "批次未通过校验，未做任何处理，请按报告修改后重新上传", "message": "the batch did not validate and nothing was applied: fix the rows in the report and upload again"},
			"report": rep})
		return
	}
	b, err := s.deps.Payouts.Create(ctx, p.OrgID, p.ActorID(), rows)
	if err == nil {
		err = s.deps.Recorder.Record(ctx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "payout.upload", Outcome: "ok",
			Detail: map[string]string{"batch": b.ID, "rows": strconv.Itoa(b.RowCount)}})
	}
	s.reply(w, r, http.StatusCreated, map[string]any{"batch": b, "report": rep}, err)
}

func (s *Server) listPayouts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	bs, err := s.deps.Payouts.Batches(r.Context(), p.OrgID, 100)
	s.reply(w, r, http.StatusOK, map[string]any{"batches": bs}, err)
}

// ownBatch loads the caller's organisation's batch; another's is not found.
func (s *Server) ownBatch(r *http.Request, p *access.Principal) (payout.Batch, error) {
	b, err := s.deps.Payouts.Batch(r.Context(), r.PathValue("id"))
	if err == nil && b.OrgID != p.OrgID {
		err = errs.New(errs.NotFound, "id", "批次不存在", "no such batch")
	}
	return b, err
}

func (s *Server) getPayout(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	b, err := s.ownBatch(r, p)
	var rows []payout.Row
	if err == nil {
		rows, err = s.deps.Payouts.Rows(r.Context(), b.ID)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"batch": b, "rows": rows}, err)
}

// decidePayout is the second member's approval or rejection (ACC-5): the
// uploader cannot approve their own batch.
func (s *Server) decidePayout(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	var in struct {
		Approve *bool `json:"approve"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Approve == nil {
		s.fail(w, r, errs.New(errs.Invalid, "approve", "请指明批准或驳回", "say approve true or false"))
		return
	}
	b, err := s.ownBatch(r, p)
	if err == nil {
		b, err = s.deps.Payouts.Decide(r.Context(), b.ID, p.OrgID, p.ActorID(), *in.Approve)
	}
	if err == nil {
		err = s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "payout.decision", Outcome: b.Status,
			Detail: map[string]string{"batch": b.ID}})
	}
	s.reply(w, r, http.StatusOK, map[string]any{"batch": b}, err)
}

// sendBankFile writes the bank payment file of an approved batch (card
// numbers decrypted only into it), seals it with the transfer key, marks
// the batch submitted with the file's digest — before the rail sees it, so
// a failure in between leaves a batch to reconcile, never one paid twice —
// hands it to the rail and records the provision to the bank.
func (s *Server) sendBankFile(r *http.Request, p *access.Principal, b payout.Batch, rows []payout.Row) (string, error) {
	ctx := r.Context()
	actor := payoutActor(p)
	banks := 0 // rows whose payee has an issuing bank on record
	payee := func(ctx context.Context, subject string) (payout.Payee, error) {
		vs, err := s.deps.Guard.ProcessFor(ctx, actor, subject, "payout", "bank payment file of batch "+b.ID, []string{"name", "bank_card", "bank_name"})
		if err != nil {
			return payout.Payee{}, err
		}
		var pe payout.Payee
		for _, v := range vs {
			switch v.Field {
			case "name":
				pe.Name = v.Text
			case "bank_card":
				pe.CardNumber = v.Text
			case "bank_name":
				pe.BankName = v.Text
			}
		}
		if pe.BankName != "" {
			banks++
		}
		return pe, nil
	}
	key, err := s.deps.Keys.TransferKey(ctx)
	if err != nil {
		return "", err
	}
	defer cryptox.Wipe(key)
	sealed, digest, err := payout.GenerateTransferFile(ctx, s.deps.Keys.Suite(), key, b, rows, payee)
	if err != nil {
		return "", err
	}
	subjects := workersOf(rows)
	// The ledger row names what actually went into the file.
	fields := []string{"bank_card", "name"}
	records := 2 * len(rows)
	if banks > 0 {
		fields = []string{"bank_card", "bank_name", "name"}
		records += banks
	}
	if _, err := s.deps.Payouts.MarkSubmitted(ctx, b.ID, digest); err != nil {
		return "", err
	}
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		_, err := s.deps.Ledger.Append(ctx, tx, sharing.Provision{Recipient: "payout_bank", RecipientKind: "processor", Purpose: "payout",
			Fields: fields, Subjects: subjects, Records: records, LegalBasis: "contract",
			ConsentRef: "batch:" + b.ID, Actor: p.ActorID(), Channel: "api"})
		return err
	})
	if err != nil {
		return "", err
	}
	if _, err := s.deps.Rail.Submit(ctx, b.ID, sealed); err != nil {
		return "", err
	}
	return digest, nil
}

// workersOf lists the distinct workers of a batch's rows, in row order
// (a set, not a scan per row: batches run to 10,000 rows).
func workersOf(rows []payout.Row) []string {
	seen := make(map[string]bool, len(rows))
	var out []string
	for _, row := range rows {
		if !seen[row.WorkerID] {
			seen[row.WorkerID] = true
			out = append(out, row.WorkerID)
		}
	}
	return out
}

// payoutActor is who reads payees' details for the bank file: the
// platform, on the employer member's instruction.
func payoutActor(p *access.Principal) vault.Actor {
	return vault.Actor{ID: "system:payout/" + p.ActorID(), Channel: "api"}
}

// submitPayout produces the bank payment file of an approved batch — card
// numbers decrypted only into it, the file sealed with the transfer key —
// hands it to the payout rail, records the provision to the bank in the
// sharing ledger and the rail's per-row results.
func (s *Server) submitPayout(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	ctx := r.Context()
	b, err := s.ownBatch(r, p)
	if err == nil && b.Status != payout.Approved && b.Status != payout.Submitted {
		err = errs.New(errs.Conflict, "id", "只有已批准的批次可以提交银行", "only an approved batch can be submitted").With("status_"+b.Status, nil, b.ID)
	}
	var rows []payout.Row
	if err == nil {
		rows, err = s.deps.Payouts.Rows(ctx, b.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	digest := b.FileDigest
	if b.Status == payout.Approved {
		if digest, err = s.sendBankFile(r, p, b, rows); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	// A submitted batch (this call, or an earlier one cut short) is
	// reconciled with the rail's per-row results.
	results, err := s.deps.Rail.Status(ctx, b.ID)
	if err == nil {
		b, err = s.deps.Payouts.ApplyResults(ctx, b.ID, results)
	}
	if err == nil {
		rows, err = s.deps.Payouts.Rows(ctx, b.ID)
	}
	if err == nil {
		err = s.deps.Recorder.Record(ctx, audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "payout.submit", Outcome: b.Status,
			Detail: map[string]string{"batch": b.ID, "file_digest": digest}})
	}
	s.reply(w, r, http.StatusOK, map[string]any{"batch": b, "rows": rows, "file_digest": digest}, err)
}

// withholdingSummary returns the batch's individual-income-tax withholding
// summary, sealed with the transfer key: the only place the workers' tax
// identity (name, ID number) is used, read as a legal obligation.
func (s *Server) withholdingSummary(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.payoutReady(w, r) {
		return
	}
	ctx := r.Context()
	b, err := s.ownBatch(r, p)
	if err == nil && b.Status != payout.Submitted && b.Status != payout.Completed {
		err = errs.New(errs.Conflict, "id", "批次提交银行后才有代扣代缴汇总", "a batch has a withholding summary once it is submitted").With("status_"+b.Status, nil, b.ID)
	}
	var rows []payout.Row
	if err == nil {
		rows, err = s.deps.Payouts.Rows(ctx, b.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	actor := vault.Actor{ID: "system:tax/" + p.ActorID(), Channel: "api"}
	identity := func(ctx context.Context, subject string) (string, string, error) {
		vs, err := s.deps.Guard.ProcessFor(ctx, actor, subject, "legal_compliance", "withholding summary of batch "+b.ID, []string{"name", "id_number"})
		if err != nil {
			return "", "", err
		}
		var name, id string
		for _, v := range vs {
			if v.Field == "name" {
				name = v.Text
			} else if v.Field == "id_number" {
				id = v.Text
			}
		}
		return name, id, nil
	}
	var plain bytes.Buffer
	if err := payout.WriteWithholdingSummary(ctx, &plain, b.CreatedAt.Format("2006-01"), rows, identity); err != nil {
		s.fail(w, r, err)
		return
	}
	key, err := s.deps.Keys.TransferKey(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer cryptox.Wipe(key)
	sealed, err := payout.SealFile(s.deps.Keys.Suite(), key, plain.Bytes(), b.ID+"/withholding")
	cryptox.Wipe(plain.Bytes())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subjects := workersOf(rows)
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		_, err := s.deps.Ledger.Append(ctx, tx, sharing.Provision{Recipient: "tax_authority", RecipientKind: "recipient", Purpose: "legal_compliance",
			Fields: []string{"id_number", "name"}, Subjects: subjects, Records: len(subjects) * 2, LegalBasis: "legal_obligation",
			Actor: p.ActorID(), Channel: "api"})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="withholding-`+b.ID+`.gvpay"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sealed)
}

// myPayouts lists the payments made to the worker.
func (s *Server) myPayouts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if s.deps.DB == nil {
		WriteError(w, r, errNoService)
		return
	}
	rows, err := s.deps.DB.Query(r.Context(), `SELECT r.batch_id, b.org_id, r.amount_fen, r.memo, r.status, r.updated_at FROM payout_rows r
		JOIN payout_batches b ON b.id = r.batch_id WHERE r.subject_id = ? ORDER BY r.updated_at DESC LIMIT 200`, p.SubjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rows.Close()
	type pay struct {
		BatchID   string `json:"batch_id"`
		OrgID     string `json:"org_id"`
		AmountFen int64  `json:"amount_fen"`
		Memo      string `json:"memo"`
		Status    string `json:"status"`
		UpdatedAt int64  `json:"-"`
	}
	out := []pay{}
	for rows.Next() {
		var pp pay
		if err := rows.Scan(&pp.BatchID, &pp.OrgID, &pp.AmountFen, &pp.Memo, &pp.Status, &pp.UpdatedAt); err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, pp)
	}
	s.reply(w, r, http.StatusOK, map[string]any{"payouts": out}, rows.Err())
}
