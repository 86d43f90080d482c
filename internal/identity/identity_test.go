package identity

// Package-internal tests of identity's pure rules: configuration defaults,
// the staff-role check (ACC-1), log-in names, organisation validation,
// mobile-number normalisation, and the token guard in front of the
// database.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gigvault/internal/credential"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/policy"
)

func TestConfigDefaults(t *testing.T) {
	got := Config{}.Defaults()
	want := Config{
		CodeTTL:          5 * time.Minute,
		CodeTries:        5,
		ResendCooldown:   time.Minute,
		CodesPerDay:      10,
		LockoutThreshold: 5,
		LockoutWindow:    15 * time.Minute,
		LockoutDuration:  15 * time.Minute,
		UserIdle:         7 * 24 * time.Hour,
		UserAbsolute:     30 * 24 * time.Hour,
		StaffIdle:        15 * time.Minute,
		StaffAbsolute:    8 * time.Hour,
		WorkerSessions:   3,
		StaffSessions:    1,
		GlobalSessions:   200000,
		TouchEvery:       time.Minute,
		StaffIdleDisable: 90 * 24 * time.Hour,
		TOTPIssuer:       "gigvault",
		Password:         credential.DefaultParams,
	}
	if got != want {
		t.Fatalf("Config{}.Defaults() =\n%+v\nwant\n%+v", got, want)
	}
	// Defaults is idempotent.
	if again := got.Defaults(); again != got {
		t.Fatalf("Defaults is not idempotent:\n%+v\n%+v", again, got)
	}
}

func TestConfigDefaultsKeepsSetValues(t *testing.T) {
	fast := credential.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	in := Config{
		CodeTTL: 2 * time.Minute, CodeTries: 3, ResendCooldown: 30 * time.Second, CodesPerDay: 4,
		LockoutThreshold: 7, LockoutWindow: time.Hour, LockoutDuration: 2 * time.Hour,
		UserIdle: 48 * time.Hour, UserAbsolute: 96 * time.Hour, StaffIdle: 20 * time.Minute, StaffAbsolute: time.Hour,
		WorkerSessions: 5, StaffSessions: 2, GlobalSessions: 10, TouchEvery: 2 * time.Minute,
		StaffIdleDisable: 24 * time.Hour, TOTPIssuer: "acme", Password: fast,
	}
	if got := in.Defaults(); got != in {
		t.Fatalf("Defaults changed set values:\n got %+v\nwant %+v", got, in)
	}
	// Negative values are not limits: they take the defaults too.
	neg := Config{CodeTTL: -1, CodeTries: -1, StaffSessions: -3, TouchEvery: -time.Second}.Defaults()
	if neg.CodeTTL != 5*time.Minute || neg.CodeTries != 5 || neg.StaffSessions != 1 || neg.TouchEvery != time.Minute {
		t.Fatalf("negative values kept: %+v", neg)
	}
}

func TestConfigDefaultsCapsTouchEvery(t *testing.T) {
	cases := []struct {
		name string
		in   Config
		want time.Duration
	}{
		{"defaults: a minute is under a quarter of 15 minutes", Config{}, time.Minute},
		{"explicit, under the cap", Config{TouchEvery: 3 * time.Minute}, 3 * time.Minute},
		{"explicit, exactly the cap", Config{TouchEvery: 15 * time.Minute / 4}, 15 * time.Minute / 4},
		{"explicit, over the default staff cap", Config{TouchEvery: 10 * time.Minute}, 15 * time.Minute / 4},
		{"short staff idle", Config{StaffIdle: 2 * time.Minute}, 30 * time.Second},
		{"short user idle is the shortest", Config{UserIdle: 40 * time.Second, StaffIdle: time.Hour}, 10 * time.Second},
		{"both long: the default stays", Config{UserIdle: time.Hour, StaffIdle: time.Hour}, time.Minute},
		{"both long, explicit over the cap", Config{UserIdle: time.Hour, StaffIdle: 2 * time.Hour, TouchEvery: time.Hour}, 15 * time.Minute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.Defaults()
			if got.TouchEvery != c.want {
				t.Fatalf("TouchEvery = %v, want %v", got.TouchEvery, c.want)
			}
			if q := min(got.UserIdle, got.StaffIdle) / 4; got.TouchEvery > q {
				t.Fatalf("TouchEvery %v above a quarter of the shortest idle time-out (%v)", got.TouchEvery, q)
			}
		})
	}
}

