// Package dsrexport writes the copy of a person's data (DSR-3, PIPL art. 45):
// a zip archive a person can open in a spreadsheet or a text editor and a
// machine can read back, holding
//
//   - data.json: every value, grouped by catalog category, each field with
//     its zh-CN and English names, sensitivity, level, source, purposes and
//     retention;
//   - data.csv: the same values, one row per value (UTF-8 with a BOM, RFC
//     4180, formula injection neutralised — see cell);
//   - recipients.json and recipients.csv: the provisions of the person's
//     data outside gigvault, from the sharing ledger;
//   - README.txt: what the files are and how to read them, in zh-CN and
//     then English.
//
// The package is pure: the caller reads the vault and the ledger and passes
// a Copy. Write is deterministic (the same Copy gives the same bytes: fixed
// order, every file dated GeneratedAt) and refuses fields the catalog does
// not declare. Read parses an archive back, strictly: any missing, extra or
// malformed file is an error, and the CSV files must say exactly what the
// JSON files say.
//
// Errors name files, fields and record IDs, never a value.
package dsrexport

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gigvault/internal/catalog"
)

// Format names the layout of the archive; data.json and recipients.json
// carry it.
const Format = "gigvault-dsr-copy/1"

// The files of the archive, in the (byte) order they are written.
const (
	FileReadme         = "README.txt"
	FileDataCSV        = "data.csv"
	FileDataJSON       = "data.json"
	FileRecipientsCSV  = "recipients.csv"
	FileRecipientsJSON = "recipients.json"
)

// Files lists the archive's files in the order they are written.
var Files = []string{FileReadme, FileDataCSV, FileDataJSON, FileRecipientsCSV, FileRecipientsJSON}

// MaxFileBytes bounds each file Read accepts, uncompressed.
const MaxFileBytes = 64 << 20

// ContentType is the media type of the archive.
const ContentType = "application/zip"

// Copy is what a person's copy holds.
type Copy struct {
	SubjectID   string
	GeneratedAt time.Time
	Values      []Value
	Recipients  []Recipient
}

// Value is one stored value, whole.
type Value struct {
	Field       string // catalog field name
	Record      string // record ID ("main" for single-valued fields)
	Text        string
	CollectedAt time.Time // zero when unknown
	UpdatedAt   time.Time // zero when unknown
}

// Recipient is one provision of the person's data outside gigvault, as the
// sharing ledger records it.
type Recipient struct {
	LedgerID      string // the ledger row's ID
	At            time.Time
	Recipient     string
	RecipientKind string
	Purpose       string
	Fields        []string // catalog field names
	LegalBasis    string
}

// The JSON documents. Field order is the order written.

type dataDoc struct {
	Format         string        `json:"format"`
	Subject        string        `json:"subject"`
	GeneratedAt    string        `json:"generated_at"`
	CatalogVersion int           `json:"catalog_version"`
	Categories     []categoryDoc `json:"categories"`
}

type categoryDoc struct {
	Category string     `json:"category"`
	Zh       string     `json:"zh"`
	En       string     `json:"en"`
	Fields   []fieldDoc `json:"fields"`
}

type fieldDoc struct {
	Field     string     `json:"field"`
	Zh        string     `json:"zh"`
	En        string     `json:"en"`
	Sensitive bool       `json:"sensitive"`
	Level     int        `json:"level"`
	Source    string     `json:"source"`
	Purposes  []labelDoc `json:"purposes"`
	Retention string     `json:"retention"`
	Values    []valueDoc `json:"values"`
}

type labelDoc struct {
	ID string `json:"id"`
	Zh string `json:"zh"`
	En string `json:"en"`
}

type valueDoc struct {
	Record      string  `json:"record"`
	Value       string  `json:"value"`
	CollectedAt *string `json:"collected_at"` // null when unknown
	UpdatedAt   *string `json:"updated_at"`   // null when unknown
}

type recipientsDoc struct {
	Format      string         `json:"format"`
	Subject     string         `json:"subject"`
	GeneratedAt string         `json:"generated_at"`
	Recipients  []recipientDoc `json:"recipients"`
}

