package format

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; the table cases are added
// here as well so that every hand-written case is a starting point.

func addTableSeeds(f *testing.F) {
	for _, tc := range validateCases {
		if len(tc.in) <= 1024 {
			f.Add(tc.in)
		}
	}
}

// fixedText reports whether s occurs in one of the package's fixed messages,
// in which case finding it in an error text is no sign of a leak.
func fixedText(s string) bool {
	for _, m := range allMsgs {
		if strings.Contains(m.en, s) || strings.Contains(m.zh, s) ||
			strings.Contains("format: "+m.en, s) {
			return true
		}
	}
	for _, k := range allKinds {
		if strings.Contains("format: "+string(k)+": ", s) {
			return true
		}
	}
	return false
}

// checkFuzzError asserts that err is an *Error with a fixed message that
// does not contain v.
func checkFuzzError(t *testing.T, v string, err error, wantCode string) {
	t.Helper()
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *format.Error", err, err)
	}
	if fe.Code == "" || (wantCode != "" && fe.Code != wantCode) {
		t.Fatalf("code %q, want %q", fe.Code, wantCode)
	}
	found := false
	for _, m := range allMsgs {
		found = found || (m.en == fe.Message && m.zh == fe.MessageZh)
	}
	if !found {
		t.Fatalf("message %q / %q is not one of the fixed messages", fe.Message, fe.MessageZh)
	}
	s := strings.TrimSpace(v)
	if utf8.RuneCountInString(s) >= 4 && !fixedText(s) {
		for _, text := range []string{fe.Error(), fe.Message, fe.MessageZh} {
			if strings.Contains(text, s) {
				t.Fatalf("error text %q contains the value", text)
			}
		}
	}
}

// FuzzValidate: no panics; every error is an *Error with a fixed message
// that does not contain the value; Validate and Normalize agree.
func FuzzValidate(f *testing.F) {
	addTableSeeds(f)
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range allKinds {
			err := Validate(k, v)
			_, nerr := Normalize(k, v)
			if (err == nil) != (nerr == nil) {
				t.Fatalf("%s: Validate = %v but Normalize error = %v", k, err, nerr)
			}
			if err != nil {
				checkFuzzError(t, v, err, "")
				checkFuzzError(t, v, nerr, err.(*Error).Code)
			}
		}
	})
}

// FuzzNormalize: Normalize's output re-validates, is trimmed valid UTF-8 and
// is a fixed point of Normalize.
func FuzzNormalize(f *testing.F) {
	addTableSeeds(f)
	f.Fuzz(func(t *testing.T, v string) {
		for _, k := range allKinds {
			n, err := Normalize(k, v)
			if err != nil {
				if n != "" {
					t.Fatalf("%s: Normalize returned %q with error %v", k, n, err)
				}
				continue
			}
			if !utf8.ValidString(n) || n != strings.TrimSpace(n) || n == "" {
				t.Fatalf("%s: Normalize output %q is not trimmed, non-empty UTF-8", k, n)
			}
			if err := Validate(k, n); err != nil {
				t.Fatalf("%s: Normalize output %q does not validate: %v", k, n, err)
			}
			if again, err := Normalize(k, n); err != nil || again != n {
				t.Fatalf("%s: Normalize(%q) = %q, %v; not idempotent", k, n, again, err)
			}
		}
	})
}

// fuzzMaskSpecs are run on every FuzzMask input besides the fuzzed spec.
var fuzzMaskSpecs = []string{
	"keep:3:4", "keep:1:1", "keep:4:4", "keep:0:0", "keep:6:0", "name", "email",
	"year", "area", "truncate:1", "truncate:5", "truncate:20", "redact", "none",
}

// FuzzMask: no panics; bad specs fail with a fixed error; output is valid
// UTF-8; apart from none, a value of 8 or more runes never comes back as is
// (unless it already looks masked, holding * or …, or is within truncate's
// limit); keep never shows more than F+L runes.
func FuzzMask(f *testing.F) {
	for _, s := range fuzzMaskSpecs {
		f.Add(s, "15312342212")
	}
	f.Add("keep:99:1", "福建省福州市仓山区建新镇金工路2号")
	f.Add("truncate:0", "zhangsan@163.com")
	f.Fuzz(func(t *testing.T, spec, v string) {
		out, err := Mask(spec, v)
		if ValidateMaskSpec(spec) != nil {
			if err == nil {
				t.Fatalf("Mask(%q) accepted a spec ValidateMaskSpec rejects", spec)
			}
			checkFuzzError(t, v, err, CodeInvalidMaskSpec)
			if out != "" {
				t.Fatalf("Mask returned %q with an error", out)
			}
		} else {
			checkMaskOutput(t, spec, v, out, err)
		}
		for _, s := range fuzzMaskSpecs {
			out, err := Mask(s, v)
			checkMaskOutput(t, s, v, out, err)
		}
	})
}

func checkMaskOutput(t *testing.T, spec, v, out string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("Mask(%q): %v", spec, err)
	}
	if again, _ := Mask(spec, v); again != out {
		t.Fatalf("Mask(%q) is not deterministic: %q then %q", spec, out, again)
	}
	if spec == "none" {
		if out != v {
			t.Fatalf("Mask(none) = %q, want the value", out)
		}
		return
	}
	if !utf8.ValidString(out) {
		t.Fatalf("Mask(%q) = %q is not valid UTF-8", spec, out)
	}
	trimmed := []rune(strings.TrimSpace(v))
	exempt := strings.ContainsAny(v, "*…")
	op, arg, _ := strings.Cut(spec, ":")
	switch op {
	case "truncate":
		n, _ := strconv.Atoi(arg)
		exempt = exempt || len(trimmed) <= n
	case "keep":
		fs, ls, _ := strings.Cut(arg, ":")
		f, _ := strconv.Atoi(fs)
		l, _ := strconv.Atoi(ls)
		if shown := utf8.RuneCountInString(strings.Replace(out, Stars, "", 1)); shown > f+l {
			t.Fatalf("Mask(%q) = %q shows %d runes", spec, out, shown)
		}
	case "redact":
		if out != Stars {
			t.Fatalf("Mask(redact) = %q", out)
		}
	case "name":
		if r := []rune(out); len(r) > 1 && strings.Trim(string(r[1:]), "*") != "" {
			t.Fatalf("Mask(name) = %q shows more than the first rune", out)
		}
	}
	if utf8.RuneCountInString(v) >= 8 && !exempt && out == v {
		t.Fatalf("Mask(%q, %q) returned the value unchanged", spec, v)
	}
}