func TestConfigPerKind(t *testing.T) {
	c := Config{}.Defaults()
	for _, k := range []Kind{Worker, Employer} {
		if c.idle(k) != c.UserIdle || c.absolute(k) != c.UserAbsolute || c.sessionCap(k) != c.WorkerSessions {
			t.Errorf("%s: idle %v absolute %v cap %d, want the user limits", k, c.idle(k), c.absolute(k), c.sessionCap(k))
		}
	}
	if c.idle(Staff) != c.StaffIdle || c.absolute(Staff) != c.StaffAbsolute || c.sessionCap(Staff) != c.StaffSessions {
		t.Errorf("staff: idle %v absolute %v cap %d, want the staff limits", c.idle(Staff), c.absolute(Staff), c.sessionCap(Staff))
	}
}

func TestCheckStaffRoles(t *testing.T) {
	type want struct {
		ok      bool
		reason  string
		missing []string
	}
	ok := want{ok: true}
	conflict := want{reason: policy.ReasonRoleConflict}
	unknown := func(r string) want { return want{reason: policy.ReasonUnknown, missing: []string{r}} }
	cases := []struct {
		name  string
		roles []policy.Role
		want  want
	}{
		{"empty", nil, want{}},
		{"empty slice", []policy.Role{}, want{}},

		{"security_admin pairs with system_admin", []policy.Role{policy.SecurityAdmin, policy.SystemAdmin}, conflict},
		{"security_admin pairs with data_operator", []policy.Role{policy.SecurityAdmin, policy.DataOperator}, conflict},
		{"audit_admin pairs with system_admin", []policy.Role{policy.AuditAdmin, policy.SystemAdmin}, conflict},
		{"audit_admin pairs with data_operator", []policy.Role{policy.AuditAdmin, policy.DataOperator}, conflict},
		{"conflict in the other order", []policy.Role{policy.DataOperator, policy.AuditAdmin}, conflict},
		{"conflict among others", []policy.Role{policy.DPO, policy.SystemAdmin, policy.Support, policy.SecurityAdmin}, conflict},

		{"worker", []policy.Role{policy.Worker}, unknown("worker")},
		{"employer_member", []policy.Role{policy.EmployerMember}, unknown("employer_member")},
		{"worker beside a staff role", []policy.Role{policy.Support, policy.Worker}, unknown("worker")},
		{"unknown role", []policy.Role{"root"}, unknown("root")},
		{"empty role name", []policy.Role{""}, unknown("")},
		{"case matters", []policy.Role{"DPO"}, unknown("DPO")},

		{"audit_admin with security_admin", []policy.Role{policy.AuditAdmin, policy.SecurityAdmin}, ok},
		{"system_admin with data_operator", []policy.Role{policy.SystemAdmin, policy.DataOperator}, ok},
		{"dpo with support", []policy.Role{policy.DPO, policy.Support}, ok},
		{"security_admin with dpo and support", []policy.Role{policy.SecurityAdmin, policy.DPO, policy.Support}, ok},
	}
	for _, r := range StaffRoles() {
		cases = append(cases, struct {
			name  string
			roles []policy.Role
			want  want
		}{"alone: " + string(r), []policy.Role{r}, ok})
	}
	if len(StaffRoles()) != 7 {
		t.Fatalf("StaffRoles() = %v, want the seven staff roles", StaffRoles())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkStaffRoles(c.roles)
			if c.want.ok {
				if err != nil {
					t.Fatalf("checkStaffRoles(%v) = %v, want nil", c.roles, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkStaffRoles(%v) = nil, want a refusal", c.roles)
			}
			e := errs.As(err)
			if e.Code != errs.Invalid || e.Field != "roles" || e.Reason != c.want.reason || !slices.Equal(e.Missing, c.want.missing) {
				t.Fatalf("checkStaffRoles(%v) = code %s field %q reason %q missing %q; want invalid, roles, %q, %q",
					c.roles, e.Code, e.Field, e.Reason, e.Missing, c.want.reason, c.want.missing)
			}
		})
	}
}

