// Package functions is the business-function registry (CAT-2): every
// business function gigvault offers, whether it is the basic function or an
// extended one, the catalog purposes it serves, and each piece of personal
// information it uses, whether that PI is necessary for the function, and
// why.
//
// The recruitment platform has exactly one basic function, job-information
// exchange (求职招聘信息交流). Its necessary PI is, by rule, the registrant's
// mobile number and the résumé the job seeker provides; everything else a
// worker may give is optional, and every other function is extended and
// declares its own PI. The validator enforces this, so that a consent
// decision or an API can ask the registry, never a hand-written list, what a
// function may require.
//
// The default registry is embedded (functions.yaml) and validated against a
// catalog; a bad registry is refused with an error naming the file, the line
// and the problem, like the catalog's.
package functions

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"gigvault/internal/yamlx"

	"gigvault/internal/catalog"
)

//go:embed functions.yaml
var embedded []byte

// Kind says whether a function is the basic function or an extended one.
type Kind string

// The kinds.
const (
	Basic    Kind = "basic"
	Extended Kind = "extended"
)

// BasicFunctionID is the one basic function of a recruitment platform:
// 求职招聘信息交流 (job-information exchange).
const BasicFunctionID = "job_information_exchange"

// MobileField is the registrant's mobile number, necessary for the basic function.
const MobileField = "mobile"

// ResumeFields are the catalog fields that make up the résumé a job seeker
// provides. Those present in the catalog are, with MobileField, exactly the
// basic function's necessary PI. resume_text is required to be in the catalog.
var ResumeFields = []string{"resume_text", "education", "work_history", "skills", "expected_pay"}

// PI is one piece of personal information a function uses.
type PI struct {
	Field     string `json:"field"`
	Necessary bool   `json:"necessary"`
	WhyZh     string `json:"why_zh"`
	WhyEn     string `json:"why_en"`
	Line      int    `json:"-"`
}

// Function is one declared business function.
type Function struct {
	ID       string   `json:"id"`
	Zh       string   `json:"zh"`
	En       string   `json:"en"`
	Kind     Kind     `json:"kind"`
	Purposes []string `json:"purposes"`
	PI       []PI     `json:"pi"`
	Line     int      `json:"-"`
}

// Fields returns the names of every field the function uses, in order.
func (f Function) Fields() []string {
	out := make([]string, 0, len(f.PI))
	for _, p := range f.PI {
		out = append(out, p.Field)
	}
	return out
}

// Serves reports whether the function serves the purpose.
func (f Function) Serves(purpose string) bool { return slices.Contains(f.Purposes, purpose) }

// Registry is a validated, immutable set of business functions.
type Registry struct {
	Source string // file name, or "embedded functions.yaml"
	fns    []Function
	byID   map[string]int
}

// Default returns the embedded registry validated against cat. It panics if
// the embedded file does not validate, which a test rules out for the
// default catalog.
func Default(cat *catalog.Catalog) *Registry {
	r, err := ParseFile("embedded functions.yaml", embedded, cat)
	if err != nil {
		panic("functions: embedded functions.yaml is invalid: " + err.Error())
	}
	return r
}

// Load reads and validates a registry file against cat.
func Load(path string, cat *catalog.Catalog) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("functions: read %s: %w", path, err)
	}
	return ParseFile(path, b, cat)
}

// Parse validates a registry document against cat; errors name it
// "functions.yaml".
func Parse(data []byte, cat *catalog.Catalog) (*Registry, error) {
	return ParseFile("functions.yaml", data, cat)
}

// Functions returns every function in declaration order. The result is a
// deep copy.
func (r *Registry) Functions() []Function {
	out := make([]Function, len(r.fns))
	for i, f := range r.fns {
		out[i] = clone(f)
	}
	return out
}

// Function returns the function with id.
func (r *Registry) Function(id string) (Function, bool) {
	i, ok := r.byID[id]
	if !ok {
		return Function{}, false
	}
	return clone(r.fns[i]), true
}

// Basic returns the basic functions (exactly one in a valid registry).
func (r *Registry) Basic() []Function {
	var out []Function
	for _, f := range r.fns {
		if f.Kind == Basic {
			out = append(out, clone(f))
		}
	}
	return out
}

// ForPurpose returns the functions that serve purpose, in declaration order.
func (r *Registry) ForPurpose(purpose string) []Function {
	var out []Function
	for _, f := range r.fns {
		if f.Serves(purpose) {
			out = append(out, clone(f))
		}
	}
	return out
}

