// Package policydoc renders gigvault's privacy policy and its separate
// children's policy (儿童个人信息保护规则) from the PI catalog, the
// business-function registry and the third-party registry, so the policy
// cannot drift from what is collected (CON-1, CON-8, CON-13, CAT-2); builds
// the consent notice shown for each consent scope (CON-4, CON-7); and keeps
// the policy's versions — drafts, publication with frozen documents and a
// digest, the current and the material-change floor (CON-3).
//
// Rendering is pure and deterministic: the same sources and Meta give the
// same bytes (no map iteration order, no current time), so golden files and
// notice digests are stable. Documents are JSON (both languages side by
// side) and standalone HTML (zh-CN first, then English), in the style of the
// two public lists of package thirdparty. Sensitive PI is bold and
// underlined in HTML and flagged in JSON.
package policydoc

import (
	"errors"
	"slices"
	"strings"
	"time"

	"gigvault/internal/catalog"
	"gigvault/internal/cryptox"
	"gigvault/internal/functions"
	"gigvault/internal/thirdparty"
)

// Paths where the public documents are served.
const (
	PolicyPath    = "/public/privacy-policy"
	ChildrenPath  = "/public/children-policy"
	CollectedPath = "/public/pi-collected"
	SharingPath   = "/public/third-party-sharing"
)

// AnswerWithinWorkingDays is the statutory time to answer a rights request
// or a complaint, in PRC working days (DSR-2, DSR-3, DSR-5, DSR-6).
const AnswerWithinWorkingDays = 15

// Meta is what an editor writes for a version; everything else in the
// documents comes from the sources.
type Meta struct {
	Version     string    `json:"version"`
	EffectiveAt time.Time `json:"effective_at"`
	SummaryZh   string    `json:"summary_zh"`
	SummaryEn   string    `json:"summary_en"`
	Material    bool      `json:"material"` // a material change: consent is asked again (CON-3)
	Seq         int64     `json:"seq"`      // publication order, 0 until published
}

// Sources are the registries the documents are rendered from.
type Sources struct {
	Catalog    *catalog.Catalog
	Functions  *functions.Registry
	ThirdParty *thirdparty.Registry
	// Suite names the algorithms in the protection measures; nil means the
	// national (SM) suite, gigvault's default. NewStore fills it in.
	Suite cryptox.Suite
}

func (src Sources) check() error {
	if src.Catalog == nil || src.Functions == nil || src.ThirdParty == nil {
		return errors.New("policydoc: the catalog, function registry and third-party registry are all required")
	}
	return nil
}

// Links point at the related public documents.
type Links struct {
	Policy            string `json:"policy"`
	Children          string `json:"children_policy"`
	PICollected       string `json:"pi_collected"`
	ThirdPartySharing string `json:"third_party_sharing"`
}

// Text is one paragraph in both languages.
type Text struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Header is what both documents start with.
type Header struct {
	TitleZh     string              `json:"title_zh"`
	TitleEn     string              `json:"title_en"`
	Version     string              `json:"version"`
	Seq         int64               `json:"seq"`
	EffectiveAt time.Time           `json:"effective_at"`
	PublishedAt time.Time           `json:"published_at,omitzero"` // zero in a preview of a draft
	SummaryZh   string              `json:"summary_zh"`
	SummaryEn   string              `json:"summary_en"`
	Material    bool                `json:"material"`
	Operator    thirdparty.Operator `json:"operator"`
	Links       Links               `json:"links"`
}

// PIUse is one piece of PI a business function uses.
type PIUse struct {
	Field       string `json:"field"`
	Zh          string `json:"zh"`
	En          string `json:"en"`
	Category    string `json:"category"`
	Sensitive   bool   `json:"sensitive"`
	Necessary   bool   `json:"necessary"`
	WhyZh       string `json:"why_zh"`
	WhyEn       string `json:"why_en"`
	Source      string `json:"source"`
	MethodZh    string `json:"method_zh"`
	MethodEn    string `json:"method_en"`
	RetentionZh string `json:"retention_zh"`
	RetentionEn string `json:"retention_en"`
}

