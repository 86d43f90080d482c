package thirdparty

import (
	"bytes"
	"encoding/json"
	"html/template"
	"strconv"
	"strings"

	"gigvault/internal/catalog"
	"gigvault/internal/functions"
)

// Label is an id with its zh-CN and English names.
type Label struct {
	ID string `json:"id"`
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Operator is who publishes the lists.
type Operator struct {
	NameZh  string `json:"name_zh"`
	NameEn  string `json:"name_en"`
	Contact string `json:"contact"`
}

// Scenario is a business function that uses a field.
type Scenario struct {
	Function  Label  `json:"function"`
	Kind      string `json:"kind"`
	Necessary bool   `json:"necessary"`
	WhyZh     string `json:"why_zh"`
	WhyEn     string `json:"why_en"`
}

// CollectedItem is one row of the list of PI collected.
type CollectedItem struct {
	Field       string     `json:"field"`
	Zh          string     `json:"zh"`
	En          string     `json:"en"`
	Category    string     `json:"category"`
	Sensitive   bool       `json:"sensitive"`
	Purposes    []Label    `json:"purposes"`
	Scenarios   []Scenario `json:"scenarios"`
	RetentionZh string     `json:"retention_zh"`
	RetentionEn string     `json:"retention_en"`
	Clause      string     `json:"clause,omitempty"`
}

// Collected is the public list of personal information collected
// (已收集个人信息清单).
type Collected struct {
	TitleZh         string          `json:"title_zh"`
	TitleEn         string          `json:"title_en"`
	Operator        Operator        `json:"operator"`
	CatalogVersion  int             `json:"catalog_version"`
	StorageLocation string          `json:"storage_location"`
	Items           []CollectedItem `json:"items"`
}

// FieldRef names a catalog field in a sharing row.
type FieldRef struct {
	Field     string `json:"field"`
	Zh        string `json:"zh"`
	En        string `json:"en"`
	Sensitive bool   `json:"sensitive"`
}

// SharingItem is one row of the third-party sharing list.
type SharingItem struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Developer   string     `json:"developer"`
	Version     string     `json:"version"`
	PurposeZh   string     `json:"purpose_zh"`
	PurposeEn   string     `json:"purpose_en"`
	Purposes    []Label    `json:"purposes"`
	PI          []FieldRef `json:"pi"`
	PIZh        string     `json:"pi_zh"`
	PolicyURL   string     `json:"policy_url"`
	ContractRef string     `json:"contract_ref"`
	PIARef      string     `json:"pia_ref"`
	Location    string     `json:"location"` // where it processes the PI: CN, or a cross-border transfer (OPS-10)
}

// Sharing is the public list of third-party sharing (第三方共享个人信息清单).
type Sharing struct {
	TitleZh  string        `json:"title_zh"`
	TitleEn  string        `json:"title_en"`
	Operator Operator      `json:"operator"`
	Demo     bool          `json:"demo"`
	Items    []SharingItem `json:"items"`
}

// CollectedList builds the list of PI collected from the catalog, one row per
// field in catalog order. fns, when not nil, supplies the scenarios: the
// business functions that use each field, and whether they need it.
func CollectedList(cat *catalog.Catalog, fns *functions.Registry) *Collected {
	c := &Collected{
		TitleZh:         "已收集个人信息清单",
		TitleEn:         "List of personal information collected",
		Operator:        operator(cat),
		CatalogVersion:  cat.Version,
		StorageLocation: cat.StorageLocation,
		Items:           []CollectedItem{},
	}
	for _, f := range cat.Fields() {
		it := CollectedItem{
			Field: f.Name, Zh: f.Zh, En: f.En, Category: string(f.Category), Sensitive: f.Sensitive,
			Purposes: purposeLabels(cat, f.Purposes), Scenarios: []Scenario{}, Clause: f.Clause,
		}
		it.RetentionZh, it.RetentionEn = retention(f.Retention)
		if f.Statutory.Unit != 0 {
			z, e := retention(catalog.Retention{Kind: "fixed", Duration: f.Statutory})
			it.RetentionZh += ";注销后依法保存(与账户解除关联):" + strings.TrimPrefix(z, "收集后")
			it.RetentionEn += "; after closure kept as the law requires, unlinked from the account: " + strings.TrimSuffix(e, " after collection")
		}
		if fns != nil {
			for _, fn := range fns.ForField(f.Name) {
				for _, p := range fn.PI {
					if p.Field == f.Name {
						it.Scenarios = append(it.Scenarios, Scenario{
							Function: Label{fn.ID, fn.Zh, fn.En}, Kind: string(fn.Kind),
							Necessary: p.Necessary, WhyZh: p.WhyZh, WhyEn: p.WhyEn,
						})
					}
				}
			}
		}
		c.Items = append(c.Items, it)
	}
	return c
}

