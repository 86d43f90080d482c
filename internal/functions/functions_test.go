package functions_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/catalog"
	"gigvault/internal/functions"
)

var cat = catalog.Default()

// The embedded registry validates against the embedded catalog, and it has
// the shape CAT-2 asks for.
func TestDefaultRegistry(t *testing.T) {
	r := functions.Default(cat)
	basic := r.Basic()
	if len(basic) != 1 || basic[0].ID != functions.BasicFunctionID || basic[0].Zh != "求职招聘信息交流" {
		t.Fatalf("basic = %+v", basic)
	}
	want := []string{"mobile", "resume_text", "education", "work_history", "skills", "expected_pay"}
	if got := r.Necessary(functions.BasicFunctionID); !slices.Equal(got, want) {
		t.Fatalf("basic necessary = %v, want %v", got, want)
	}
	if got := functions.BasicNecessary(cat); !slices.Equal(got, want) {
		t.Fatalf("BasicNecessary = %v", got)
	}
	// Applying and managing one's applications is part of the basic
	// function: a worker who refuses everything optional can still apply.
	if b := r.Basic(); len(b) != 1 || !b[0].Serves("application_management") {
		t.Fatalf("the basic function does not serve application_management: %+v", b)
	}
	if _, ok := r.Function("application_management"); ok {
		t.Fatal("application_management is also an extended function that could be refused")
	}
	// The extended functions the issue names, and 004's others, are there.
	for _, id := range []string{"nearby_jobs", "identity_verification", "electronic_contract", "payout",
		"personalised_recommendation", "marketing", "customer_service", "wechat_login", "info_publishing",
		"employer_verification", "tax_withholding", "service_payment",
		"online_communication", "account_security", "message_push", "survey", "feedback"} {
		f, ok := r.Function(id)
		if !ok {
			t.Errorf("function %s missing", id)
			continue
		}
		if f.Kind != functions.Extended || len(f.PI) == 0 || len(r.Necessary(id)) == 0 {
			t.Errorf("function %s = %+v: want extended with its own necessary PI", id, f)
		}
	}
	// Every catalog purpose is served and every catalog field is used by
	// some function, so the policy can map each PI to a function.
	used := map[string]bool{}
	for _, f := range r.Functions() {
		for _, fd := range f.Fields() {
			used[fd] = true
		}
	}
	for _, fd := range cat.Fields() {
		if !used[fd.Name] {
			t.Errorf("catalog field %s is used by no function", fd.Name)
		}
	}
	for _, p := range cat.Purposes() {
		if len(r.ForPurpose(p.ID)) == 0 {
			t.Errorf("catalog purpose %s is served by no function", p.ID)
		}
	}
	// Every PI a function lists declares one of its purposes (the validator's rule, checked independently).
	for _, f := range r.Functions() {
		for _, p := range f.PI {
			fd, _ := cat.Field(p.Field)
			if !slices.ContainsFunc(f.Purposes, fd.Allows) {
				t.Errorf("%s uses %s outside its purposes", f.ID, p.Field)
			}
		}
	}
}

