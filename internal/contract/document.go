package contract

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"html"
	htmltemplate "html/template"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

// Beijing is the time zone of the documents: Asia/Shanghai, which has been
// UTC+08:00 without daylight saving since 1991.
var Beijing = time.FixedZone("CST", 8*60*60)

const (
	docTimeLayout     = "2006-01-02T15:04:05-07:00" // machine-readable, in the head
	displayTimeLayout = "2006-01-02 15:04:05"       // human-readable, in the header
	generator         = "gigvault-contract/1"
)

// Meta is what Render puts into a document's header besides the body.
// Times are kept to the second (Render truncates them).
type Meta struct {
	ContractID      string
	TemplateID      string // defaults to the template's ID
	TemplateVersion int    // defaults to the template's version
	OrgName         string // the organisation (employer or platform) named in the header
	ValidFrom       time.Time
	ValidUntil      time.Time // inclusive; after ValidFrom
	CreatedAt       time.Time
}

// Document is a rendered contract in canonical form. Build one with Render
// or ParseDocument; the zero Document is empty.
type Document struct {
	meta  Meta
	title string
	html  string
}

// Bytes returns the canonical HTML, the bytes whose digest is signed.
func (d Document) Bytes() []byte { return []byte(d.html) }

// String returns the canonical HTML.
func (d Document) String() string { return d.html }

// Meta returns the document's metadata, times in UTC.
func (d Document) Meta() Meta { return d.meta }

// Title returns the document's title, the template's name.
func (d Document) Title() string { return d.title }

// Digest returns the lower-case hex digest of the canonical HTML with the
// suite's hash: SM3 for "sm" (and for a nil suite), SHA-256 for "aes".
func (d Document) Digest(suite cryptox.Suite) string {
	if suite == nil {
		suite = cryptox.SM{}
	}
	return hex.EncodeToString(cryptox.Digest(suite, []byte(d.html)))
}

func metaError(field, zh, en string) *errs.Error {
	return errs.New(errs.Invalid, field, zh, en).With(ReasonInvalidMeta, nil, "")
}