// SharingList builds the third-party sharing list from the registry, one row
// per entry in registry order, with PI types labelled from the catalog.
func SharingList(reg *Registry, cat *catalog.Catalog) *Sharing {
	s := &Sharing{
		TitleZh:  "第三方共享个人信息清单",
		TitleEn:  "List of personal information shared with third parties",
		Operator: operator(cat),
		Demo:     reg.Demo,
		Items:    []SharingItem{},
	}
	for _, e := range reg.entries {
		it := SharingItem{
			ID: e.ID, Kind: string(e.Kind), Name: e.Name, Developer: e.Developer, Version: e.Version,
			PurposeZh: e.PurposeZh, PurposeEn: e.PurposeEn, Purposes: purposeLabels(cat, e.Purposes),
			PI: []FieldRef{}, PIZh: e.PIZh, PolicyURL: e.PolicyURL, ContractRef: e.ContractRef, PIARef: e.PIARef,
			Location: e.Location,
		}
		for _, name := range e.Fields {
			ref := FieldRef{Field: name, Zh: name, En: name}
			if f, ok := cat.Field(name); ok {
				ref = FieldRef{Field: name, Zh: f.Zh, En: f.En, Sensitive: f.Sensitive}
			}
			it.PI = append(it.PI, ref)
		}
		s.Items = append(s.Items, it)
	}
	return s
}

func operator(cat *catalog.Catalog) Operator {
	return Operator{cat.Operator.NameZh, cat.Operator.NameEn, cat.Operator.Contact}
}

func purposeLabels(cat *catalog.Catalog, ids []string) []Label {
	out := []Label{}
	for _, id := range ids {
		l := Label{ID: id, Zh: id, En: id}
		if p, ok := cat.Purpose(id); ok {
			l = Label{p.ID, p.Zh, p.En}
		}
		out = append(out, l)
	}
	return out
}

// retention renders a catalog retention in both languages.
func retention(r catalog.Retention) (zh, en string) {
	span := func(s catalog.Span) (string, string) {
		n := strconv.Itoa(s.N)
		plural := func(unit string) string {
			if s.N == 1 {
				return n + " " + unit
			}
			return n + " " + unit + "s"
		}
		switch s.Unit {
		case 'd':
			return n + "天", plural("day")
		case 'm':
			return n + "个月", plural("month")
		case 'y':
			return n + "年", plural("year")
		}
		return "", ""
	}
	switch r.Kind {
	case "request":
		return "仅用于本次请求,不存储", "used for the request only, never stored"
	case "fixed":
		z, e := span(r.Duration)
		return "收集后" + z, e + " after collection"
	case "account":
		if r.Duration.Unit != 0 {
			z, e := span(r.Duration)
			return "账户存续期间及注销后" + z, "while the account exists and " + e + " after it is closed"
		}
		return "账户存续期间", "while the account exists"
	}
	return r.String(), r.String()
}

// JSON renders the list as indented JSON with a final newline.
func (c *Collected) JSON() ([]byte, error) { return marshal(c) }

// JSON renders the list as indented JSON with a final newline.
func (s *Sharing) JSON() ([]byte, error) { return marshal(s) }

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// HTML renders the list as a standalone HTML page: zh-CN first, then
// English. Sensitive PI is bold and underlined. Everything is escaped.
func (c *Collected) HTML() ([]byte, error) { return render(collectedTmpl, c) }

// HTML renders the list as a standalone HTML page: zh-CN first, then
// English. Sensitive PI is bold and underlined. Everything is escaped.
func (s *Sharing) HTML() ([]byte, error) { return render(sharingTmpl, s) }

