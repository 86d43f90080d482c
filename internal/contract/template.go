// Package contract renders, signs and verifies gigvault's electronic
// contracts (GIG-6): legally effective, real-name, time-limited and
// tamper-evident, with signatures that cannot be moved onto another
// document.
//
// A contract starts from a Template, an HTML fragment with simple
// {{.name}} variables. ParseTemplate accepts nothing else: no pipelines,
// functions, conditionals, loops or nested templates, and only a small set
// of attribute-free HTML tags (no scripts, styles or links), so what a
// person sees when the document is displayed is what they sign. Render
// fills in the variables with html/template (values are escaped and must be
// plain text) and wraps the result in a fixed header that states the
// contract ID, the template, the organisation and the validity window in
// Beijing time (Asia/Shanghai, UTC+08:00; China has no daylight saving, so
// a fixed offset is exact).
//
// The canonical form of a Document is that full UTF-8 HTML document, NFC
// normalised, with LF line endings and no trailing white space on any line.
// Its digest (Document.Digest: SM3 for the "sm" suite, SHA-256 for "aes")
// is what the parties sign: a signature covers the canonical bytes of a
// SignedPayload — contract ID, document digest, party, signer, key ID and
// signing time — under a domain string, so it cannot be moved onto another
// document, contract, signer or party. Real-name verification of a signer
// happens before signing, elsewhere: here a signer is an ID.
//
// The downloadable file is a File, JSON in one canonical encoding
// (File.Marshal), holding the document, its digest, the validity window and
// every signature with its public key. VerifyFile checks a file on its own,
// and against a registry of trusted keys when one is given.
//
// RenderPDF lays the document out as a PDF for people to read and print.
// The PDF is only a rendering: the canonical HTML is what is signed and what
// VerifyFile checks.
package contract

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode"
	"unicode/utf8"

	"gigvault/internal/errs"
)

// Limits of templates and values.
const (
	MaxTemplateSize = 64 << 10 // bytes of a template body
	MaxVariables    = 100      // distinct variables of a template
	MaxValueRunes   = 500      // characters of a variable value
	maxNameRunes    = 200      // characters of a template or organisation name
)

// Stable reason codes carried by the *errs.Error values of this package.
const (
	ReasonTemplateSyntax   = "template_syntax"    // the body does not parse
	ReasonTemplateAction   = "template_action"    // an action other than {{.name}}
	ReasonTemplateMarkup   = "template_markup"    // HTML outside the allowed subset
	ReasonMissingVariable  = "missing_variable"   // a template variable has no value
	ReasonUnknownVariable  = "unknown_variable"   // a value for no template variable
	ReasonInvalidValue     = "invalid_value"      // a value is not plain text
	ReasonInvalidMeta      = "invalid_meta"       // contract metadata is out of range
	ReasonInvalidDocument  = "invalid_document"   // not a canonical contract document
	ReasonInvalidSignature = "invalid_signature"  // a signature or payload is malformed
	ReasonFileTooLarge     = "file_too_large"     // a contract file over MaxFileSize
	ReasonFileMalformed    = "file_malformed"     // a contract file that does not parse
	ReasonFileNotCanonical = "file_not_canonical" // a contract file not byte-for-byte as Marshal writes it
)

// Template is a contract template. Body is an HTML fragment with
// {{.name}} variables; see ParseTemplate.
type Template struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Version int    `json:"version"`
	Body    string `json:"body"`
}

