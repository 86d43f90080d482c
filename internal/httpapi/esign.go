package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/access"
	"gigvault/internal/audit"
	"gigvault/internal/contract"
	"gigvault/internal/errs"
	"gigvault/internal/esign"
	"gigvault/internal/format"
	"gigvault/internal/identity"
	"gigvault/internal/idv"
	"gigvault/internal/jobs"
	"gigvault/internal/policy"
	"gigvault/internal/sealkey"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
	"gigvault/internal/vault"
	"gigvault/internal/verify"
)

var (
	templateEditors = rule{roles: []policy.Role{policy.DPO, policy.DataOperator}}
	keyOfficers     = rule{roles: []policy.Role{policy.KeyOfficer}}
	keyWatchers     = rule{roles: []policy.Role{policy.KeyOfficer, policy.SecurityAdmin}}
)

// routesESign registers identity verification (GIG-5), electronic
// contracts (GIG-6) and the unsealing of the platform key (ENC-7).
func (s *Server) routesESign() {
	s.authed("POST", "/v1/me/identity/verify", workers, s.verifyIdentity)
	s.authed("GET", "/v1/me/identity", workers, s.myIdentity)
	s.authed("GET", "/v1/contract-templates", users, s.listTemplates)
	s.authed("POST", "/v1/staff/contract-templates", templateEditors, s.createTemplate)
	s.authed("POST", "/v1/employer/contracts", employers, s.offerContract)
	s.authed("GET", "/v1/employer/contracts", employers, s.orgContracts)
	s.authed("GET", "/v1/employer/contracts/{id}/file", employers, s.orgContractFile)
	s.authed("GET", "/v1/me/contracts", workers, s.myContracts)
	s.authed("GET", "/v1/me/contracts/{id}", workers, s.myContract)
	s.authed("POST", "/v1/me/contracts/{id}/sign", workers, s.signContract)
	s.authed("GET", "/v1/me/contracts/{id}/file", workers, s.myContractFile)
	s.authed("GET", "/v1/me/contracts/{id}/pdf", workers, s.contractPDF)
	s.authed("GET", "/v1/employer/contracts/{id}/pdf", employers, s.contractPDF)
	s.public("POST", "/public/contracts/verify", s.verifyContractFile)
	s.authed("GET", "/v1/staff/keys/platform", keyWatchers, s.platformKeyStatus)
	s.authed("POST", "/v1/staff/keys/platform/unseal", keyOfficers, s.unsealPlatform)
}

func (s *Server) esignReady(w http.ResponseWriter, r *http.Request) bool {
	if s.deps.ESign == nil || s.deps.IDV == nil || s.deps.Verifier == nil || s.deps.Jobs == nil {
		WriteError(w, r, errNoService)
		return false
	}
	return true
}

