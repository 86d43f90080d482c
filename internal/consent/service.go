package consent

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/policy"
	"gigvault/internal/receipt"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// Notice is what a person is shown before deciding on one scope. Its
// bytes are hashed into the receipt, so the evidence says exactly what was
// shown (CON-2).
type Notice struct {
	Scope         string   `json:"scope"`
	PolicyVersion string   `json:"policy_version"`
	TextZh        string   `json:"text_zh"`
	TextEn        string   `json:"text_en"`
	Purposes      []string `json:"purposes"`
	Fields        []string `json:"fields"`
	Sensitive     []string `json:"sensitive,omitempty"`   // the sensitive PI among Fields
	ThirdParty    string   `json:"third_party,omitempty"` // who receives it, for recipient and processor scopes
	Bytes         []byte   `json:"-"`                     // the canonical bytes shown and hashed
	Digest        string   `json:"notice_digest"`
}

// Policies is what the Service needs of the privacy-policy versions.
type Policies interface {
	Floor
	// Current is the version in effect now and its publication order.
	Current(ctx context.Context) (version string, seq int64, err error)
	// Notice is the notice for scope under version (Digest left empty).
	Notice(ctx context.Context, version, scope string) (Notice, error)
}

// ServiceConfig wires a Service.
type ServiceConfig struct {
	Suite      cryptox.Suite
	Signer     cryptox.Signer // the receipt signing key
	KeyID      string
	Controller receipt.Controller
	PolicyURL  string // base URL of the published policy; the version is appended
	// Tag pseudonymises client IPs: a keyed digest (keys.Keyring.Tag).
	Tag     func(domain string, parts ...string) []byte
	Catalog *catalog.Catalog
}

// Service turns people's consent acts into events, state and receipts.
type Service struct {
	st    *Store
	db    *store.DB
	pol   Policies
	log   *audit.Log
	vault *vault.Vault
	cfg   ServiceConfig
}

// NewService returns a Service.
func NewService(st *Store, db *store.DB, pol Policies, log *audit.Log, v *vault.Vault, cfg ServiceConfig) *Service {
	return &Service{st: st, db: db, pol: pol, log: log, vault: v, cfg: cfg}
}

// Store returns the underlying store.
func (sv *Service) Store() *Store { return sv.st }

// GuardianIdentity is who consents for a minor, as the API receives it.
// The name and ID number are kept in the vault under a subject of the
// guardian's own; events and receipts refer to that subject.
type GuardianIdentity struct {
	Name         string `json:"name"`
	IDNumber     string `json:"id_number"`
	Relationship string `json:"relationship"`
}

// Request is one consent act as the API receives it.
type Request struct {
	Subject       string
	Scope         string
	Scopes        int    // how many scopes the request named: more than one is bundling (CON-5)
	Event         string // agree | refuse | withdraw
	Explicit      bool
	PolicyVersion string // the version whose notice was shown
	NoticeDigest  string // the digest of the notice shown
	Channel       string
	Language      string
	IP            string
	Group         AgeGroup // the subject's age group, from their birth date or ID number
	By            string   // subject | guardian
	Guardian      *GuardianIdentity
	Actor         string // the audit actor
}

var (
	errStaleVersion = errs.New(errs.Conflict, "policy_version", "隐私政策已更新，请阅读最新版本后再作选择", "the privacy policy has changed: show the current version first").
			With("policy_version_outdated", nil, "")
	errNotice = errs.New(errs.Invalid, "notice_digest", "告知内容与当前版本不一致，请重新展示告知内容", "the notice shown is not the current one for this scope").
			With("notice_mismatch", nil, "")
	errNothingToWithdraw = errs.New(errs.Conflict, "scope", "该项未处于同意状态，无需撤回", "there is no consent to withdraw for this scope").
				With("not_granted", nil, "")
	errEvent   = errs.New(errs.Invalid, "event", "操作应为同意、拒绝或撤回", "event must be agree, refuse or withdraw")
	errChannel = errs.New(errs.Invalid, "channel", "渠道应为 app、web、mini_program 或 api", "channel must be app, web, mini_program or api")
)

