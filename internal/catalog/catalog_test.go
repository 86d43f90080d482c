package catalog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gigvault/internal/catalog"
)

func TestDefaultCatalog(t *testing.T) {
	c := catalog.Default()
	if len(c.Fields()) < 40 {
		t.Fatalf("only %d fields", len(c.Fields()))
	}
	// The fields the issue names must be there (CAT-1, from policy 004).
	for _, name := range []string{"mobile", "name", "gender", "birth_month", "city", "id_number", "bank_card", "email",
		"address", "resume_text", "education", "work_history", "current_location", "device_id", "ip_address",
		"search_keyword", "payment_account", "employer_licence_number", "employer_contact_name"} {
		if _, ok := c.Field(name); !ok {
			t.Errorf("field %s missing", name)
		}
	}
	mobile, _ := c.Field("mobile")
	if !mobile.Sensitive || mobile.Level != 1 || !mobile.Indexed || mobile.Mask != "keep:3:4" {
		t.Errorf("mobile = %+v", mobile)
	}
	loc, _ := c.Field("current_location")
	if loc.Retention.Stored() {
		t.Error("current_location must be request-only (GIG-4)")
	}
	// CAT-3: every derived field names its sources.
	for _, f := range c.Fields() {
		if f.Source == "derived" && len(f.DerivedFrom) == 0 {
			t.Errorf("%s derived from nothing", f.Name)
		}
	}
	kw, _ := c.Field("search_keyword")
	at := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	if got := kw.ExpiresAt(at); !got.After(at) {
		t.Errorf("search_keyword expiry = %v", got)
	}
}

// A bad catalog is refused with the file, the line and the problem.
func TestBadCatalogs(t *testing.T) {
	good, err := os.ReadFile("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(good)
	mobileBlock := "  - name: mobile\n"
	if !strings.Contains(src, mobileBlock) {
		t.Fatal("catalog.yaml layout changed; update this test")
	}
	line := func(s, sub string) int { return strings.Count(s[:strings.Index(s, sub)], "\n") + 1 }
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown key", mobileBlock, mobileBlock + "    colour: blue\n", "field colour not found"},
		{"bad category", "    category: basic\n", "    category: gossip\n", `category "gossip"`},
		{"bad level", "    level: 1\n", "    level: 7\n", "level must be 1, 2 or 3"},
		{"bad retention", "    retention: account\n", "    retention: forever\n", `"forever" is not a span`},
		{"bad mask", "    mask: keep:3:4\n", "    mask: blur\n", "mask"},
		{"unknown purpose", "    purposes: [account_registration", "    purposes: [mind_reading, account_registration", `purpose "mind_reading" is not declared`},
		{"duplicate", mobileBlock, "  - name: name\n", `declared twice`},
		{"bad format", "    format: mobile\n", "    format: telepathy\n", "format"},
		{"not yaml", "version: 1", "version: [1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(src, tc.from) {
				t.Fatalf("fixture %q not found", tc.from)
			}
			bad := strings.Replace(src, tc.from, tc.to, 1)
			path := filepath.Join(t.TempDir(), "bad.yaml")
			if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := catalog.Load(path)
			if err == nil {
				t.Fatal("bad catalog accepted")
			}
			ce, ok := err.(*catalog.Error)
			if !ok || ce.File != path || ce.Line == 0 {
				t.Fatalf("err = %#v, want *catalog.Error with file and line", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if tc.name != "not yaml" && tc.name != "duplicate" {
				// The line points into the mobile field's block (or at the changed line).
				// The line points at the field that holds the changed line.
				if want := line(bad, tc.to); ce.Line > want || ce.Line < want-25 {
					t.Errorf("line %d, want the start of the field holding line %d", ce.Line, want)
				}
			}
		})
	}
	if _, err := catalog.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestDerivedFromSensitiveMustBeSensitive(t *testing.T) {
	doc := `version: 1
operator: {name_zh: 测试, name_en: Test, contact: test@example.com}
storage_location: 境内
purposes:
  - {id: p, zh: 目的, en: Purpose}
fields:
  - name: id_number
    zh: 身份证号
    en: ID number
    category: identity
    sensitive: true
    level: 1
    retention: account
    mask: keep:1:1
    identifier: direct
    format: id_number
    source: subject
    purposes: [p]
  - name: age_band
    zh: 年龄段
    en: Age band
    category: other
    sensitive: false
    level: 2
    retention: account
    mask: redact
    identifier: quasi
    format: short_text
    source: derived
    derived_from: [id_number]
    purposes: [p]
`
	_, err := catalog.Parse("t.yaml", []byte(doc))
	if err == nil || !strings.Contains(err.Error(), "must be sensitive too") || !strings.Contains(err.Error(), "t.yaml:19") {
		t.Fatalf("err = %v", err)
	}
	fixed := strings.Replace(doc, "    sensitive: false\n    level: 2", "    sensitive: true\n    level: 1", 1)
	c, err := catalog.Parse("t.yaml", []byte(fixed))
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := c.Field("age_band"); !f.Sensitive {
		t.Fatal("age_band not sensitive")
	}
}
