package functions_test

import (
	"errors"
	"os"
	"slices"
	"testing"

	"gigvault/internal/functions"
)

// FuzzParse: any input is a valid registry or a *functions.Error; never a
// panic. A valid one keeps every CAT-2 rule.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"functions.yaml", "testdata/good.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := functions.Parse(data, cat)
		if err != nil {
			var fe *functions.Error
			if !errors.As(err, &fe) || fe.File != "functions.yaml" {
				t.Fatalf("error %T %v does not name the file", err, err)
			}
			return
		}
		basic := r.Basic()
		if len(basic) != 1 || basic[0].ID != functions.BasicFunctionID {
			t.Fatalf("accepted basic functions %v", basic)
		}
		got, want := r.Necessary(functions.BasicFunctionID), functions.BasicNecessary(cat)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("accepted basic necessary PI %v, want %v", got, want)
		}
		seen := map[string]bool{}
		for _, fn := range r.Functions() {
			if seen[fn.ID] || len(fn.PI) == 0 || len(fn.Purposes) == 0 {
				t.Fatalf("accepted a bad function %+v", fn)
			}
			seen[fn.ID] = true
			for _, p := range fn.PI {
				fd, ok := cat.Field(p.Field)
				if !ok || !slices.ContainsFunc(fn.Purposes, fd.Allows) {
					t.Fatalf("function %s accepted field %s", fn.ID, p.Field)
				}
			}
		}
	})
}
