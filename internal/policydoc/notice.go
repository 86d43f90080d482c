package policydoc

import (
	"encoding/json"
	"slices"
	"strings"

	"gigvault/internal/catalog"
	"gigvault/internal/errs"
	"gigvault/internal/functions"
	"gigvault/internal/thirdparty"
)

// Consent scopes. A scope is what one consent act covers (CON-5: no
// bundling): the policy as a whole, one extended function, the sensitive PI
// of one function, or one third party.
const (
	ScopePolicy    = "policy"
	scopeFunction  = "function:"
	scopeSensitive = "sensitive:"
	scopeRecipient = "recipient:"
	scopeProcessor = "processor:"
)

// Notice is the text shown when asking consent for one scope (CON-4). The
// caller hashes Bytes into the consent receipt's notice digest, so a notice
// is a pure function of its inputs.
type Notice struct {
	Scope         string   `json:"scope"`
	PolicyVersion string   `json:"policy_version"`
	TextZh        string   `json:"text_zh"`
	TextEn        string   `json:"text_en"`
	Sensitive     bool     `json:"sensitive"`
	Fields        []string `json:"fields"`
}

// Bytes is the notice's canonical encoding: compact JSON of its fields in
// declaration order. It is what gets hashed.
func (n Notice) Bytes() []byte {
	if n.Fields == nil {
		n.Fields = []string{}
	}
	b, err := json.Marshal(n)
	if err != nil { // strings and a bool cannot fail to marshal
		panic("policydoc: notice: " + err.Error())
	}
	return b
}

func unknownScope() error {
	return errs.New(errs.Invalid, "scope", "未知的同意范围", "unknown consent scope")
}

// Scopes lists every scope NoticeFor accepts, in a stable order: the
// policy; per function in registry order, the extended function and the
// separate consent for its sensitive PI (functions resting only on a legal
// basis have neither, CON-13; the basic function is covered by the policy,
// its sensitive PI is not); then the registry's recipients, then its
// processors and SDKs. Per-employer recipients (EmployerNotice) are not
// listed.
func Scopes(src Sources) []string {
	if src.check() != nil {
		return nil
	}
	out := []string{ScopePolicy}
	for _, fn := range src.Functions.Functions() {
		if legalOnly(fn) {
			continue
		}
		if fn.Kind == functions.Basic {
			// The policy scope covers the basic function, its sensitive
			// PI included: the registration's explicit agreement to a
			// notice naming that PI is its separate consent.
			continue
		}
		out = append(out, scopeFunction+fn.ID)
		if len(sensitiveFields(src.Catalog, fn)) > 0 {
			out = append(out, scopeSensitive+fn.ID)
		}
	}
	for _, kind := range []string{scopeRecipient, scopeProcessor} {
		for _, e := range src.ThirdParty.Entries() {
			if scopeKind(e.Kind) == kind {
				out = append(out, kind+e.ID)
			}
		}
	}
	return out
}

func scopeKind(k thirdparty.Kind) string {
	if k == thirdparty.Recipient {
		return scopeRecipient
	}
	return scopeProcessor // processors and SDKs alike process on gigvault's behalf
}

// resolved is what a scope names.
type resolved struct {
	fn    functions.Function
	entry thirdparty.Entry
	kind  string // one of the scope prefixes, or ScopePolicy
}

func resolve(src Sources, scope string) (resolved, bool) {
	if src.check() != nil {
		return resolved{}, false
	}
	if scope == ScopePolicy {
		b := src.Functions.Basic()
		if len(b) != 1 {
			return resolved{}, false
		}
		return resolved{fn: b[0], kind: ScopePolicy}, true
	}
	for _, kind := range []string{scopeFunction, scopeSensitive} {
		if id, ok := strings.CutPrefix(scope, kind); ok {
			fn, found := src.Functions.Function(id)
			if !found || legalOnly(fn) {
				return resolved{}, false
			}
			if kind == scopeFunction && fn.Kind == functions.Basic {
				return resolved{}, false
			}
			if kind == scopeSensitive && len(sensitiveFields(src.Catalog, fn)) == 0 {
				return resolved{}, false
			}
			return resolved{fn: fn, kind: kind}, true
		}
	}
	for _, kind := range []string{scopeRecipient, scopeProcessor} {
		if id, ok := strings.CutPrefix(scope, kind); ok {
			e, found := src.ThirdParty.Entry(id)
			if !found || scopeKind(e.Kind) != kind {
				return resolved{}, false
			}
			return resolved{entry: e, kind: kind}, true
		}
	}
	return resolved{}, false
}

