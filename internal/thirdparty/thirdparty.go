// Package thirdparty is the registry of everyone outside gigvault that
// receives or collects personal information through it (CON-10, SHR-2):
// recipients, entrusted processors and embedded SDKs, each with its
// developer, version, purpose, the PI types it gets (as catalog fields, with
// the original description kept), its privacy-policy link and the contract
// and personal-information impact-assessment references.
//
// The package also renders the two public lists required of an App
// operator, both pure functions of the catalog, the business-function
// registry and this registry, as JSON and as HTML (zh-CN first, then
// English): the list of PI collected (CollectedList) and the list of
// third-party sharing (SharingList).
//
// The default registry is embedded (thirdparty.yaml). It is demo data: its
// SDK entries are the SDK table of privacy policy 004.
package thirdparty

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"gigvault/internal/yamlx"

	"gigvault/internal/catalog"
)

//go:embed thirdparty.yaml
var embedded []byte

// Kind is what a third party is to gigvault.
type Kind string

// The kinds.
const (
	SDK       Kind = "sdk"       // third-party code embedded in the app that collects PI itself
	Recipient Kind = "recipient" // receives PI and processes it for its own purposes (提供)
	Processor Kind = "processor" // processes PI on gigvault's behalf (委托处理)
)

// Kinds lists the allowed kinds.
var Kinds = []Kind{SDK, Recipient, Processor}

// Entry is one third party.
type Entry struct {
	ID          string
	Kind        Kind
	Name        string
	Developer   string
	Version     string // "" when not known
	PurposeZh   string
	PurposeEn   string
	Purposes    []string // catalog purpose ids; empty when none covers it
	Fields      []string // catalog field names
	PIZh        string   // the PI description as the source wrote it
	PolicyURL   string   // "" when none is known
	ContractRef string
	PIARef      string
	// Location is where the recipient processes the PI: "CN" (mainland
	// China, the default) or another ISO 3166 country code. Anywhere else
	// is a cross-border transfer (OPS-10): the registry refuses one
	// without an impact assessment, and gigvault provides PI to it only
	// on the person's consent, never on a legal-basis exception.
	Location string
	Clause   string
	Line     int
}

// CrossBorder reports whether providing PI to the entry leaves mainland China.
func (e Entry) CrossBorder() bool { return e.Location != "CN" }

// Registry is a validated, immutable list of third parties.
type Registry struct {
	Source  string
	Demo    bool
	entries []Entry
}

// Default returns the embedded registry validated against cat. It panics if
// the embedded file does not validate, which a test rules out for the
// default catalog.
func Default(cat *catalog.Catalog) *Registry {
	r, err := ParseFile("embedded thirdparty.yaml", embedded, cat)
	if err != nil {
		panic("thirdparty: embedded thirdparty.yaml is invalid: " + err.Error())
	}
	return r
}

// Load reads and validates a registry file against cat.
func Load(path string, cat *catalog.Catalog) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("thirdparty: read %s: %w", path, err)
	}
	return ParseFile(path, b, cat)
}

// Parse validates a registry document against cat; errors name it
// "thirdparty.yaml".
func Parse(data []byte, cat *catalog.Catalog) (*Registry, error) {
	return ParseFile("thirdparty.yaml", data, cat)
}

// Entries returns every entry in declaration order (a deep copy).
func (r *Registry) Entries() []Entry {
	out := make([]Entry, len(r.entries))
	for i, e := range r.entries {
		out[i] = cloneEntry(e)
	}
	return out
}

// Entry returns the entry with id.
func (r *Registry) Entry(id string) (Entry, bool) {
	for _, e := range r.entries {
		if e.ID == id {
			return cloneEntry(e), true
		}
	}
	return Entry{}, false
}

// ForField returns the entries that receive field, in declaration order.
func (r *Registry) ForField(field string) []Entry {
	var out []Entry
	for _, e := range r.entries {
		if slices.Contains(e.Fields, field) {
			out = append(out, cloneEntry(e))
		}
	}
	return out
}

