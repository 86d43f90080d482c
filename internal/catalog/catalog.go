// Package catalog declares every personal-information field gigvault may
// hold (CAT-1): its category, sensitivity, level, retention, display mask,
// identifier kind, format and purposes. The vault refuses to store a field
// the catalog does not declare.
//
// The default catalog is embedded (catalog.yaml); an operator may replace it
// with --catalog FILE. A bad catalog stops start-up with an error naming the
// file, the line and the problem.
package catalog

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gigvault/internal/yamlx"

	"gigvault/internal/format"
)

//go:embed catalog.yaml
var embedded []byte

// Category is a PI category from the App compliance guide's appendix A.
type Category string

// Categories lists the allowed categories.
var Categories = []Category{
	"basic", "identity", "biometric", "network_identity", "health", "education_work",
	"property", "communication", "contacts", "online_records", "device", "location", "other",
}

// Identifier says whether a field identifies a person on its own (direct),
// in combination (quasi), or not at all (none). De-identification uses it.
type Identifier string

// Sources of a field's values.
var sources = []string{"subject", "automatic", "derived", "third_party", "employer"}

// Retention is how long a value is kept.
type Retention struct {
	// Kind is "account" (while the account exists, then Extra longer),
	// "fixed" (Duration after collection) or "request" (never stored).
	Kind string
	// Duration applies to "fixed"; Extra to "account+<dur>".
	Duration Span
}

// Span is a calendar span: days, months or years, so "1y" means one
// calendar year, not 365 days.
type Span struct {
	N    int
	Unit byte // 'd', 'm' or 'y'; 0 for none
}

// After adds the span to t.
func (s Span) After(t time.Time) time.Time {
	switch s.Unit {
	case 'd':
		return t.AddDate(0, 0, s.N)
	case 'm':
		return t.AddDate(0, s.N, 0)
	case 'y':
		return t.AddDate(s.N, 0, 0)
	}
	return t
}

// String renders the span as written in the catalog ("30d", "1y").
func (s Span) String() string {
	if s.Unit == 0 {
		return ""
	}
	return strconv.Itoa(s.N) + string(s.Unit)
}

// String renders the retention as written in the catalog.
func (r Retention) String() string {
	switch r.Kind {
	case "fixed":
		return r.Duration.String()
	case "account":
		if r.Duration.Unit != 0 {
			return "account+" + r.Duration.String()
		}
		return "account"
	}
	return r.Kind
}

// Stored reports whether values under this retention are ever stored.
func (r Retention) Stored() bool { return r.Kind != "request" }

// Field is one declared PI field.
type Field struct {
	Name        string
	Zh, En      string
	Category    Category
	Sensitive   bool
	Level       int
	Retention   Retention
	Statutory   Span // kept this long after cancellation, unlinked (RET-3); zero when none
	Mask        string
	Identifier  Identifier
	Format      format.Kind
	Indexed     bool
	Multi       bool
	Source      string
	DerivedFrom []string
	Purposes    []string
	Clause      string
	Line        int // line in the catalog file, for messages
}

// Purpose is a declared processing purpose.
type Purpose struct {
	ID, Zh, En string
}

// Operator names who runs the platform.
type Operator struct {
	NameZh, NameEn, Contact string
}

// Catalog is a validated, immutable set of fields.
type Catalog struct {
	Source          string // file name, or "embedded"
	Version         int
	Operator        Operator
	StorageLocation string
	purposes        []Purpose
	fields          []*Field
	byName          map[string]*Field
}

// Default returns the embedded catalog.
func Default() *Catalog {
	c, err := Parse("embedded catalog.yaml", embedded)
	if err != nil {
		panic("catalog: embedded catalog is invalid: " + err.Error())
	}
	return c
}

// Load reads and validates a catalog file.
func Load(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: read %s: %w", path, err)
	}
	return Parse(path, b)
}

// Field returns the declared field called name.
func (c *Catalog) Field(name string) (*Field, bool) {
	f, ok := c.byName[name]
	return f, ok
}

// Fields returns every field in declaration order.
func (c *Catalog) Fields() []*Field { return slices.Clone(c.fields) }

// Purposes returns every declared purpose in declaration order.
func (c *Catalog) Purposes() []Purpose { return slices.Clone(c.purposes) }

// Purpose returns the purpose with id.
func (c *Catalog) Purpose(id string) (Purpose, bool) {
	for _, p := range c.purposes {
		if p.ID == id {
			return p, true
		}
	}
	return Purpose{}, false
}

// Allows reports whether the field is declared for the purpose.
func (f *Field) Allows(purpose string) bool { return slices.Contains(f.Purposes, purpose) }

