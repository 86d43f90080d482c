package dsrexport_test

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/catalog"
	"gigvault/internal/dsrexport"
)

var (
	gen = time.Date(2026, 11, 2, 9, 30, 15, 123456000, time.UTC)
	t0  = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
)

func allCategories(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load("testdata/all_categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// fullCopy has a value for every field of cat (two records for
// multi-valued fields, in reverse order) and two ledger rows.
func fullCopy(cat *catalog.Catalog) dsrexport.Copy {
	c := dsrexport.Copy{SubjectID: "0190f3c4-8a7e-7cc1-b3f2-6c1d2e3f4a5b", GeneratedAt: gen}
	for i, f := range cat.Fields() {
		recs := []string{"main"}
		if f.Multi {
			recs = []string{"r2", "r1"}
		}
		for j, r := range recs {
			v := dsrexport.Value{Field: f.Name, Record: r, Text: fmt.Sprintf("值 %s %s", f.Name, r),
				CollectedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0.Add(time.Duration(i)*time.Hour + time.Duration(j)*time.Minute)}
			if i == 2 {
				v.CollectedAt = time.Time{} // unknown
			}
			c.Values = append(c.Values, v)
		}
	}
	fields := cat.Fields()
	c.Recipients = []dsrexport.Recipient{
		{LedgerID: "0190f3c4-0000-7000-8000-000000000002", At: t0.Add(48 * time.Hour), Recipient: "org-b", RecipientKind: "employer",
			Purpose: "testing", Fields: []string{fields[3].Name, fields[1].Name}, LegalBasis: "consent"},
		{LedgerID: "0190f3c4-0000-7000-8000-000000000001", At: t0.Add(24 * time.Hour), Recipient: "payout_bank", RecipientKind: "processor",
			Purpose: "retired_purpose", Fields: []string{fields[0].Name}, LegalBasis: "contract"},
	}
	return c
}

// ordered returns c as Read gives it back: values by category, catalog
// order and record; recipients by time and ID, fields sorted; times UTC.
func ordered(cat *catalog.Catalog, c dsrexport.Copy) dsrexport.Copy {
	out := c
	out.Values = slices.Clone(c.Values)
	pos := map[string]int{}
	for i, f := range cat.Fields() {
		pos[f.Name] = slices.Index(catalog.Categories, f.Category)*1000 + i
	}
	slices.SortFunc(out.Values, func(a, b dsrexport.Value) int {
		if d := pos[a.Field] - pos[b.Field]; d != 0 {
			return d
		}
		return strings.Compare(a.Record, b.Record)
	})
	out.Recipients = nil
	for _, r := range c.Recipients {
		r.Fields = slices.Compact(slices.Sorted(slices.Values(r.Fields)))
		out.Recipients = append(out.Recipients, r)
	}
	slices.SortFunc(out.Recipients, func(a, b dsrexport.Recipient) int {
		return a.At.Compare(b.At)
	})
	return out
}

func write(t testing.TB, cat *catalog.Catalog, c dsrexport.Copy) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := dsrexport.Write(&b, cat, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func read(t testing.TB, b []byte) dsrexport.Copy {
	t.Helper()
	c, err := dsrexport.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// files unzips an archive.
func files(t testing.TB, b []byte) (map[string][]byte, []*zip.File) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = data
	}
	return out, zr.File
}

// rezip writes files in the order of names.
func rezip(t testing.TB, fs map[string][]byte, names ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(fs[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for name, cat := range map[string]*catalog.Catalog{"all categories": allCategories(t), "default": catalog.Default()} {
		t.Run(name, func(t *testing.T) {
			in := fullCopy(cat)
			in.GeneratedAt = gen.In(time.FixedZone("CST", 8*3600)) // any zone: written as UTC
			got := read(t, write(t, cat, in))
			want := ordered(cat, in)
			want.GeneratedAt = gen
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("read back (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		in := dsrexport.Copy{SubjectID: "s", GeneratedAt: gen}
		if diff := cmp.Diff(in, read(t, write(t, catalog.Default(), in))); diff != "" {
			t.Fatalf("read back (-want +got):\n%s", diff)
		}
	})
}

// TestEveryFieldUnderItsCategory checks data.json and data.csv against the
// catalog: every field under its own category, categories in the catalog's
// order, each field's labels and labels.
func TestEveryFieldUnderItsCategory(t *testing.T) {
	cat := allCategories(t)
	fs, _ := files(t, write(t, cat, fullCopy(cat)))
	var doc struct {
		Format         string `json:"format"`
		CatalogVersion int    `json:"catalog_version"`
		Categories     []struct {
			Category, Zh, En string
			Fields           []struct {
				Field, Zh, En, Source, Retention string
				Sensitive                        bool
				Level                            int
				Purposes                         []struct{ ID, Zh, En string }
				Values                           []struct {
					Record, Value string
					CollectedAt   *string `json:"collected_at"`
					UpdatedAt     *string `json:"updated_at"`
				}
			}
		}
	}
	if err := json.Unmarshal(fs[dsrexport.FileDataJSON], &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Format != dsrexport.Format || doc.CatalogVersion != cat.Version {
		t.Errorf("format %q, catalog version %d", doc.Format, doc.CatalogVersion)
	}
	var cats []catalog.Category
	seen := map[string]bool{}
	for _, c := range doc.Categories {
		cats = append(cats, catalog.Category(c.Category))
		if zh, en := catalog.Category(c.Category).Labels(); c.Zh != zh || c.En != en {
			t.Errorf("category %s labelled %q / %q", c.Category, c.Zh, c.En)
		}
		for _, f := range c.Fields {
			cf, ok := cat.Field(f.Field)
			switch {
			case !ok:
				t.Fatalf("unknown field %s", f.Field)
			case string(cf.Category) != c.Category:
				t.Errorf("field %s under %s, declared %s", f.Field, c.Category, cf.Category)
			case f.Zh != cf.Zh || f.En != cf.En || f.Sensitive != cf.Sensitive || f.Level != cf.Level ||
				f.Source != cf.Source || f.Retention != cf.Retention.String() || len(f.Purposes) != len(cf.Purposes):
				t.Errorf("field %s described as %+v, catalog %+v", f.Field, f, cf)
			}
			for i, p := range f.Purposes {
				cp, _ := cat.Purpose(cf.Purposes[i])
				if p.ID != cp.ID || p.Zh != cp.Zh || p.En != cp.En {
					t.Errorf("field %s purpose %d: %+v, want %+v", f.Field, i, p, cp)
				}
			}
			want := 1
			if cf.Multi {
				want = 2
			}
			if len(f.Values) != want {
				t.Errorf("field %s: %d values, want %d", f.Field, len(f.Values), want)
			}
			for _, v := range f.Values {
				if v.UpdatedAt == nil || (v.CollectedAt == nil) != (f.Field == cat.Fields()[2].Name) {
					t.Errorf("field %s record %s: times %v %v", f.Field, v.Record, v.CollectedAt, v.UpdatedAt)
				}
			}
			seen[f.Field] = true
		}
	}
	if !slices.Equal(cats, catalog.Categories) {
		t.Errorf("categories %v, want every one in order %v", cats, catalog.Categories)
	}
	for _, f := range cat.Fields() {
		if !seen[f.Name] {
			t.Errorf("field %s missing", f.Name)
		}
	}
	// data.csv: the same fields under the same categories, in the same order.
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(fs[dsrexport.FileDataCSV], []byte("\uFEFF"))))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], []string{"category", "field", "field_zh", "field_en", "record", "value", "collected_at", "updated_at"}) {
		t.Errorf("header %q", rows[0])
	}
	i := 1
	for _, c := range doc.Categories {
		for _, f := range c.Fields {
			for _, v := range f.Values {
				if row := rows[i]; row[0] != c.Category || row[1] != f.Field || row[2] != f.Zh || row[3] != f.En || row[4] != v.Record || row[5] != v.Value {
					t.Errorf("csv row %d: %q", i+1, row)
				}
				i++
			}
		}
	}
	if i != len(rows) {
		t.Errorf("csv has %d rows, want %d", len(rows), i)
	}
	if !bytes.Contains(fs[dsrexport.FileReadme], []byte("dpo@example.com")) {
		t.Error("README does not give the operator's contact")
	}
}

func TestRecipientsFiles(t *testing.T) {
	cat := allCategories(t)
	fs, _ := files(t, write(t, cat, fullCopy(cat)))
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(fs[dsrexport.FileRecipientsCSV], []byte("\uFEFF")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"at", "ledger_id", "recipient", "recipient_kind", "purpose", "purpose_zh", "purpose_en", "legal_basis", "fields", "fields_zh", "fields_en"},
		{"2025-03-05T05:06:07Z", "0190f3c4-0000-7000-8000-000000000001", "payout_bank", "processor", "retired_purpose", "retired_purpose", "retired_purpose",
			"contract", "f_other", "字段12", "Field 12"},
		{"2025-03-06T05:06:07Z", "0190f3c4-0000-7000-8000-000000000002", "org-b", "employer", "testing", "测试", "Testing",
			"consent", "f_location;f_online_records", "字段11、字段9", "Field 11; Field 9"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Fatalf("recipients.csv (-want +got):\n%s", diff)
	}
	var doc struct {
		Recipients []map[string]any `json:"recipients"`
	}
	if err := json.Unmarshal(fs[dsrexport.FileRecipientsJSON], &doc); err != nil || len(doc.Recipients) != 2 {
		t.Fatalf("recipients.json: %v %v", doc, err)
	}
}

func TestDeterministic(t *testing.T) {
	cat := allCategories(t)
	c := fullCopy(cat)
	a := write(t, cat, c)
	shuffled := c
	shuffled.Values = slices.Clone(c.Values)
	shuffled.Recipients = slices.Clone(c.Recipients)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		rng.Shuffle(len(shuffled.Values), func(i, j int) { shuffled.Values[i], shuffled.Values[j] = shuffled.Values[j], shuffled.Values[i] })
		rng.Shuffle(len(shuffled.Recipients), func(i, j int) {
			shuffled.Recipients[i], shuffled.Recipients[j] = shuffled.Recipients[j], shuffled.Recipients[i]
		})
		if b := write(t, cat, shuffled); !bytes.Equal(a, b) {
			t.Fatal("the same copy in another order wrote other bytes")
		}
	}
	later := c
	later.GeneratedAt = gen.Add(time.Second)
	if bytes.Equal(a, write(t, cat, later)) {
		t.Error("another generation time wrote the same bytes")
	}
	_, zf := files(t, a)
	var names []string
	for _, f := range zf {
		names = append(names, f.Name)
		if !f.Modified.Equal(gen.Truncate(time.Second)) || f.Method != zip.Deflate {
			t.Errorf("%s: modified %v, method %d", f.Name, f.Modified, f.Method)
		}
	}
	if !slices.Equal(names, dsrexport.Files) || !slices.IsSorted(names) {
		t.Errorf("files %v, want %v", names, dsrexport.Files)
	}
}

func TestSpecialCharactersSurvive(t *testing.T) {
	cat := allCategories(t)
	for _, v := range []string{
		`a,b`, `say "hi"`, "line1\nline2", "crlf\r\nend", "lone\rcr", "张三，北京市朝阳区", "😀👍🏽 emoji", " leading and trailing ",
		`"`, `,`, "\"\r\n,", "\u2028\u2029", "tab\tinside", "\x00nul", "=cmd|' /C calc'!A0", "'already quoted", "''", "",
	} {
		c := dsrexport.Copy{SubjectID: "s", GeneratedAt: gen, Values: []dsrexport.Value{{Field: "f_other", Record: "main", Text: v}}}
		b := write(t, cat, c)
		got := read(t, b)
		if len(got.Values) != 1 || got.Values[0].Text != v {
			t.Errorf("%q read back as %+v", v, got.Values)
		}
		fs, _ := files(t, b)
		var doc struct {
			Categories []struct {
				Fields []struct {
					Values []struct{ Value string }
				}
			}
		}
		if err := json.Unmarshal(fs[dsrexport.FileDataJSON], &doc); err != nil || doc.Categories[0].Fields[0].Values[0].Value != v {
			t.Errorf("%q in data.json: %+v %v", v, doc, err)
		}
	}
}

func TestWriteRefuses(t *testing.T) {
	cat := allCategories(t)
	const secret = "13812345678"
	for _, tc := range []struct {
		name string
		cat  *catalog.Catalog
		edit func(*dsrexport.Copy)
		want string
	}{
		{"undeclared field", cat, func(c *dsrexport.Copy) { c.Values[0].Field = "mobile" }, `field "mobile" is not declared`},
		{"undeclared ledger field", cat, func(c *dsrexport.Copy) { c.Recipients[0].Fields = []string{"mobile"} }, `field "mobile" is not declared`},
		{"no ledger fields", cat, func(c *dsrexport.Copy) { c.Recipients[0].Fields = nil }, "no fields"},
		{"ledger row without time", cat, func(c *dsrexport.Copy) { c.Recipients[0].At = time.Time{} }, "time missing"},
		{"ledger row without recipient", cat, func(c *dsrexport.Copy) { c.Recipients[0].Recipient = "" }, "missing"},
		{"repeated record", cat, func(c *dsrexport.Copy) { c.Values = append(c.Values, c.Values[0]) }, "appears twice"},
		{"empty record", cat, func(c *dsrexport.Copy) { c.Values[0].Record = "" }, "record ID missing"},
		{"bad UTF-8", cat, func(c *dsrexport.Copy) { c.Values[0].Text = secret + "\xff" }, "not valid UTF-8"},
		{"no subject", cat, func(c *dsrexport.Copy) { c.SubjectID = "" }, "subject ID missing"},
		{"no time", cat, func(c *dsrexport.Copy) { c.GeneratedAt = time.Time{} }, "generation time missing"},
		{"no catalog", nil, func(*dsrexport.Copy) {}, "no catalog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fullCopy(cat)
			for i := range c.Values {
				c.Values[i].Text = secret
			}
			tc.edit(&c)
			var b bytes.Buffer
			err := dsrexport.Write(&b, tc.cat, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error repeats a value: %v", err)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written before the error", b.Len())
			}
		})
	}
}

