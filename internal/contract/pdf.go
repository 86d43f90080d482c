package contract

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"
	"github.com/signintech/gopdf/fontmaker/core"

	"gigvault/internal/errs"
)

// PDF layout, in points on A4 (595 × 842).
const (
	pdfMargin     = 56.0
	pdfFooterY    = 842.0 - 36.0
	pdfBodySize   = 11.0
	pdfFooterSize = 8.0
	pdfLineFactor = 1.6
	pdfParaSpace  = 6.0
)

// paragraph is a block of plain text and its font size.
type paragraph struct {
	text string
	size float64
}

// RenderPDF lays out the plain text of doc — its visible header and body,
// tags stripped, one paragraph per block element — as an A4 PDF with the
// TrueType font at fontPath embedded (a subset), e.g. Debian's
// /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf for Chinese.
// Each page's footer names the contract ID and says that the signed HTML
// prevails.
//
// A character the font lacks is taken from the first fallback font that
// has it. Give one with Latin letters and digits when the main font has
// none: DroidSansFallbackFull covers CJK only, so pair it with, e.g.,
// /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf. Characters no font has
// are printed as "?".
//
// The PDF is a rendering for people, not the contract: signatures cover
// the canonical HTML, and the PDF carries none. Lines break between any
// two CJK characters and at spaces between other words; Chinese line-start
// rules (避头尾) are not applied.
func RenderPDF(doc Document, fontPath string, fallbackFonts ...string) ([]byte, error) {
	if doc.html == "" {
		return nil, documentError("合同文档为空", "the contract document is empty")
	}
	meta := doc.Meta()
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4})
	pdf.SetInfo(gopdf.PdfInfo{
		Title:        bmpOnly(doc.Title() + " · " + meta.ContractID),
		Subject:      "电子合同 / Electronic contract " + meta.ContractID,
		Creator:      generator,
		CreationDate: meta.CreatedAt.In(Beijing),
	})
	l := &layout{pdf: pdf, contractID: meta.ContractID, widths: map[widthKey]float64{}, fontOf: map[rune]int{}}
	for i, path := range append([]string{fontPath}, fallbackFonts...) {
		if err := l.addFont(path, i); err != nil {
			return nil, err
		}
	}
	if err := l.newPage(); err != nil {
		return nil, l.fail(err)
	}
	for _, p := range paragraphs(doc.html) {
		if err := l.paragraph(p); err != nil {
			return nil, l.fail(err)
		}
	}
	b, err := pdf.GetBytesPdfReturnErr()
	if err != nil {
		return nil, l.fail(err)
	}
	return b, nil
}

// pdfFont is an embedded font and the characters it has.
type pdfFont struct {
	family string
	chars  map[int]uint
	groups []core.CmapFormat12GroupingTable
}

func (f pdfFont) has(r rune) bool {
	if g, ok := f.chars[int(r)]; ok && g != 0 {
		return true
	}
	for _, g := range f.groups {
		if uint(r) >= g.StartCharCode && uint(r) <= g.EndCharCode {
			return true
		}
	}
	return false
}

func (l *layout) addFont(path string, i int) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return errs.Wrap(errs.Unavailable, "", "PDF 字体不可用", "the PDF font is not available", err)
	}
	var p core.TTFParser
	if err := p.ParseFontData(data); err != nil {
		return errs.Wrap(errs.Unavailable, "", "PDF 字体无法加载", "the PDF font cannot be loaded", err)
	}
	f := pdfFont{family: fontFamily(path), chars: p.Chars(), groups: p.GroupingTables()}
	for _, g := range l.fonts {
		if g.family == f.family {
			f.family += "-" + strconv.Itoa(i)
		}
	}
	if err := l.pdf.AddTTFFontDataWithOption(f.family, data, gopdf.TtfOption{
		OnGlyphNotFoundSubstitute: func(rune) rune { return '?' },
	}); err != nil {
		return errs.Wrap(errs.Unavailable, "", "PDF 字体无法加载", "the PDF font cannot be loaded", err)
	}
	l.fonts = append(l.fonts, f)
	return nil
}