type recipientDoc struct {
	LedgerID      string     `json:"ledger_id"`
	At            string     `json:"at"`
	Recipient     string     `json:"recipient"`
	RecipientKind string     `json:"recipient_kind"`
	Purpose       labelDoc   `json:"purpose"`
	LegalBasis    string     `json:"legal_basis"`
	Fields        []labelDoc `json:"fields"`
}

// The CSV headers.
var (
	dataHeader       = []string{"category", "field", "field_zh", "field_en", "record", "value", "collected_at", "updated_at"}
	recipientsHeader = []string{"at", "ledger_id", "recipient", "recipient_kind", "purpose", "purpose_zh", "purpose_en",
		"legal_basis", "fields", "fields_zh", "fields_en"}
)

// Write writes c as a zip archive to w. Every field, of the values and of
// the recipients, must be declared in cat; strings must be valid UTF-8; a
// field's records must be distinct. Values are written by category (in
// catalog.Categories order), field (in catalog order) and record;
// recipients by time, then ledger ID.
func Write(w io.Writer, cat *catalog.Catalog, c Copy) error {
	files, err := render(cat, c)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, name := range Files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: c.GeneratedAt.UTC()}
		h.SetMode(0o644)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("dsrexport: zip %s: %w", name, err)
		}
		if _, err := fw.Write(files[name]); err != nil {
			return fmt.Errorf("dsrexport: zip %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("dsrexport: zip: %w", err)
	}
	return nil
}

// render builds every file of the archive.
func render(cat *catalog.Catalog, c Copy) (map[string][]byte, error) {
	if cat == nil {
		return nil, errors.New("dsrexport: no catalog")
	}
	if c.SubjectID == "" || !utf8.ValidString(c.SubjectID) {
		return nil, errors.New("dsrexport: subject ID missing or not UTF-8")
	}
	if c.GeneratedAt.IsZero() {
		return nil, errors.New("dsrexport: generation time missing")
	}
	data, err := dataDocument(cat, c)
	if err != nil {
		return nil, err
	}
	rec, err := recipientsDocument(cat, c)
	if err != nil {
		return nil, err
	}
	dj, err := marshal(data)
	if err != nil {
		return nil, fmt.Errorf("dsrexport: %s: %w", FileDataJSON, err)
	}
	rj, err := marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("dsrexport: %s: %w", FileRecipientsJSON, err)
	}
	return map[string][]byte{
		FileReadme:         readme(cat),
		FileDataJSON:       dj,
		FileDataCSV:        encodeCSV(dataRows(data)),
		FileRecipientsJSON: rj,
		FileRecipientsCSV:  encodeCSV(recipientRows(rec)),
	}, nil
}

func dataDocument(cat *catalog.Catalog, c Copy) (*dataDoc, error) {
	byField := map[string][]Value{}
	for _, v := range c.Values {
		if _, ok := cat.Field(v.Field); !ok {
			return nil, fmt.Errorf("dsrexport: field %q is not declared in the catalog", v.Field)
		}
		if v.Record == "" || !utf8.ValidString(v.Record) {
			return nil, fmt.Errorf("dsrexport: field %s: record ID missing or not UTF-8", v.Field)
		}
		if !utf8.ValidString(v.Text) {
			return nil, fmt.Errorf("dsrexport: field %s record %s: value is not valid UTF-8", v.Field, v.Record)
		}
		byField[v.Field] = append(byField[v.Field], v)
	}
	doc := &dataDoc{Format: Format, Subject: c.SubjectID, GeneratedAt: stamp(c.GeneratedAt),
		CatalogVersion: cat.Version, Categories: []categoryDoc{}}
	fields := cat.Fields()
	for _, category := range catalog.Categories {
		zh, en := category.Labels()
		cd := categoryDoc{Category: string(category), Zh: zh, En: en}
		for _, f := range fields {
			vs := byField[f.Name]
			if f.Category != category || len(vs) == 0 {
				continue
			}
			slices.SortFunc(vs, func(a, b Value) int { return strings.Compare(a.Record, b.Record) })
			fd := fieldDoc{Field: f.Name, Zh: f.Zh, En: f.En, Sensitive: f.Sensitive, Level: f.Level,
				Source: f.Source, Purposes: purposeLabels(cat, f.Purposes), Retention: f.Retention.String()}
			for i, v := range vs {
				if i > 0 && vs[i-1].Record == v.Record {
					return nil, fmt.Errorf("dsrexport: field %s: record %s appears twice", f.Name, v.Record)
				}
				fd.Values = append(fd.Values, valueDoc{Record: v.Record, Value: v.Text,
					CollectedAt: optStamp(v.CollectedAt), UpdatedAt: optStamp(v.UpdatedAt)})
			}
			cd.Fields = append(cd.Fields, fd)
		}
		if len(cd.Fields) > 0 {
			doc.Categories = append(doc.Categories, cd)
		}
	}
	return doc, nil
}