func TestAccessors(t *testing.T) {
	r := functions.Default(cat)
	if r.Necessary("no_such_function") != nil || r.Optional("no_such_function") != nil {
		t.Error("unknown function has PI")
	}
	if _, ok := r.Function("no_such_function"); ok {
		t.Error("unknown function found")
	}
	if opt := r.Optional(functions.BasicFunctionID); !slices.Contains(opt, "name") || slices.Contains(opt, "mobile") {
		t.Errorf("optional = %v", opt)
	}
	got := r.ForPurpose("payout")
	if len(got) != 1 || got[0].ID != "payout" {
		t.Errorf("ForPurpose(payout) = %v", got)
	}
	if len(r.ForPurpose("no_such_purpose")) != 0 {
		t.Error("ForPurpose of an unknown purpose")
	}
	ids := func(fs []functions.Function) (out []string) {
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	if got := ids(r.ForField("id_number")); !slices.Contains(got, "identity_verification") || slices.Contains(got, functions.BasicFunctionID) {
		t.Errorf("ForField(id_number) = %v", got)
	}
	// Results are copies: changing them does not change the registry.
	fs := r.Functions()
	fs[0].PI[0].Field = "changed"
	fs[0].Purposes[0] = "changed"
	if f, _ := r.Function(functions.BasicFunctionID); f.PI[0].Field != "mobile" || f.Purposes[0] == "changed" {
		t.Error("Functions() shares memory with the registry")
	}
}

// Every rule, one bad file each: the error names the file, the line and the problem.
func TestBadRegistries(t *testing.T) {
	if _, err := functions.Load("testdata/good.yaml", cat); err != nil {
		t.Fatalf("good.yaml: %v", err)
	}
	cases := []struct {
		file string
		line int
		want string
	}{
		{"bad_unknown_field.yaml", 22, `field "aura_colour" is not declared in the catalog`},
		{"bad_field_purpose.yaml", 22, `field "bank_card" declares none of the function's purposes`},
		{"bad_unknown_purpose.yaml", 16, `purpose "mind_reading" is not declared in the catalog`},
		{"bad_no_purposes.yaml", 16, "at least one purpose is required"},
		{"bad_two_basic.yaml", 16, `"nearby_jobs" is a second basic function`},
		{"bad_no_basic.yaml", 1, "no basic function"},
		{"bad_wrong_basic.yaml", 16, `function "nearby_jobs" cannot be basic`},
		{"bad_both_kinds.yaml", 19, "cannot be both basic and extended"},
		{"bad_kind.yaml", 19, `kind must be basic or extended, not "premium"`},
		{"bad_missing_kind.yaml", 16, "kind: basic or extended is required"},
		{"bad_duplicate_id.yaml", 16, `function "job_information_exchange" is declared twice`},
		{"bad_missing_necessary_resume.yaml", 3, `must declare "skills" as necessary PI`},
		{"bad_missing_mobile.yaml", 3, `must declare "mobile" as necessary PI`},
		{"bad_optional_mobile.yaml", 3, `must declare "mobile" as necessary PI`},
		{"bad_extra_necessary.yaml", 15, `may not require "name"`},
		{"bad_no_pi.yaml", 16, "must declare the PI it uses"},
		{"bad_necessary_unset.yaml", 22, "necessary: true or false is required"},
		{"bad_no_why.yaml", 22, "why_zh and why_en are required"},
		{"bad_pi_twice.yaml", 16, `field "name" is listed twice`},
		{"bad_unknown_key.yaml", 16, "field colour not found"},
		{"bad_unknown_pi_key.yaml", 22, "field colour not found"},
		{"bad_id.yaml", 16, `"Nearby-Jobs" must be snake_case`},
		{"bad_labels.yaml", 16, "zh and en labels are required"},
		{"bad_version.yaml", 1, "version must be 1"},
		{"bad_not_yaml.yaml", 1, ""},
		{"bad_no_functions.yaml", 1, "no functions declared"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := functions.Load(path, cat)
			var fe *functions.Error
			if !errors.As(err, &fe) {
				t.Fatalf("err = %#v, want *functions.Error", err)
			}
			if fe.File != path || fe.Line != tc.line || !strings.Contains(fe.Problem, tc.want) {
				t.Fatalf("err = %v; want %s:%d mentioning %q", err, path, tc.line, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "functions "+path+":") {
				t.Fatalf("message %q does not start with the file", err)
			}
		})
	}
	if _, err := functions.Load(filepath.Join(t.TempDir(), "missing.yaml"), cat); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := functions.Parse([]byte("version: 1\n"), nil); err == nil {
		t.Fatal("nil catalog accepted")
	}
}

// The résumé fields the basic function must require follow the catalog: a
// catalog without "skills" does not make the registry demand it.
func TestBasicNecessaryFollowsCatalog(t *testing.T) {
	src, err := os.ReadFile("../catalog/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "  - name: skills\n")
	end := strings.Index(s, "  - name: expected_pay\n")
	if start < 0 || end < start {
		t.Fatal("catalog.yaml layout changed; update this test")
	}
	small, err := catalog.Parse("small.yaml", []byte(s[:start]+s[end:]))
	if err != nil {
		t.Fatal(err)
	}
	if got := functions.BasicNecessary(small); slices.Contains(got, "skills") {
		t.Fatalf("BasicNecessary = %v", got)
	}
	good, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// good.yaml lists skills, which the smaller catalog does not declare.
	if _, err := functions.Parse(good, small); err == nil || !strings.Contains(err.Error(), `"skills" is not declared`) {
		t.Fatalf("err = %v", err)
	}
	without, err := os.ReadFile("testdata/bad_missing_necessary_resume.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := functions.Parse(without, small); err != nil {
		t.Fatalf("registry without skills under a catalog without skills: %v", err)
	}
}