// ScopePurposes returns the catalog purposes a consent to scope grants:
// for the policy, the basic function's; for a function or its sensitive
// PI, the function's; for a third party, the registry entry's (possibly
// none, never nil). It returns nil for a scope NoticeFor would refuse.
func ScopePurposes(src Sources, scope string) []string {
	r, ok := resolve(src, scope)
	if !ok {
		return nil
	}
	if r.kind == scopeRecipient || r.kind == scopeProcessor {
		return append([]string{}, r.entry.Purposes...)
	}
	return append([]string{}, r.fn.Purposes...)
}

// NoticeFor builds the consent notice for scope under policyVersion: the
// purposes, the PI with whether it is necessary, how it is collected and how
// long it is kept, the sensitive PI, and that consent may be refused and
// withdrawn. An unknown scope is errs.Invalid.
func NoticeFor(src Sources, policyVersion, scope string) (Notice, error) {
	if strings.TrimSpace(policyVersion) == "" {
		return Notice{}, errs.New(errs.Invalid, "policy_version", "须指明隐私政策版本", "name the privacy-policy version")
	}
	r, ok := resolve(src, scope)
	if !ok {
		return Notice{}, unknownScope()
	}
	cat := src.Catalog
	n := Notice{Scope: scope, PolicyVersion: policyVersion}
	var zh, en strings.Builder
	switch r.kind {
	case ScopePolicy:
		fields := r.fn.Fields()
		n.Fields, n.Sensitive = fields, anySensitive(cat, fields)
		zh.WriteString("《隐私政策》（版本 " + policyVersion + "）说明了我们如何处理您的个人信息。同意后，我们将为提供基本功能“" + r.fn.Zh + "”，出于以下目的：" + purposesZh(cat, r.fn.Purposes) + "，处理您的下列个人信息：")
		en.WriteString("The Privacy Policy (version " + policyVersion + ") explains how we process your personal information. If you agree, we process the following personal information to provide the basic function “" + r.fn.En + "”, for these purposes: " + purposesEn(cat, r.fn.Purposes) + ": ")
		piList(&zh, &en, cat, r.fn.PI)
		zh.WriteString("可选信息不提供不影响基本功能的使用。")
		en.WriteString(" You may leave out the optional information without losing the basic function.")
		sensitiveSentence(&zh, &en, cat, fields)
		zh.WriteString("扩展功能、敏感个人信息和向第三方提供个人信息将另行征得您的同意。")
		en.WriteString(" Extended functions, sensitive personal information and provision to third parties each ask for your consent separately.")
	case scopeFunction:
		fields := r.fn.Fields()
		n.Fields, n.Sensitive = fields, anySensitive(cat, fields)
		zh.WriteString("开启扩展功能“" + r.fn.Zh + "”，我们将出于以下目的：" + purposesZh(cat, r.fn.Purposes) + "，处理您的下列个人信息：")
		en.WriteString("To turn on the extended function “" + r.fn.En + "” we process the following personal information for these purposes: " + purposesEn(cat, r.fn.Purposes) + ": ")
		piList(&zh, &en, cat, r.fn.PI)
		sensitiveSentence(&zh, &en, cat, fields)
		refusable(&zh, &en)
	case scopeSensitive:
		var pis []functions.PI
		for _, p := range r.fn.PI {
			if f, ok := cat.Field(p.Field); ok && f.Sensitive {
				pis = append(pis, p)
			}
		}
		n.Sensitive = true
		for _, p := range pis {
			n.Fields = append(n.Fields, p.Field)
		}
		zh.WriteString("“" + r.fn.Zh + "”需要处理您的下列敏感个人信息：")
		en.WriteString("“" + r.fn.En + "” needs the following sensitive personal information: ")
		piList(&zh, &en, cat, pis)
		zh.WriteString("敏感个人信息一旦泄露或者被非法使用，容易导致您的人格尊严受到侵害或者人身、财产安全受到危害。我们仅在取得您的单独同意后，为上述目的在必要范围内处理，并加密存储、默认脱敏展示、逐次授权访问。")
		en.WriteString(" If leaked or unlawfully used, sensitive personal information could harm your dignity or the safety of your person or property. We process it only with your separate consent, only as far as these purposes need, encrypted, masked by default and with every access authorised.")
		refusable(&zh, &en)
	case scopeRecipient, scopeProcessor:
		e := r.entry
		n.Fields = slices.Clone(e.Fields)
		n.Sensitive = anySensitive(cat, e.Fields)
		zs, es := fieldLabels(cat, e.Fields)
		switch e.Kind {
		case thirdparty.Recipient:
			zh.WriteString("我们将向" + e.Name + "提供您的下列个人信息：" + zs + "。目的：" + e.PurposeZh + "。接收方将按照其自身的规则处理上述信息")
			en.WriteString("We will provide the following personal information to " + e.Name + ": " + es + ". Purpose: " + e.PurposeEn + ". The recipient processes it under its own rules")
		case thirdparty.Processor:
			zh.WriteString("我们将委托" + e.Name + "代表我们处理您的下列个人信息：" + zs + "。目的：" + e.PurposeZh + "。受托方只能按照我们的约定处理，不得用于其他目的，委托结束后须删除或返还")
			en.WriteString("We will entrust " + e.Name + " to process the following personal information on our behalf: " + es + ". Purpose: " + e.PurposeEn + ". The processor may use it only as we agreed, for nothing else, and must delete or return it when the work ends")
		default:
			dev := e.Developer
			zh.WriteString("我们的应用集成了" + e.Name + "（开发者：" + dev + "），该SDK将收集您的下列个人信息：" + zs + "。目的：" + e.PurposeZh)
			en.WriteString("Our app includes " + e.Name + " (developer: " + dev + "), which collects the following personal information: " + es + ". Purpose: " + e.PurposeEn)
		}
		if e.PolicyURL != "" {
			zh.WriteString("；其隐私政策：" + e.PolicyURL)
			en.WriteString("; its privacy policy: " + e.PolicyURL)
		}
		zh.WriteString("。")
		en.WriteString(".")
		sensitiveSentence(&zh, &en, cat, e.Fields)
		refusable(&zh, &en)
	}
	if n.Fields == nil {
		n.Fields = []string{}
	}
	zh.WriteString("详见《隐私政策》（版本 " + policyVersion + "）：" + PolicyPath)
	en.WriteString(" See the Privacy Policy (version " + policyVersion + "): " + PolicyPath)
	n.TextZh, n.TextEn = zh.String(), strings.TrimSpace(en.String())
	return n, nil
}

