package policydoc

import (
	"bytes"
	"encoding/json"
	"html/template"
	"time"
)

// JSON renders the policy as indented JSON with a final newline. A
// published version's JSON is frozen in the store; unmarshalled back into
// a Policy it renders the same HTML.
func (p *Policy) JSON() ([]byte, error) { return marshal(p) }

// HTML renders the policy as a standalone HTML page: zh-CN first, then
// English. Sensitive PI is bold and underlined. Everything is escaped.
func (p *Policy) HTML() ([]byte, error) { return execute(policyTmpl, p) }

// JSON renders the children's policy as indented JSON with a final newline.
func (c *Children) JSON() ([]byte, error) { return marshal(c) }

// HTML renders the children's policy as a standalone HTML page: zh-CN
// first, then English.
func (c *Children) HTML() ([]byte, error) { return execute(childrenTmpl, c) }

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

func execute(t *template.Template, v any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// beijing is China Standard Time; dates in the documents are shown in it.
var beijing = time.FixedZone("UTC+8", 8*60*60)

var funcs = template.FuncMap{
	"dateZh": func(t time.Time) string { return t.In(beijing).Format("2006年1月2日 15:04") + "（北京时间）" },
	"dateEn": func(t time.Time) string { return t.In(beijing).Format("2 January 2006, 15:04") + " (Beijing time)" },
	"kindZh": func(k string) string {
		switch k {
		case "basic":
			return "基本功能"
		case "extended":
			return "扩展功能"
		case "sdk":
			return "第三方SDK"
		case "recipient":
			return "个人信息接收方"
		case "processor":
			return "受托处理者"
		}
		return k
	},
	"kindEn": func(k string) string {
		switch k {
		case "basic":
			return "basic function"
		case "extended":
			return "extended function"
		case "sdk":
			return "third-party SDK"
		case "recipient":
			return "recipient"
		case "processor":
			return "entrusted processor"
		}
		return k
	},
	"basisZh": func(b string) string {
		switch b {
		case BasisPolicy:
			return "您同意本政策后即可使用；不提供可选信息不影响本功能的使用"
		case BasisConsent:
			return "在您开启本功能时单独征得您的同意；您可以拒绝或随时撤回，不影响其他功能"
		case BasisLegal:
			return "依法无需征得同意（见《隐私政策》“征得同意的例外”）"
		case BasisGuardianPolicy:
			return "监护人同意《隐私政策》和本规则后即可使用；不提供可选信息不影响本功能的使用"
		case BasisGuardianConsent:
			return "在开启本功能时单独征得监护人的同意；监护人可以拒绝或随时撤回，不影响其他功能"
		}
		return b
	},
	"basisEn": func(b string) string {
		switch b {
		case BasisPolicy:
			return "available once you agree to this policy; not giving optional information does not affect this function"
		case BasisConsent:
			return "your separate consent, asked when you turn the function on; you may refuse or withdraw it without affecting other functions"
		case BasisLegal:
			return "no consent needed by law (see “Processing without consent” in the Privacy Policy)"
		case BasisGuardianPolicy:
			return "available once a guardian agrees to the Privacy Policy and these rules; not giving optional information does not affect this function"
		case BasisGuardianConsent:
			return "a guardian's separate consent, asked when the function is turned on; the guardian may refuse or withdraw it without affecting other functions"
		}
		return b
	},
}

// The fragments shared by both documents. "fzh" and "fen" print a field's
// label, bold and underlined when it is sensitive.
const fragments = `{{define "fzh"}}{{if .Sensitive}}<strong><u>{{.Zh}}</u></strong>{{else}}{{.Zh}}{{end}}{{end}}
{{- define "fen"}}{{if .Sensitive}}<strong><u>{{.En}}</u></strong>{{else}}{{.En}}{{end}}{{end}}
{{- define "head"}}<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{{.TitleZh}} / {{.TitleEn}}</title>
<style>table{border-collapse:collapse}th,td{border:1px solid #999;padding:4px;vertical-align:top}</style>
</head>
<body>
{{end}}
{{- define "metaZh"}}<h1>{{.TitleZh}}</h1>
<p>版本：{{.Version}}；生效日期：{{dateZh .EffectiveAt}}{{if not .PublishedAt.IsZero}}；发布（更新）日期：{{dateZh .PublishedAt}}{{end}}</p>
<p>变更摘要：{{.SummaryZh}}（{{if .Material}}重大变更，我们将重新征得您的同意{{else}}非重大变更{{end}}）</p>
<p>个人信息处理者：{{.Operator.NameZh}}；联系方式：{{.Operator.Contact}}</p>
<p>相关文件：<a href="{{.Links.Policy}}">隐私政策</a>、<a href="{{.Links.Children}}">儿童个人信息保护规则</a>、<a href="{{.Links.PICollected}}">已收集个人信息清单</a>、<a href="{{.Links.ThirdPartySharing}}">第三方共享个人信息清单</a></p>
<p>以<strong><u>加粗并下划线</u></strong>标示的为敏感个人信息。</p>{{end}}
{{- define "metaEn"}}<h1>{{.TitleEn}}</h1>
<p>Version: {{.Version}}; effective: {{dateEn .EffectiveAt}}{{if not .PublishedAt.IsZero}}; published (updated): {{dateEn .PublishedAt}}{{end}}</p>
<p>Summary of changes: {{.SummaryEn}} ({{if .Material}}a material change: we will ask for your consent again{{else}}not a material change{{end}})</p>
<p>Controller: {{.Operator.NameEn}}; contact: {{.Operator.Contact}}</p>
<p>Related documents: <a href="{{.Links.Policy}}">Privacy Policy</a>, <a href="{{.Links.Children}}">Children's Personal Information Protection Rules</a>, <a href="{{.Links.PICollected}}">List of personal information collected</a>, <a href="{{.Links.ThirdPartySharing}}">List of personal information shared with third parties</a></p>
<p>Sensitive personal information is shown <strong><u>in bold and underlined</u></strong>.</p>{{end}}
{{- define "functionsZh"}}
{{- range .}}
<h3 id="zh-fn-{{.ID}}">{{.Zh}}（{{kindZh .Kind}}）</h3>
<p>处理目的：{{range $i, $p := .Purposes}}{{if $i}}；{{end}}{{$p.Zh}}{{end}}</p>
<p>处理依据：{{basisZh .Basis}}</p>
<table>
<thead><tr><th>个人信息</th><th>必要/可选</th><th>用途</th><th>收集方式</th><th>保存期限</th></tr></thead>
<tbody>
{{- range .PI}}
<tr><td>{{template "fzh" .}}</td><td>{{if .Necessary}}必要{{else}}可选{{end}}</td><td>{{.WhyZh}}</td><td>{{.MethodZh}}</td><td>{{.RetentionZh}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}{{end}}
{{- define "functionsEn"}}
{{- range .}}
<h3 id="en-fn-{{.ID}}">{{.En}} ({{kindEn .Kind}})</h3>
<p>Purposes: {{range $i, $p := .Purposes}}{{if $i}}; {{end}}{{$p.En}}{{end}}</p>
<p>Basis: {{basisEn .Basis}}</p>
<table>
<thead><tr><th>Personal information</th><th>Necessary / optional</th><th>Used for</th><th>How it is collected</th><th>Retention</th></tr></thead>
<tbody>
{{- range .PI}}
<tr><td>{{template "fen" .}}</td><td>{{if .Necessary}}necessary{{else}}optional{{end}}</td><td>{{.WhyEn}}</td><td>{{.MethodEn}}</td><td>{{.RetentionEn}}</td></tr>
{{- end}}
</tbody>
</table>
{{- end}}{{end}}
{{- define "rightsZh"}}<table>
<thead><tr><th>权利</th><th>如何行使</th></tr></thead>
<tbody>
{{- range .}}
<tr id="zh-right-{{.ID}}"><td>{{.NameZh}}</td><td>{{.HowZh}}</td></tr>
{{- end}}
</tbody>
</table>{{end}}
{{- define "rightsEn"}}<table>
<thead><tr><th>Right</th><th>How to use it</th></tr></thead>
<tbody>
{{- range .}}
<tr id="en-right-{{.ID}}"><td>{{.NameEn}}</td><td>{{.HowEn}}</td></tr>
{{- end}}
</tbody>
</table>{{end}}`

var base = template.Must(template.New("fragments").Funcs(funcs).Parse(fragments))

var policyTmpl = template.Must(template.Must(base.Clone()).New("policy").Parse(`{{template "head" .}}<section lang="zh-CN">
{{template "metaZh" .}}
<h2 id="zh-collection">一、我们如何收集和使用您的个人信息</h2>
<p>我们按业务功能逐项说明处理的个人信息、用途、收集方式和保存期限。基本功能“求职招聘信息交流”在您同意本政策后即可使用；扩展功能在您开启时单独征得同意；拒绝可选信息或扩展功能，不影响基本功能的使用。</p>
{{- template "functionsZh" .Functions}}
<h2 id="zh-sensitive">二、敏感个人信息</h2>
<p>下列敏感个人信息一旦泄露或者被非法使用，容易导致您的人格尊严受到侵害或者人身、财产安全受到危害。我们仅为下列功能所必需处理，并在处理前单独征得您的同意（依法无需同意的情形除外）：</p>
<ul>
{{- range .SensitivePI}}
<li>{{template "fzh" .}}：{{range $i, $f := .Functions}}{{if $i}}、{{end}}{{$f.Zh}}{{end}}</li>
{{- end}}
</ul>
<h2 id="zh-exceptions">三、征得同意的例外</h2>
<p>根据法律规定，在下列情形中，我们处理您的个人信息无需征得您的同意：</p>
<ol>
{{- range .Exceptions}}
<li>{{.Zh}}{{if .Purposes}}。本平台依此处理的目的：{{range $i, $p := .Purposes}}{{if $i}}、{{end}}{{$p.Zh}}{{end}}{{end}}</li>
{{- end}}
</ol>
<h2 id="zh-third-parties">四、委托处理、向第三方提供和第三方SDK</h2>
<p>以下为接收或代我们处理您个人信息的第三方{{if .ThirdPartyDemo}}（演示数据）{{end}}，详见<a href="{{.Links.ThirdPartySharing}}">第三方共享个人信息清单</a>。向第三方提供、委托处理以及第三方SDK收集您的个人信息前，我们会单独征得您的同意（依法无需同意的情形除外）；您向招聘方投递简历时，我们会就该招聘方逐一征得您的同意。</p>
<table>
<thead><tr><th>名称</th><th>类型</th><th>开发者/公司</th><th>目的</th><th>个人信息</th></tr></thead>
<tbody>
{{- range .ThirdParties}}
<tr id="zh-tp-{{.ID}}"><td>{{.Name}}</td><td>{{kindZh .Kind}}</td><td>{{.Developer}}</td><td>{{.PurposeZh}}</td><td>{{range $i, $f := .PI}}{{if $i}}、{{end}}{{template "fzh" $f}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
<h2 id="zh-storage">五、我们如何存储和保护您的个人信息</h2>
<p>存储地点：{{.StorageLocation}}</p>
{{- range .Storage}}
<p>{{.Zh}}</p>
{{- end}}
<table>
<thead><tr><th>类别</th><th>保存期限</th><th>个人信息</th></tr></thead>
<tbody>
{{- range .Retention}}{{$c := .Category}}
{{- range .Rules}}
<tr><td>{{$c.Zh}}</td><td>{{.Zh}}</td><td>{{range $i, $f := .Fields}}{{if $i}}、{{end}}{{template "fzh" $f}}{{end}}</td></tr>
{{- end}}
{{- end}}
</tbody>
</table>
<p>我们采取的安全保护措施：</p>
<ul>
{{- range .Measures}}
<li>{{.Zh}}</li>
{{- end}}
</ul>
<h2 id="zh-rights">六、您的权利</h2>
{{template "rightsZh" .Rights}}
{{- range .RightsNote}}
<p>{{.Zh}}</p>
{{- end}}
<h2 id="zh-minors">七、未成年人的个人信息</h2>
{{- range .Minors}}
<p>{{.Zh}}</p>
{{- end}}
<p>详见<a href="{{.Links.Children}}">儿童个人信息保护规则</a>。</p>
<h2 id="zh-updates">八、本政策的更新</h2>
{{- range .Updates}}
<p>{{.Zh}}</p>
{{- end}}
<h2 id="zh-contact">九、如何联系我们</h2>
<p>如对本政策或您的个人信息有任何疑问、意见或投诉，请联系我们的个人信息保护负责人：{{.Operator.NameZh}}，{{.Operator.Contact}}。我们将在 {{.AnswerWithinWorkingDays}} 个工作日内答复。</p>
</section>
<section lang="en">
{{template "metaEn" .}}
<h2 id="en-collection">1. How we collect and use your personal information</h2>
<p>For each business function we list the personal information it processes, what for, how it is collected and how long it is kept. The basic function, job-information exchange, is available once you agree to this policy; extended functions ask for your separate consent when you turn them on; refusing optional information or an extended function does not affect the basic function.</p>
{{- template "functionsEn" .Functions}}
<h2 id="en-sensitive">2. Sensitive personal information</h2>
<p>If leaked or unlawfully used, the sensitive personal information below could harm your dignity or the safety of your person or property. We process it only as the functions listed need, and ask for your separate consent first (except where the law needs no consent):</p>
<ul>
{{- range .SensitivePI}}
<li>{{template "fen" .}}: {{range $i, $f := .Functions}}{{if $i}}, {{end}}{{$f.En}}{{end}}</li>
{{- end}}
</ul>
<h2 id="en-exceptions">3. Processing without consent</h2>
<p>As the law provides, we may process your personal information without your consent in the following cases:</p>
<ol>
{{- range .Exceptions}}
<li>{{.En}}{{if .Purposes}}. Purposes gigvault processes on this basis: {{range $i, $p := .Purposes}}{{if $i}}, {{end}}{{$p.En}}{{end}}{{end}}</li>
{{- end}}
</ol>
<h2 id="en-third-parties">4. Entrusted processing, provision to third parties and third-party SDKs</h2>
<p>These third parties receive or process your personal information for us{{if .ThirdPartyDemo}} (demo data){{end}}; see the <a href="{{.Links.ThirdPartySharing}}">list of personal information shared with third parties</a> for details. We ask for your separate consent before providing your personal information to a third party, entrusting its processing, or letting a third-party SDK collect it (except where the law needs no consent); when you send your résumé to an employer we ask you for each employer.</p>
<table>
<thead><tr><th>Name</th><th>Kind</th><th>Developer / company</th><th>Purpose</th><th>Personal information</th></tr></thead>
<tbody>
{{- range .ThirdParties}}
<tr id="en-tp-{{.ID}}"><td>{{.Name}}</td><td>{{kindEn .Kind}}</td><td>{{.Developer}}</td><td>{{.PurposeEn}}</td><td>{{range $i, $f := .PI}}{{if $i}}, {{end}}{{template "fen" $f}}{{end}}</td></tr>
{{- end}}
</tbody>
</table>
<h2 id="en-storage">5. How we store and protect your personal information</h2>
<p>Storage location: {{.StorageLocation}}</p>
{{- range .Storage}}
<p>{{.En}}</p>
{{- end}}
<table>
<thead><tr><th>Category</th><th>Retention</th><th>Personal information</th></tr></thead>
<tbody>
{{- range .Retention}}{{$c := .Category}}
{{- range .Rules}}
<tr><td>{{$c.En}}</td><td>{{.En}}</td><td>{{range $i, $f := .Fields}}{{if $i}}, {{end}}{{template "fen" $f}}{{end}}</td></tr>
{{- end}}
{{- end}}
</tbody>
</table>
<p>How we protect it:</p>
<ul>
{{- range .Measures}}
<li>{{.En}}</li>
{{- end}}
</ul>
<h2 id="en-rights">6. Your rights</h2>
{{template "rightsEn" .Rights}}
{{- range .RightsNote}}
<p>{{.En}}</p>
{{- end}}
<h2 id="en-minors">7. Minors</h2>
{{- range .Minors}}
<p>{{.En}}</p>
{{- end}}
<p>See the <a href="{{.Links.Children}}">Children's Personal Information Protection Rules</a>.</p>
<h2 id="en-updates">8. Changes to this policy</h2>
{{- range .Updates}}
<p>{{.En}}</p>
{{- end}}
<h2 id="en-contact">9. How to contact us</h2>
<p>For any question, comment or complaint about this policy or your personal information, contact our personal-information protection officer: {{.Operator.NameEn}}, {{.Operator.Contact}}. We answer within {{.AnswerWithinWorkingDays}} working days.</p>
</section>
</body>
</html>
`))

var childrenTmpl = template.Must(template.Must(base.Clone()).New("children").Parse(`{{template "head" .}}<section lang="zh-CN">
{{template "metaZh" .}}
<h2 id="zh-rules">一、监护人同意</h2>
{{- range .Rules}}
<p>{{.Zh}}</p>
{{- end}}
<h2 id="zh-collection">二、我们从儿童处收集的个人信息</h2>
<p>与<a href="{{.Links.Policy}}">隐私政策</a>相同的业务功能，逐项如下；儿童的个人信息均按敏感个人信息标示：</p>
{{- template "functionsZh" .Functions}}
<p>存储地点：{{.StorageLocation}}</p>
<h2 id="zh-rights">三、监护人的权利</h2>
<p>监护人可以代儿童行使下列权利：</p>
{{template "rightsZh" .GuardianRights}}
{{- range .RightsNote}}
<p>{{.Zh}}</p>
{{- end}}
<h2 id="zh-contact">四、如何联系我们</h2>
<p>监护人对儿童个人信息有任何疑问、意见或投诉，请联系我们的个人信息保护负责人：{{.Operator.NameZh}}，{{.Operator.Contact}}。我们将在 {{.AnswerWithinWorkingDays}} 个工作日内答复。</p>
</section>
<section lang="en">
{{template "metaEn" .}}
<h2 id="en-rules">1. A guardian's consent</h2>
{{- range .Rules}}
<p>{{.En}}</p>
{{- end}}
<h2 id="en-collection">2. What we collect from children</h2>
<p>The same business functions as in the <a href="{{.Links.Policy}}">Privacy Policy</a>, one by one; all of a child's personal information is marked sensitive:</p>
{{- template "functionsEn" .Functions}}
<p>Storage location: {{.StorageLocation}}</p>
<h2 id="en-rights">3. A guardian's rights</h2>
<p>A guardian may exercise these rights for the child:</p>
{{template "rightsEn" .GuardianRights}}
{{- range .RightsNote}}
<p>{{.En}}</p>
{{- end}}
<h2 id="en-contact">4. How to contact us</h2>
<p>For any question, comment or complaint about a child's personal information, a guardian may contact our personal-information protection officer: {{.Operator.NameEn}}, {{.Operator.Contact}}. We answer within {{.AnswerWithinWorkingDays}} working days.</p>
</section>
</body>
</html>
`))
