package contract

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

var update = flag.Bool("update", false, "rewrite the golden document and the fuzz seed corpora")

func wantErr(t *testing.T, err error, code errs.Code, field, reason string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *errs.Error", err)
	}
	if e.Code != code || e.Reason != reason || (field != "*" && e.Field != field) {
		t.Fatalf("error %v: code %q field %q reason %q, want %q %q %q", err, e.Code, e.Field, e.Reason, code, field, reason)
	}
	if e.Message == "" || e.MessageZh == "" {
		t.Fatalf("error %v lacks a message", err)
	}
	return e
}

func TestParseTemplateVariables(t *testing.T) {
	vars, err := ParseTemplate(exampleTemplate().Body)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"org", "worker_name", "worker_id", "city", "service", "fee"}
	if !slices.Equal(vars, want) {
		t.Fatalf("vars %v, want %v", vars, want)
	}
	for body, want := range map[string][]string{
		"":                   nil,
		"plain text":         nil,
		"{{.a}}{{.b}}{{.a}}": {"a", "b"},
		"<p>{{- .x -}}</p>":  {"x"},
		"{{ .Name2_x }}":     {"Name2_x"},
		"a<br/>b<br />c<br>&amp;&#20013;&#x4E2D;&nbsp;": nil,
		"<table><tr><td>{{.v}}</td></tr></table>":       {"v"},
	} {
		got, err := ParseTemplate(body)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseTemplate(%q) = %v, %v; want %v", body, got, err, want)
		}
	}
}

