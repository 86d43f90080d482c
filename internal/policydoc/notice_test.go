package policydoc_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/catalog"
	"gigvault/internal/errs"
	"gigvault/internal/functions"
	"gigvault/internal/policydoc"
	"gigvault/internal/thirdparty"
)

// Every scope Scopes lists has a notice: deterministic, round-tripping
// through its canonical bytes, naming the scope's PI and purposes.
func TestNoticeForEveryScope(t *testing.T) {
	src := defaultSources()
	scopes := policydoc.Scopes(src)
	if len(scopes) < 10 || scopes[0] != "policy" {
		t.Fatalf("scopes %v", scopes)
	}
	seen := map[string]bool{}
	for _, sc := range scopes {
		if seen[sc] {
			t.Errorf("scope %s listed twice", sc)
		}
		seen[sc] = true
		n, err := policydoc.NoticeFor(src, "7", sc)
		if err != nil {
			t.Errorf("%s: %v", sc, err)
			continue
		}
		n2, _ := policydoc.NoticeFor(src, "7", sc)
		if !bytes.Equal(n.Bytes(), n2.Bytes()) || !bytes.Equal(n.Bytes(), n.Bytes()) {
			t.Errorf("%s: notice is not deterministic", sc)
		}
		var back policydoc.Notice
		if err := json.Unmarshal(n.Bytes(), &back); err != nil || !reflect.DeepEqual(back, n) {
			t.Errorf("%s: bytes do not round-trip: %v", sc, err)
		}
		if n.Scope != sc || n.PolicyVersion != "7" || n.TextZh == "" || n.TextEn == "" || len(n.Fields) == 0 {
			t.Errorf("%s: notice %+v", sc, n)
		}
		for _, f := range n.Fields {
			cf, ok := cat.Field(f)
			if !ok {
				t.Fatalf("%s: unknown field %s", sc, f)
			}
			if !strings.Contains(n.TextZh, cf.Zh) || !strings.Contains(n.TextEn, cf.En) {
				t.Errorf("%s: field %s not named in the text", sc, f)
			}
			if cf.Sensitive && !n.Sensitive {
				t.Errorf("%s: sensitive %s but the notice is not flagged", sc, f)
			}
		}
		for _, p := range policydoc.ScopePurposes(src, sc) {
			pu, _ := cat.Purpose(p)
			if strings.HasPrefix(sc, "function:") || sc == "policy" {
				if !strings.Contains(n.TextZh, pu.Zh) || !strings.Contains(n.TextEn, pu.En) {
					t.Errorf("%s: purpose %s not named", sc, p)
				}
			}
		}
		if !strings.Contains(n.TextZh, "7") || !strings.Contains(n.TextEn, "version 7") {
			t.Errorf("%s: the policy version is not named", sc)
		}
	}
	for _, want := range []string{"policy", "function:wechat_login", "sensitive:identity_verification",
		"function:tax_withholding", "recipient:employers", "recipient:tax_authority", "processor:umeng", "processor:alipay"} {
		if !seen[want] {
			t.Errorf("scope %s missing", want)
		}
	}
	for _, not := range []string{"function:job_information_exchange", "sensitive:job_information_exchange", "function:account_security", "sensitive:account_security",
		"sensitive:survey", "recipient:umeng", "processor:employers"} {
		if seen[not] {
			t.Errorf("scope %s should not exist", not)
		}
	}
}

func TestNoticeForRefuses(t *testing.T) {
	src := defaultSources()
	for _, sc := range []string{"", "Policy", "policy ", " policy", "function:", "function:nope", "function:job_information_exchange",
		"function:account_security", "sensitive:account_security", "sensitive:survey", "sensitive:", "recipient:umeng",
		"processor:employers", "recipient:employers ", "recipient:", "processor:", "sdk:umeng", "function:wechat_login:x",
		"FUNCTION:wechat_login", "function:wechat_login\x00"} {
		n, err := policydoc.NoticeFor(src, "1", sc)
		var e *errs.Error
		if err == nil || !errs.Is(err, errs.Invalid) {
			t.Errorf("%q accepted: %+v %v", sc, n, err)
		} else if e = errs.As(err); e.Field != "scope" || e.MessageZh == "" || e.Message == "" {
			t.Errorf("%q: error %+v", sc, e)
		}
		if p := policydoc.ScopePurposes(src, sc); p != nil {
			t.Errorf("%q grants %v", sc, p)
		}
	}
	if _, err := policydoc.NoticeFor(src, " ", "policy"); !errs.Is(err, errs.Invalid) {
		t.Errorf("no policy version: %v", err)
	}
	if _, err := policydoc.NoticeFor(policydoc.Sources{}, "1", "policy"); !errs.Is(err, errs.Invalid) {
		t.Errorf("no sources: %v", err)
	}
	if s := policydoc.Scopes(policydoc.Sources{}); s != nil {
		t.Errorf("scopes without sources: %v", s)
	}
}

func TestScopePurposes(t *testing.T) {
	src := defaultSources()
	basic := src.Functions.Basic()[0]
	for sc, want := range map[string][]string{
		"policy":                             basic.Purposes,
		"function:payout":                    {"payout"},
		"sensitive:payout":                   {"payout"},
		"function:tax_withholding":           {"tax_withholding", "legal_compliance"},
		"sensitive:job_information_exchange": basic.Purposes,
		"recipient:tax_authority":            {"tax_withholding", "legal_compliance"},
		"recipient:employers":                {"resume_sharing", "job_matching"},
		"processor:umeng":                    {"statistics_analysis"},
	} {
		if got := policydoc.ScopePurposes(src, sc); !slices.Equal(got, want) {
			t.Errorf("%s grants %v, want %v", sc, got, want)
		}
	}
	if got := policydoc.ScopePurposes(src, "processor:pangle"); got == nil || len(got) != 0 {
		t.Errorf("an SDK no catalog purpose covers grants %#v, want none", got)
	}
}