// verifyIdentity checks the worker's identity at 2, 3 or 4 factors with
// the configured Verifier (GIG-5). Level 4's mobile number is the one the
// account was registered and verified with. Biometric data is refused
// outright (ENC-6). Passed factors are kept in the vault as the catalog
// allows; a failed attempt keeps only its result.
func (s *Server) verifyIdentity(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		s.fail(w, r, errs.New(errs.Invalid, "", "请求体无法读取", "the request body could not be read"))
		return
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err == nil {
		keysIn := make([]string, 0, len(top))
		for k := range top {
			keysIn = append(keysIn, k)
		}
		if err := verify.RejectBiometrics(keysIn); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	var in struct {
		Level    verify.Level `json:"level"`
		Name     string       `json:"name"`
		IDNumber string       `json:"id_number"`
		BankCard string       `json:"bank_card"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.fail(w, r, errs.New(errs.Invalid, "", "请求体不是有效的JSON或含有未知字段", "the body is not valid JSON or has unknown fields"))
		return
	}
	ctx := r.Context()
	if err := s.requireConsent(r, p.SubjectID, "identity_verification", true, "purpose",
		"实名认证需要您同意使用身份信息", "identity verification needs your consent to use your identity details"); err != nil {
		s.fail(w, r, err)
		return
	}
	req := verify.Request{Level: in.Level, Name: in.Name, IDNumber: in.IDNumber, BankCard: in.BankCard}
	if in.Level == verify.Level4 {
		if req.Mobile, err = s.deps.Guard.OwnValue(ctx, p, "mobile", "identity_verification"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if req, err = req.Check(); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Verifier.Verify(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rec idv.Record
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if rec, err = s.deps.IDV.Add(ctx, tx, p.SubjectID, res); err != nil {
			return err
		}
		if !res.Passed {
			return nil
		}
		items := []vault.Item{{Field: "name", Value: req.Name}, {Field: "id_number", Value: req.IDNumber}}
		if req.BankCard != "" {
			items = append(items, vault.Item{Field: "bank_card", Value: req.BankCard})
		}
		return s.deps.Guard.WriteOwn(ctx, tx, p, "identity_verification", items...)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	zh, en := verify.DescribeReason(res.Reason)
	writeJSON(w, http.StatusOK, map[string]any{"verification": rec, "message_zh": zh, "message": en})
}

func (s *Server) myIdentity(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	hs, err := s.deps.IDV.History(r.Context(), p.SubjectID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	lvl, _ := s.deps.IDV.Level(r.Context(), p.SubjectID)
	writeJSON(w, http.StatusOK, map[string]any{"level": lvl.Level, "current": lvl, "history": hs})
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	ts, err := s.deps.ESign.Templates(r.Context())
	s.reply(w, r, http.StatusOK, map[string]any{"templates": ts, "system_variables": esign.SystemVars}, err)
}

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	var in struct {
		Name string `json:"name"`
		Body string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	t, err := s.deps.ESign.CreateTemplate(r.Context(), in.Name, in.Body, p.ActorID())
	if err == nil {
		err = s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "contract.template", Outcome: "ok",
			Detail: map[string]string{"template": t.ID, "version": t.Name}})
	}
	s.reply(w, r, http.StatusCreated, map[string]any{"template": t}, err)
}

// offerContract: an employer offers a contract on an accepted
// application, to a worker verified at least at 2 factors (pre-signing).
func (s *Server) offerContract(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	var in struct {
		ApplicationID string            `json:"application_id"`
		TemplateID    string            `json:"template_id"`
		Variables     map[string]string `json:"variables"`
		ValidFrom     time.Time         `json:"valid_from"`
		ValidUntil    time.Time         `json:"valid_until"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	a, err := s.deps.Jobs.Application(ctx, in.ApplicationID)
	if err == nil && a.OrgID != p.OrgID {
		err = errNoApplication
	}
	if err == nil && a.Status != jobs.Accepted {
		err = errs.New(errs.Conflict, "application_id", "只能与已录用的求职者签订合同", "a contract is offered on an accepted application").With("status_"+a.Status, nil, a.ID)
	}
	if err == nil {
		err = s.verifiedOrg(r, p)
	}
	if err == nil {
		if lvl, lerr := s.deps.IDV.Level(ctx, a.SubjectID); lerr != nil {
			err = lerr
		} else if lvl.Level < 2 {
			err = errs.New(errs.Conflict, "application_id", "求职者尚未完成实名认证（二要素）", "the worker has not verified their identity (2 factors) yet").
				With("verification_required", []string{"level:2"}, "")
		}
	}
	var org jobs.Org
	if err == nil {
		org, err = s.deps.Jobs.Org(ctx, p.OrgID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.ESign.Create(ctx, esign.Offer{TemplateID: in.TemplateID, ApplicationID: a.ID, OrgID: p.OrgID, SubjectID: a.SubjectID,
		Variables: in.Variables, ValidFrom: in.ValidFrom, ValidUntil: in.ValidUntil, By: p.ActorID()}, org.Name)
	s.reply(w, r, http.StatusCreated, map[string]any{"contract": c}, err)
}

func (s *Server) orgContracts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	cs, err := s.deps.ESign.List(r.Context(), "", p.OrgID)
	s.reply(w, r, http.StatusOK, map[string]any{"contracts": cs}, err)
}

func (s *Server) myContracts(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	cs, err := s.deps.ESign.List(r.Context(), p.SubjectID, "")
	s.reply(w, r, http.StatusOK, map[string]any{"contracts": cs}, err)
}

// ownContract loads the caller's contract by path ID; someone else's is
// not found.
func (s *Server) ownContract(r *http.Request, p *access.Principal) (esign.Contract, error) {
	c, err := s.deps.ESign.Get(r.Context(), r.PathValue("id"))
	if err == nil && ((p.Kind == "worker" && c.SubjectID != p.SubjectID) || (p.Kind == "employer" && c.OrgID != p.OrgID)) {
		err = errs.New(errs.NotFound, "id", "合同不存在", "no such contract")
	}
	return c, err
}

// signerValues are the system variables of the worker's own verified
// identity: name, ID number masked to region and last four, and the
// reference of the verification.
func (s *Server) signerValues(r *http.Request, p *access.Principal, minLevel int) (map[string]string, idv.Record, error) {
	ctx := r.Context()
	lvl, err := s.deps.IDV.Level(ctx, p.SubjectID)
	if err != nil {
		return nil, idv.Record{}, err
	}
	if lvl.Level < minLevel {
		return nil, lvl, errs.New(errs.Conflict, "verification", "请先完成实名认证（"+map[int]string{2: "二", 4: "四"}[minLevel]+"要素）", "verify your identity first").
			With("verification_required", []string{"level:" + strconv.Itoa(minLevel)}, "")
	}
	name, err := s.deps.Guard.OwnValue(ctx, p, "name", "contract_signing")
	if err != nil {
		return nil, lvl, err
	}
	id, err := s.deps.Guard.OwnValue(ctx, p, "id_number", "contract_signing")
	if err != nil {
		return nil, lvl, err
	}
	masked, err := format.Mask("keep:6:4", id)
	if err != nil {
		return nil, lvl, err
	}
	return map[string]string{"worker_name": name, "worker_id_masked": masked, "verification_ref": lvl.Provider + ":" + lvl.ProviderRef}, lvl, nil
}

// myContract shows the worker the contract as they would sign it.
func (s *Server) myContract(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	c, err := s.ownContract(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := map[string]any{"contract": c}
	if c.Status == esign.Offered {
		vals, _, err := s.signerValues(r, p, 2)
		if err == nil {
			var org jobs.Org
			if org, err = s.deps.Jobs.Org(r.Context(), c.OrgID); err == nil {
				var doc contract.Document
				if doc, err = s.deps.ESign.Render(r.Context(), c, org.Name, vals); err == nil {
					body["document"] = doc.String()
				}
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// signContract is the signing ceremony (GIG-6): the worker is verified at
// 4 factors, proves intent with a fresh SMS code (purpose "sign"), has
// agreed to the electronic-contract function, and the platform key is
// unsealed. The document is stored in the worker's vault, the provision of
// the signed contract to the employer goes into the sharing ledger, and
// the signed file is returned.
func (s *Server) signContract(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	c, err := s.ownContract(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, ok := s.deps.Keys.PlatformSigner(); !ok {
		s.fail(w, r, esign.ErrSealed)
		return
	}
	if err := s.requireConsent(r, p.SubjectID, "contract_signing", true, "purpose",
		"签署电子合同需要您同意“电子合同签署”功能", "signing needs your consent to electronic contracts"); err != nil {
		s.fail(w, r, err)
		return
	}
	vals, _, err := s.signerValues(r, p, 4)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.deps.Identity.VerifyCode(ctx, p, identity.CodeSign, in.Code); err != nil {
		s.fail(w, r, err)
		return
	}
	org, err := s.deps.Jobs.Org(ctx, c.OrgID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	doc, err := s.deps.ESign.Render(ctx, c, org.Name, vals)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var f contract.File
	err = s.deps.DB.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if f, err = s.deps.ESign.Sign(ctx, tx, c, doc); err != nil {
			return err
		}
		// contract_record is a JSON value: the canonical document as one
		// string member, kept byte for byte.
		rec, err := json.Marshal(contractRecord{Document: doc.String(), Digest: f.Digest})
		if err != nil {
			return err
		}
		if err := s.deps.Guard.WriteOwn(ctx, tx, p, "contract_signing", vault.Item{Field: "contract_record", Record: c.ID, Value: string(rec)}); err != nil {
			return err
		}
		_, err = s.deps.Ledger.Append(ctx, tx, sharing.Provision{Recipient: c.OrgID, RecipientKind: "employer", Purpose: "contract_signing",
			Fields: []string{"contract_record"}, Subjects: []string{p.SubjectID}, Records: 1, LegalBasis: "contract", ConsentRef: c.ID,
			Actor: p.ActorID(), Channel: "api"})
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeFile(w, f)
}

func writeFile(w http.ResponseWriter, f contract.File) {
	b, err := f.Marshal()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{"code": "internal"}})
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contract-`+f.ContractID+`.json"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// contractFile returns the signed file of c, reading the document from the
// worker's vault as actor.
func (s *Server) contractFile(r *http.Request, p *access.Principal, c esign.Contract) (contract.File, error) {
	if c.Status != esign.Signed {
		return contract.File{}, errs.New(errs.Conflict, "id", "合同尚未签署", "the contract is not signed yet").With("status_"+c.Status, nil, c.ID)
	}
	// A signed contract is kept as the law requires, and each party may
	// have its copy on that basis, whatever later becomes of the consent
	// to sign electronically (CON-13: legal_compliance).
	vs, err := s.deps.Guard.ProcessFor(r.Context(), p.Actor(), c.SubjectID, "legal_compliance", "contract party copy: "+c.ID, []string{"contract_record"})
	if err != nil {
		return contract.File{}, err
	}
	i := slices.IndexFunc(vs, func(v vault.Value) bool { return v.Record == c.ID })
	if i < 0 {
		return contract.File{}, errs.New(errs.Erased, "id", "合同文本已随个人信息删除", "the contract text was deleted with the person's data")
	}
	var rec contractRecord
	if err := json.Unmarshal([]byte(vs[i].Text), &rec); err != nil {
		return contract.File{}, fmt.Errorf("httpapi: contract record %s: %w", c.ID, err)
	}
	return s.deps.ESign.File(r.Context(), c, rec.Document)
}

// contractRecord is the vault value of a signed contract.
type contractRecord struct {
	Document string `json:"document"`
	Digest   string `json:"digest"`
}

func (s *Server) myContractFile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	c, err := s.ownContract(r, p)
	var f contract.File
	if err == nil {
		f, err = s.contractFile(r, p, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeFile(w, f)
}

func (s *Server) orgContractFile(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	c, err := s.ownContract(r, p)
	var f contract.File
	if err == nil {
		f, err = s.contractFile(r, p, c)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeFile(w, f)
}

// DefaultContractFonts are the fonts a contract PDF is set in: Droid Sans
// Fallback for Chinese (Debian fonts-droid-fallback) and DejaVu Sans for
// Latin letters and digits (fonts-dejavu-core).
var DefaultContractFonts = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
}

// contractPDF renders a signed contract as PDF for people to read. The
// PDF carries no signature: the signed file (…/file) is the contract.
func (s *Server) contractPDF(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	if !s.esignReady(w, r) {
		return
	}
	fonts := s.deps.ContractFonts
	if fonts == nil {
		fonts = DefaultContractFonts
	}
	c, err := s.ownContract(r, p)
	var f contract.File
	if err == nil {
		f, err = s.contractFile(r, p, c)
	}
	var doc contract.Document
	if err == nil {
		doc, err = contract.ParseDocument(f.Document)
	}
	var pdf []byte
	if err == nil {
		if pdf, err = contract.RenderPDF(doc, fonts[0], fonts[1:]...); err != nil {
			s.deps.Log.Error("contract pdf", "contract", c.ID, "err", err)
			err = errs.New(errs.Unavailable, "", "无法生成PDF（字体未安装），请下载合同文件", "the PDF cannot be made here (fonts missing): download the contract file").
				With("pdf_unavailable", nil, "")
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="contract-`+c.ID+`.pdf"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pdf)
}

// verifyContractFile checks an uploaded contract file against the key
// registry: anyone holding a contract can check it.
func (s *Server) verifyContractFile(w http.ResponseWriter, r *http.Request) {
	if s.deps.ESign == nil {
		WriteError(w, r, errNoService)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
	if err != nil {
		WriteError(w, r, errs.New(errs.Invalid, "file", "请求体无法读取", "the body could not be read"))
		return
	}
	f, err := contract.ParseFile(b)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rep := contract.VerifyFile(f, s.deps.ESign.Trusted(r.Context()), s.deps.Clock.Now())
	writeJSON(w, http.StatusOK, map[string]any{"ok": rep.OK, "digest_ok": rep.DigestOK, "signatures": nonNil(rep.Signatures), "window": rep.Window,
		"problems": nonNil(rep.Problems), "contract_id": f.ContractID})
}

var errNoPlatformKey = errs.New(errs.Unavailable, "", "平台签署密钥尚未创建（gigvault keys init-platform）", "no platform signing key: run gigvault keys init-platform").
	With("no_platform_key", nil, "")

// unsealer returns the platform key's unsealer, or answers that there is
// no platform key yet.
func (s *Server) unsealer(w http.ResponseWriter, r *http.Request) *sealkey.Unsealer {
	if s.deps.Unsealer == nil || s.deps.Keys == nil {
		WriteError(w, r, errNoPlatformKey)
		return nil
	}
	u, err := s.deps.Unsealer(r.Context())
	if err == nil && u == nil {
		err = errNoPlatformKey
	}
	if err != nil {
		s.fail(w, r, err)
		return nil
	}
	return u
}

func (s *Server) platformKeyStatus(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	u := s.unsealer(w, r)
	if u == nil {
		return
	}
	st := u.Status()
	_, unsealed := s.deps.Keys.PlatformSigner()
	writeJSON(w, http.StatusOK, map[string]any{"sealed": !unsealed, "shares": st.Shares, "threshold": st.Threshold,
		"officers": nonNil(st.Officers), "set_id": st.SetID.String(), "expires_at": st.ExpiresAt})
}

// unsealPlatform takes one key officer's share (ENC-7). Each officer
// presents their own; when the threshold is reached the platform key is
// unsealed. Every share presented is audited, without the share.
func (s *Server) unsealPlatform(w http.ResponseWriter, r *http.Request, p *access.Principal) {
	u := s.unsealer(w, r)
	if u == nil {
		return
	}
	var in struct {
		Share string `json:"share"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	sh, err := sealkey.ParseShare(strings.TrimSpace(in.Share))
	var st sealkey.Progress
	if err == nil {
		st, err = u.Submit(p.AccountID, sh)
		sh.Wipe()
	}
	outcome := "ok"
	if err != nil {
		outcome = string(errs.CodeOf(err))
	}
	if aerr := s.deps.Recorder.Record(r.Context(), audit.Entry{Actor: p.ActorID(), Channel: "api", Action: "keys.unseal_share", Outcome: outcome,
		Detail: map[string]string{"shares": strconv.Itoa(st.Shares), "threshold": strconv.Itoa(st.Threshold), "sealed": strconv.FormatBool(st.Sealed)}}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		var e *errs.Error
		if !errors.As(err, &e) || e.Code == errs.Integrity {
			// Wrong or mismatched shares are the officers' mistake, not
			// the server's: the attempt starts again.
			err = errs.Wrap(errs.Conflict, "share", "这些份额无法解封平台密钥，请重新开始", "these shares do not unseal the platform key: start again", err).
				With("shares_do_not_open", nil, "")
		}
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sealed": st.Sealed, "shares": st.Shares, "threshold": st.Threshold, "officers": nonNil(st.Officers)})
}
