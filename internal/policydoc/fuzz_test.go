package policydoc_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"gigvault/internal/errs"
	"gigvault/internal/policydoc"
)

// FuzzNoticeFor: any scope string is either one Scopes lists, with a
// deterministic notice for exactly that scope and the purposes it grants,
// or refused as errs.Invalid granting nothing; never a panic.
func FuzzNoticeFor(f *testing.F) {
	src := defaultSources()
	scopes := policydoc.Scopes(src)
	for _, sc := range scopes {
		f.Add(sc)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		n, err := policydoc.NoticeFor(src, "1", scope)
		listed := slices.Contains(scopes, scope)
		if err != nil {
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("%q: error %v is not invalid", scope, err)
			}
			if listed {
				t.Fatalf("%q is listed but refused: %v", scope, err)
			}
			if p := policydoc.ScopePurposes(src, scope); p != nil {
				t.Fatalf("refused %q grants %v", scope, p)
			}
			return
		}
		if !listed {
			t.Fatalf("%q accepted but not listed", scope)
		}
		if n.Scope != scope || len(n.Fields) == 0 || n.TextZh == "" || n.TextEn == "" || !json.Valid(n.Bytes()) {
			t.Fatalf("%q: notice %+v", scope, n)
		}
		again, _ := policydoc.NoticeFor(src, "1", scope)
		if !bytes.Equal(n.Bytes(), again.Bytes()) {
			t.Fatalf("%q: not deterministic", scope)
		}
		if policydoc.ScopePurposes(src, scope) == nil {
			t.Fatalf("%q: no purposes", scope)
		}
	})
}