// What each kind of notice says.
func TestNoticeContent(t *testing.T) {
	src := defaultSources()
	get := func(sc string) policydoc.Notice {
		t.Helper()
		n, err := policydoc.NoticeFor(src, "3", sc)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	pol := get("policy")
	if !slices.Equal(pol.Fields, src.Functions.Basic()[0].Fields()) || !pol.Sensitive {
		t.Errorf("policy notice %+v", pol)
	}
	for _, s := range []string{"《隐私政策》（版本 3）", "求职招聘信息交流", "手机号码（必要", "用户名（可选", "另行征得您的同意"} {
		if !strings.Contains(pol.TextZh, s) {
			t.Errorf("policy notice lacks %q", s)
		}
	}
	fn := get("function:nearby_jobs")
	if !slices.Equal(fn.Fields, []string{"current_location", "location_area"}) || !fn.Sensitive ||
		!strings.Contains(fn.TextZh, "仅用于本次请求,不存储") || !strings.Contains(fn.TextEn, "retention: 30 days after collection") ||
		!strings.Contains(fn.TextZh, "可以拒绝") || !strings.Contains(fn.TextEn, "withdraw") {
		t.Errorf("nearby_jobs notice %+v", fn)
	}
	sens := get("sensitive:identity_verification")
	if !slices.Equal(sens.Fields, []string{"id_number", "mobile", "bank_card"}) || !sens.Sensitive ||
		strings.Contains(sens.TextZh, "姓名") || !strings.Contains(sens.TextZh, "单独同意") {
		t.Errorf("sensitive notice %+v", sens)
	}
	ext := get("function:survey")
	if ext.Sensitive || strings.Contains(ext.TextZh, "敏感个人信息") {
		t.Errorf("a function without sensitive PI: %+v", ext)
	}
	rec := get("recipient:tax_authority")
	if !rec.Sensitive || !strings.Contains(rec.TextZh, "税务机关") || !strings.Contains(rec.TextZh, "依法代扣代缴个人所得税") {
		t.Errorf("recipient notice %+v", rec)
	}
	sdk := get("processor:umeng")
	if !strings.Contains(sdk.TextZh, "友盟同欣(北京)科技有限公司") || !strings.Contains(sdk.TextEn, "https://www.umeng.com/policy") || sdk.Sensitive {
		t.Errorf("sdk notice %+v", sdk)
	}
	// The notice follows the catalog: a new retention changes its bytes.
	src2 := defaultSources()
	b, err := readCatalog(t)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(b, "    retention: 30d\n", "    retention: 31d\n", 1)
	cat2, err := catalog.Parse("fixture.yaml", []byte(changed))
	if err != nil || changed == b {
		t.Fatalf("catalog fixture: %v", err)
	}
	src2.Catalog, src2.Functions, src2.ThirdParty = cat2, functions.Default(cat2), thirdparty.Default(cat2)
	n2, err := policydoc.NoticeFor(src2, "3", "function:nearby_jobs")
	if err != nil || bytes.Equal(n2.Bytes(), fn.Bytes()) || !strings.Contains(n2.TextZh, "收集后31天") {
		t.Errorf("notice did not follow the catalog: %v", err)
	}
}

func readCatalog(t *testing.T) (string, error) {
	t.Helper()
	b, err := os.ReadFile("../catalog/catalog.yaml")
	return string(b), err
}

func TestEmployerNotice(t *testing.T) {
	fields := []string{"resume_text", "mobile", "name", "mobile", "zz_unknown", "education"}
	n := policydoc.EmployerNotice("4", "org-9", "示例餐饮有限公司", fields, cat)
	if n.Scope != "recipient:org-9" || n.PolicyVersion != "4" || !n.Sensitive {
		t.Fatalf("notice %+v", n)
	}
	if !slices.Equal(n.Fields, []string{"mobile", "name", "resume_text", "education", "zz_unknown"}) {
		t.Errorf("fields %v not in catalog order, de-duplicated", n.Fields)
	}
	shuffled := policydoc.EmployerNotice("4", "org-9", "示例餐饮有限公司", []string{"education", "zz_unknown", "name", "resume_text", "mobile"}, cat)
	if !bytes.Equal(n.Bytes(), shuffled.Bytes()) {
		t.Error("the same résumé gives different notice bytes")
	}
	for _, s := range []string{"您的简历（手机号码、姓名、简历正文、教育经历、zz_unknown）将提供给示例餐饮有限公司，用于招聘", "其中手机号码属于敏感个人信息"} {
		if !strings.Contains(n.TextZh, s) {
			t.Errorf("zh text lacks %q: %s", s, n.TextZh)
		}
	}
	if !strings.Contains(n.TextEn, "Your résumé (Mobile number, Full name, Résumé text, Education history, zz_unknown) will be provided to 示例餐饮有限公司 for recruiting") {
		t.Errorf("en text: %s", n.TextEn)
	}
	plain := policydoc.EmployerNotice("4", "org-9", "X", []string{"resume_text"}, cat)
	if plain.Sensitive || strings.Contains(plain.TextZh, "敏感") {
		t.Errorf("non-sensitive résumé: %+v", plain)
	}
	if other := policydoc.EmployerNotice("4", "org-8", "X", []string{"resume_text"}, cat); bytes.Equal(other.Bytes(), plain.Bytes()) {
		t.Error("two employers share a notice digest")
	}
	if none := policydoc.EmployerNotice("4", "org-9", "X", nil, nil); none.Fields == nil || !json.Valid(none.Bytes()) {
		t.Errorf("empty notice %+v", none)
	}
}