func recipientsDocument(cat *catalog.Catalog, c Copy) (*recipientsDoc, error) {
	rs := slices.Clone(c.Recipients)
	for i := range rs {
		rs[i].Fields = slices.Compact(slices.Sorted(slices.Values(rs[i].Fields)))
	}
	slices.SortFunc(rs, compareRecipients)
	doc := &recipientsDoc{Format: Format, Subject: c.SubjectID, GeneratedAt: stamp(c.GeneratedAt), Recipients: []recipientDoc{}}
	for _, r := range rs {
		for _, s := range []string{r.LedgerID, r.Recipient, r.RecipientKind, r.Purpose, r.LegalBasis} {
			if s == "" || !utf8.ValidString(s) {
				return nil, fmt.Errorf("dsrexport: ledger row %q: ID, recipient, kind, purpose or legal basis missing or not UTF-8", r.LedgerID)
			}
		}
		if r.At.IsZero() {
			return nil, fmt.Errorf("dsrexport: ledger row %s: time missing", r.LedgerID)
		}
		names := r.Fields
		if len(names) == 0 {
			return nil, fmt.Errorf("dsrexport: ledger row %s: no fields", r.LedgerID)
		}
		rd := recipientDoc{LedgerID: r.LedgerID, At: stamp(r.At), Recipient: r.Recipient, RecipientKind: r.RecipientKind,
			Purpose: purposeLabels(cat, []string{r.Purpose})[0], LegalBasis: r.LegalBasis}
		for _, name := range names {
			f, ok := cat.Field(name)
			if !ok {
				return nil, fmt.Errorf("dsrexport: ledger row %s: field %q is not declared in the catalog", r.LedgerID, name)
			}
			rd.Fields = append(rd.Fields, labelDoc{ID: f.Name, Zh: f.Zh, En: f.En})
		}
		doc.Recipients = append(doc.Recipients, rd)
	}
	return doc, nil
}

// compareRecipients orders ledger rows by time, then ledger ID, then the
// rest, so that any order of the same rows writes the same bytes.
func compareRecipients(a, b Recipient) int {
	return cmp.Or(a.At.Compare(b.At), strings.Compare(a.LedgerID, b.LedgerID), strings.Compare(a.Recipient, b.Recipient),
		strings.Compare(a.Purpose, b.Purpose), strings.Compare(a.RecipientKind, b.RecipientKind), strings.Compare(a.LegalBasis, b.LegalBasis),
		slices.Compare(a.Fields, b.Fields))
}

// purposeLabels names purposes; one the catalog no longer declares (a
// ledger row older than a catalog change) is named by its ID.
func purposeLabels(cat *catalog.Catalog, ids []string) []labelDoc {
	out := make([]labelDoc, 0, len(ids))
	for _, id := range ids {
		l := labelDoc{ID: id, Zh: id, En: id}
		if p, ok := cat.Purpose(id); ok {
			l.Zh, l.En = p.Zh, p.En
		}
		out = append(out, l)
	}
	return out
}

// stamp formats a time as RFC 3339 in UTC, with as many fractional digits
// as it has.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func optStamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := stamp(t)
	return &s
}

// parseStamp reads a time written by stamp, and nothing else.
func parseStamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || stamp(t) != s {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339 in UTC as written", s)
	}
	return t.UTC(), nil
}

func parseOptStamp(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return parseStamp(*s)
}

// marshal writes v as indented JSON, HTML characters unescaped, with a
// final newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// dataRows renders data.csv's rows from the document.
func dataRows(d *dataDoc) [][]string {
	rows := [][]string{dataHeader}
	for _, c := range d.Categories {
		for _, f := range c.Fields {
			for _, v := range f.Values {
				rows = append(rows, cells(c.Category, f.Field, f.Zh, f.En, v.Record, v.Value, deref(v.CollectedAt), deref(v.UpdatedAt)))
			}
		}
	}
	return rows
}

