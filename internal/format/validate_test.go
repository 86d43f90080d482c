package format

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidate(t *testing.T) {
	for _, tc := range validateCases {
		t.Run(string(tc.kind)+"/"+tc.in[:min(len(tc.in), 40)], func(t *testing.T) {
			err := Validate(tc.kind, tc.in)
			norm, nerr := Normalize(tc.kind, tc.in)
			if tc.code == "" {
				if err != nil || nerr != nil {
					t.Fatalf("Validate = %v, Normalize error = %v; want valid", err, nerr)
				}
				want := tc.norm
				if want == "" {
					want = strings.TrimSpace(tc.in)
				}
				if norm != want {
					t.Errorf("Normalize = %q, want %q", norm, want)
				}
				if again, err := Normalize(tc.kind, norm); err != nil || again != norm {
					t.Errorf("Normalize(Normalize) = %q, %v; want %q", again, err, norm)
				}
				return
			}
			if norm != "" {
				t.Errorf("Normalize returned %q with an error", norm)
			}
			for _, e := range []error{err, nerr} {
				checkError(t, tc.kind, tc.in, e)
				var fe *Error
				if errors.As(e, &fe) && fe.Code != tc.code {
					t.Errorf("code = %q, want %q (%s)", fe.Code, tc.code, fe.Message)
				}
			}
		})
	}
}

// checkError asserts that err is an *Error of kind k with a fixed message
// that does not contain the value.
func checkError(t *testing.T, k Kind, v string, err error) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *format.Error", err, err)
	}
	if fe.Kind != k || fe.Code == "" || fe.Message == "" || fe.MessageZh == "" {
		t.Errorf("incomplete error %+v", fe)
	}
	if !slices.Contains(allMsgs, msg{en: fe.Message, zh: fe.MessageZh}) {
		t.Errorf("message %q / %q is not one of the fixed messages", fe.Message, fe.MessageZh)
	}
	if s := strings.TrimSpace(v); utf8.RuneCountInString(s) >= 4 {
		for _, text := range []string{fe.Error(), fe.Message, fe.MessageZh} {
			if strings.Contains(text, s) {
				t.Errorf("error text %q contains the value", text)
			}
		}
	}
}

func TestValidateUnknownKind(t *testing.T) {
	for _, f := range []func() error{
		func() error { return Validate("phone", "15312342212") },
		func() error { _, err := Normalize("phone", "15312342212"); return err },
	} {
		err := f()
		var fe *Error
		if !errors.As(err, &fe) || fe.Code != CodeUnknownKind {
			t.Errorf("error = %v, want code %s", err, CodeUnknownKind)
		}
	}
}

// TestValidateReturnsNilInterface guards against returning a typed nil
// *Error, which would compare unequal to nil.
func TestValidateReturnsNilInterface(t *testing.T) {
	if err := Validate(KindMobile, "15312342212"); err != nil {
		t.Fatalf("Validate = %#v, want nil", err)
	}
	if _, err := Normalize(KindMobile, "15312342212"); err != nil {
		t.Fatalf("Normalize error = %#v, want nil", err)
	}
	if err := ValidateMaskSpec("name"); err != nil {
		t.Fatalf("ValidateMaskSpec = %#v, want nil", err)
	}
}

// TestEveryKindHasCases keeps the table complete as kinds are added.
func TestEveryKindHasCases(t *testing.T) {
	valid, invalid := map[Kind]bool{}, map[Kind]bool{}
	for _, tc := range validateCases {
		if tc.code == "" {
			valid[tc.kind] = true
		} else {
			invalid[tc.kind] = true
		}
	}
	for _, k := range Kinds() {
		if !valid[k] {
			t.Errorf("no valid case for %s", k)
		}
		if !invalid[k] {
			t.Errorf("no invalid case for %s", k)
		}
	}
}

func TestErrorString(t *testing.T) {
	err := Validate(KindMobile, "12345")
	if got, want := err.Error(), "format: mobile: must have 11 digits after the country code"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = ValidateMaskSpec("keep:x")
	if got, want := err.Error(), "format: unknown or malformed mask spec"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