// Channels a consent may be given through.
var Channels = []string{"app", "web", "mini_program", "api"}

// NoticeFor returns the current notice for scope, with its digest.
func (sv *Service) NoticeFor(ctx context.Context, scope string) (Notice, error) {
	version, _, err := sv.pol.Current(ctx)
	if err != nil {
		return Notice{}, err
	}
	return sv.notice(ctx, version, scope)
}

func (sv *Service) notice(ctx context.Context, version, scope string) (Notice, error) {
	n, err := sv.pol.Notice(ctx, version, scope)
	if err != nil {
		return Notice{}, err
	}
	n.Digest = receipt.NoticeDigest(sv.cfg.Suite, n.Bytes)
	return n, nil
}

// Prompt is asked before an app prompts a person about scope on its own
// initiative: inside 48 hours of a refusal or withdrawal it is refused with
// prompt_allowed_at (CON-7); otherwise it returns the notice to show.
func (sv *Service) Prompt(ctx context.Context, subject, scope string) (Notice, error) {
	n, err := sv.NoticeFor(ctx, scope)
	if err != nil {
		return Notice{}, err
	}
	at, err := sv.PromptAllowedAt(ctx, subject, scope)
	if err != nil {
		return Notice{}, err
	}
	if now := sv.st.clk.Now(); !at.IsZero() && now.Before(at) {
		return Notice{}, errs.New(errs.Conflict, "scope", "您已拒绝或撤回该项，48小时内不再询问", "refused or withdrawn: not asked again for 48 hours").
			With("prompt_not_allowed", nil, at.UTC().Format(time.RFC3339)).After(at.Sub(now))
	}
	return n, nil
}

// PromptAllowedAt is when scope may next be prompted; zero means now.
func (sv *Service) PromptAllowedAt(ctx context.Context, subject, scope string) (time.Time, error) {
	states, err := sv.st.States(ctx, subject)
	if err != nil {
		return time.Time{}, err
	}
	return states[scope].PromptAllowedAt(sv.st.clk.Now()), nil
}

// Act records a consent act in its own transaction and returns the event
// and its signed receipt.
func (sv *Service) Act(ctx context.Context, a Request) (Event, *receipt.Signed, error) {
	var ev Event
	var n Notice
	err := sv.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		ev, n, err = sv.act(ctx, tx, a)
		return err
	})
	if err != nil {
		return Event{}, nil, err
	}
	r, err := sv.receipt(ev, n, a.Guardian, a.Language)
	return ev, r, err
}

// ActTx records a consent act inside tx, the transaction of the action it
// belongs to (an application that provides a résumé, say). Sign its
// receipt with Receipt once tx has committed.
func (sv *Service) ActTx(ctx context.Context, tx *store.Tx, a Request) (Event, error) {
	ev, _, err := sv.act(ctx, tx, a)
	return ev, err
}

// Receipt signs the receipt of a recorded event.
func (sv *Service) Receipt(ctx context.Context, ev Event, guardianName, language string) (*receipt.Signed, error) {
	n, err := sv.notice(ctx, ev.PolicyVersion, ev.Scope)
	if err != nil {
		return nil, err
	}
	var g *GuardianIdentity
	if ev.GuardianRef != "" {
		g = &GuardianIdentity{Name: guardianName, Relationship: ev.Relationship}
	}
	return sv.receipt(ev, n, g, language)
}