// Render fills in t with vars and returns the canonical document.
//
// Every variable of t must have a value and every value must belong to a
// variable; otherwise the error is an *errs.Error with code Invalid, the
// variable's name as field and reason ReasonMissingVariable (Missing lists
// them all) or ReasonUnknownVariable. Values are NFC normalised and must be
// plain text of at most MaxValueRunes characters: no control characters
// (no line breaks either) and no invisible formatting characters
// (ReasonInvalidValue). html/template escapes them. Error messages name
// variables, never values.
func Render(t Template, vars map[string]string, meta Meta) (Document, error) {
	if !reID.MatchString(t.ID) {
		return Document{}, metaError("template.id", "合同模板编号格式不正确", "the template ID is not valid")
	}
	if t.Version < 1 {
		return Document{}, metaError("template.version", "合同模板版本须为正整数", "the template version must be positive")
	}
	if t.Name == "" || !checkPlain(t.Name, maxNameRunes) {
		return Document{}, metaError("template.name",
			fmt.Sprintf("合同模板名称须为 1 到 %d 个字符的纯文本", maxNameRunes), fmt.Sprintf("the template name must be plain text of 1 to %d characters", maxNameRunes))
	}
	names, err := ParseTemplate(t.Body)
	if err != nil {
		return Document{}, err
	}
	if meta.TemplateID == "" {
		meta.TemplateID = t.ID
	}
	if meta.TemplateVersion == 0 {
		meta.TemplateVersion = t.Version
	}
	if meta.TemplateID != t.ID || meta.TemplateVersion != t.Version {
		return Document{}, metaError("template", "合同元数据与模板的编号或版本不一致", "the contract metadata names another template ID or version")
	}
	meta, err = normaliseMeta(meta)
	if err != nil {
		return Document{}, err
	}

	var missing []string
	for _, n := range names {
		if _, ok := vars[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return Document{}, errs.New(errs.Invalid, missing[0],
			"合同模板变量缺少取值："+strings.Join(missing, "、"), "no value for template variable "+strings.Join(missing, ", ")).
			With(ReasonMissingVariable, missing, "")
	}
	values := make(map[string]string, len(vars))
	var extra []string
	keys := slices.Sorted(maps.Keys(vars))
	for _, k := range keys {
		v := vars[k]
		if !slices.Contains(names, k) {
			extra = append(extra, k)
			continue
		}
		v = norm.NFC.String(v)
		if !checkPlain(v, MaxValueRunes) {
			return Document{}, errs.New(errs.Invalid, k,
				fmt.Sprintf("变量 %s 的取值须为不超过 %d 个字符的纯文本（不含换行、控制字符或不可见格式字符）", quoteName(k), MaxValueRunes),
				fmt.Sprintf("the value of variable %s must be plain text of at most %d characters (no line breaks, control or invisible formatting characters)", quoteName(k), MaxValueRunes)).
				With(ReasonInvalidValue, nil, "")
		}
		values[k] = v
	}
	if len(extra) > 0 {
		q := make([]string, len(extra))
		for i, e := range extra {
			q[i] = quoteName(e)
		}
		return Document{}, errs.New(errs.Invalid, extra[0],
			"合同模板中没有变量 "+strings.Join(q, "、"), "the template has no variable "+strings.Join(q, ", ")).
			With(ReasonUnknownVariable, nil, "")
	}

	tmpl, err := htmltemplate.New("body").Option("missingkey=error").Parse(norm.NFC.String(t.Body))
	if err != nil {
		return Document{}, errs.Wrap(errs.Invalid, "body", "合同模板语法错误", "the template does not parse", err).
			With(ReasonTemplateSyntax, nil, "")
	}
	var body bytes.Buffer
	if err := tmpl.Execute(&body, values); err != nil {
		return Document{}, errs.Wrap(errs.Internal, "body", "合同渲染失败", "rendering the contract failed", err)
	}
	title := norm.NFC.String(t.Name)
	doc := canonical(header(meta, title) + strings.TrimRight(body.String(), " \t\r\n") + footer)
	return Document{meta: meta, title: title, html: doc}, nil
}

// quoteName prints a variable name for a message; names outside the
// allowed syntax (keys of the caller's map) are shown escaped.
func quoteName(n string) string {
	if reVarName.MatchString(n) {
		return n
	}
	q := strconv.QuoteToASCII(n)
	if len(q) > 80 {
		q = q[:80] + "…"
	}
	return q
}

// normaliseMeta validates m and returns it with NFC text and times in UTC,
// truncated to the second.
func normaliseMeta(m Meta) (Meta, error) {
	if !reID.MatchString(m.ContractID) {
		return m, metaError("contract_id", "合同编号格式不正确", "the contract ID is not valid")
	}
	if !reID.MatchString(m.TemplateID) || m.TemplateVersion < 1 {
		return m, metaError("template", "合同模板编号或版本不正确", "the template ID or version is not valid")
	}
	m.OrgName = norm.NFC.String(m.OrgName)
	if m.OrgName == "" || !checkPlain(m.OrgName, maxNameRunes) {
		return m, metaError("org_name",
			fmt.Sprintf("单位名称须为 1 到 %d 个字符的纯文本", maxNameRunes), fmt.Sprintf("the organisation name must be plain text of 1 to %d characters", maxNameRunes))
	}
	for _, t := range []struct {
		name string
		t    *time.Time
	}{{"valid_from", &m.ValidFrom}, {"valid_until", &m.ValidUntil}, {"created_at", &m.CreatedAt}} {
		*t.t = t.t.UTC().Truncate(time.Second)
		if y := t.t.Year(); y < 2000 || y > 9998 {
			return m, metaError(t.name, "合同时间须在 2000 年到 9998 年之间", "contract times must fall between the years 2000 and 9998")
		}
	}
	if !m.ValidUntil.After(m.ValidFrom) {
		return m, metaError("valid_until", "合同有效期的结束时间须晚于开始时间", "the end of the validity window must be after its start")
	}
	return m, nil
}

const footer = "\n</main>\n</body>\n</html>\n"

// header returns the fixed part of a document before the body.
func header(m Meta, title string) string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n")
	metaTag := func(name, content string) {
		fmt.Fprintf(&b, "<meta name=\"%s\" content=\"%s\">\n", name, e(content))
	}
	metaTag("generator", generator)
	metaTag("gigvault-contract-id", m.ContractID)
	metaTag("gigvault-template-id", m.TemplateID)
	metaTag("gigvault-template-version", strconv.Itoa(m.TemplateVersion))
	metaTag("gigvault-org-name", m.OrgName)
	metaTag("gigvault-valid-from", m.ValidFrom.In(Beijing).Format(docTimeLayout))
	metaTag("gigvault-valid-until", m.ValidUntil.In(Beijing).Format(docTimeLayout))
	metaTag("gigvault-created-at", m.CreatedAt.In(Beijing).Format(docTimeLayout))
	fmt.Fprintf(&b, "<title>%s · %s</title>\n</head>\n<body>\n<header>\n<h1>%s</h1>\n", e(title), e(m.ContractID), e(title))
	fmt.Fprintf(&b, "<p>合同编号 / Contract ID：%s</p>\n", e(m.ContractID))
	fmt.Fprintf(&b, "<p>单位 / Organisation：%s</p>\n", e(m.OrgName))
	fmt.Fprintf(&b, "<p>合同模板 / Template：%s（第 %d 版 / version %d）</p>\n", e(m.TemplateID), m.TemplateVersion, m.TemplateVersion)
	fmt.Fprintf(&b, "<p>有效期 / Valid：%s 至 / to %s（北京时间 / Asia/Shanghai, UTC+08:00）</p>\n",
		m.ValidFrom.In(Beijing).Format(displayTimeLayout), m.ValidUntil.In(Beijing).Format(displayTimeLayout))
	fmt.Fprintf(&b, "<p>生成时间 / Created：%s</p>\n</header>\n<main>\n", m.CreatedAt.In(Beijing).Format(displayTimeLayout))
	return b.String()
}