// EmployerNotice builds the notice asking consent to provide a résumé to
// one employer (scope "recipient:"+orgID) when the worker applies. fields
// are put in catalog order (unknown names last, sorted) and de-duplicated,
// so the same résumé always gives the same notice bytes.
func EmployerNotice(policyVersion, orgID, orgName string, fields []string, cat *catalog.Catalog) Notice {
	fs := orderFields(cat, fields)
	n := Notice{Scope: scopeRecipient + orgID, PolicyVersion: policyVersion, Fields: fs, Sensitive: anySensitive(cat, fs)}
	zs, es := fieldLabels(cat, fs)
	var zh, en strings.Builder
	zh.WriteString("您的简历（" + zs + "）将提供给" + orgName + "，用于招聘：查看您的简历并与您沟通面试。招聘方将按照其自身的规则处理上述信息。")
	en.WriteString("Your résumé (" + es + ") will be provided to " + orgName + " for recruiting: to read it and contact you about an interview. The employer processes it under its own rules.")
	sensitiveSentence(&zh, &en, cat, fs)
	zh.WriteString("您可以拒绝，拒绝不影响浏览职位和向其他招聘方投递。依据《隐私政策》（版本 " + policyVersion + "）。")
	en.WriteString(" You may refuse; refusing does not stop you browsing jobs or applying to other employers. Under the Privacy Policy (version " + policyVersion + ").")
	n.TextZh, n.TextEn = zh.String(), en.String()
	return n
}