func cloneEntry(e Entry) Entry {
	e.Purposes = slices.Clone(e.Purposes)
	e.Fields = slices.Clone(e.Fields)
	return e
}

// Gap is something an entry still lacks for CON-10 / SHR-2 compliance; the
// registry accepts it (the demo data has many) but an operator must close it.
type Gap struct {
	Entry   string
	Problem string
}

// Gaps lists, in order, the entries without a privacy-policy link, a
// contract or impact-assessment reference, or a catalog purpose, and the
// fields an entry receives although the catalog does not declare them for
// any of the entry's purposes.
func (r *Registry) Gaps(cat *catalog.Catalog) []Gap {
	var out []Gap
	for _, e := range r.entries {
		add := func(p string) { out = append(out, Gap{e.ID, p}) }
		if e.PolicyURL == "" && e.Kind != Recipient {
			add("no privacy-policy link")
		}
		if e.ContractRef == "" {
			add("no contract reference")
		}
		if e.PIARef == "" {
			add("no impact-assessment reference")
		}
		if len(e.Purposes) == 0 {
			add("no catalog purpose covers this use")
			continue
		}
		for _, f := range e.Fields {
			if fd, ok := cat.Field(f); ok && !slices.ContainsFunc(e.Purposes, fd.Allows) {
				add(fmt.Sprintf("field %s is not declared for %s", f, strings.Join(e.Purposes, ", ")))
			}
		}
	}
	return out
}