// canonical returns s NFC normalised, with LF line endings, no trailing
// spaces or tabs on any line, and exactly one final newline.
func canonical(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = norm.NFC.String(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
}

var reMetaLine = regexp.MustCompile(`^<meta name="([a-z-]+)" content="([^"<>]*)">$`)

func documentError(zh, en string) *errs.Error {
	return errs.New(errs.Invalid, "document", zh, en).With(ReasonInvalidDocument, nil, "")
}

// ParseDocument parses the canonical HTML of a contract document, as in a
// File. It accepts exactly what Render produces: the canonical form, the
// fixed head and header — which must agree with the machine-readable
// metadata in the head — and a body with the markup ParseTemplate allows.
func ParseDocument(doc string) (Document, error) {
	if len(doc) > MaxFileSize {
		return Document{}, documentError("合同文档过大", "the contract document is too large")
	}
	if !utf8.ValidString(doc) || canonical(doc) != doc {
		return Document{}, documentError("合同文档不是规范形式（UTF-8、NFC、LF 换行、行尾无空白）",
			"the contract document is not in canonical form (UTF-8, NFC, LF line endings, no trailing white space)")
	}
	const prefix = "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
	if !strings.HasPrefix(doc, prefix) || !strings.HasSuffix(doc, footer) {
		return Document{}, documentError("合同文档的结构不正确", "the contract document does not have the expected structure")
	}
	fields := map[string]string{}
	var title string
	for _, line := range strings.Split(doc[len(prefix):], "\n") {
		if strings.HasPrefix(line, "<title>") {
			break
		}
		m := reMetaLine.FindStringSubmatch(line)
		if m == nil {
			return Document{}, documentError("合同文档的元数据不正确", "the contract document's metadata is malformed")
		}
		if _, dup := fields[m[1]]; dup {
			return Document{}, documentError("合同文档的元数据重复", "the contract document repeats metadata")
		}
		fields[m[1]] = html.UnescapeString(m[2])
	}
	var meta Meta
	var err error
	meta.ContractID = fields["gigvault-contract-id"]
	meta.TemplateID = fields["gigvault-template-id"]
	meta.OrgName = fields["gigvault-org-name"]
	if meta.TemplateVersion, err = strconv.Atoi(fields["gigvault-template-version"]); err != nil {
		return Document{}, documentError("合同文档的模板版本不正确", "the contract document's template version is malformed")
	}
	for name, t := range map[string]*time.Time{
		"gigvault-valid-from": &meta.ValidFrom, "gigvault-valid-until": &meta.ValidUntil, "gigvault-created-at": &meta.CreatedAt,
	} {
		if *t, err = time.Parse(docTimeLayout, fields[name]); err != nil {
			return Document{}, documentError("合同文档的时间不正确", "the contract document's times are malformed")
		}
	}
	if meta, err = normaliseMeta(meta); err != nil {
		return Document{}, documentError("合同文档的元数据不正确", "the contract document's metadata is not valid")
	}
	// The title is the text between "<title>" and " · <contract ID></title>".
	if i := strings.Index(doc, "<title>"); i >= 0 {
		if j := strings.Index(doc[i:], " · "+html.EscapeString(meta.ContractID)+"</title>\n"); j >= 0 {
			title = html.UnescapeString(doc[i+len("<title>") : i+j])
		}
	}
	if title == "" || !checkPlain(title, maxNameRunes) {
		return Document{}, documentError("合同文档的标题不正确", "the contract document's title is malformed")
	}
	// Everything before the body must be exactly what Render writes for
	// this metadata: the visible header cannot disagree with the head.
	head := header(meta, title)
	if !strings.HasPrefix(doc, head) || len(doc) < len(head)+len(footer) {
		return Document{}, documentError("合同文档的页眉与元数据不一致", "the contract document's header disagrees with its metadata")
	}
	body := doc[len(head) : len(doc)-len(footer)]
	if err := checkMarkup(body); err != nil {
		return Document{}, documentError("合同文档正文含有不允许的内容", "the contract document's body has markup that is not allowed")
	}
	return Document{meta: meta, title: title, html: doc}, nil
}
