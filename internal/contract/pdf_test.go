package contract

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/errs"
)

// testFont is Debian's fonts-droid-fallback, a TrueType font with CJK
// only; latinFont (fonts-dejavu-core) supplies Latin letters and digits
// when it is installed.
const (
	testFont  = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
	latinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
)

func TestRenderPDF(t *testing.T) {
	if _, err := os.Stat(testFont); err != nil {
		t.Skipf("font not installed (apt-get install fonts-droid-fallback): %v", err)
	}
	d := mustRender(t)
	b, err := RenderPDF(d, testFont)
	if err != nil {
		t.Fatal(err)
	}
	checkPDF(t, b, "DroidSansFallbackFull")
	if _, err := os.Stat(latinFont); err == nil {
		b, err := RenderPDF(d, testFont, latinFont)
		if err != nil {
			t.Fatal(err)
		}
		checkPDF(t, b, "DroidSansFallbackFull", "DejaVuSans")
	}
	// A long document flows onto more pages.
	tpl := exampleTemplate()
	tpl.Body = strings.Repeat("<p>第三条 双方应当遵守法律法规，诚实守信。The parties shall comply with laws and regulations in good faith. {{.fee}}</p>\n", 200)
	long, err := Render(tpl, map[string]string{"fee": "8.50"}, exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	lb, err := RenderPDF(long, testFont)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(lb, []byte("/Type /Page\n")); n < 2 {
		t.Fatalf("%d pages", n)
	}

	_, err = RenderPDF(d, "/nonexistent/font.ttf")
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("missing font: %v", err)
	}
	_, err = RenderPDF(Document{}, testFont)
	if !errs.Is(err, errs.Invalid) {
		t.Fatalf("empty document: %v", err)
	}
}

func checkPDF(t *testing.T, b []byte, fonts ...string) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", b[:min(len(b), 16)])
	}
	for _, want := range append([]string{"/FontFile2", "%%EOF"}, fonts...) {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("PDF lacks %q", want)
		}
	}
}

func TestParagraphs(t *testing.T) {
	d := mustRender(t)
	var texts []string
	for _, p := range paragraphs(d.String()) {
		texts = append(texts, p.text)
	}
	for _, want := range []string{
		"灵活用工服务协议",
		"合同编号 / Contract ID：CT-2026-000042",
		"第一条 服务内容",
		"• 乙方可自主决定接单时间。",
		"项目 | 金额",
		"基础报酬 | 8.50 元/单",
		"Both parties agree to the terms above — 双方同意以上条款。",
		"乙方签名：张三",
	} {
		if !slices.Contains(texts, want) {
			t.Errorf("no paragraph %q in %q", want, texts)
		}
	}
	if ps := paragraphs(d.String()); ps[0].size != 16 || ps[1].size != pdfBodySize {
		t.Fatalf("sizes %v", ps[:2])
	}
}
