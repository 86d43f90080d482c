package thirdparty_test

import (
	"errors"
	"os"
	"testing"

	"gigvault/internal/thirdparty"
)

// FuzzParse: any input is a valid registry or a *thirdparty.Error; never a
// panic. A valid one has unique ids, names, catalog fields, and renders.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"thirdparty.yaml", "testdata/good.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := thirdparty.Parse(data, cat)
		if err != nil {
			var te *thirdparty.Error
			if !errors.As(err, &te) || te.File != "thirdparty.yaml" {
				t.Fatalf("error %T %v does not name the file", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range r.Entries() {
			if seen[e.ID] || e.Name == "" || len(e.Fields) == 0 {
				t.Fatalf("accepted a bad entry %+v", e)
			}
			seen[e.ID] = true
			for _, f := range e.Fields {
				if _, ok := cat.Field(f); !ok {
					t.Fatalf("accepted unknown field %q", f)
				}
			}
		}
		s := thirdparty.SharingList(r, cat)
		if _, err := s.HTML(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.JSON(); err != nil {
			t.Fatal(err)
		}
	})
}