// Bases of a function's processing.
const (
	BasisPolicy  = "policy"  // the basic function: agreeing to the policy
	BasisConsent = "consent" // an extended function: its own consent
	BasisLegal   = "legal"   // every purpose rests on a legal-basis exception (CON-13)

	// In the children's policy a guardian gives the consents (CON-8).
	BasisGuardianPolicy  = "guardian_policy"  // the guardian agrees to the policy and the children's rules
	BasisGuardianConsent = "guardian_consent" // the guardian's separate consent to the function
)

// Function is one business function with the PI it uses, one to one.
type Function struct {
	ID           string             `json:"id"`
	Zh           string             `json:"zh"`
	En           string             `json:"en"`
	Kind         string             `json:"kind"`
	Purposes     []thirdparty.Label `json:"purposes"`
	Basis        string             `json:"basis"`
	ConsentScope string             `json:"consent_scope,omitempty"` // the scope whose notice asks for it
	PI           []PIUse            `json:"pi"`
}

// SensitiveItem is one sensitive PI type and the functions that use it.
type SensitiveItem struct {
	thirdparty.FieldRef
	Functions []thirdparty.Label `json:"functions"`
}

// Exception is a case where PI is processed without consent (CON-13), with
// the catalog purposes that rest on it.
type Exception struct {
	ID       string             `json:"id"`
	Zh       string             `json:"zh"`
	En       string             `json:"en"`
	Purposes []thirdparty.Label `json:"purposes"`
}

// ThirdParty is a registry entry, briefly.
type ThirdParty struct {
	ID        string                `json:"id"`
	Kind      string                `json:"kind"`
	Name      string                `json:"name"`
	Developer string                `json:"developer"`
	PurposeZh string                `json:"purpose_zh"`
	PurposeEn string                `json:"purpose_en"`
	PI        []thirdparty.FieldRef `json:"pi"`
	PolicyURL string                `json:"policy_url"`
}

// RetentionRule is one retention period and the PI kept that long.
type RetentionRule struct {
	Zh     string                `json:"zh"`
	En     string                `json:"en"`
	Fields []thirdparty.FieldRef `json:"fields"`
}

// CategoryRetention is the retention of one catalog category.
type CategoryRetention struct {
	Category thirdparty.Label `json:"category"`
	Rules    []RetentionRule  `json:"rules"`
}

// Right is a user right and how to use it.
type Right struct {
	ID     string `json:"id"`
	NameZh string `json:"name_zh"`
	NameEn string `json:"name_en"`
	HowZh  string `json:"how_zh"`
	HowEn  string `json:"how_en"`
	API    string `json:"api,omitempty"`
}

// Policy is the privacy policy (隐私政策).
type Policy struct {
	Header
	Functions               []Function          `json:"functions"`
	SensitivePI             []SensitiveItem     `json:"sensitive_pi"`
	Exceptions              []Exception         `json:"consent_exceptions"`
	ThirdParties            []ThirdParty        `json:"third_parties"`
	ThirdPartyDemo          bool                `json:"third_party_demo"`
	StorageLocation         string              `json:"storage_location"`
	Storage                 []Text              `json:"storage"`
	Retention               []CategoryRetention `json:"retention"`
	Measures                []Text              `json:"protection_measures"`
	Rights                  []Right             `json:"rights"`
	RightsNote              []Text              `json:"rights_note"`
	AnswerWithinWorkingDays int                 `json:"answer_within_working_days"`
	Minors                  []Text              `json:"minors"`
	Updates                 []Text              `json:"updates"`
}

func header(src Sources, m Meta, titleZh, titleEn string, publishedAt time.Time) (Header, error) {
	if strings.TrimSpace(m.Version) == "" {
		return Header{}, errors.New("policydoc: a version is required")
	}
	if m.EffectiveAt.IsZero() {
		return Header{}, errors.New("policydoc: an effective date is required")
	}
	op := src.Catalog.Operator
	h := Header{
		TitleZh: titleZh, TitleEn: titleEn,
		Version: m.Version, Seq: m.Seq,
		EffectiveAt: micro(m.EffectiveAt),
		SummaryZh:   m.SummaryZh, SummaryEn: m.SummaryEn, Material: m.Material,
		Operator: thirdparty.Operator{NameZh: op.NameZh, NameEn: op.NameEn, Contact: op.Contact},
		Links:    Links{Policy: PolicyPath, Children: ChildrenPath, PICollected: CollectedPath, ThirdPartySharing: SharingPath},
	}
	if !publishedAt.IsZero() {
		h.PublishedAt = micro(publishedAt)
	}
	return h, nil
}