// ForField returns the functions that use field, in declaration order.
func (r *Registry) ForField(field string) []Function {
	var out []Function
	for _, f := range r.fns {
		if slices.Contains(f.Fields(), field) {
			out = append(out, clone(f))
		}
	}
	return out
}

// Necessary returns the fields the function cannot work without, in
// declaration order; nil for an unknown function.
func (r *Registry) Necessary(functionID string) []string {
	return r.pick(functionID, true)
}

// Optional returns the fields the function may use with the user's
// agreement but does not require; nil for an unknown function.
func (r *Registry) Optional(functionID string) []string {
	return r.pick(functionID, false)
}

func (r *Registry) pick(functionID string, necessary bool) []string {
	i, ok := r.byID[functionID]
	if !ok {
		return nil
	}
	out := []string{}
	for _, p := range r.fns[i].PI {
		if p.Necessary == necessary {
			out = append(out, p.Field)
		}
	}
	return out
}

func clone(f Function) Function {
	f.Purposes = slices.Clone(f.Purposes)
	f.PI = slices.Clone(f.PI)
	return f
}

// BasicNecessary returns the necessary PI the basic function must declare
// under cat: MobileField followed by the ResumeFields the catalog declares.
func BasicNecessary(cat *catalog.Catalog) []string {
	out := []string{MobileField}
	for _, f := range ResumeFields {
		if _, ok := cat.Field(f); ok {
			out = append(out, f)
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
		return fmt.Sprintf("functions %s:%d: %s", e.File, e.Line, e.Problem)
	}
	return fmt.Sprintf("functions %s: %s", e.File, e.Problem)
}

type raw struct {
	Version   int         `yaml:"version"`
	Functions []yaml.Node `yaml:"functions"`
}

type rawFunction struct {
	ID       string      `yaml:"id"`
	Zh       string      `yaml:"zh"`
	En       string      `yaml:"en"`
	Kind     yaml.Node   `yaml:"kind"`
	Purposes []string    `yaml:"purposes"`
	PI       []yaml.Node `yaml:"pi"`
}

type rawPI struct {
	Field     string `yaml:"field"`
	Necessary *bool  `yaml:"necessary"`
	WhyZh     string `yaml:"why_zh"`
	WhyEn     string `yaml:"why_en"`
}

var idRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

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
	if len(doc.Functions) == 0 {
		return nil, &Error{file, 1, "no functions declared"}
	}
	r := &Registry{Source: file, byID: map[string]int{}}
	for i := range doc.Functions {
		n := &doc.Functions[i]
		f, line, err := parseFunction(n, cat)
		if err != nil {
			return nil, &Error{file, line, err.Error()}
		}
		if _, dup := r.byID[f.ID]; dup {
			return nil, &Error{file, n.Line, fmt.Sprintf("function %q is declared twice", f.ID)}
		}
		r.byID[f.ID] = len(r.fns)
		r.fns = append(r.fns, f)
	}
	// Exactly one basic function, and it is job-information exchange.
	var basics []Function
	for _, f := range r.fns {
		if f.Kind == Basic {
			basics = append(basics, f)
		}
	}
	switch {
	case len(basics) == 0:
		return nil, &Error{file, 1, fmt.Sprintf("no basic function: a recruitment platform has exactly one, %q (CAT-2)", BasicFunctionID)}
	case len(basics) > 1:
		return nil, &Error{file, basics[1].Line, fmt.Sprintf("function %q is a second basic function; only %q is basic (CAT-2)", basics[1].ID, BasicFunctionID)}
	case basics[0].ID != BasicFunctionID:
		return nil, &Error{file, basics[0].Line, fmt.Sprintf("function %q cannot be basic; the basic function is %q (CAT-2)", basics[0].ID, BasicFunctionID)}
	}
	// Its necessary PI is exactly the mobile number and the résumé.
	b := basics[0]
	for _, need := range []string{MobileField, "resume_text"} {
		if _, ok := cat.Field(need); !ok {
			return nil, &Error{file, b.Line, fmt.Sprintf("the catalog does not declare %q, necessary PI of the basic function", need)}
		}
	}
	want := BasicNecessary(cat)
	got := r.Necessary(b.ID)
	for _, w := range want {
		if !slices.Contains(got, w) {
			return nil, &Error{file, b.Line, fmt.Sprintf("basic function %q must declare %q as necessary PI (registrant's mobile number and the job seeker's résumé)", b.ID, w)}
		}
	}
	for _, p := range b.PI {
		if p.Necessary && !slices.Contains(want, p.Field) {
			return nil, &Error{file, p.Line, fmt.Sprintf("basic function %q may not require %q: its necessary PI is only %s; declare it necessary: false", b.ID, p.Field, strings.Join(want, ", "))}
		}
	}
	return r, nil
}