var (
	reVarName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	reID      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// allowedTags are the HTML elements a template may use, all without
// attributes. None of them changes how html/template escapes its content,
// so every variable is in plain HTML text context.
var allowedTags = map[string]bool{
	"p": true, "br": true, "hr": true, "div": true, "span": true, "section": true, "article": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"ul": true, "ol": true, "li": true, "dl": true, "dt": true, "dd": true,
	"table": true, "caption": true, "thead": true, "tbody": true, "tfoot": true, "tr": true, "th": true, "td": true,
	"strong": true, "em": true, "b": true, "i": true, "u": true, "s": true, "sub": true, "sup": true, "small": true,
	"blockquote": true,
}

var voidTags = map[string]bool{"br": true, "hr": true}

// allowedEntities are the named character references a template may use.
var allowedEntities = map[string]bool{
	"amp": true, "lt": true, "gt": true, "quot": true, "apos": true, "nbsp": true,
	"ldquo": true, "rdquo": true, "lsquo": true, "rsquo": true, "mdash": true, "ndash": true,
	"hellip": true, "middot": true, "times": true, "yen": true,
}

func templateError(reason, zh, en string) *errs.Error {
	return errs.New(errs.Invalid, "body", zh, en).With(reason, nil, "")
}

// ParseTemplate checks a template body and returns its variables in order
// of first use. It accepts only:
//
//   - actions that are a single variable reference {{.name}} (with optional
//     trim markers), name matching [A-Za-z][A-Za-z0-9_]{0,63} — no
//     pipelines, function calls, range, if, with, define, block, template
//     or comments;
//   - text with the attribute-free HTML tags p, br, hr, div, span,
//     section, article, h1–h6, ul, ol, li, dl, dt, dd, table, caption,
//     thead, tbody, tfoot, tr, th, td, strong, em, b, i, u, s, sub, sup,
//     small and blockquote, in lower case, never split by an action;
//   - the character references &amp; &lt; &gt; &quot; &apos; &nbsp;
//     &ldquo; &rdquo; &lsquo; &rsquo; &mdash; &ndash; &hellip; &middot;
//     &times; &yen; and numeric ones of characters a value may hold;
//   - valid UTF-8 without control characters other than tab and newline,
//     and without invisible formatting characters such as bidirectional
//     overrides.
//
// Errors are *errs.Error with code Invalid, field "body" and a reason
// ReasonTemplateSyntax, ReasonTemplateAction or ReasonTemplateMarkup.
func ParseTemplate(body string) (vars []string, err error) {
	if len(body) > MaxTemplateSize {
		return nil, templateError(ReasonTemplateSyntax,
			fmt.Sprintf("合同模板超过 %d 字节", MaxTemplateSize), fmt.Sprintf("the template is larger than %d bytes", MaxTemplateSize))
	}
	if !utf8.ValidString(body) {
		return nil, templateError(ReasonTemplateSyntax, "合同模板不是有效的 UTF-8 文本", "the template is not valid UTF-8")
	}
	t := parse.New("body")
	t.Mode = parse.SkipFuncCheck | parse.ParseComments
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(body, "{{", "}}", trees); err != nil {
		return nil, errs.Wrap(errs.Invalid, "body", "合同模板语法错误", "the template does not parse", err).
			With(ReasonTemplateSyntax, nil, "")
	}
	for name := range trees {
		if name != "body" {
			return nil, templateError(ReasonTemplateAction,
				"合同模板不能定义子模板（define/block）", "the template must not define templates (define/block)")
		}
	}
	if t.Root == nil {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, n := range t.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if err := checkMarkup(string(n.Text)); err != nil {
				return nil, err
			}
		case *parse.ActionNode:
			name, ok := simpleVariable(n)
			if !ok {
				return nil, actionError(n)
			}
			if !seen[name] {
				if len(vars) == MaxVariables {
					return nil, templateError(ReasonTemplateAction,
						fmt.Sprintf("合同模板变量超过 %d 个", MaxVariables), fmt.Sprintf("the template has more than %d variables", MaxVariables))
				}
				seen[name] = true
				vars = append(vars, name)
			}
		default:
			return nil, actionError(n)
		}
	}
	return vars, nil
}

// simpleVariable reports whether n is {{.name}} and returns name.
func simpleVariable(n *parse.ActionNode) (string, bool) {
	p := n.Pipe
	if p == nil || p.IsAssign || len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 || !reVarName.MatchString(f.Ident[0]) {
		return "", false
	}
	return f.Ident[0], true
}