func orderFields(cat *catalog.Catalog, fields []string) []string {
	var known, unknown []string
	if cat != nil {
		for _, f := range cat.Fields() {
			if slices.Contains(fields, f.Name) {
				known = append(known, f.Name)
			}
		}
	}
	for _, f := range fields {
		if !slices.Contains(known, f) {
			unknown = append(unknown, f)
		}
	}
	slices.Sort(unknown)
	out := append(known, slices.Compact(unknown)...)
	if out == nil {
		out = []string{}
	}
	return out
}

func field(cat *catalog.Catalog, name string) thirdparty.FieldRef {
	if cat == nil {
		return thirdparty.FieldRef{Field: name, Zh: name, En: name}
	}
	return fieldRef(cat, name)
}

func anySensitive(cat *catalog.Catalog, fields []string) bool {
	return slices.ContainsFunc(fields, func(f string) bool { return field(cat, f).Sensitive })
}

func sensitiveFields(cat *catalog.Catalog, fn functions.Function) []string {
	var out []string
	for _, f := range fn.Fields() {
		if field(cat, f).Sensitive {
			out = append(out, f)
		}
	}
	return out
}

func fieldLabels(cat *catalog.Catalog, fields []string) (zh, en string) {
	var zs, es []string
	for _, f := range fields {
		r := field(cat, f)
		zs, es = append(zs, r.Zh), append(es, r.En)
	}
	return strings.Join(zs, "、"), strings.Join(es, ", ")
}

func purposesZh(cat *catalog.Catalog, ids []string) string {
	var out []string
	for _, l := range purposeLabels(cat, ids) {
		out = append(out, l.Zh)
	}
	return strings.Join(out, "、")
}

func purposesEn(cat *catalog.Catalog, ids []string) string {
	var out []string
	for _, l := range purposeLabels(cat, ids) {
		out = append(out, l.En)
	}
	return strings.Join(out, "; ")
}

// piList writes each PI with whether it is necessary, how it is collected
// and how long it is kept (CON-4).
func piList(zh, en *strings.Builder, cat *catalog.Catalog, pis []functions.PI) {
	ret := retentionTexts(cat)
	for i, p := range pis {
		r := field(cat, p.Field)
		mz, me := "", ""
		if cf, ok := cat.Field(p.Field); ok {
			mz, me = method(cat, cf)
		}
		nz, ne := "可选", "optional"
		if p.Necessary {
			nz, ne = "必要", "necessary"
		}
		if i > 0 {
			zh.WriteString("；")
			en.WriteString("; ")
		}
		zh.WriteString(r.Zh + "（" + nz + "，" + p.WhyZh + "；" + mz + "；保存期限：" + ret[p.Field].Zh + "）")
		en.WriteString(r.En + " (" + ne + ", " + p.WhyEn + "; " + me + "; retention: " + ret[p.Field].En + ")")
	}
	zh.WriteString("。")
	en.WriteString(".")
}

func sensitiveSentence(zh, en *strings.Builder, cat *catalog.Catalog, fields []string) {
	var s []string
	for _, f := range fields {
		if field(cat, f).Sensitive {
			s = append(s, f)
		}
	}
	if len(s) == 0 {
		return
	}
	zs, es := fieldLabels(cat, s)
	zh.WriteString("其中" + zs + "属于敏感个人信息。")
	en.WriteString(" Of these, the following is sensitive personal information: " + es + ".")
}

func refusable(zh, en *strings.Builder) {
	zh.WriteString("您可以拒绝，也可以随时撤回同意；拒绝或撤回不影响其他功能的使用。")
	en.WriteString(" You may refuse, and withdraw your consent at any time; refusing or withdrawing does not affect other functions.")
}