// micro is t in UTC at the database's precision, so a document rendered
// from a stored version is the one rendered before storing it.
func micro(t time.Time) time.Time { return time.UnixMicro(t.UnixMicro()).UTC() }

// Render renders the privacy policy for m. The publication time is left
// out: Store.Publish renders the published document with it.
func Render(src Sources, m Meta) (*Policy, error) { return render(src, m, time.Time{}) }

func render(src Sources, m Meta, publishedAt time.Time) (*Policy, error) {
	if err := src.check(); err != nil {
		return nil, err
	}
	h, err := header(src, m, "隐私政策", "Privacy Policy", publishedAt)
	if err != nil {
		return nil, err
	}
	cat := src.Catalog
	p := &Policy{
		Header:                  h,
		Functions:               functionsOf(src, false),
		SensitivePI:             []SensitiveItem{},
		Exceptions:              exceptionsOf(cat),
		ThirdParties:            []ThirdParty{},
		ThirdPartyDemo:          src.ThirdParty.Demo,
		StorageLocation:         cat.StorageLocation,
		Storage:                 storageTexts(),
		Retention:               retentionOf(cat),
		Measures:                measures(src.Suite),
		Rights:                  rights(cat.Operator.Contact),
		RightsNote:              rightsNote(),
		AnswerWithinWorkingDays: AnswerWithinWorkingDays,
		Minors:                  minorsTexts(),
		Updates:                 updateTexts(),
	}
	// Sensitive PI, in catalog order, with the functions that use it.
	for _, f := range cat.Fields() {
		if !f.Sensitive {
			continue
		}
		var fns []thirdparty.Label
		for _, fn := range p.Functions {
			if slices.ContainsFunc(fn.PI, func(u PIUse) bool { return u.Field == f.Name }) {
				fns = append(fns, thirdparty.Label{ID: fn.ID, Zh: fn.Zh, En: fn.En})
			}
		}
		if len(fns) > 0 {
			p.SensitivePI = append(p.SensitivePI, SensitiveItem{FieldRef: fieldRef(cat, f.Name), Functions: fns})
		}
	}
	for _, e := range src.ThirdParty.Entries() {
		tp := ThirdParty{ID: e.ID, Kind: string(e.Kind), Name: e.Name, Developer: e.Developer,
			PurposeZh: e.PurposeZh, PurposeEn: e.PurposeEn, PI: []thirdparty.FieldRef{}, PolicyURL: e.PolicyURL}
		for _, name := range e.Fields {
			tp.PI = append(tp.PI, fieldRef(cat, name))
		}
		p.ThirdParties = append(p.ThirdParties, tp)
	}
	return p, nil
}

// functionsOf maps every business function, in registry order, to the PI
// it uses. For the children's policy every child's PI is sensitive (PIPL
// art. 28).
func functionsOf(src Sources, child bool) []Function {
	cat := src.Catalog
	ret := retentionTexts(cat)
	out := []Function{}
	for _, fn := range src.Functions.Functions() {
		f := Function{ID: fn.ID, Zh: fn.Zh, En: fn.En, Kind: string(fn.Kind), Purposes: purposeLabels(cat, fn.Purposes), PI: []PIUse{}}
		switch {
		case fn.Kind == functions.Basic:
			f.Basis, f.ConsentScope = BasisPolicy, ScopePolicy
		case legalOnly(fn):
			f.Basis = BasisLegal
		default:
			f.Basis, f.ConsentScope = BasisConsent, scopeFunction+fn.ID
		}
		if child {
			switch f.Basis {
			case BasisPolicy:
				f.Basis = BasisGuardianPolicy
			case BasisConsent:
				f.Basis = BasisGuardianConsent
			}
		}
		for _, pi := range fn.PI {
			u := PIUse{Field: pi.Field, Zh: pi.Field, En: pi.Field, Necessary: pi.Necessary, WhyZh: pi.WhyZh, WhyEn: pi.WhyEn}
			if cf, ok := cat.Field(pi.Field); ok {
				u.Zh, u.En, u.Category, u.Sensitive, u.Source = cf.Zh, cf.En, string(cf.Category), cf.Sensitive, cf.Source
				u.MethodZh, u.MethodEn = method(cat, cf)
				u.RetentionZh, u.RetentionEn = ret[cf.Name].Zh, ret[cf.Name].En
			}
			if child {
				u.Sensitive = true
			}
			f.PI = append(f.PI, u)
		}
		out = append(out, f)
	}
	return out
}

