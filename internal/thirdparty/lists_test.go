package thirdparty_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gigvault/internal/catalog"
	"gigvault/internal/functions"
	"gigvault/internal/thirdparty"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

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

// The two public lists, rendered from the default catalog, function registry
// and third-party registry, match the reviewed golden files.
func TestGolden(t *testing.T) {
	reg := thirdparty.Default(cat)
	collected := thirdparty.CollectedList(cat, functions.Default(cat))
	sharing := thirdparty.SharingList(reg, cat)
	for name, r := range map[string]renderer{"collected": collected, "sharing": sharing} {
		js, html := renderBoth(t, r)
		if !json.Valid(js) {
			t.Fatalf("%s JSON is not valid", name)
		}
		for ext, got := range map[string][]byte{"json": js, "html": html} {
			path := filepath.Join("testdata", name+"."+ext+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/thirdparty -update to create it)", err)
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

// The collected list's structure: one row per catalog field, sensitive
// marked, scenarios from the function registry, zh-CN before English.
func TestCollectedList(t *testing.T) {
	fns := functions.Default(cat)
	c := thirdparty.CollectedList(cat, fns)
	if len(c.Items) != len(cat.Fields()) {
		t.Fatalf("%d rows for %d fields", len(c.Items), len(cat.Fields()))
	}
	var mobile thirdparty.CollectedItem
	for _, it := range c.Items {
		if it.Field == "mobile" {
			mobile = it
		}
	}
	if !mobile.Sensitive || len(mobile.Scenarios) == 0 || mobile.Scenarios[0].Function.ID != functions.BasicFunctionID ||
		!mobile.Scenarios[0].Necessary || len(mobile.Purposes) == 0 || mobile.RetentionZh != "账户存续期间" {
		t.Errorf("mobile row = %+v", mobile)
	}
	_, html := renderBoth(t, c)
	h := string(html)
	if !strings.Contains(h, `<b><u class="sensitive">手机号码</u></b>`) || !strings.Contains(h, `<b><u class="sensitive">Mobile number</u></b>`) {
		t.Error("sensitive mobile is not bold and underlined")
	}
	if strings.Contains(h, `<u class="sensitive">性别</u>`) {
		t.Error("non-sensitive gender marked sensitive")
	}
	if zh, en := strings.Index(h, `lang="zh-CN">`), strings.Index(h, `<section lang="en">`); zh < 0 || en < zh {
		t.Error("zh-CN section does not come first")
	}
	// Without a function registry the list still renders, without scenarios.
	bare := thirdparty.CollectedList(cat, nil)
	if len(bare.Items[0].Scenarios) != 0 {
		t.Error("scenarios without a registry")
	}
	if _, err := bare.HTML(); err != nil {
		t.Fatal(err)
	}
}

// Changing the catalog or the registry changes the rendered lists.
func TestListsFollowCatalogAndRegistry(t *testing.T) {
	src, err := os.ReadFile("../catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	extra := `
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
`
	cat2, err := catalog.Parse("fixture.yaml", append(bytes.Clone(src), extra...))
	if err != nil {
		t.Fatal(err)
	}
	fns := functions.Default(cat) // the registry validates against cat2 too
	before, beforeHTML := renderBoth(t, thirdparty.CollectedList(cat, fns))
	after, afterHTML := renderBoth(t, thirdparty.CollectedList(cat2, fns))
	if bytes.Equal(before, after) || bytes.Equal(beforeHTML, afterHTML) {
		t.Fatal("adding a catalog field did not change the collected list")
	}
	for _, want := range []string{`<b><u class="sensitive">鞋码</u></b>`, `<b><u class="sensitive">Shoe size</u></b>`, "收集后90天", "90 days after collection"} {
		if !strings.Contains(string(afterHTML), want) || strings.Contains(string(beforeHTML), want) {
			t.Errorf("collected HTML: %q should appear only after the change", want)
		}
	}
	if !strings.Contains(string(after), `"field": "shoe_size"`) {
		t.Error("collected JSON lacks the new field")
	}

	// Making a field non-sensitive removes its mark.
	flipped := strings.Replace(string(src), "    zh: 手机号码\n    en: Mobile number\n    category: basic\n    sensitive: true\n    level: 1\n",
		"    zh: 手机号码\n    en: Mobile number\n    category: basic\n    sensitive: false\n    level: 1\n", 1)
	if flipped == string(src) {
		t.Fatal("catalog.yaml layout changed; update this test")
	}
	cat3, err := catalog.Parse("fixture.yaml", []byte(flipped))
	if err != nil {
		t.Fatal(err)
	}
	_, h3 := renderBoth(t, thirdparty.CollectedList(cat3, fns))
	if strings.Contains(string(h3), `<u class="sensitive">手机号码</u>`) {
		t.Error("mobile still marked sensitive")
	}

	// Adding an SDK to the registry adds a sharing row, and a catalog
	// change relabels its PI types.
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg1, err := thirdparty.Parse(good, cat)
	if err != nil {
		t.Fatal(err)
	}
	more := append(bytes.Clone(good), `  - id: new_sdk
    kind: sdk
    name: 新SDK
    developer: 示例科技有限公司
    version: "1.2.3"
    purpose_zh: 示例用途
    purpose_en: Example purpose
    purposes: [marketing]
    fields: [shoe_size, mobile]
    pi_zh: 鞋码、手机号
    policy_url: https://example.com/privacy?a=1&b=2
`...)
	if _, err := thirdparty.Parse(more, cat); err == nil || !strings.Contains(err.Error(), `unknown catalog field "shoe_size"`) {
		t.Fatalf("shoe_size accepted under a catalog without it: %v", err)
	}
	reg2, err := thirdparty.Parse(more, cat2)
	if err != nil {
		t.Fatal(err)
	}
	s1, h1 := renderBoth(t, thirdparty.SharingList(reg1, cat))
	s2, h2 := renderBoth(t, thirdparty.SharingList(reg2, cat2))
	if bytes.Equal(s1, s2) || bytes.Equal(h1, h2) {
		t.Fatal("adding an SDK did not change the sharing list")
	}
	for _, want := range []string{"新SDK", "示例科技有限公司", "1.2.3", `<b><u class="sensitive">鞋码</u></b>`, `<b><u class="sensitive">Shoe size</u></b>`,
		`<a href="https://example.com/privacy?a=1&amp;b=2">https://example.com/privacy?a=1&amp;b=2</a>`} {
		if !strings.Contains(string(h2), want) || strings.Contains(string(h1), want) {
			t.Errorf("sharing HTML: %q should appear only after the change", want)
		}
	}
	var doc thirdparty.Sharing
	if err := json.Unmarshal(s2, &doc); err != nil {
		t.Fatal(err)
	}
	last := doc.Items[len(doc.Items)-1]
	if last.ID != "new_sdk" || last.Kind != "sdk" || len(last.PI) != 2 || last.PI[0].Zh != "鞋码" || !last.PI[0].Sensitive || last.PolicyURL != "https://example.com/privacy?a=1&b=2" {
		t.Errorf("sharing JSON row = %+v", last)
	}
}

// Whatever the registry holds is escaped in HTML.
func TestHTMLEscapes(t *testing.T) {
	doc := `version: 1
entries:
  - id: evil
    kind: processor
    name: "<script>alert(1)</script>"
    purpose_zh: "<b>目的</b>"
    purpose_en: "\"onmouseover=x"
    fields: [mobile]
    pi_zh: "<img src=x onerror=y>"
    policy_url: "https://example.com/\"><script>"
`
	if _, err := thirdparty.Parse([]byte(doc), cat); err == nil {
		t.Fatal("a URL with quotes and brackets was accepted")
	}
	doc = strings.Replace(doc, `"https://example.com/\"><script>"`, `"https://example.com/p?q=%3Cx%3E&r=1"`, 1)
	reg, err := thirdparty.Parse([]byte(doc), cat)
	if err != nil {
		t.Fatal(err)
	}
	_, h := renderBoth(t, thirdparty.SharingList(reg, cat))
	for _, bad := range []string{"<script>", "<img", "<b>目的", `"onmouseover`} {
		if strings.Contains(string(h), bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
	}
	if !strings.Contains(string(h), "&lt;script&gt;") {
		t.Error("name not escaped")
	}
	if !strings.Contains(string(h), "受托处理者") || !strings.Contains(string(h), "entrusted processor") {
		t.Error("processor kind not labelled")
	}
}