func TestStaffRolesIsACopy(t *testing.T) {
	rs := StaffRoles()
	rs[0] = policy.Worker
	if slices.Contains(StaffRoles(), policy.Worker) {
		t.Fatal("changing StaffRoles' result changed the package's list")
	}
}

func TestLoginNameRE(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"abc", true},
		{"a12", true},
		{"li.lei", true},
		{"li_lei-2", true},
		{"a" + strings.Repeat("b", 31), true}, // 32
		{"z.-_", true},

		{"", false},
		{"a", false},
		{"ab", false},                          // 2
		{"a" + strings.Repeat("b", 32), false}, // 33
		{"1abc", false},
		{".abc", false},
		{"_abc", false},
		{"-abc", false},
		{"Abc", false},
		{"abC", false},
		{"ab c", false},
		{"abc ", false},
		{" abc", false},
		{"abc\n", false},
		{"ab@c", false},
		{"李雷abc", false},
		{"abç", false},
		{"ab/c", false},
	}
	for _, c := range cases {
		if got := loginNameRE.MatchString(c.name); got != c.ok {
			t.Errorf("loginNameRE.MatchString(%q) = %v, want %v", c.name, got, c.ok)
		}
	}
}

// usccFor returns body followed by its correct check character.
func usccFor(t *testing.T, body string) string {
	t.Helper()
	c, ok := format.USCCCheckChar(body)
	if !ok {
		t.Fatalf("USCCCheckChar(%q) not ok", body)
	}
	return body + string(c)
}

// wrongCheck returns a code whose check character is wrong.
func wrongCheck(t *testing.T, valid string) string {
	t.Helper()
	for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
		if byte(c) != valid[17] {
			return valid[:17] + string(c)
		}
	}
	t.Fatal("unreachable")
	return ""
}

func TestOrganisationValidate(t *testing.T) {
	valid := usccFor(t, "91350100MA2XYW3K1")
	other := usccFor(t, "12100000400000000")
	cases := []struct {
		name      string
		org       Organisation
		field     string // "" = valid
		wantName  string
		wantUSCC  string
		wantCause bool // the error wraps a format error
	}{
		{name: "valid", org: Organisation{Name: "福州海峡创意", USCC: valid, ContactName: "王经理"}, wantName: "福州海峡创意", wantUSCC: valid},
		{name: "valid, lower case code", org: Organisation{Name: "Acme Ltd", USCC: strings.ToLower(valid)}, wantName: "Acme Ltd", wantUSCC: valid},
		{name: "valid, trimmed name", org: Organisation{Name: "  福州  ", USCC: other}, wantName: "福州", wantUSCC: other},
		{name: "valid, Latin contact name", org: Organisation{Name: "Acme", USCC: valid, ContactName: "Li Lei"}, wantName: "Acme", wantUSCC: valid},
		{name: "valid, no contact name", org: Organisation{Name: "Acme", USCC: valid}, wantName: "Acme", wantUSCC: valid},
		{name: "valid, two-character name", org: Organisation{Name: "福州", USCC: valid}, wantName: "福州", wantUSCC: valid},
		{name: "valid, 100-character name", org: Organisation{Name: strings.Repeat("单", 100), USCC: valid}, wantName: strings.Repeat("单", 100), wantUSCC: valid},

		{name: "empty name", org: Organisation{USCC: valid}, field: "organisation.name"},
		{name: "one-character name", org: Organisation{Name: "单", USCC: valid}, field: "organisation.name"},
		{name: "one character after trimming", org: Organisation{Name: "  A \t", USCC: valid}, field: "organisation.name"},
		{name: "101-character name", org: Organisation{Name: strings.Repeat("单", 101), USCC: valid}, field: "organisation.name"},

		{name: "wrong check character", org: Organisation{Name: "Acme", USCC: wrongCheck(t, valid)}, field: "organisation.uscc", wantCause: true},
		{name: "short code", org: Organisation{Name: "Acme", USCC: valid[:17]}, field: "organisation.uscc", wantCause: true},
		{name: "long code", org: Organisation{Name: "Acme", USCC: valid + "0"}, field: "organisation.uscc", wantCause: true},
		{name: "letter outside the alphabet", org: Organisation{Name: "Acme", USCC: "I" + valid[1:]}, field: "organisation.uscc", wantCause: true},
		{name: "empty code", org: Organisation{Name: "Acme"}, field: "organisation.uscc", wantCause: true},

		{name: "contact name with digits", org: Organisation{Name: "Acme", USCC: valid, ContactName: "Bob123"}, field: "organisation.contact_name", wantCause: true},
		{name: "contact name with markup", org: Organisation{Name: "Acme", USCC: valid, ContactName: "<b>王</b>"}, field: "organisation.contact_name", wantCause: true},
		{name: "contact name too long", org: Organisation{Name: "Acme", USCC: valid, ContactName: strings.Repeat("王", 40)}, field: "organisation.contact_name", wantCause: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.org
			err := o.validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("validate(%+v) = %v", c.org, err)
				}
				if o.Name != c.wantName || o.USCC != c.wantUSCC {
					t.Fatalf("validated to name %q uscc %q, want %q %q", o.Name, o.USCC, c.wantName, c.wantUSCC)
				}
				return
			}
			if err == nil {
				t.Fatalf("validate(%+v) = nil, want an error on %s", c.org, c.field)
			}
			e := errs.As(err)
			if e.Code != errs.Invalid || e.Field != c.field {
				t.Fatalf("validate: code %s field %q, want invalid %q (%v)", e.Code, e.Field, c.field, err)
			}
			if e.Message == "" || e.MessageZh == "" {
				t.Fatalf("validate: error without messages: %#v", e)
			}
			var fe *format.Error
			if got := errors.As(err, &fe); got != c.wantCause {
				t.Fatalf("validate: wraps a format error: %v, want %v", got, c.wantCause)
			}
			// The contact's name is PI: never in the error.
			if c.org.ContactName != "" && strings.Contains(err.Error(), c.org.ContactName) {
				t.Fatalf("validate error %q contains the contact name", err)
			}
		})
	}
}

