package jobs

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTerms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"快递员", []string{"快递", "递员", "员"}},
		{"急招!店员 Java3号线", []string{"急招", "招", "店员", "员", "java3", "号线", "线"}},
		{"  ", nil},
		{"厨", []string{"厨"}},
	} {
		if got := Terms(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Terms(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ q, fts string }{
		{"快递员", `"快递 递员"`},
		{"厨", `"厨"*`},
		{"Java 快递", `"java" AND "快递"`},
		{`"; DROP`, `"drop"`},
	} {
		if got := parseText(c.q).fts5(); got != c.fts {
			t.Errorf("fts5(%q) = %s, want %s", c.q, got, c.fts)
		}
	}
}

// FuzzTerms: tokenising never panics; every term is non-empty valid text
// with no quote, space or operator character, so the FTS5 expression built
// from a query is always well formed (balanced quotes, terms only); and
// a CJK run of a document, searched for, has its bigrams among the
// document's terms in order.
func FuzzTerms(f *testing.F) {
	for _, s := range []string{"快递员招聘", "Java开发 3号线", "a\"b*c", "ｆｕｌｌ　ｗｉｄｔｈ", "한국어 日本語カタカナ", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, term := range Terms(s) {
			if term == "" || !utf8.ValidString(term) || strings.ContainsAny(term, "\" *()^:+-") {
				t.Fatalf("term %q of %q", term, s)
			}
		}
		expr := parseText(s).fts5()
		if strings.Count(expr, `"`)%2 != 0 {
			t.Fatalf("unbalanced quotes in %s (from %q)", expr, s)
		}
		doc := strings.Join(Terms(s), " ")
		for _, seg := range segments(s) {
			if !seg.cjk {
				continue
			}
			for _, bg := range bigrams(seg.text) {
				if !strings.Contains(" "+doc+" ", " "+bg+" ") {
					t.Fatalf("bigram %q of %q not indexed", bg, s)
				}
			}
		}
	})
}
