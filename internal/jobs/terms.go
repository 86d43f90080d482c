package jobs

import (
	"slices"
	"strings"
	"unicode"
)

// Full-text search (GIG-3) indexes job text as terms that serve both
// engines:
//
//   - a run of CJK characters (Han, kana, hangul) gives its overlapping
//     character bigrams and, last, its final character alone: 快递员 gives
//     快递, 递员, 员. A query run of two or more characters is the phrase
//     of its bigrams — adjacent, so it matches exactly that substring — and
//     a single character is the prefix of a term, which every character of
//     a run starts (the last one through its unigram);
//   - any other run of letters and digits is one word, lower-cased.
//
// Separators (spaces, punctuation) end a run, so no term spans two runs.
// Why bigrams rather than the trigram tokenizer of SQLite's FTS5 or
// PostgreSQL's pg_trgm: most Chinese search words are two characters
// (快递, 家教, 促销), and a trigram index cannot answer a two-character
// query — FTS5's trigram MATCH returns nothing for it, and pg_trgm falls
// back to a scan (docs/architecture.md, note 22).

// segment is a run of the text: a CJK run or a word.
type segment struct {
	text string
	cjk  bool
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// segments splits s into CJK runs and words, lower-cased.
func segments(s string) []segment {
	var out []segment
	var b strings.Builder
	cur := 0 // 0: none, 1: word, 2: cjk
	flush := func() {
		if b.Len() > 0 {
			out = append(out, segment{text: b.String(), cjk: cur == 2})
			b.Reset()
		}
		cur = 0
	}
	for _, r := range s {
		kind := 0
		switch {
		case isCJK(r):
			kind = 2
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			kind = 1
		}
		if kind != cur {
			flush()
		}
		if kind != 0 {
			cur = kind
			b.WriteRune(unicode.ToLower(r))
		}
	}
	flush()
	return out
}

// bigrams returns a CJK run's overlapping bigrams.
func bigrams(run string) []string {
	rs := []rune(run)
	out := make([]string, 0, len(rs))
	for i := 0; i+1 < len(rs); i++ {
		out = append(out, string(rs[i:i+2]))
	}
	return out
}

// Terms returns the index terms of texts, in order, with repeats: the
// document as the SQLite index sees it. Distinct terms are what the
// PostgreSQL index keeps.
func Terms(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, seg := range segments(t) {
			if !seg.cjk {
				out = append(out, seg.text)
				continue
			}
			out = append(out, bigrams(seg.text)...)
			rs := []rune(seg.text)
			out = append(out, string(rs[len(rs)-1]))
		}
	}
	return out
}

// distinct returns the sorted distinct terms.
func distinct(terms []string) []string {
	out := slices.Clone(terms)
	slices.Sort(out)
	return slices.Compact(out)
}

// textQuery is a search text taken apart for the indexes: every part must
// match.
type textQuery struct {
	phrases [][]string // each the adjacent terms one part needs (a word: one term)
	singles []string   // single CJK characters: a prefix of some term
	long    []string   // CJK runs of three or more characters, to recheck as substrings where the index does not keep order
}

func parseText(q string) textQuery {
	var tq textQuery
	for _, seg := range segments(q) {
		switch {
		case !seg.cjk:
			tq.phrases = append(tq.phrases, []string{seg.text})
		case len([]rune(seg.text)) == 1:
			tq.singles = append(tq.singles, seg.text)
		default:
			tq.phrases = append(tq.phrases, bigrams(seg.text))
			if len([]rune(seg.text)) > 2 {
				tq.long = append(tq.long, seg.text)
			}
		}
	}
	return tq
}

func (tq textQuery) empty() bool { return len(tq.phrases) == 0 && len(tq.singles) == 0 }

// fts5 is the FTS5 MATCH expression of tq: each phrase quoted (terms hold
// no quotes: they are letters and digits), singles as prefixes, ANDed.
func (tq textQuery) fts5() string {
	var parts []string
	for _, p := range tq.phrases {
		parts = append(parts, `"`+strings.Join(p, " ")+`"`)
	}
	for _, s := range tq.singles {
		parts = append(parts, `"`+s+`"*`)
	}
	return strings.Join(parts, " AND ")
}

// arrayTerms are the distinct terms every match holds, for PostgreSQL's
// array containment.
func (tq textQuery) arrayTerms() []string {
	var all []string
	for _, p := range tq.phrases {
		all = append(all, p...)
	}
	return distinct(all)
}