func (sv *Service) act(ctx context.Context, tx *store.Tx, a Request) (Event, Notice, error) {
	if !slices.Contains([]string{Agree, Refuse, Withdraw}, a.Event) {
		return Event{}, Notice{}, errEvent
	}
	if a.Channel == "" {
		a.Channel = "api"
	}
	if !slices.Contains(Channels, a.Channel) {
		return Event{}, Notice{}, errChannel
	}
	scenarios := []string{a.Scope}
	if a.Scopes > 1 {
		scenarios = make([]string, a.Scopes)
	}
	var g *Guardian
	if a.By == ByGuardian {
		g = &Guardian{SubjectRef: "pending", Relationship: ""}
		if a.Guardian != nil {
			g.Relationship = a.Guardian.Relationship
		}
	}
	// Withdrawal is never harder than agreeing (CON-9): it needs no notice,
	// but the same person — the subject or their guardian.
	explicit := a.Explicit || a.Event == Withdraw
	if err := CheckAct(Act{By: a.By, Group: a.Group, Guardian: g, Explicit: explicit, Scenarios: scenarios}); err != nil {
		return Event{}, Notice{}, err
	}
	version, seq, err := sv.pol.Current(ctx)
	if err != nil {
		return Event{}, Notice{}, err
	}
	n, err := sv.notice(ctx, version, a.Scope)
	if err != nil {
		return Event{}, Notice{}, err
	}
	states, err := sv.st.States(ctx, a.Subject)
	if err != nil {
		return Event{}, Notice{}, err
	}
	if a.Event == Withdraw {
		if st, ok := states[a.Scope]; !ok || st.State != policy.Granted {
			return Event{}, Notice{}, errNothingToWithdraw
		}
	} else {
		if a.PolicyVersion != version {
			return Event{}, Notice{}, errStaleVersion
		}
		if !strings.EqualFold(a.NoticeDigest, n.Digest) {
			return Event{}, Notice{}, errNotice
		}
	}
	ev := Event{Subject: a.Subject, Scope: a.Scope, Event: a.Event, PolicyVersion: version, PolicySeq: seq, Channel: a.Channel,
		NoticeDigest: n.Digest, ActedBy: a.By}
	if sv.cfg.Tag != nil && a.IP != "" {
		ev.IPTag = hex.EncodeToString(sv.cfg.Tag("consent-ip", a.IP)[:16])
	}
	if a.By == ByGuardian {
		ref, err := sv.recordGuardian(ctx, tx, a)
		if err != nil {
			return Event{}, Notice{}, err
		}
		ev.GuardianRef, ev.Relationship = ref, a.Guardian.Relationship
	}
	if err := sv.st.Append(ctx, tx, &ev); err != nil {
		return Event{}, Notice{}, err
	}
	detail := map[string]string{"scope": a.Scope, "event": a.Event, "policy_version": version, "acted_by": ev.ActedBy, "channel": a.Channel,
		"receipt": ev.ID}
	if ev.GuardianRef != "" {
		detail["guardian_ref"], detail["relationship"] = ev.GuardianRef, ev.Relationship
	}
	if err := sv.log.Append(ctx, tx, audit.Entry{Actor: a.Actor, Channel: "api", Action: "consent." + a.Event, Subject: a.Subject,
		Fields: audit.SortedFields(n.Fields...), Outcome: "ok", Detail: detail}); err != nil {
		return Event{}, Notice{}, err
	}
	return ev, n, nil
}

// recordGuardian keeps the guardian's identity in the vault under a
// subject of their own (PIPL art. 31 makes recording it a legal duty) and
// returns that subject. The guardian must be an adult by their ID number.
func (sv *Service) recordGuardian(ctx context.Context, tx *store.Tx, a Request) (string, error) {
	gi := a.Guardian
	name := strings.TrimSpace(gi.Name)
	if n := len([]rune(name)); n < 2 || n > 30 {
		return "", errs.New(errs.Invalid, "guardian.name", "请填写监护人姓名", "give the guardian's name")
	}
	id, err := format.Normalize(format.KindIDNumber, gi.IDNumber)
	if err != nil {
		return "", errs.New(errs.Invalid, "guardian.id_number", "监护人身份证号码无效", "the guardian's ID number is not valid")
	}
	birth, err := BirthFromIDNumber(id)
	if err != nil || GroupOf(AgeOn(birth, sv.st.clk.Now())) != Adult {
		return "", errs.New(errs.Invalid, "guardian.id_number", "监护人须为成年人", "the guardian must be an adult")
	}
	ref, err := sv.vault.CreateSubject(ctx, tx, "guardian")
	if err != nil {
		return "", err
	}
	actor := vault.Actor{ID: a.Actor, Channel: "api"}
	if err := sv.vault.PutTx(vault.WithDecision(ctx, "allow", "legal_basis_exception"), tx, actor, "legal_compliance", ref,
		vault.Item{Field: "name", Value: name}, vault.Item{Field: "id_number", Value: id}); err != nil {
		return "", err
	}
	return ref, nil
}