func render(t *template.Template, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var funcs = template.FuncMap{
	"kindZh": func(k string) string {
		switch k {
		case "sdk":
			return "第三方SDK"
		case "recipient":
			return "个人信息接收方"
		case "processor":
			return "受托处理者"
		case "basic":
			return "基本功能"
		case "extended":
			return "扩展功能"
		}
		return k
	},
	"kindEn": func(k string) string {
		switch k {
		case "sdk":
			return "third-party SDK"
		case "recipient":
			return "recipient"
		case "processor":
			return "entrusted processor"
		case "basic":
			return "basic function"
		case "extended":
			return "extended function"
		}
		return k
	},
}

const head = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{{.TitleZh}} / {{.TitleEn}}</title>
<style>table{border-collapse:collapse}th,td{border:1px solid #999;padding:4px;vertical-align:top}.sensitive{font-weight:bold;text-decoration:underline}</style>
</head>
<body>
`

var collectedTmpl = template.Must(template.New("collected").Funcs(funcs).Parse(head + `<section lang="zh-CN">
<h1>{{.TitleZh}}</h1>
<p>个人信息处理者:{{.Operator.NameZh}};联系方式:{{.Operator.Contact}};存储地点:{{.StorageLocation}}</p>
<p>以<b><u>加粗并下划线</u></b>标示的为个人敏感信息。</p>
<table>
<thead><tr><th>个人信息类型</th><th>使用目的</th><th>使用场景(业务功能)</th><th>保存期限</th></tr></thead>
<tbody>
{{- range .Items}}
<tr id="zh-{{.Field}}"><td>{{if .Sensitive}}<b><u class="sensitive">{{.Zh}}</u></b>(敏感){{else}}{{.Zh}}{{end}}</td><td>{{range $i, $p := .Purposes}}{{if $i}};{{end}}{{$p.Zh}}{{end}}</td><td>{{range $i, $s := .Scenarios}}{{if $i}}<br>{{end}}{{$s.Function.Zh}}({{kindZh $s.Kind}},{{if $s.Necessary}}必要{{else}}可选{{end}}):{{$s.WhyZh}}{{end}}</td><td>{{.RetentionZh}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
<section lang="en">
<h1>{{.TitleEn}}</h1>
<p>Controller: {{.Operator.NameEn}}; contact: {{.Operator.Contact}}; storage location: {{.StorageLocation}}</p>
<p>Sensitive personal information is shown <b><u>in bold and underlined</u></b>.</p>
<table>
<thead><tr><th>Type of PI</th><th>Purposes</th><th>Scenarios (business functions)</th><th>Retention</th></tr></thead>
<tbody>
{{- range .Items}}
<tr id="en-{{.Field}}"><td>{{if .Sensitive}}<b><u class="sensitive">{{.En}}</u></b> (sensitive){{else}}{{.En}}{{end}}</td><td>{{range $i, $p := .Purposes}}{{if $i}}; {{end}}{{$p.En}}{{end}}</td><td>{{range $i, $s := .Scenarios}}{{if $i}}<br>{{end}}{{$s.Function.En}} ({{kindEn $s.Kind}}, {{if $s.Necessary}}necessary{{else}}optional{{end}}): {{$s.WhyEn}}{{end}}</td><td>{{.RetentionEn}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
</body>
</html>
`))

var sharingTmpl = template.Must(template.New("sharing").Funcs(funcs).Parse(head + `<section lang="zh-CN">
<h1>{{.TitleZh}}</h1>
<p>个人信息处理者:{{.Operator.NameZh}};联系方式:{{.Operator.Contact}}</p>
{{- if .Demo}}
<p>本清单为演示数据。</p>
{{- end}}
<p>以<b><u>加粗并下划线</u></b>标示的为个人敏感信息。</p>
<table>
<thead><tr><th>第三方名称</th><th>类型</th><th>开发者/公司</th><th>版本</th><th>处理地点</th><th>使用目的与场景</th><th>个人信息类型</th><th>隐私政策链接</th></tr></thead>
<tbody>
{{- range .Items}}
<tr id="zh-{{.ID}}"><td>{{.Name}}</td><td>{{kindZh .Kind}}</td><td>{{.Developer}}</td><td>{{.Version}}</td><td>{{if eq .Location "CN"}}中国境内{{else}}<b>境外（{{.Location}}）</b>{{end}}</td><td>{{.PurposeZh}}</td><td>{{range $i, $f := .PI}}{{if $i}}、{{end}}{{if $f.Sensitive}}<b><u class="sensitive">{{$f.Zh}}</u></b>{{else}}{{$f.Zh}}{{end}}{{end}}{{if .PIZh}}<br>原文:{{.PIZh}}{{end}}</td><td>{{if .PolicyURL}}<a href="{{.PolicyURL}}">{{.PolicyURL}}</a>{{else}}未提供{{end}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
<section lang="en">
<h1>{{.TitleEn}}</h1>
<p>Controller: {{.Operator.NameEn}}; contact: {{.Operator.Contact}}</p>
{{- if .Demo}}
<p>This list is demo data.</p>
{{- end}}
<p>Sensitive personal information is shown <b><u>in bold and underlined</u></b>.</p>
<table>
<thead><tr><th>Third party</th><th>Kind</th><th>Developer / company</th><th>Version</th><th>Where processed</th><th>Purpose and scenario</th><th>Types of PI</th><th>Privacy policy</th></tr></thead>
<tbody>
{{- range .Items}}
<tr id="en-{{.ID}}"><td>{{.Name}}</td><td>{{kindEn .Kind}}</td><td>{{.Developer}}</td><td>{{.Version}}</td><td>{{if eq .Location "CN"}}mainland China{{else}}<b>outside mainland China ({{.Location}})</b>{{end}}</td><td>{{.PurposeEn}}</td><td>{{range $i, $f := .PI}}{{if $i}}, {{end}}{{if $f.Sensitive}}<b><u class="sensitive">{{$f.En}}</u></b>{{else}}{{$f.En}}{{end}}{{end}}</td><td>{{if .PolicyURL}}<a href="{{.PolicyURL}}">{{.PolicyURL}}</a>{{else}}not provided{{end}}</td></tr>
{{- end}}
</tbody>
</table>
</section>
</body>
</html>
`))