// Error is a registry problem at a place in the file.
type Error struct {
	File    string
	Line    int
	Problem string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("thirdparty %s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("thirdparty %s: %s", e.File, e.Problem)
}

type raw struct {
	Version int         `yaml:"version"`
	Demo    bool        `yaml:"demo"`
	Entries []yaml.Node `yaml:"entries"`
}

type rawEntry struct {
	ID          string   `yaml:"id"`
	Kind        string   `yaml:"kind"`
	Name        string   `yaml:"name"`
	Developer   string   `yaml:"developer"`
	Version     string   `yaml:"version"`
	PurposeZh   string   `yaml:"purpose_zh"`
	PurposeEn   string   `yaml:"purpose_en"`
	Purposes    []string `yaml:"purposes"`
	Fields      []string `yaml:"fields"`
	PIZh        string   `yaml:"pi_zh"`
	PolicyURL   string   `yaml:"policy_url"`
	ContractRef string   `yaml:"contract_ref"`
	PIARef      string   `yaml:"pia_ref"`
	Location    string   `yaml:"location"`
	Clause      string   `yaml:"clause"`
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

var locationRE = regexp.MustCompile(`^[A-Z]{2}$`)

// ParseFile validates a registry document against cat; file names it in
// error messages.
func ParseFile(file string, data []byte, cat *catalog.Catalog) (*Registry, error) {
	if cat == nil {
		return nil, &Error{file, 0, "no catalog to validate against"}
	}
	var doc raw
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Version != 1 {
		return nil, &Error{file, 1, fmt.Sprintf("version must be 1, not %d", doc.Version)}
	}
	r := &Registry{Source: file, Demo: doc.Demo}
	seen := map[string]int{}
	for i := range doc.Entries {
		n := &doc.Entries[i]
		e, line, err := parseEntry(n, cat)
		if err != nil {
			return nil, &Error{file, line, err.Error()}
		}
		if first, dup := seen[e.ID]; dup {
			return nil, &Error{file, n.Line, fmt.Sprintf("duplicate id %q (first at line %d)", e.ID, first)}
		}
		seen[e.ID] = n.Line
		r.entries = append(r.entries, e)
	}
	return r, nil
}

func parseEntry(n *yaml.Node, cat *catalog.Catalog) (Entry, int, error) {
	var re rawEntry
	if err := yamlx.DecodeStrict(n, &re); err != nil {
		return Entry{}, n.Line, err
	}
	if !idRE.MatchString(re.ID) {
		return Entry{}, n.Line, fmt.Errorf("id %q must be snake_case", re.ID)
	}
	bad := func(key, what string, args ...any) (Entry, int, error) {
		return Entry{}, valueLine(n, key), fmt.Errorf("entry %q: "+what, append([]any{re.ID}, args...)...)
	}
	e := Entry{
		ID: re.ID, Kind: Kind(re.Kind), Name: strings.TrimSpace(re.Name), Developer: re.Developer,
		Version: re.Version, PurposeZh: re.PurposeZh, PurposeEn: re.PurposeEn,
		PIZh: re.PIZh, PolicyURL: re.PolicyURL, ContractRef: re.ContractRef, PIARef: re.PIARef,
		Location: re.Location, Clause: re.Clause, Line: n.Line,
	}
	if e.Location == "" {
		e.Location = "CN"
	}
	if !locationRE.MatchString(e.Location) {
		return bad("location", "location must be an ISO 3166 country code such as CN, not %q", re.Location)
	}
	if e.CrossBorder() && strings.TrimSpace(e.PIARef) == "" {
		return bad("pia_ref", "a recipient outside mainland China (location %s) needs its impact assessment (pia_ref) before any transfer", e.Location)
	}
	if e.Name == "" {
		return bad("name", "missing name")
	}
	if !slices.Contains(Kinds, e.Kind) {
		return bad("kind", "kind must be sdk, recipient or processor, not %q", re.Kind)
	}
	if e.Kind == SDK && strings.TrimSpace(e.Developer) == "" {
		return bad("developer", "an sdk needs its developer")
	}
	if e.PurposeZh == "" || e.PurposeEn == "" {
		return bad("purpose_zh", "purpose_zh and purpose_en are required")
	}
	for i, p := range re.Purposes {
		if _, ok := cat.Purpose(p); !ok {
			return Entry{}, itemLine(n, "purposes", i), fmt.Errorf("entry %q: purpose %q is not declared in the catalog", re.ID, p)
		}
		if slices.Contains(re.Purposes[:i], p) {
			return Entry{}, itemLine(n, "purposes", i), fmt.Errorf("entry %q: purpose %q is listed twice", re.ID, p)
		}
	}
	e.Purposes = slices.Clone(re.Purposes)
	if len(re.Fields) == 0 {
		return bad("fields", "fields: list the catalog fields of the PI it receives")
	}
	for i, f := range re.Fields {
		if _, ok := cat.Field(f); !ok {
			return Entry{}, itemLine(n, "fields", i), fmt.Errorf("entry %q: unknown catalog field %q", re.ID, f)
		}
		if slices.Contains(re.Fields[:i], f) {
			return Entry{}, itemLine(n, "fields", i), fmt.Errorf("entry %q: field %q is listed twice", re.ID, f)
		}
	}
	e.Fields = slices.Clone(re.Fields)
	if e.PolicyURL != "" {
		if err := checkURL(e.PolicyURL); err != nil {
			return bad("policy_url", "bad policy_url %q: %v", e.PolicyURL, err)
		}
	}
	return e, n.Line, nil
}

func checkURL(s string) error {
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n") {
		return errors.New("contains spaces")
	}
	if strings.ContainsAny(s, "\"'<>\\^`{|}") {
		return errors.New("contains characters not allowed in a URL (percent-encode them)")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("must be an http or https URL")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("has no host")
	}
	return nil
}

// valueLine returns the line of key's value inside mapping n, or n's line.
func valueLine(n *yaml.Node, key string) int {
	if v := value(n, key); v != nil {
		return v.Line
	}
	return n.Line
}

// itemLine returns the line of the i-th item of the sequence under key.
func itemLine(n *yaml.Node, key string, i int) int {
	v := value(n, key)
	if v == nil {
		return n.Line
	}
	if v.Kind == yaml.SequenceNode && i < len(v.Content) {
		return v.Content[i].Line
	}
	return v.Line
}

func value(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func yamlError(file string, err error) error {
	line, msg := yamlx.Split(err)
	return &Error{file, line, msg}
}