func TestReadStrict(t *testing.T) {
	cat := allCategories(t)
	good := write(t, cat, fullCopy(cat))
	fs, _ := files(t, good)
	edited := func(name string, f func([]byte) []byte) []byte {
		m := map[string][]byte{}
		for k, v := range fs {
			m[k] = v
		}
		m[name] = f(bytes.Clone(fs[name]))
		return rezip(t, m, dsrexport.Files...)
	}
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte {
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%q not found", old)
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		}
	}
	cases := map[string][]byte{
		"not a zip":             []byte("PK not really"),
		"empty":                 nil,
		"truncated":             good[:len(good)-10],
		"missing file":          rezip(t, fs, dsrexport.Files[:4]...),
		"extra file":            rezip(t, map[string][]byte{"x.txt": []byte("x")}, "x.txt"),
		"repeated file":         rezip(t, fs, append(slices.Clone(dsrexport.Files), dsrexport.FileDataCSV)...),
		"empty README":          edited(dsrexport.FileReadme, func([]byte) []byte { return nil }),
		"malformed JSON":        edited(dsrexport.FileDataJSON, func(b []byte) []byte { return b[:len(b)/2] }),
		"trailing JSON":         edited(dsrexport.FileDataJSON, func(b []byte) []byte { return append(b, "{}\n"...) }),
		"unknown key":           edited(dsrexport.FileDataJSON, replace(`"format"`, `"extra": 1, "format"`)),
		"reformatted JSON":      edited(dsrexport.FileDataJSON, replace(`"format": `, `"format":`)),
		"other format":          edited(dsrexport.FileDataJSON, replace(dsrexport.Format, "gigvault-dsr-copy/0")),
		"value changed in JSON": edited(dsrexport.FileDataJSON, replace("值 f_other", "值 f_0ther")),
		"value changed in CSV":  edited(dsrexport.FileDataCSV, replace("值 f_other", "值 f_0ther")),
		"CSV without BOM":       edited(dsrexport.FileDataCSV, func(b []byte) []byte { return b[3:] }),
		"CSV with LF":           edited(dsrexport.FileDataCSV, func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }),
		"CSV row missing":       edited(dsrexport.FileDataCSV, func(b []byte) []byte { return b[:bytes.LastIndex(b[:len(b)-2], []byte("\r\n"))+2] }),
		"CSV header":            edited(dsrexport.FileDataCSV, replace("category,", "categories,")),
		"recipients CSV":        edited(dsrexport.FileRecipientsCSV, replace("org-b", "org-c")),
		"recipients subject":    edited(dsrexport.FileRecipientsJSON, replace(`"subject": "0190`, `"subject": "0191`)),
		"recipients JSON":       edited(dsrexport.FileRecipientsJSON, replace(`"recipients": [`, `"recipients": {`)),
		"time not UTC":          edited(dsrexport.FileDataJSON, replace(`"generated_at": "2026-11-02T09:30:15.123456Z"`, `"generated_at": "2026-11-02T17:30:15.123456+08:00"`)),
		"unknown category":      edited(dsrexport.FileDataJSON, replace(`"category": "biometric"`, `"category": "biometrics"`)),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dsrexport.Read(bytes.NewReader(b), int64(len(b)))
			if err == nil {
				t.Fatal("read without error")
			}

		})
	}
	if _, err := dsrexport.Read(bytes.NewReader(good), int64(len(good))); err != nil {
		t.Fatalf("the untouched archive: %v", err)
	}
}

func FuzzRead(f *testing.F) {
	cat := allCategories(f)
	good := write(f, cat, fullCopy(cat))
	f.Add(good)
	f.Add(write(f, cat, dsrexport.Copy{SubjectID: "s", GeneratedAt: gen}))
	f.Add([]byte{})
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := dsrexport.Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if c.SubjectID == "" || c.GeneratedAt.IsZero() {
			t.Fatalf("read a copy without subject or time: %+v", c)
		}
		for _, v := range c.Values {
			if v.Field == "" || v.Record == "" {
				t.Fatalf("read a value without field or record: %+v", v)
			}
		}
	})
}
