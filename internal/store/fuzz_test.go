package store

import (
	"strings"
	"testing"
)

// FuzzRebind: PostgreSQL placeholders are numbered 1..n in order, one per '?'
// outside string literals, and nothing else changes; SQLite text is untouched.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{"SELECT ?", "INSERT INTO t VALUES (?, ?, '?')", "UPDATE t SET a = 'it''s ?' WHERE b = ?", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if got := rebind(SQLite, q); got != q {
			t.Fatalf("sqlite rebind changed %q", q)
		}
		out := rebind(Postgres, q)
		want, n, in := strings.Builder{}, 0, false
		for i := 0; i < len(q); i++ {
			switch c := q[i]; {
			case c == '\'':
				in = !in
				want.WriteByte(c)
			case c == '?' && !in:
				n++
				want.WriteString("$" + itoaSlow(n))
			default:
				want.WriteByte(c)
			}
		}
		if out != want.String() {
			t.Fatalf("rebind(%q) = %q, want %q", q, out, want.String())
		}
	})
}

func itoaSlow(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
