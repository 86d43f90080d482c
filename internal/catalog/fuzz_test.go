package catalog_test

import (
	"os"
	"testing"

	"gigvault/internal/catalog"
)

// FuzzParse: any input is either a valid catalog or a *catalog.Error naming
// the file; never a panic. A valid one has unique, declared, well-formed fields.
func FuzzParse(f *testing.F) {
	good, err := os.ReadFile("catalog.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("version: 1\n"))
	f.Add([]byte("version: 1\noperator: {name_zh: a, contact: b}\nstorage_location: x\nfields:\n  - name: a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := catalog.Parse("fuzz.yaml", data)
		if err != nil {
			ce, ok := err.(*catalog.Error)
			if !ok || ce.File != "fuzz.yaml" {
				t.Fatalf("error %T %v does not name the file", err, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, fd := range c.Fields() {
			if seen[fd.Name] || fd.Level < 1 || fd.Level > 3 || len(fd.Purposes) == 0 {
				t.Fatalf("accepted a bad field %+v", fd)
			}
			seen[fd.Name] = true
			for _, p := range fd.Purposes {
				if _, ok := c.Purpose(p); !ok {
					t.Fatalf("field %s has undeclared purpose %s", fd.Name, p)
				}
			}
		}
	})
}
