package policydoc_test

import (
	"bytes"
	"encoding/json"
	"flag"
	stdhtml "html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gigvault/internal/catalog"
	"gigvault/internal/consent"
	"gigvault/internal/cryptox"
	"gigvault/internal/functions"
	"gigvault/internal/policydoc"
	"gigvault/internal/thirdparty"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var cat = catalog.Default()

func defaultSources() policydoc.Sources {
	return policydoc.Sources{Catalog: cat, Functions: functions.Default(cat), ThirdParty: thirdparty.Default(cat)}
}

var meta = policydoc.Meta{
	Version:     "2026.11",
	EffectiveAt: time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC),
	SummaryZh:   "新增儿童个人信息保护规则；明确个人信息保存期限。",
	SummaryEn:   "Adds the children's rules; states how long personal information is kept.",
	Material:    true,
	Seq:         3,
}

type renderer interface {
	JSON() ([]byte, error)
	HTML() ([]byte, error)
}

func renderBoth(t *testing.T, r renderer) (js, html []byte) {
	t.Helper()
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	html, err = r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	return js, html
}

func mustPolicy(t *testing.T, src policydoc.Sources, m policydoc.Meta) *policydoc.Policy {
	t.Helper()
	p, err := policydoc.Render(src, m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustChildren(t *testing.T, src policydoc.Sources, m policydoc.Meta) *policydoc.Children {
	t.Helper()
	c, err := policydoc.RenderChildren(src, m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The policy and the children's policy, rendered from the default catalog,
// function registry and third-party registry, match the reviewed golden
// files; rendering twice gives the same bytes.
func TestGolden(t *testing.T) {
	src := defaultSources()
	docs := map[string]func() renderer{
		"policy":   func() renderer { return mustPolicy(t, src, meta) },
		"children": func() renderer { return mustChildren(t, src, meta) },
	}
	for _, name := range []string{"policy", "children"} {
		js, html := renderBoth(t, docs[name]())
		js2, html2 := renderBoth(t, docs[name]())
		if !bytes.Equal(js, js2) || !bytes.Equal(html, html2) {
			t.Fatalf("%s: rendering is not deterministic", name)
		}
		if !json.Valid(js) {
			t.Fatalf("%s JSON is not valid", name)
		}
		for _, ext := range []string{"json", "html"} {
			got := map[string][]byte{"json": js, "html": html}[ext]
			path := filepath.Join("testdata", name+"."+ext+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/policydoc -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("%s changed at line %d:\n got  %s\n want %s\n(review, then -update)", path, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s changed: %d lines, want %d (review, then -update)", path, len(gl), len(wl))
			}
		}
	}
}

// A published document is kept as JSON; decoded, it renders the same HTML.
func TestJSONRoundTrip(t *testing.T) {
	src := defaultSources()
	p := mustPolicy(t, src, meta)
	js, html := renderBoth(t, p)
	var back policydoc.Policy
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	js2, html2 := renderBoth(t, &back)
	if !bytes.Equal(js, js2) || !bytes.Equal(html, html2) {
		t.Error("the policy does not survive a JSON round trip")
	}
	c := mustChildren(t, src, meta)
	cjs, chtml := renderBoth(t, c)
	var cback policydoc.Children
	if err := json.Unmarshal(cjs, &cback); err != nil {
		t.Fatal(err)
	}
	cjs2, chtml2 := renderBoth(t, &cback)
	if !bytes.Equal(cjs, cjs2) || !bytes.Equal(chtml, chtml2) {
		t.Error("the children's policy does not survive a JSON round trip")
	}
}

func TestRenderRefuses(t *testing.T) {
	src := defaultSources()
	for name, s := range map[string]policydoc.Sources{
		"no catalog":      {Functions: src.Functions, ThirdParty: src.ThirdParty},
		"no functions":    {Catalog: cat, ThirdParty: src.ThirdParty},
		"no third party":  {Catalog: cat, Functions: src.Functions},
		"nothing at all":  {},
		"everything (ok)": src,
	} {
		_, err1 := policydoc.Render(s, meta)
		_, err2 := policydoc.RenderChildren(s, meta)
		if ok := name == "everything (ok)"; (err1 == nil) != ok || (err2 == nil) != ok {
			t.Errorf("%s: %v / %v", name, err1, err2)
		}
	}
	noVersion, noDate := meta, meta
	noVersion.Version = " "
	noDate.EffectiveAt = time.Time{}
	for _, m := range []policydoc.Meta{noVersion, noDate} {
		if _, err := policydoc.Render(src, m); err == nil {
			t.Errorf("rendered %+v", m)
		}
		if _, err := policydoc.RenderChildren(src, m); err == nil {
			t.Errorf("rendered children %+v", m)
		}
	}
}

var strongU = regexp.MustCompile(`<strong><u>(.*?)</u></strong>`)

// legend is the sentence explaining the marking, itself marked.
var legend = []string{"加粗并下划线", "in bold and underlined"}

// Every sensitive field is bold and underlined wherever it is named, in
// both languages, and nothing else is; the JSON flags exactly the catalog's
// sensitive fields.
func TestSensitiveMarking(t *testing.T) {
	src := defaultSources()
	p := mustPolicy(t, src, meta)
	js, html := renderBoth(t, p)
	h := string(html)
	marked := map[string]bool{}
	for _, m := range strongU.FindAllStringSubmatch(h, -1) {
		marked[m[1]] = true
	}
	sensitive := map[string]bool{}
	for _, f := range cat.Fields() {
		if f.Sensitive {
			sensitive[f.Zh], sensitive[f.En] = true, true
		}
	}
	for label := range marked {
		if !sensitive[label] && !slices.Contains(legend, label) {
			t.Errorf("%q is bold and underlined but not sensitive", label)
		}
	}
	used := 0
	for _, fn := range src.Functions.Functions() {
		for _, pi := range fn.PI {
			f, _ := cat.Field(pi.Field)
			if f.Sensitive {
				used++
				if !marked[f.Zh] || !marked[f.En] {
					t.Errorf("sensitive %s is not bold and underlined in both languages", f.Name)
				}
			} else if strings.Contains(h, "<u>"+f.Zh+"</u>") || strings.Contains(h, "<u>"+f.En+"</u>") {
				t.Errorf("non-sensitive %s is underlined", f.Name)
			}
		}
	}
	if used == 0 {
		t.Fatal("no function uses sensitive PI: the test proves nothing")
	}
	var doc policydoc.Policy
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	for _, fn := range doc.Functions {
		for _, u := range fn.PI {
			f, _ := cat.Field(u.Field)
			if u.Sensitive != f.Sensitive {
				t.Errorf("%s/%s: JSON sensitive=%v, catalog %v", fn.ID, u.Field, u.Sensitive, f.Sensitive)
			}
		}
	}
	for _, s := range doc.SensitivePI {
		if f, _ := cat.Field(s.Field); !f.Sensitive || !s.Sensitive || len(s.Functions) == 0 {
			t.Errorf("sensitive PI list holds %+v", s)
		}
	}
}

// Each function appears exactly once, mapped one to one to the PI the
// registry gives it, with purpose, method and retention; every field a
// function uses is named in the policy.
func TestFunctionsOneToOne(t *testing.T) {
	src := defaultSources()
	p := mustPolicy(t, src, meta)
	js, html := renderBoth(t, p)
	h := string(html)
	var doc policydoc.Policy
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	fns := src.Functions.Functions()
	if len(doc.Functions) != len(fns) {
		t.Fatalf("%d functions in the policy, %d in the registry", len(doc.Functions), len(fns))
	}
	for i, fn := range fns {
		got := doc.Functions[i]
		if got.ID != fn.ID || got.Kind != string(fn.Kind) || len(got.Purposes) != len(fn.Purposes) {
			t.Errorf("function %d = %s %s, want %s", i, got.ID, got.Kind, fn.ID)
		}
		for _, lang := range []string{"zh", "en"} {
			if n := strings.Count(h, `id="`+lang+`-fn-`+fn.ID+`"`); n != 1 {
				t.Errorf("function %s appears %d times in the %s section", fn.ID, n, lang)
			}
		}
		if len(got.PI) != len(fn.PI) {
			t.Fatalf("%s: %d PI, registry %d", fn.ID, len(got.PI), len(fn.PI))
		}
		for j, pi := range fn.PI {
			u := got.PI[j]
			f, _ := cat.Field(pi.Field)
			if u.Field != pi.Field || u.Necessary != pi.Necessary || u.WhyZh != pi.WhyZh || u.Source != f.Source ||
				u.MethodZh == "" || u.MethodEn == "" || u.RetentionZh == "" || u.RetentionEn == "" {
				t.Errorf("%s/%s = %+v", fn.ID, pi.Field, u)
			}
			if !strings.Contains(h, f.Zh) || !strings.Contains(h, f.En) {
				t.Errorf("field %s is not named in the HTML", pi.Field)
			}
		}
		switch {
		case fn.Kind == functions.Basic:
			if got.Basis != policydoc.BasisPolicy || got.ConsentScope != "policy" {
				t.Errorf("basic function basis %s scope %s", got.Basis, got.ConsentScope)
			}
		case fn.ID == "account_security", fn.ID == "rights_request", fn.ID == "customer_service":
			if got.Basis != policydoc.BasisLegal || got.ConsentScope != "" {
				t.Errorf("%s basis %s scope %s", fn.ID, got.Basis, got.ConsentScope)
			}
		default:
			if got.Basis != policydoc.BasisConsent || got.ConsentScope != "function:"+fn.ID {
				t.Errorf("%s basis %s scope %s", fn.ID, got.Basis, got.ConsentScope)
			}
		}
	}
	// Derived PI says what it is derived from; a request-only one says it is not stored.
	for _, fn := range doc.Functions {
		for _, u := range fn.PI {
			if u.Field == "interest_tags" && !strings.Contains(u.MethodZh, "搜索关键词") {
				t.Errorf("interest_tags method %q", u.MethodZh)
			}
			if u.Field == "current_location" && u.RetentionEn != "used for the request only, never stored" {
				t.Errorf("current_location retention %q", u.RetentionEn)
			}
		}
	}
	// Every catalog category with fields has its retention, every field once.
	seen := map[string]int{}
	for _, c := range doc.Retention {
		for _, r := range c.Rules {
			for _, f := range r.Fields {
				seen[f.Field]++
				if cf, _ := cat.Field(f.Field); string(cf.Category) != c.Category.ID {
					t.Errorf("%s under %s", f.Field, c.Category.ID)
				}
			}
		}
	}
	for _, f := range cat.Fields() {
		if seen[f.Name] != 1 {
			t.Errorf("field %s has %d retention rows", f.Name, seen[f.Name])
		}
	}
}

// Every right is listed with how to use it, and the statutory deadline.
func TestRights(t *testing.T) {
	p := mustPolicy(t, defaultSources(), meta)
	_, html := renderBoth(t, p)
	h := string(html)
	want := []string{"access_copy", "correction", "deletion", "withdraw_consent", "cancellation", "explanation", "complaint"}
	var got []string
	for _, r := range p.Rights {
		got = append(got, r.ID)
		if r.NameZh == "" || r.NameEn == "" || r.HowZh == "" || r.HowEn == "" || r.API == "" {
			t.Errorf("right %s is incomplete: %+v", r.ID, r)
		}
		for _, lang := range []string{"zh", "en"} {
			if !strings.Contains(h, `id="`+lang+`-right-`+r.ID+`"`) {
				t.Errorf("right %s missing from the %s section", r.ID, lang)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rights %v, want %v", got, want)
	}
	for _, s := range []string{"GET /v1/me", "POST /v1/me/consents/{scope}/withdraw", "15 个工作日", "15 working days", cat.Operator.Contact} {
		if !strings.Contains(h, s) {
			t.Errorf("the policy does not say %q", s)
		}
	}
	if p.AnswerWithinWorkingDays != 15 {
		t.Errorf("answer within %d working days", p.AnswerWithinWorkingDays)
	}
	for _, r := range p.Rights {
		if r.ID == "complaint" && (!strings.Contains(r.HowZh, cat.Operator.Contact) || !strings.Contains(r.HowEn, cat.Operator.Contact)) {
			t.Error("the complaint right does not give the contact")
		}
	}
}

// The consent exceptions name the legal-basis purposes the consent package
// treats as exceptions, no more and no fewer.
func TestExceptions(t *testing.T) {
	got := policydoc.LegalBasisPurposes()
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(consent.LegalBasis))) {
		t.Fatalf("policy's legal-basis purposes %v, consent's %v", got, consent.LegalBasis)
	}
	p := mustPolicy(t, defaultSources(), meta)
	if len(p.Exceptions) != 6 {
		t.Fatalf("%d exceptions", len(p.Exceptions))
	}
	var listed []string
	for _, e := range p.Exceptions {
		for _, l := range e.Purposes {
			listed = append(listed, l.ID)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(listed)), slices.Sorted(slices.Values(got))) {
		t.Errorf("exceptions list purposes %v", listed)
	}
	_, html := renderBoth(t, p)
	for _, id := range got {
		pu, _ := cat.Purpose(id)
		if !strings.Contains(string(html), pu.Zh) || !strings.Contains(string(html), pu.En) {
			t.Errorf("purpose %s not named", id)
		}
	}
	for _, s := range []string{"合同所必需", "法定义务", "突发公共卫生事件", "新闻报道", "已经合法公开", "法律、行政法规规定的其他情形"} {
		if !strings.Contains(string(html), s) {
			t.Errorf("exception %q missing", s)
		}
	}
}

// The header: operator, version, dates, summary, material flag, links; the
// protection measures name the suite in use; zh-CN comes first.
func TestHeaderLinksMeasures(t *testing.T) {
	src := defaultSources()
	_, html := renderBoth(t, mustPolicy(t, src, meta))
	h := string(html)
	for _, s := range []string{
		cat.Operator.NameZh, cat.Operator.NameEn, cat.StorageLocation, "版本：2026.11", "Version: 2026.11",
		"生效日期：2026年11月2日 09:00（北京时间）", "effective: 2 November 2026, 09:00 (Beijing time)",
		meta.SummaryZh, stdhtml.EscapeString(meta.SummaryEn), "重大变更，我们将重新征得您的同意", "a material change",
		`href="/public/pi-collected"`, `href="/public/third-party-sharing"`, `href="/public/children-policy"`,
		"SM4", "SM3", "SM2", "双人审批", "Four-eyes approval", "Tamper-evident audit log", "Masking by default",
		"Retention sweeps", "Incident notification", "Access bound to purpose and consent",
	} {
		if !strings.Contains(h, s) {
			t.Errorf("the policy does not contain %q", s)
		}
	}
	if zh, en := strings.Index(h, `<section lang="zh-CN">`), strings.Index(h, `<section lang="en">`); zh < 0 || en < zh {
		t.Error("zh-CN section does not come first")
	}
	if strings.Contains(h, "发布（更新）日期") {
		t.Error("an unpublished rendering shows a publication date")
	}
	minor := meta
	minor.Material = false
	_, h2 := renderBoth(t, mustPolicy(t, src, minor))
	if !strings.Contains(string(h2), "非重大变更") || strings.Contains(string(h2), "重大变更，我们将") {
		t.Error("material flag not rendered")
	}
	src.Suite = cryptox.AES{}
	_, h3 := renderBoth(t, mustPolicy(t, src, meta))
	if !strings.Contains(string(h3), "AES-256") || strings.Contains(string(h3), "SM4") {
		t.Error("the measures do not follow the suite")
	}
}

// The children's policy: guardian consent for under-14s, 14 to 17, the same
// functions with every PI marked sensitive, the guardian's rights, contact.
func TestChildren(t *testing.T) {
	src := defaultSources()
	c := mustChildren(t, src, meta)
	js, html := renderBoth(t, c)
	h := string(html)
	for _, s := range []string{"不满十四周岁", "监护人", "单独的同意", "已满十四周岁不满十八周岁", "14 to 17", "guardian",
		"GET /v1/me", "15 working days", cat.Operator.Contact, `href="/public/privacy-policy"`, "儿童个人信息保护规则",
		"单独征得监护人的同意", "监护人同意《隐私政策》和本规则后即可使用"} {
		if !strings.Contains(h, s) {
			t.Errorf("the children's policy does not contain %q", s)
		}
	}
	var doc policydoc.Children
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	fns := src.Functions.Functions()
	if len(doc.Functions) != len(fns) || len(doc.GuardianRights) != 7 {
		t.Fatalf("%d functions, %d rights", len(doc.Functions), len(doc.GuardianRights))
	}
	for i, fn := range doc.Functions {
		if fn.ID != fns[i].ID {
			t.Errorf("function %d is %s, want %s", i, fn.ID, fns[i].ID)
		}
		if fn.Basis == policydoc.BasisPolicy || fn.Basis == policydoc.BasisConsent {
			t.Errorf("function %s: a child's basis is %s, not a guardian's", fn.ID, fn.Basis)
		}
		for _, u := range fn.PI {
			if !u.Sensitive || !strings.Contains(h, "<strong><u>"+u.Zh+"</u></strong>") {
				t.Errorf("child's %s not marked sensitive", u.Field)
			}
		}
	}
}

func appendYAML(t *testing.T, path, extra string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, extra...)
}

// The policy is rendered from the sources: a change in the catalog, the
// function registry or the third-party registry changes it.
func TestFollowsSources(t *testing.T) {
	src := defaultSources()
	baseJS, baseHTML := renderBoth(t, mustPolicy(t, src, meta))
	changed := func(t *testing.T, s policydoc.Sources, mustZh, mustEn string) string {
		t.Helper()
		js, html := renderBoth(t, mustPolicy(t, s, meta))
		if bytes.Equal(js, baseJS) || bytes.Equal(html, baseHTML) {
			t.Fatal("the policy did not change")
		}
		for _, want := range []string{mustZh, mustEn} {
			if !strings.Contains(string(html), want) || strings.Contains(string(baseHTML), want) {
				t.Errorf("%q should appear only after the change", want)
			}
		}
		return string(html)
	}

	// Catalog: a field no longer sensitive loses its mark; a retention change shows.
	catSrc, err := os.ReadFile("../catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flipped := strings.Replace(string(catSrc), "    zh: 手机号码\n    en: Mobile number\n    category: basic\n    sensitive: true\n",
		"    zh: 手机号码\n    en: Mobile number\n    category: basic\n    sensitive: false\n", 1)
	flipped = strings.Replace(flipped, "  - name: search_keyword\n    zh: 搜索关键词\n    en: Search keywords\n    category: online_records\n    sensitive: false\n    level: 2\n    retention: 180d\n",
		"  - name: search_keyword\n    zh: 搜索关键词\n    en: Search keywords\n    category: online_records\n    sensitive: false\n    level: 2\n    retention: 77d\n", 1)
	if strings.Count(flipped, "retention: 77d") != 1 || strings.Contains(flipped, "zh: 手机号码\n    en: Mobile number\n    category: basic\n    sensitive: true") {
		t.Fatal("catalog.yaml layout changed; update this test")
	}
	cat2, err := catalog.Parse("fixture.yaml", []byte(flipped))
	if err != nil {
		t.Fatal(err)
	}
	s2 := policydoc.Sources{Catalog: cat2, Functions: functions.Default(cat2), ThirdParty: thirdparty.Default(cat2)}
	h2 := changed(t, s2, "收集后77天", "77 days after collection")
	if strings.Contains(h2, "<strong><u>手机号码</u></strong>") || !strings.Contains(string(baseHTML), "<strong><u>手机号码</u></strong>") {
		t.Error("mobile's sensitive mark did not follow the catalog")
	}

	// Catalog + function registry: a new field used by a new function.
	cat3, err := catalog.Parse("fixture.yaml", appendYAML(t, "../catalog/catalog.yaml", `
  - name: shoe_size
    zh: 鞋码
    en: Shoe size
    category: other
    sensitive: true
    level: 1
    retention: 90d
    mask: redact
    identifier: none
    format: short_text
    source: subject
    purposes: [marketing]
`))
	if err != nil {
		t.Fatal(err)
	}
	fns3, err := functions.Parse(appendYAML(t, "../functions/functions.yaml", `
  - id: uniform_fitting
    zh: 工服尺码登记
    en: Uniform fitting
    kind: extended
    purposes: [marketing]
    pi:
      - field: shoe_size
        necessary: true
        why_zh: 为您准备合适的工鞋
        why_en: To have work shoes that fit you ready
`), cat3)
	if err != nil {
		t.Fatal(err)
	}
	s3 := policydoc.Sources{Catalog: cat3, Functions: fns3, ThirdParty: thirdparty.Default(cat3)}
	h3 := changed(t, s3, "工服尺码登记", "Uniform fitting")
	for _, want := range []string{"<strong><u>鞋码</u></strong>", "<strong><u>Shoe size</u></strong>", "为您准备合适的工鞋", `id="zh-fn-uniform_fitting"`, "收集后90天"} {
		if !strings.Contains(h3, want) {
			t.Errorf("new function: %q missing", want)
		}
	}
	if !slices.Contains(policydoc.Scopes(s3), "function:uniform_fitting") || !slices.Contains(policydoc.Scopes(s3), "sensitive:uniform_fitting") {
		t.Error("the new function has no consent scopes")
	}

	// Third-party registry: a new processor.
	reg4, err := thirdparty.Parse(appendYAML(t, "../thirdparty/thirdparty.yaml", `
  - id: sms_vendor
    kind: processor
    name: "示例短信服务商"
    developer: "示例通信有限公司"
    version: ""
    purpose_zh: "发送短信验证码"
    purpose_en: "Sending SMS verification codes"
    purposes: [account_registration]
    fields: [mobile]
    pi_zh: "手机号码"
    policy_url: ""
    contract_ref: "DEMO"
    pia_ref: "DEMO"
`), cat)
	if err != nil {
		t.Fatal(err)
	}
	s4 := policydoc.Sources{Catalog: cat, Functions: src.Functions, ThirdParty: reg4}
	changed(t, s4, "示例短信服务商", "Sending SMS verification codes")
	if !slices.Contains(policydoc.Scopes(s4), "processor:sms_vendor") {
		t.Error("the new processor has no consent scope")
	}
}

// Whatever the registries hold is escaped.
func TestHTMLEscapes(t *testing.T) {
	reg, err := thirdparty.Parse([]byte(`version: 1
entries:
  - id: evil
    kind: processor
    name: "<script>alert(1)</script>"
    purpose_zh: "<b>目的</b>"
    purpose_en: "\"onmouseover=x"
    fields: [mobile]
`), cat)
	if err != nil {
		t.Fatal(err)
	}
	src := policydoc.Sources{Catalog: cat, Functions: functions.Default(cat), ThirdParty: reg}
	m := meta
	m.SummaryZh, m.SummaryEn = "<img src=x onerror=y>", "</section><script>"
	_, h := renderBoth(t, mustPolicy(t, src, m))
	for _, bad := range []string{"<script>", "<img", "<b>目的", `"onmouseover`} {
		if strings.Contains(string(h), bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	if !strings.Contains(string(h), "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("name not escaped")
	}
}