// recipientRows renders recipients.csv's rows from the document.
func recipientRows(d *recipientsDoc) [][]string {
	rows := [][]string{recipientsHeader}
	for _, r := range d.Recipients {
		var names, zh, en []string
		for _, f := range r.Fields {
			names, zh, en = append(names, f.ID), append(zh, f.Zh), append(en, f.En)
		}
		rows = append(rows, cells(r.At, r.LedgerID, r.Recipient, r.RecipientKind, r.Purpose.ID, r.Purpose.Zh, r.Purpose.En,
			r.LegalBasis, strings.Join(names, ";"), strings.Join(zh, "、"), strings.Join(en, "; ")))
	}
	return rows
}

// cells neutralises each value for spreadsheets.
func cells(vs ...string) []string {
	for i, v := range vs {
		vs[i] = cell(v)
	}
	return vs
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Read parses an archive Write wrote. It is strict: exactly the files of
// Files, none larger than MaxFileBytes; JSON exactly as Write formats it,
// without unknown keys; values in Write's order; and the CSV files must
// hold exactly what the JSON files hold.
func Read(r io.ReaderAt, size int64) (Copy, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Copy{}, fmt.Errorf("dsrexport: not a zip archive: %w", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if !slices.Contains(Files, f.Name) {
			return Copy{}, fmt.Errorf("dsrexport: unexpected file %q in the archive", f.Name)
		}
		if _, dup := files[f.Name]; dup {
			return Copy{}, fmt.Errorf("dsrexport: %s appears twice in the archive", f.Name)
		}
		b, err := readFile(f)
		if err != nil {
			return Copy{}, err
		}
		files[f.Name] = b
	}
	for _, name := range Files {
		if _, ok := files[name]; !ok {
			return Copy{}, fmt.Errorf("dsrexport: %s missing from the archive", name)
		}
	}
	if rm := files[FileReadme]; len(rm) == 0 || !utf8.Valid(rm) {
		return Copy{}, fmt.Errorf("dsrexport: %s empty or not UTF-8", FileReadme)
	}
	var data dataDoc
	if err := unmarshal(files[FileDataJSON], &data); err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileDataJSON, err)
	}
	var rec recipientsDoc
	if err := unmarshal(files[FileRecipientsJSON], &rec); err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileRecipientsJSON, err)
	}
	c, err := fromData(&data)
	if err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileDataJSON, err)
	}
	if rec.Format != data.Format || rec.Subject != data.Subject || rec.GeneratedAt != data.GeneratedAt {
		return Copy{}, fmt.Errorf("dsrexport: %s and %s disagree on the format, subject or generation time", FileDataJSON, FileRecipientsJSON)
	}
	if c.Recipients, err = fromRecipients(&rec); err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileRecipientsJSON, err)
	}
	if err := sameCSV(files[FileDataCSV], dataRows(&data)); err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileDataCSV, err)
	}
	if err := sameCSV(files[FileRecipientsCSV], recipientRows(&rec)); err != nil {
		return Copy{}, fmt.Errorf("dsrexport: %s: %w", FileRecipientsCSV, err)
	}
	return c, nil
}