func TestParseTemplateRejects(t *testing.T) {
	for _, c := range []struct{ body, reason string }{
		{`{{range .items}}x{{end}}`, ReasonTemplateAction},
		{`{{call .f}}`, ReasonTemplateAction},
		{`{{.a | printf "%s"}}`, ReasonTemplateAction},
		{`{{.a | html}}`, ReasonTemplateAction},
		{`{{printf "%s" .a}}`, ReasonTemplateAction},
		{`{{template "x"}}`, ReasonTemplateAction},
		{`{{template "x" .}}`, ReasonTemplateAction},
		{`{{define "x"}}y{{end}}`, ReasonTemplateAction},
		{`{{block "x" .}}y{{end}}`, ReasonTemplateAction},
		{`{{if .a}}y{{end}}`, ReasonTemplateAction},
		{`{{with .a}}y{{end}}`, ReasonTemplateAction},
		{`{{$x := .a}}`, ReasonTemplateAction},
		{`{{$x := .a}}{{$x}}`, ReasonTemplateAction},
		{`{{.a.b}}`, ReasonTemplateAction},
		{`{{.}}`, ReasonTemplateAction},
		{`{{"literal"}}`, ReasonTemplateAction},
		{`{{len .a}}`, ReasonTemplateAction},
		{`{{.a 1}}`, ReasonTemplateAction},
		{`{{/* comment */}}`, ReasonTemplateAction},
		{`{{nil}}`, ReasonTemplateAction},
		{`{{.a`, ReasonTemplateSyntax},
		{`{{end}}`, ReasonTemplateSyntax},
		{"\xff", ReasonTemplateSyntax},
		{strings.Repeat("a", MaxTemplateSize+1), ReasonTemplateSyntax},
		{`<script>alert(1)</script>`, ReasonTemplateMarkup},
		{`<style>p{display:none}</style>`, ReasonTemplateMarkup},
		{`<p class="x">y</p>`, ReasonTemplateMarkup},
		{`<p style="display:none">hidden</p>`, ReasonTemplateMarkup},
		{`<a href="{{.url}}">x</a>`, ReasonTemplateMarkup},
		{`<p title="{{.x}}">y</p>`, ReasonTemplateMarkup},
		{`<p {{.x}}>y</p>`, ReasonTemplateMarkup},
		{`<img src=x onerror=alert(1)>`, ReasonTemplateMarkup},
		{`<!-- note -->`, ReasonTemplateMarkup},
		{`<P>upper</P>`, ReasonTemplateMarkup},
		{`< p>`, ReasonTemplateMarkup},
		{`</br/>`, ReasonTemplateMarkup},
		{`<p/>`, ReasonTemplateMarkup},
		{`<textarea>{{.x}}</textarea>`, ReasonTemplateMarkup},
		{`a < b`, ReasonTemplateMarkup},
		{`a & b`, ReasonTemplateMarkup},
		{`&foo;`, ReasonTemplateMarkup},
		{`&#x202E;`, ReasonTemplateMarkup},
		{`&#0;`, ReasonTemplateMarkup},
		{`&#99999999;`, ReasonTemplateMarkup},
		{"right-to-left \u202E override", ReasonTemplateMarkup},
		{"nul \x00", ReasonTemplateMarkup},
		{"bell \a", ReasonTemplateMarkup},
	} {
		_, err := ParseTemplate(c.body)
		if err == nil {
			t.Errorf("ParseTemplate(%q) accepted", c.body)
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid || e.Reason != c.reason || e.Field != "body" {
			t.Errorf("ParseTemplate(%q): %v (reason %q), want reason %q", c.body, err, e.Reason, c.reason)
		}
	}
	many := ""
	for i := range MaxVariables + 1 {
		many += fmt.Sprintf("{{.v%d}}", i)
	}
	_, err := ParseTemplate(many)
	wantErr(t, err, errs.Invalid, "body", ReasonTemplateAction)
}

func TestRenderEscapes(t *testing.T) {
	tpl := Template{ID: "t", Name: "测试", Version: 1, Body: "<p>{{.a}}</p>\n<p>{{.b}}</p>\n"}
	d, err := Render(tpl, map[string]string{
		"a": `<script>alert("x")</script>`,
		"b": `Tom & Jerry's <b>bold</b> {{.a}}`,
	}, Meta{ContractID: "c1", OrgName: `A&B <Co> "Ltd"`, ValidFrom: tFrom, ValidUntil: tUntil, CreatedAt: tCreated})
	if err != nil {
		t.Fatal(err)
	}
	s := d.String()
	for _, bad := range []string{"<script", "<b>", `"x"`, "A&B", "<Co>"} {
		if strings.Contains(s, bad) {
			t.Errorf("unescaped %q in\n%s", bad, s)
		}
	}
	for _, good := range []string{
		"<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>",
		"<p>Tom &amp; Jerry&#39;s &lt;b&gt;bold&lt;/b&gt; {{.a}}</p>",
		"A&amp;B &lt;Co&gt; &#34;Ltd&#34;",
	} {
		if !strings.Contains(s, good) {
			t.Errorf("missing %q in\n%s", good, s)
		}
	}
	if _, err := ParseDocument(s); err != nil {
		t.Fatalf("escaped document does not parse: %v", err)
	}
}

func TestRenderVariables(t *testing.T) {
	tpl := exampleTemplate()
	vars := exampleVars()
	delete(vars, "fee")
	delete(vars, "city")
	_, err := Render(tpl, vars, exampleMeta())
	e := wantErr(t, err, errs.Invalid, "city", ReasonMissingVariable)
	if !slices.Equal(e.Missing, []string{"city", "fee"}) || !strings.Contains(e.Message, "city, fee") {
		t.Fatalf("missing %v, message %q", e.Missing, e.Message)
	}

	vars = exampleVars()
	vars["bonus"] = "1"
	vars["agent"] = "2"
	_, err = Render(tpl, vars, exampleMeta())
	e = wantErr(t, err, errs.Invalid, "agent", ReasonUnknownVariable)
	if !strings.Contains(e.Message, "agent, bonus") {
		t.Fatalf("message %q", e.Message)
	}

	for name, v := range map[string]string{
		"newline":  "a\nb",
		"tab":      "a\tb",
		"nul":      "a\x00b",
		"bidi":     "abc\u202Edef",
		"zwsp":     "a\u200Bb",
		"private":  "a\uE000b",
		"invalid":  "a\xffb",
		"too long": strings.Repeat("字", MaxValueRunes+1),
	} {
		vars := exampleVars()
		vars["city"] = v
		_, err := Render(tpl, vars, exampleMeta())
		e := wantErr(t, err, errs.Invalid, "city", ReasonInvalidValue)
		if strings.Contains(e.Message, v) || strings.Contains(e.MessageZh, v) {
			t.Fatalf("%s: the message shows the value", name)
		}
	}
	vars = exampleVars()
	vars["city"] = strings.Repeat("字", MaxValueRunes)
	vars["service"] = ""
	vars["worker_name"] = "Zoe\u200DJoiner" // zero-width joiner is allowed
	if _, err := Render(tpl, vars, exampleMeta()); err != nil {
		t.Fatal(err)
	}
}

func TestRenderMeta(t *testing.T) {
	tpl := exampleTemplate()
	for name, edit := range map[string]func(*Meta){
		"empty window":     func(m *Meta) { m.ValidUntil = m.ValidFrom },
		"reversed window":  func(m *Meta) { m.ValidUntil = m.ValidFrom.Add(-time.Hour) },
		"no contract ID":   func(m *Meta) { m.ContractID = "" },
		"bad contract ID":  func(m *Meta) { m.ContractID = "a b" },
		"no org":           func(m *Meta) { m.OrgName = "" },
		"org with newline": func(m *Meta) { m.OrgName = "a\nb" },
		"zero created":     func(m *Meta) { m.CreatedAt = time.Time{} },
		"other template":   func(m *Meta) { m.TemplateID = "other" },
		"other version":    func(m *Meta) { m.TemplateVersion = 2 },
	} {
		m := exampleMeta()
		edit(&m)
		_, err := Render(tpl, exampleVars(), m)
		wantErr(t, err, errs.Invalid, "*", ReasonInvalidMeta)
		_ = name
	}
	bad := tpl
	bad.Version = 0
	_, err := Render(bad, exampleVars(), exampleMeta())
	wantErr(t, err, errs.Invalid, "template.version", ReasonInvalidMeta)
	bad = tpl
	bad.Name = ""
	_, err = Render(bad, exampleVars(), exampleMeta())
	wantErr(t, err, errs.Invalid, "template.name", ReasonInvalidMeta)

	// Sub-second times are truncated; the window is kept in UTC.
	m := exampleMeta()
	m.ValidFrom = m.ValidFrom.Add(900 * time.Millisecond)
	d, err := Render(tpl, exampleVars(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Meta().ValidFrom.Equal(tFrom) || d.Meta().ValidFrom.Location() != time.UTC {
		t.Fatalf("ValidFrom %v", d.Meta().ValidFrom)
	}
	if d.Meta().TemplateID != tpl.ID || d.Meta().TemplateVersion != tpl.Version {
		t.Fatalf("template defaults: %+v", d.Meta())
	}
}

// TestRenderCanonical checks the canonical form, also from a template with
// CRLF line endings, trailing blanks and decomposed characters.
func TestRenderCanonical(t *testing.T) {
	tpl := Template{ID: "t", Name: "Cafe\u0301", Version: 1, Body: "<p>line one   \r\n line two\t\r\n<p>{{.a}}</p>\r\n\r\n\r\n"}
	d, err := Render(tpl, map[string]string{"a": "Rene\u0301e  "}, exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	s := d.String()
	if strings.ContainsAny(s, "\r") || !strings.HasSuffix(s, "</html>\n") || strings.HasSuffix(s, "\n\n") {
		t.Fatalf("line endings:\n%q", s)
	}
	for i, l := range strings.Split(s, "\n") {
		if strings.TrimRight(l, " \t") != l {
			t.Fatalf("line %d has trailing white space: %q", i+1, l)
		}
	}
	if !strings.Contains(s, "Café") || !strings.Contains(s, "Renée") || strings.Contains(s, "\u0301") {
		t.Fatal("not NFC")
	}
	if !strings.HasPrefix(s, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n") {
		t.Fatalf("head:\n%s", s)
	}
	for _, want := range []string{
		"<p>合同编号 / Contract ID：CT-2026-000042</p>",
		"<p>有效期 / Valid：2026-03-01 00:00:00 至 / to 2026-08-31 23:59:59（北京时间 / Asia/Shanghai, UTC+08:00）</p>",
		"<p>生成时间 / Created：2026-02-20 18:30:00</p>",
		`<meta name="gigvault-valid-from" content="2026-03-01T00:00:00+08:00">`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q", want)
		}
	}
}

const (
	goldenPath    = "testdata/golden/contract.html"
	goldenDigests = "testdata/golden/contract.digests"
)

// TestRenderGolden renders the example twice and compares it with the
// golden file; -update rewrites the file.
func TestRenderGolden(t *testing.T) {
	a, b := mustRender(t), mustRender(t)
	if a.String() != b.String() || a.Digest(cryptox.SM{}) != b.Digest(cryptox.SM{}) {
		t.Fatal("rendering is not deterministic")
	}
	// Map order must not matter either.
	for range 20 {
		c := mustRender(t)
		if c.String() != a.String() {
			t.Fatal("rendering is not deterministic")
		}
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, a.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != a.String() {
		t.Fatalf("rendering differs from %s (run go test -run TestRenderGolden -update after checking the change):\n%s", goldenPath, a.String())
	}
	// The digests are what is signed: pin them too.
	digests := fmt.Sprintf("sm3 %s\nsha256 %s\n", a.Digest(cryptox.SM{}), a.Digest(cryptox.AES{}))
	if *update {
		if err := os.WriteFile(goldenDigests, []byte(digests), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err = os.ReadFile(goldenDigests)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != digests {
		t.Fatalf("digests differ from %s:\n%s", goldenDigests, digests)
	}
}

func TestParseDocument(t *testing.T) {
	d := mustRender(t)
	p, err := ParseDocument(d.String())
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != d.String() || p.Title() != d.Title() || p.Meta() != d.Meta() {
		t.Fatalf("round trip:\n%+v\n%+v", p.Meta(), d.Meta())
	}
	s := d.String()
	for name, bad := range map[string]string{
		"empty":               "",
		"CRLF":                strings.ReplaceAll(s, "\n", "\r\n"),
		"trailing space":      strings.Replace(s, "</h1>", "</h1> ", 1),
		"not NFC":             strings.Replace(s, "</title>", "e\u0301</title>", 1),
		"head window":         strings.Replace(s, `content="2026-08-31T23:59:59+08:00"`, `content="2027-08-31T23:59:59+08:00"`, 1),
		"visible window":      strings.Replace(s, "至 / to 2026-08-31", "至 / to 2027-08-31", 1),
		"visible contract ID": strings.Replace(s, "Contract ID：CT-2026-000042", "Contract ID：CT-2026-000043", 1),
		"duplicate meta":      strings.Replace(s, "<meta name=\"generator\"", "<meta name=\"gigvault-org-name\" content=\"x\">\n<meta name=\"generator\"", 1),
		"script in body":      strings.Replace(s, "<h2>第一条", "<script>x()</script><h2>第一条", 1),
		"attribute in body":   strings.Replace(s, "<h2>第一条", "<h2 style=\"display:none\">第一条", 1),
		"no footer":           strings.TrimSuffix(s, "</html>\n"),
		"missing meta":        strings.Replace(s, "<meta name=\"gigvault-created-at\"", "<meta name=\"gigvault-other\"", 1),
	} {
		if bad == s {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if _, err := ParseDocument(bad); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			wantErr(t, err, errs.Invalid, "document", ReasonInvalidDocument)
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	seeds := map[string]string{
		"example":  exampleTemplate().Body,
		"range":    `{{range .items}}{{.}}{{end}}`,
		"pipeline": `{{.a | printf "%q"}}`,
		"call":     `{{call .f .a}}`,
		"define":   `{{define "x"}}{{.a}}{{end}}{{template "x" .}}`,
		"markup":   `<p class="x" onclick="y">&amp;&#x4e2d;&bogus;<br/>{{.a}}</p>`,
		"attr_var": `<p title="{{.t}}">x</p>`,
		"empty":    "",
	}
	if *update {
		for name, s := range seeds {
			writeSeed(f, "FuzzParseTemplate", name, fmt.Sprintf("string(%q)", s))
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		vars, err := ParseTemplate(body)
		if err != nil {
			if _, ok := err.(*errs.Error); !ok {
				t.Fatalf("error %T is not *errs.Error", err)
			}
			return
		}
		// Whatever ParseTemplate accepts renders, with every value
		// escaped, into a document ParseDocument accepts.
		values := map[string]string{}
		for _, v := range vars {
			values[v] = `<x y="z">&` + v
		}
		d, err := Render(Template{ID: "fuzz", Name: "fuzz", Version: 1, Body: body}, values, exampleMeta())
		if err != nil {
			t.Fatalf("accepted template does not render: %v", err)
		}
		if strings.Contains(d.String(), `<x y="z">`) {
			t.Fatal("a value was not escaped")
		}
		if _, err := ParseDocument(d.String()); err != nil {
			t.Fatalf("rendered document does not parse: %v\n%s", err, d.String())
		}
	})
}

func writeSeed(tb testing.TB, fuzzer, name, value string) {
	tb.Helper()
	dir := filepath.Join("testdata/fuzz", fuzzer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+value+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
}