func (sv *Service) receipt(ev Event, n Notice, g *GuardianIdentity, language string) (*receipt.Signed, error) {
	if language == "" {
		language = "zh-CN"
	}
	var cats, spi []string
	for _, f := range n.Fields {
		if cf, ok := sv.cfg.Catalog.Field(f); ok {
			cats = append(cats, cf.En)
			if cf.Sensitive {
				spi = append(spi, cf.En)
			}
		}
	}
	if len(cats) == 0 {
		cats = []string{"none"}
	}
	purposes := make([]receipt.Purpose, 0, len(n.Purposes))
	for i, p := range n.Purposes {
		label := p
		if cp, ok := sv.cfg.Catalog.Purpose(p); ok {
			label = cp.En
		}
		rp := receipt.Purpose{Purpose: label, PurposeCategory: []string{p}, ConsentType: receipt.ConsentTypeExplicit, PIICategory: cats,
			PrimaryPurpose: i == 0, Termination: "until withdrawn; deleted when the retention period ends"}
		if n.ThirdParty != "" {
			rp.ThirdPartyDisclosure, rp.ThirdPartyName = true, n.ThirdParty
		}
		purposes = append(purposes, rp)
	}
	if len(purposes) == 0 {
		purposes = []receipt.Purpose{{Purpose: ev.Scope, PurposeCategory: []string{ev.Scope}, ConsentType: receipt.ConsentTypeExplicit,
			PIICategory: cats, PrimaryPurpose: true, Termination: "until withdrawn"}}
	}
	r := &receipt.Receipt{
		Version: receipt.Version, Jurisdiction: "CN", ConsentTimestamp: ev.At.Unix(), CollectionMethod: ev.Channel,
		ConsentReceiptID: ev.ID, Language: language, PIIPrincipalID: ev.Subject,
		PIIControllers: []receipt.Controller{sv.cfg.Controller},
		PolicyURL:      strings.TrimRight(sv.cfg.PolicyURL, "/") + "/" + ev.PolicyVersion,
		Services:       []receipt.Service{{Service: ev.Scope, Purposes: purposes}},
		Sensitive:      len(spi) > 0, SPICat: spi,
		PolicyVersion: ev.PolicyVersion, Event: receipt.Event(ev.Event), NoticeDigest: ev.NoticeDigest, Channel: ev.Channel,
	}
	if ev.GuardianRef != "" {
		name := ""
		if g != nil {
			name = g.Name
		}
		r.Guardian = &receipt.Guardian{NameMasked: receipt.MaskName(name), Relationship: ev.Relationship, SubjectRef: ev.GuardianRef}
	}
	s, err := receipt.Sign(r, sv.cfg.Signer, sv.cfg.KeyID, sv.cfg.Suite)
	if err != nil {
		return nil, fmt.Errorf("consent: sign receipt: %w", err)
	}
	return s, nil
}

// PolicyAgreement is a registrant's agreement to the privacy policy, made
// by ticking the (never pre-ticked) box on the registration form.
type PolicyAgreement struct {
	Subject string
	Version string // the version shown; "" means the current one
	Channel string
	IP      string
	Actor   string
}

// AgreePolicyTx records a registrant's agreement to the privacy policy
// inside the registration's transaction. The registration form shows the
// current policy, so the evidence is the current policy notice.
func (sv *Service) AgreePolicyTx(ctx context.Context, tx *store.Tx, a PolicyAgreement) (eventID, version string, err error) {
	n, err := sv.NoticeFor(ctx, ScopePolicy)
	if err != nil {
		return "", "", err
	}
	if a.Version == "" {
		a.Version = n.PolicyVersion
	}
	ev, _, err := sv.act(ctx, tx, Request{Subject: a.Subject, Scope: ScopePolicy, Event: Agree, Explicit: true, PolicyVersion: a.Version,
		NoticeDigest: n.Digest, Channel: a.Channel, IP: a.IP, By: BySubject, Group: Unknown, Actor: a.Actor})
	return ev.ID, ev.PolicyVersion, err
}