// fontFamily names the embedded font after its file: letters, digits and
// hyphens of the base name.
func fontFamily(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	f := strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
			return r
		}
		return -1
	}, base)
	if f == "" {
		return "ContractFont"
	}
	return f
}

// bmpOnly replaces characters outside the Basic Multilingual Plane, which
// gopdf cannot write into the document information dictionary.
func bmpOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFFFF {
			return '?'
		}
		return r
	}, s)
}

type widthKey struct {
	r    rune
	size float64
}

type layout struct {
	pdf        *gopdf.GoPdf
	fonts      []pdfFont
	fontOf     map[rune]int // which font prints a character
	contractID string
	font       int     // the current font
	size       float64 // the current size
	y          float64
	page       int
	widths     map[widthKey]float64
}

func (l *layout) fail(err error) error {
	return errs.Wrap(errs.Internal, "", "PDF 生成失败", "rendering the PDF failed", err)
}

func (l *layout) setSize(size float64) error {
	l.size = size
	return l.setFont(0)
}

func (l *layout) setFont(i int) error {
	l.font = i
	return l.pdf.SetFont(l.fonts[i].family, "", l.size)
}

// fontFor returns the first font that has r, else the first that has "?".
func (l *layout) fontFor(r rune) int {
	if i, ok := l.fontOf[r]; ok {
		return i
	}
	i := slices.IndexFunc(l.fonts, func(f pdfFont) bool { return f.has(r) })
	if i < 0 {
		i = max(0, slices.IndexFunc(l.fonts, func(f pdfFont) bool { return f.has('?') }))
	}
	l.fontOf[r] = i
	return i
}

// text writes s at (x, y), switching fonts as its characters need.
func (l *layout) text(x, y float64, s string) error {
	rs := []rune(s)
	for start := 0; start < len(rs); {
		f := l.fontFor(rs[start])
		end := start + 1
		for end < len(rs) && l.fontFor(rs[end]) == f {
			end++
		}
		run := string(rs[start:end])
		if err := l.setFont(f); err != nil {
			return err
		}
		l.pdf.SetXY(x, y)
		if err := l.pdf.Cell(nil, run); err != nil {
			return err
		}
		for _, r := range rs[start:end] {
			w, err := l.width(r)
			if err != nil {
				return err
			}
			x += w
		}
		start = end
	}
	return nil
}

func (l *layout) newPage() error {
	l.pdf.AddPage()
	l.page++
	if err := l.setSize(pdfFooterSize); err != nil {
		return err
	}
	footer := fmt.Sprintf("%s · 第 %d 页 / page %d · 以签署的 HTML 文本为准 / the signed HTML text prevails", l.contractID, l.page, l.page)
	if err := l.text(pdfMargin, pdfFooterY, footer); err != nil {
		return err
	}
	l.y = pdfMargin
	return nil
}

func (l *layout) width(r rune) (float64, error) {
	k := widthKey{r, l.size}
	if w, ok := l.widths[k]; ok {
		return w, nil
	}
	if f := l.fontFor(r); f != l.font {
		if err := l.setFont(f); err != nil {
			return 0, err
		}
	}
	w, err := l.pdf.MeasureTextWidth(string(r))
	if err != nil {
		return 0, err
	}
	l.widths[k] = w
	return w, nil
}

func (l *layout) paragraph(p paragraph) error {
	if err := l.setSize(p.size); err != nil {
		return err
	}
	lines, err := l.wrap(p.text, 595.0-2*pdfMargin)
	if err != nil {
		return err
	}
	lh := p.size * pdfLineFactor
	for _, line := range lines {
		if l.y+lh > pdfFooterY-pdfParaSpace {
			if err := l.newPage(); err != nil {
				return err
			}
			if err := l.setSize(p.size); err != nil {
				return err
			}
		}
		if err := l.text(pdfMargin, l.y, line); err != nil {
			return err
		}
		l.y += lh
	}
	l.y += pdfParaSpace
	return nil
}

