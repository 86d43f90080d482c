package dsrexport

import (
	"archive/zip"
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gigvault/internal/catalog"
)

// TestFormulaNeutralised: a cell a spreadsheet would take for a formula
// gets a leading apostrophe, in data.csv and recipients.csv alike, and
// uncell gives the value back.
func TestFormulaNeutralised(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"},
		{"+86 138", "'+86 138"},
		{"-2", "'-2"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"'quoted", "''quoted"},
		{"''", "'''"},
		{"a=b", "a=b"},
		{"138****5678", "138****5678"},
		{"张三", "张三"},
		{" =x", " =x"},
		{"", ""},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := uncell(cell(tc.in)); got != tc.in {
			t.Errorf("uncell(cell(%q)) = %q", tc.in, got)
		}
		// End to end: the cell in data.csv.
		cat := testCatalog(t)
		c := Copy{SubjectID: "s", GeneratedAt: time.Unix(1e9, 0), Values: []Value{{Field: "f_other", Record: "main", Text: tc.in}},
			Recipients: []Recipient{{LedgerID: "l1", At: time.Unix(1e9, 0), Recipient: tc.in + "r", RecipientKind: "employer",
				Purpose: "testing", Fields: []string{"f_other"}, LegalBasis: "consent"}}}
		fs, err := render(cat, c)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parseCSV(fs[FileDataCSV])
		if err != nil || len(rows) != 2 || rows[1][5] != tc.want {
			t.Errorf("%q in data.csv: %q %v", tc.in, rows, err)
		}
		rows, err = parseCSV(fs[FileRecipientsCSV])
		if err != nil || len(rows) != 2 || rows[1][2] != cell(tc.in+"r") {
			t.Errorf("%q in recipients.csv: %q %v", tc.in, rows, err)
		}
	}
}

func testCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load("testdata/all_categories.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func TestParseCSV(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string
		err  bool
	}{
		{in: bom, want: nil},
		{in: bom + "a,b\r\n", want: [][]string{{"a", "b"}}},
		{in: bom + "a,\r\n,\r\n", want: [][]string{{"a", ""}, {"", ""}}},
		{in: bom + "\"a,\"\"b\"\"\r\nc\",d\r\n", want: [][]string{{"a,\"b\"\r\nc", "d"}}},
		{in: bom + "\"\"\r\n", want: [][]string{{""}}},
		{in: "a\r\n", err: true},          // no BOM
		{in: bom + "a", err: true},        // no final CRLF
		{in: bom + "a,", err: true},       // ends after a comma
		{in: bom + "a\n", err: true},      // bare LF
		{in: bom + "a\rb\r\n", err: true}, // bare CR
		{in: bom + "a\"b\r\n", err: true}, // quote inside an unquoted field
		{in: bom + "\"a\"b\r\n", err: true},
		{in: bom + "\"a\r\n", err: true}, // unterminated
		{in: bom + "\xff\r\n", err: true},
	} {
		got, err := parseCSV([]byte(tc.in))
		if (err != nil) != tc.err || !tc.err && !slices.EqualFunc(got, tc.want, slices.Equal) {
			t.Errorf("parseCSV(%q) = %q, %v", tc.in, got, err)
		}
	}
	rows := [][]string{{"a", " b", "c ", "\"", ",", "\r", "\n", "\r\n", "", "张三😀"}, {""}}
	if got, err := parseCSV(encodeCSV(rows)); err != nil || !slices.EqualFunc(got, rows, slices.Equal) {
		t.Errorf("encode, parse: %q %v", got, err)
	}
}

// FuzzCSVValue: any UTF-8 value survives Write and Read (through data.json)
// and data.csv (through uncell); any other is refused.
func FuzzCSVValue(f *testing.F) {
	for _, s := range []string{"", "=1+1", "'", "a,b", "\"\r\n", "张三", "😀", "\xff", "-", "@x\t"} {
		f.Add(s)
	}
	cat := testCatalog(f)
	f.Fuzz(func(t *testing.T, s string) {
		c := Copy{SubjectID: "s", GeneratedAt: time.Unix(1e9, 0), Values: []Value{{Field: "f_other", Record: "main", Text: s}}}
		var b bytes.Buffer
		err := Write(&b, cat, c)
		if !utf8.ValidString(s) {
			if err == nil {
				t.Fatal("invalid UTF-8 written")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil || len(got.Values) != 1 || got.Values[0].Text != s {
			t.Fatalf("read back %+v %v", got.Values, err)
		}
		zr, err := zip.NewReader(bytes.NewReader(b.Bytes()), int64(b.Len()))
		if err != nil {
			t.Fatal(err)
		}
		rc, err := zr.Open(FileDataCSV)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := parseCSV(data)
		if err != nil || len(rows) != 2 {
			t.Fatalf("data.csv: %q %v", rows, err)
		}
		v := rows[1][5]
		if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
			t.Fatalf("cell %q starts a formula", v)
		}
		if uncell(v) != s {
			t.Fatalf("cell %q does not give %q back", v, s)
		}
	})
}