func readFile(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > MaxFileBytes {
		return nil, fmt.Errorf("dsrexport: %s is larger than %d bytes", f.Name, MaxFileBytes)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("dsrexport: open %s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("dsrexport: read %s: %w", f.Name, err)
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("dsrexport: %s is larger than %d bytes", f.Name, MaxFileBytes)
	}
	return b, nil
}

// unmarshal decodes exactly one document without unknown keys, and
// requires b to be exactly what marshal writes for it (so duplicate keys,
// other spacing or escapes are refused).
func unmarshal(b []byte, v any) error {
	if !utf8.Valid(b) {
		return errors.New("not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON document")
	}
	again, err := marshal(v)
	if err != nil || !bytes.Equal(again, b) {
		return errors.New("not in the form gigvault writes (spacing, key order, escapes or duplicate keys)")
	}
	return nil
}

func fromData(d *dataDoc) (Copy, error) {
	if d.Format != Format {
		return Copy{}, fmt.Errorf("format %q, want %q", d.Format, Format)
	}
	if d.Subject == "" {
		return Copy{}, errors.New("subject missing")
	}
	gen, err := parseStamp(d.GeneratedAt)
	if err != nil {
		return Copy{}, fmt.Errorf("generated_at: %w", err)
	}
	c := Copy{SubjectID: d.Subject, GeneratedAt: gen}
	seen := map[string]bool{}
	last := -1
	for _, cd := range d.Categories {
		i := slices.Index(catalog.Categories, catalog.Category(cd.Category))
		if i < 0 || i <= last {
			return Copy{}, fmt.Errorf("category %q unknown or out of order", cd.Category)
		}
		last = i
		if len(cd.Fields) == 0 {
			return Copy{}, fmt.Errorf("category %s has no fields", cd.Category)
		}
		for _, f := range cd.Fields {
			if f.Field == "" || seen[f.Field] {
				return Copy{}, fmt.Errorf("field %q missing or repeated", f.Field)
			}
			seen[f.Field] = true
			if len(f.Values) == 0 {
				return Copy{}, fmt.Errorf("field %s has no values", f.Field)
			}
			for j, v := range f.Values {
				if v.Record == "" || j > 0 && f.Values[j-1].Record >= v.Record {
					return Copy{}, fmt.Errorf("field %s: record %q missing, repeated or out of order", f.Field, v.Record)
				}
				val := Value{Field: f.Field, Record: v.Record, Text: v.Value}
				if val.CollectedAt, err = parseOptStamp(v.CollectedAt); err != nil {
					return Copy{}, fmt.Errorf("field %s record %s: collected_at: %w", f.Field, v.Record, err)
				}
				if val.UpdatedAt, err = parseOptStamp(v.UpdatedAt); err != nil {
					return Copy{}, fmt.Errorf("field %s record %s: updated_at: %w", f.Field, v.Record, err)
				}
				c.Values = append(c.Values, val)
			}
		}
	}
	return c, nil
}

func fromRecipients(d *recipientsDoc) ([]Recipient, error) {
	var out []Recipient
	for _, rd := range d.Recipients {
		r := Recipient{LedgerID: rd.LedgerID, Recipient: rd.Recipient, RecipientKind: rd.RecipientKind,
			Purpose: rd.Purpose.ID, LegalBasis: rd.LegalBasis}
		for _, s := range []string{r.LedgerID, r.Recipient, r.RecipientKind, r.Purpose, r.LegalBasis} {
			if s == "" {
				return nil, fmt.Errorf("ledger row %q: ID, recipient, kind, purpose or legal basis missing", rd.LedgerID)
			}
		}
		var err error
		if r.At, err = parseStamp(rd.At); err != nil {
			return nil, fmt.Errorf("ledger row %s: at: %w", rd.LedgerID, err)
		}
		for j, f := range rd.Fields {
			if f.ID == "" || j > 0 && rd.Fields[j-1].ID >= f.ID {
				return nil, fmt.Errorf("ledger row %s: field %q missing, repeated or out of order", rd.LedgerID, f.ID)
			}
			r.Fields = append(r.Fields, f.ID)
		}
		if len(r.Fields) == 0 {
			return nil, fmt.Errorf("ledger row %s: no fields", rd.LedgerID)
		}
		if n := len(out); n > 0 && compareRecipients(out[n-1], r) > 0 {
			return nil, fmt.Errorf("ledger row %s: out of order", rd.LedgerID)
		}
		out = append(out, r)
	}
	return out, nil
}

// sameCSV parses a CSV file and requires exactly the rows want.
func sameCSV(b []byte, want [][]string) error {
	rows, err := parseCSV(b)
	if err != nil {
		return err
	}
	if len(rows) != len(want) {
		return fmt.Errorf("%d rows, the JSON file gives %d", len(rows), len(want))
	}
	for i, row := range rows {
		if !slices.Equal(row, want[i]) {
			if i == 0 {
				return errors.New("unexpected header")
			}
			return fmt.Errorf("row %d differs from the JSON file", i+1)
		}
	}
	return nil
}