// parseFunction validates one function; the returned line is where the
// problem is.
func parseFunction(n *yaml.Node, cat *catalog.Catalog) (Function, int, error) {
	var rf rawFunction
	if err := yamlx.DecodeStrict(n, &rf); err != nil {
		return Function{}, n.Line, err
	}
	// Decode again straight from the file's node so that the nested nodes
	// (kind, pi entries) keep their line numbers in the file.
	rf = rawFunction{}
	if err := n.Decode(&rf); err != nil {
		_, msg := yamlx.Split(err)
		return Function{}, n.Line, errors.New(msg)
	}
	if !idRE.MatchString(rf.ID) {
		return Function{}, n.Line, fmt.Errorf("function id %q must be snake_case", rf.ID)
	}
	bad := func(line int, what string, args ...any) (Function, int, error) {
		return Function{}, line, fmt.Errorf("function %q: "+what, append([]any{rf.ID}, args...)...)
	}
	f := Function{ID: rf.ID, Zh: rf.Zh, En: rf.En, Purposes: rf.Purposes, Line: n.Line}
	if rf.Zh == "" || rf.En == "" {
		return bad(n.Line, "zh and en labels are required")
	}
	kindLine := n.Line
	if rf.Kind.Line > 0 {
		kindLine = rf.Kind.Line
	}
	switch rf.Kind.Kind {
	case yaml.ScalarNode:
		switch Kind(rf.Kind.Value) {
		case Basic, Extended:
			f.Kind = Kind(rf.Kind.Value)
		default:
			return bad(kindLine, "kind must be basic or extended, not %q", rf.Kind.Value)
		}
	case yaml.SequenceNode:
		var ks []string
		for _, c := range rf.Kind.Content {
			ks = append(ks, c.Value)
		}
		if slices.Contains(ks, string(Basic)) && slices.Contains(ks, string(Extended)) {
			return bad(kindLine, "a function cannot be both basic and extended")
		}
		return bad(kindLine, "kind must be one of basic or extended, not a list")
	case 0:
		return bad(n.Line, "kind: basic or extended is required")
	default:
		return bad(kindLine, "kind must be basic or extended")
	}
	if len(rf.Purposes) == 0 {
		return bad(n.Line, "at least one purpose is required")
	}
	for i, p := range rf.Purposes {
		if _, ok := cat.Purpose(p); !ok {
			return bad(n.Line, "purpose %q is not declared in the catalog", p)
		}
		if slices.Contains(rf.Purposes[:i], p) {
			return bad(n.Line, "purpose %q is listed twice", p)
		}
	}
	if len(rf.PI) == 0 {
		return bad(n.Line, "pi: the function must declare the PI it uses")
	}
	for i := range rf.PI {
		pn := &rf.PI[i]
		var rp rawPI
		if err := yamlx.DecodeStrict(pn, &rp); err != nil {
			return bad(pn.Line, "pi: %v", err)
		}
		fd, ok := cat.Field(rp.Field)
		if !ok {
			return bad(pn.Line, "field %q is not declared in the catalog", rp.Field)
		}
		if slices.Contains(f.Fields(), rp.Field) {
			return bad(pn.Line, "field %q is listed twice", rp.Field)
		}
		if !slices.ContainsFunc(rf.Purposes, fd.Allows) {
			return bad(pn.Line, "field %q declares none of the function's purposes %v (its purposes are %v)", rp.Field, rf.Purposes, fd.Purposes)
		}
		if rp.Necessary == nil {
			return bad(pn.Line, "field %q: necessary: true or false is required", rp.Field)
		}
		if rp.WhyZh == "" || rp.WhyEn == "" {
			return bad(pn.Line, "field %q: why_zh and why_en are required", rp.Field)
		}
		f.PI = append(f.PI, PI{Field: rp.Field, Necessary: *rp.Necessary, WhyZh: rp.WhyZh, WhyEn: rp.WhyEn, Line: pn.Line})
	}
	return f, n.Line, nil
}

func yamlError(file string, err error) error {
	line, msg := yamlx.Split(err)
	return &Error{file, line, msg}
}