// legalOnly reports whether every purpose of fn rests on a legal-basis
// exception, so it is processed without consent and has no consent scope.
func legalOnly(fn functions.Function) bool {
	lb := LegalBasisPurposes()
	for _, p := range fn.Purposes {
		if !slices.Contains(lb, p) {
			return false
		}
	}
	return len(fn.Purposes) > 0
}

// retentionTexts words every field's retention as the public list of PI
// collected does (thirdparty.CollectedList), including the statutory period
// after account closure, so the policy and the list say the same thing.
func retentionTexts(cat *catalog.Catalog) map[string]Text {
	out := map[string]Text{}
	for _, it := range thirdparty.CollectedList(cat, nil).Items {
		out[it.Field] = Text{Zh: it.RetentionZh, En: it.RetentionEn}
	}
	return out
}

// retentionOf groups every catalog field by category (in the catalog's
// category order) and, within a category, by retention, in field order.
func retentionOf(cat *catalog.Catalog) []CategoryRetention {
	ret := retentionTexts(cat)
	out := []CategoryRetention{}
	for _, c := range catalog.Categories {
		cr := CategoryRetention{Category: categoryLabel(c), Rules: []RetentionRule{}}
		for _, f := range cat.Fields() {
			if f.Category != c {
				continue
			}
			t := ret[f.Name]
			i := slices.IndexFunc(cr.Rules, func(r RetentionRule) bool { return r.Zh == t.Zh && r.En == t.En })
			if i < 0 {
				cr.Rules = append(cr.Rules, RetentionRule{Zh: t.Zh, En: t.En})
				i = len(cr.Rules) - 1
			}
			cr.Rules[i].Fields = append(cr.Rules[i].Fields, fieldRef(cat, f.Name))
		}
		if len(cr.Rules) > 0 {
			out = append(out, cr)
		}
	}
	return out
}

func exceptionsOf(cat *catalog.Catalog) []Exception {
	out := []Exception{}
	for _, e := range exceptions {
		x := Exception{ID: e.id, Zh: e.zh, En: e.en, Purposes: []thirdparty.Label{}}
		for _, p := range e.purposes {
			if _, ok := cat.Purpose(p); ok {
				x.Purposes = append(x.Purposes, purposeLabels(cat, []string{p})...)
			}
		}
		out = append(out, x)
	}
	return out
}

func fieldRef(cat *catalog.Catalog, name string) thirdparty.FieldRef {
	if f, ok := cat.Field(name); ok {
		return thirdparty.FieldRef{Field: name, Zh: f.Zh, En: f.En, Sensitive: f.Sensitive}
	}
	return thirdparty.FieldRef{Field: name, Zh: name, En: name}
}

func purposeLabels(cat *catalog.Catalog, ids []string) []thirdparty.Label {
	out := []thirdparty.Label{}
	for _, id := range ids {
		l := thirdparty.Label{ID: id, Zh: id, En: id}
		if p, ok := cat.Purpose(id); ok {
			l = thirdparty.Label{ID: p.ID, Zh: p.Zh, En: p.En}
		}
		out = append(out, l)
	}
	return out
}

// method words how a field's values are collected, from its catalog source.
func method(cat *catalog.Catalog, f *catalog.Field) (zh, en string) {
	switch f.Source {
	case "subject":
		return "由您主动填写或提供", "provided by you"
	case "automatic":
		return "在您使用服务时自动收集或生成", "collected or generated automatically as you use the service"
	case "third_party":
		return "经您授权从第三方获取", "obtained from a third party with your authorisation"
	case "employer":
		return "由招聘方提供", "provided by the employer"
	case "derived":
		var zs, es []string
		for _, d := range f.DerivedFrom {
			r := fieldRef(cat, d)
			zs, es = append(zs, r.Zh), append(es, r.En)
		}
		return "根据" + strings.Join(zs, "、") + "推导生成", "derived from " + strings.Join(es, ", ")
	}
	return f.Source, f.Source
}

// categoryLabel names a catalog category as the App compliance guide's
// appendix A does.
func categoryLabel(c catalog.Category) thirdparty.Label {
	zh, en := c.Labels()
	return thirdparty.Label{ID: string(c), Zh: zh, En: en}
}