// wrap breaks text into lines at most width wide: between any two CJK
// characters, and at the last space before a word that would overflow.
func (l *layout) wrap(text string, width float64) ([]string, error) {
	var lines []string
	var line []rune
	w := 0.0
	for _, r := range text {
		rw, err := l.width(r)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 && r == ' ' {
			continue
		}
		if w+rw > width && len(line) > 0 {
			carry := []rune(nil)
			if r != ' ' && !breakable(r) && !breakable(line[len(line)-1]) {
				// Mid-word: move the word to the next line if there is an
				// earlier space to break at.
				if i := lastIndex(line, ' '); i > 0 {
					carry = append(carry, line[i+1:]...)
					line = line[:i]
				}
			}
			lines = append(lines, strings.TrimRight(string(line), " "))
			line = carry
			w = 0
			for _, c := range carry {
				cw, err := l.width(c)
				if err != nil {
					return nil, err
				}
				w += cw
			}
			if r == ' ' {
				continue
			}
		}
		line = append(line, r)
		w += rw
	}
	if len(line) > 0 || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(string(line), " "))
	}
	return lines, nil
}

// breakable reports whether a line may break before or after r without
// a space: CJK characters and punctuation.
func breakable(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}

func lastIndex(rs []rune, r rune) int {
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == r {
			return i
		}
	}
	return -1
}

// blockTags end the current paragraph; headingSize gives the font size of
// headings.
var (
	blockTags = map[string]bool{
		"header": true, "main": true, "p": true, "br": true, "hr": true, "div": true, "section": true, "article": true,
		"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
		"ul": true, "ol": true, "li": true, "dl": true, "dt": true, "dd": true,
		"table": true, "caption": true, "thead": true, "tbody": true, "tfoot": true, "tr": true, "blockquote": true,
	}
	headingSize = map[string]float64{"h1": 16, "h2": 14, "h3": 12, "h4": 12, "h5": 12, "h6": 12}
)

// paragraphs returns the plain text of a canonical document's body, one
// paragraph per block element, white space collapsed as HTML does.
func paragraphs(doc string) []paragraph {
	if i := strings.Index(doc, "<body>"); i >= 0 {
		doc = doc[i+len("<body>"):]
	}
	if i := strings.LastIndex(doc, "</body>"); i >= 0 {
		doc = doc[:i]
	}
	var out []paragraph
	var cur strings.Builder
	size := pdfBodySize
	flush := func() {
		t := strings.Join(strings.FieldsFunc(html.UnescapeString(cur.String()), func(r rune) bool {
			return r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r'
		}), " ")
		if t != "" {
			out = append(out, paragraph{t, size})
		}
		cur.Reset()
		size = pdfBodySize
	}
	for len(doc) > 0 {
		i := strings.IndexByte(doc, '<')
		if i < 0 {
			cur.WriteString(doc)
			break
		}
		cur.WriteString(doc[:i])
		j := strings.IndexByte(doc[i:], '>')
		if j < 0 {
			break
		}
		tag := doc[i+1 : i+j]
		doc = doc[i+j+1:]
		closing := strings.HasPrefix(tag, "/")
		name := strings.TrimRight(strings.TrimPrefix(tag, "/"), " /")
		switch {
		case blockTags[name]:
			flush()
			if !closing {
				if s, ok := headingSize[name]; ok {
					size = s
				}
				if name == "li" {
					cur.WriteString("• ")
				}
			}
		case (name == "td" || name == "th") && !closing && strings.TrimSpace(cur.String()) != "":
			cur.WriteString(" | ")
		}
	}
	flush()
	return out
}