func TestNormaliseMobile(t *testing.T) {
	ok := []struct{ in, want string }{
		{"13912345678", "13912345678"},
		{" 13912345678 ", "13912345678"},
		{"139 1234 5678", "13912345678"},
		{"139-1234-5678", "13912345678"},
		{"+86 139 1234 5678", "13912345678"},
		{"+8613912345678", "13912345678"},
		{"8613912345678", "13912345678"},
		{"008613912345678", "13912345678"},
		{"0086 139 1234 5678", "13912345678"},
		{"13012345678", "13012345678"},
		{"14512345678", "14512345678"},
		{"14912345678", "14912345678"},
		{"15012345678", "15012345678"},
		{"15312345678", "15312345678"},
		{"15912345678", "15912345678"},
		{"16212345678", "16212345678"},
		{"16512345678", "16512345678"},
		{"16712345678", "16712345678"},
		{"17012345678", "17012345678"},
		{"17812345678", "17812345678"},
		{"18812345678", "18812345678"},
		{"19012345678", "19012345678"},
		{"19912345678", "19912345678"},
	}
	for _, c := range ok {
		got, err := NormaliseMobile(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormaliseMobile(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []string{
		"", "   ", "1", "1391234567", "139123456789", "1391234567a", "139.1234.5678",
		"12012345678", "11012345678", "10012345678", "23912345678", "03912345678",
		"14412345678", "15412345678", "16012345678", "16812345678", "17912345678", "19412345678",
		"+1 415 555 0100", "+8513912345678", "++8613912345678", "86+13912345678", "861391234567",
		"１３９１２３４５６７８", "139\x001234\x005678", "139\n12345678", "\xff13912345678",
		strings.Repeat("1", 40),
	}
	for _, in := range bad {
		got, err := NormaliseMobile(in)
		if err == nil {
			t.Errorf("NormaliseMobile(%q) = %q, want an error", in, got)
			continue
		}
		if got != "" {
			t.Errorf("NormaliseMobile(%q) returned %q beside its error", in, got)
		}
		checkMobileError(t, in, err)
	}
}

// checkMobileError checks that err is an invalid-mobile error that does not
// carry the number.
func checkMobileError(t *testing.T, in string, err error) {
	t.Helper()
	e := errs.As(err)
	if e.Code != errs.Invalid || e.Field != "mobile" {
		t.Fatalf("NormaliseMobile(%q): code %s field %q, want invalid on mobile (%v)", in, e.Code, e.Field, err)
	}
	texts := []string{err.Error(), e.Message, e.MessageZh}
	digits := onlyDigits(in)
	trimmed := strings.TrimSpace(in)
	for _, s := range texts {
		// Fixed messages carry at most two digits in a row ("11 digits",
		// "32 characters"), so any three of the input's digits in the text
		// came from the input.
		if len(digits) >= 3 && strings.Contains(s, digits) {
			t.Fatalf("NormaliseMobile(%q): error %q contains the input's digits", in, s)
		}
		if len(onlyDigits(trimmed)) >= 3 && strings.Contains(s, trimmed) {
			t.Fatalf("NormaliseMobile(%q): error %q contains the input", in, s)
		}
	}
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func FuzzNormaliseMobile(f *testing.F) {
	for _, s := range []string{"13912345678", "+86 139 1234 5678", "008613912345678", "12012345678", "", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormaliseMobile(in)
		if err != nil {
			if out != "" {
				t.Fatalf("NormaliseMobile(%q) = %q beside error %v", in, out, err)
			}
			checkMobileError(t, in, err)
			return
		}
		if len(out) != 11 || out[0] != '1' || onlyDigits(out) != out {
			t.Fatalf("NormaliseMobile(%q) = %q: not 11 digits starting with 1", in, out)
		}
		// The digits come from the input, in order, at its end.
		if !strings.HasSuffix(onlyDigits(in), out) {
			t.Fatalf("NormaliseMobile(%q) = %q: not the input's last 11 digits", in, out)
		}
		if !utf8.ValidString(in) {
			t.Fatalf("NormaliseMobile accepted invalid UTF-8 %q", in)
		}
		// Canonical: normalising again changes nothing.
		if again, err := NormaliseMobile(out); err != nil || again != out {
			t.Fatalf("NormaliseMobile(%q) = %q, %v; not idempotent", out, again, err)
		}
	})
}

func TestRandomTokenShape(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := randomToken(TokenPrefix, 32)
		if !strings.HasPrefix(tok, TokenPrefix) || len(tok) != len(TokenPrefix)+43 {
			t.Fatalf("randomToken = %q: want %q and 43 characters", tok, TokenPrefix)
		}
		if strings.ContainsAny(tok[len(TokenPrefix):], "+/=") {
			t.Fatalf("randomToken = %q: not raw URL base64", tok)
		}
		if seen[tok] {
			t.Fatalf("randomToken repeated %q", tok)
		}
		seen[tok] = true
	}
}

// TestAuthenticateGuard: a token of the wrong shape is refused before any
// database access — the service here has no database at all.
func TestAuthenticateGuard(t *testing.T) {
	s := New(Deps{}, Config{})
	body := strings.Repeat("A", 43)
	bad := []string{
		"",
		"gvs_",
		"gvs",
		"Bearer gvs_" + body,
		"gvs_" + body[:42],
		"gvs_" + body + "A",
		"GVS_" + body,
		"gvx_" + body,
		"xgvs_" + body[:42],
		body + "gvs_",
		strings.Repeat("gvs_", 12)[:46], // 46 characters starting with the prefix
		"gvs_" + strings.Repeat("A", 4096),
	}
	for _, tok := range bad {
		p, err := func() (p *Principal, err error) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Authenticate(%.20q…, len %d) reached the database: %v", tok, len(tok), r)
				}
			}()
			return s.Authenticate(context.Background(), tok)
		}()
		if p != nil || !errs.Is(err, errs.Unauthenticated) {
			t.Errorf("Authenticate(%.20q…, len %d) = %v, %v; want unauthenticated", tok, len(tok), p, err)
		}
	}
	// A token of the right shape gets past the guard, and with no database
	// behind the service it can only fail there: the guard is no blanket refusal.
	reached := func() (r any) {
		defer func() { r = recover() }()
		_, _ = s.Authenticate(context.Background(), randomToken(TokenPrefix, 32))
		return nil
	}()
	if reached == nil {
		t.Fatal("a well-formed token was refused without looking it up")
	}
}