// Error is a catalog problem at a place in the file.
type Error struct {
	File    string
	Line    int
	Problem string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("catalog %s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("catalog %s: %s", e.File, e.Problem)
}

// raw mirrors the YAML document.
type raw struct {
	Version         int         `yaml:"version"`
	Operator        rawOperator `yaml:"operator"`
	StorageLocation string      `yaml:"storage_location"`
	Purposes        []yaml.Node `yaml:"purposes"`
	Fields          []yaml.Node `yaml:"fields"`
}

type rawOperator struct {
	NameZh  string `yaml:"name_zh"`
	NameEn  string `yaml:"name_en"`
	Contact string `yaml:"contact"`
}

type rawPurpose struct {
	ID string `yaml:"id"`
	Zh string `yaml:"zh"`
	En string `yaml:"en"`
}

type rawField struct {
	Name        string   `yaml:"name"`
	Zh          string   `yaml:"zh"`
	En          string   `yaml:"en"`
	Category    string   `yaml:"category"`
	Sensitive   *bool    `yaml:"sensitive"`
	Level       int      `yaml:"level"`
	Retention   string   `yaml:"retention"`
	Statutory   string   `yaml:"statutory"`
	Mask        string   `yaml:"mask"`
	Identifier  string   `yaml:"identifier"`
	Format      string   `yaml:"format"`
	Indexed     bool     `yaml:"indexed"`
	Multi       bool     `yaml:"multi"`
	Source      string   `yaml:"source"`
	DerivedFrom []string `yaml:"derived_from"`
	Purposes    []string `yaml:"purposes"`
	Clause      string   `yaml:"clause"`
}

var (
	nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	spanRE = regexp.MustCompile(`^([1-9][0-9]{0,3})([dmy])$`)
)

// Parse validates a catalog document. file names it in error messages.
func Parse(file string, data []byte) (*Catalog, error) {
	var doc raw
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(file, err)
	}
	c := &Catalog{
		Source:          file,
		Version:         doc.Version,
		Operator:        Operator{doc.Operator.NameZh, doc.Operator.NameEn, doc.Operator.Contact},
		StorageLocation: doc.StorageLocation,
		byName:          map[string]*Field{},
	}
	if doc.Version != 1 {
		return nil, &Error{file, 1, fmt.Sprintf("version must be 1, not %d", doc.Version)}
	}
	if doc.Operator.NameZh == "" || doc.Operator.Contact == "" {
		return nil, &Error{file, 1, "operator.name_zh and operator.contact are required (CON-1)"}
	}
	if doc.StorageLocation == "" {
		return nil, &Error{file, 1, "storage_location is required (OPS-10)"}
	}
	purposeIDs := map[string]bool{}
	for i := range doc.Purposes {
		n := &doc.Purposes[i]
		var p rawPurpose
		if err := yamlx.DecodeStrict(n, &p); err != nil {
			return nil, &Error{file, n.Line, err.Error()}
		}
		switch {
		case !nameRE.MatchString(p.ID):
			return nil, &Error{file, n.Line, fmt.Sprintf("purpose id %q must be snake_case", p.ID)}
		case purposeIDs[p.ID]:
			return nil, &Error{file, n.Line, fmt.Sprintf("purpose %q is declared twice", p.ID)}
		case p.Zh == "" || p.En == "":
			return nil, &Error{file, n.Line, fmt.Sprintf("purpose %q needs zh and en labels", p.ID)}
		}
		purposeIDs[p.ID] = true
		c.purposes = append(c.purposes, Purpose(p))
	}
	if len(doc.Fields) == 0 {
		return nil, &Error{file, 1, "no fields declared"}
	}
	for i := range doc.Fields {
		n := &doc.Fields[i]
		f, err := parseField(n, purposeIDs)
		if err != nil {
			return nil, &Error{file, n.Line, err.Error()}
		}
		if _, dup := c.byName[f.Name]; dup {
			return nil, &Error{file, n.Line, fmt.Sprintf("field %q is declared twice", f.Name)}
		}
		c.byName[f.Name] = f
		c.fields = append(c.fields, f)
	}
	// Derived fields (CAT-3): sources exist, and derived from sensitive is sensitive.
	for _, f := range c.fields {
		for _, src := range f.DerivedFrom {
			s, ok := c.byName[src]
			if !ok {
				return nil, &Error{file, f.Line, fmt.Sprintf("field %q is derived from undeclared field %q", f.Name, src)}
			}
			if s.Sensitive && !f.Sensitive {
				return nil, &Error{file, f.Line, fmt.Sprintf("field %q is derived from sensitive %q and must be sensitive too (CAT-3)", f.Name, src)}
			}
		}
	}
	return c, nil
}

func yamlError(file string, err error) error {
	line, msg := yamlx.Split(err)
	return &Error{file, line, msg}
}

