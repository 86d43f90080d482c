package format

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// schemaSection returns the text of SCHEMA.md, the contract this package
// implements, from heading to the next heading.
func schemaSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile("../catalog/SCHEMA.md")
	if err != nil {
		t.Fatalf("read SCHEMA.md: %v", err)
	}
	_, after, ok := strings.Cut(string(b), heading)
	if !ok {
		t.Fatalf("SCHEMA.md has no %q", heading)
	}
	if next := strings.Index(after, "\n## "); next >= 0 {
		after = after[:next]
	}
	return after
}

func TestKindsMatchSchema(t *testing.T) {
	sec := schemaSection(t, "## Format kinds")
	_, list, _ := strings.Cut(sec, "\n") // drop the rest of the heading line
	var want []Kind
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f != "" {
			want = append(want, Kind(f))
		}
	}
	if diff := cmp.Diff(want, Kinds()); diff != "" {
		t.Errorf("Kinds() differs from SCHEMA.md (-schema +Kinds):\n%s", diff)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		got, err := ParseKind(string(k))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %q, %v", k, got, err)
		}
		if !k.Known() || k.String() != string(k) {
			t.Errorf("%q: Known() = %v, String() = %q", k, k.Known(), k.String())
		}
		if _, ok := specs[k]; !ok {
			t.Errorf("no rules for kind %q", k)
		}
	}
	if len(specs) != len(Kinds()) {
		t.Errorf("%d kinds have rules, Kinds() lists %d", len(specs), len(Kinds()))
	}
	for _, s := range []string{"", "Mobile", "phone", " mobile", "mobile "} {
		_, err := ParseKind(s)
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeUnknownKind {
			t.Errorf("ParseKind(%q) error = %v, want code %s", s, err, CodeUnknownKind)
		}
	}
	if Kind("phone").Known() {
		t.Error(`Kind("phone").Known() = true`)
	}
}

func TestKindsReturnsCopy(t *testing.T) {
	ks := Kinds()
	ks[0] = "changed"
	if Kinds()[0] != KindMobile {
		t.Error("modifying the result of Kinds() changed the package's list")
	}
}

func TestMaskSpecsOfSchema(t *testing.T) {
	sec := schemaSection(t, "## Mask specs")
	specRe := regexp.MustCompile("(?m)^- `([^`]+)`")
	found := 0
	for _, m := range specRe.FindAllStringSubmatch(sec, -1) {
		spec := strings.NewReplacer("F", "3", "L", "4", "N", "10").Replace(strings.Fields(m[1])[0])
		found++
		if err := ValidateMaskSpec(spec); err != nil {
			t.Errorf("ValidateMaskSpec(%q) (from SCHEMA.md %q) = %v", spec, m[1], err)
		}
	}
	if found != 8 {
		t.Errorf("found %d mask specs in SCHEMA.md, want 8", found)
	}
}