func actionError(n parse.Node) *errs.Error {
	src := n.String()
	if utf8.RuneCountInString(src) > 60 {
		src = string([]rune(src)[:60]) + "…"
	}
	return templateError(ReasonTemplateAction,
		"合同模板只允许 {{.变量名}} 形式的变量，不允许："+src,
		"the template allows only variables of the form {{.name}}, not: "+src)
}

func markupError(zh, en string) *errs.Error {
	return templateError(ReasonTemplateMarkup, zh, en)
}

// checkMarkup checks one text node of a template, or the body of a
// rendered document: text, allowed tags and character references only.
func checkMarkup(s string) error {
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return markupError("合同模板中有未闭合的标签，或变量位于标签内", "the template has an unterminated tag, or a variable inside a tag")
			}
			if !allowedTag(s[i+1 : i+end]) {
				return markupError("合同模板只允许不带属性的基本排版标签："+quoteTag(s[i:i+end+1]),
					"the template allows only basic formatting tags without attributes, not: "+quoteTag(s[i:i+end+1]))
			}
			i += end + 1
		case '&':
			n, ok := charRef(s[i:])
			if !ok {
				return markupError("合同模板中的 & 须写作 &amp;", "write & as &amp; in the template")
			}
			i += n
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != '\n' && r != '\t' && r != '\r' && !plainRune(r) {
				return markupError("合同模板含有控制字符或不可见的格式字符 "+fmt.Sprintf("U+%04X", r),
					"the template contains a control or invisible formatting character "+fmt.Sprintf("U+%04X", r))
			}
			i += size
		}
	}
	return nil
}

func quoteTag(t string) string {
	if utf8.RuneCountInString(t) > 40 {
		t = string([]rune(t)[:40]) + "…"
	}
	return strings.Map(func(r rune) rune {
		if plainRune(r) {
			return r
		}
		return '?'
	}, t)
}

// allowedTag reports whether t, the text between < and >, is an allowed
// start tag, end tag or void tag without attributes.
func allowedTag(t string) bool {
	end := strings.HasPrefix(t, "/")
	if end {
		t = t[1:]
	}
	name := t
	if i := strings.IndexAny(t, " /"); i >= 0 {
		name, t = t[:i], t[i:]
		// Only "<br/>" and "<br />" style endings of void tags.
		if end || !voidTags[name] || (t != "/" && t != " /") {
			return false
		}
	}
	return allowedTags[name]
}

// charRef returns the length of the character reference at the start of s.
func charRef(s string) (int, bool) {
	semi := strings.IndexByte(s, ';')
	if semi < 2 || semi > 12 {
		return 0, false
	}
	ref := s[1:semi]
	if ref[0] != '#' {
		return semi + 1, allowedEntities[ref]
	}
	var n uint64
	var err error
	switch {
	case len(ref) > 2 && (ref[1] == 'x' || ref[1] == 'X'):
		n, err = strconv.ParseUint(ref[2:], 16, 32)
	case len(ref) > 1 && ref[1] >= '0' && ref[1] <= '9':
		n, err = strconv.ParseUint(ref[1:], 10, 32)
	default:
		return 0, false
	}
	if err != nil || n > unicode.MaxRune || !plainRune(rune(n)) {
		return 0, false
	}
	return semi + 1, true
}

// plainRune reports whether r may appear in plain text: not a control
// character, not an invisible formatting character (bidirectional
// overrides and the like; the zero-width joiners some scripts need are
// allowed), not private use, not a surrogate or noncharacter.
func plainRune(r rune) bool {
	switch {
	case r == utf8.RuneError, r == 0x200C, r == 0x200D:
		return r != utf8.RuneError
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return false
	case r >= 0xFDD0 && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return false
	}
	return true
}

// checkPlain checks a value: plain text of at most limit characters.
func checkPlain(s string, limit int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > limit {
		return false
	}
	for _, r := range s {
		if !plainRune(r) {
			return false
		}
	}
	return true
}