func parseField(n *yaml.Node, purposes map[string]bool) (*Field, error) {
	var r rawField
	if err := yamlx.DecodeStrict(n, &r); err != nil {
		return nil, err
	}
	if !nameRE.MatchString(r.Name) {
		return nil, fmt.Errorf("field name %q must be snake_case", r.Name)
	}
	bad := func(what string, args ...any) error {
		return fmt.Errorf("field %q: "+what, append([]any{r.Name}, args...)...)
	}
	f := &Field{
		Name: r.Name, Zh: r.Zh, En: r.En, Level: r.Level, Mask: r.Mask,
		Indexed: r.Indexed, Multi: r.Multi, Source: r.Source, DerivedFrom: r.DerivedFrom,
		Purposes: r.Purposes, Clause: r.Clause, Line: n.Line,
	}
	if r.Zh == "" || r.En == "" {
		return nil, bad("zh and en labels are required")
	}
	if !slices.Contains(Categories, Category(r.Category)) {
		return nil, bad("category %q is not one of %v", r.Category, Categories)
	}
	f.Category = Category(r.Category)
	if r.Sensitive == nil {
		return nil, bad("sensitive: true or false is required")
	}
	f.Sensitive = *r.Sensitive
	if r.Level < 1 || r.Level > 3 {
		return nil, bad("level must be 1, 2 or 3, not %d", r.Level)
	}
	if f.Sensitive && r.Level != 1 {
		return nil, bad("sensitive PI must be level 1 (S-7.2)")
	}
	ret, err := parseRetention(r.Retention)
	if err != nil {
		return nil, bad("%v", err)
	}
	f.Retention = ret
	if r.Statutory != "" {
		if f.Statutory, err = parseSpan(r.Statutory); err != nil {
			return nil, bad("statutory: %v", err)
		}
	}
	if err := format.ValidateMaskSpec(r.Mask); err != nil {
		return nil, bad("mask: %v", err)
	}
	if r.Mask == "none" && (f.Sensitive || f.Level == 1) {
		return nil, bad("mask none is only for non-sensitive level 2 or 3 values (ACC-6)")
	}
	switch Identifier(r.Identifier) {
	case "direct", "quasi", "none":
		f.Identifier = Identifier(r.Identifier)
	default:
		return nil, bad("identifier must be direct, quasi or none, not %q", r.Identifier)
	}
	if f.Format, err = format.ParseKind(r.Format); err != nil {
		return nil, bad("format: %v", err)
	}
	if !slices.Contains(sources, r.Source) {
		return nil, bad("source %q is not one of %v", r.Source, sources)
	}
	if r.Source == "derived" && len(r.DerivedFrom) == 0 {
		return nil, bad("derived fields must list derived_from (CAT-3)")
	}
	if len(r.Purposes) == 0 {
		return nil, bad("at least one purpose is required")
	}
	for _, p := range r.Purposes {
		if !purposes[p] {
			return nil, bad("purpose %q is not declared under purposes:", p)
		}
	}
	if f.Indexed && !ret.Stored() {
		return nil, bad("a request-only field cannot be indexed")
	}
	return f, nil
}

func parseRetention(s string) (Retention, error) {
	switch {
	case s == "account" || s == "request":
		return Retention{Kind: s}, nil
	case strings.HasPrefix(s, "account+"):
		sp, err := parseSpan(strings.TrimPrefix(s, "account+"))
		if err != nil {
			return Retention{}, fmt.Errorf("retention: %w", err)
		}
		return Retention{Kind: "account", Duration: sp}, nil
	case s == "":
		return Retention{}, errors.New("retention is required (account, account+<n>d|m|y, <n>d|m|y or request)")
	}
	sp, err := parseSpan(s)
	if err != nil {
		return Retention{}, fmt.Errorf("retention: %w", err)
	}
	return Retention{Kind: "fixed", Duration: sp}, nil
}

func parseSpan(s string) (Span, error) {
	m := spanRE.FindStringSubmatch(s)
	if m == nil {
		return Span{}, fmt.Errorf("%q is not a span like 30d, 6m or 3y", s)
	}
	n, _ := strconv.Atoi(m[1])
	return Span{N: n, Unit: m[2][0]}, nil
}

// ExpiresAt returns when a value collected at t expires under fixed
// retention, or the zero time when it lives as long as the account.
func (f *Field) ExpiresAt(t time.Time) time.Time {
	if f.Retention.Kind == "fixed" {
		return f.Retention.Duration.After(t)
	}
	return time.Time{}
}

// ParseSpan parses a span as the catalog writes it: "30d", "6m", "3y".
func ParseSpan(s string) (Span, error) { return parseSpan(s) }
