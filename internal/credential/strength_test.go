package credential

import (
	"strings"
	"sync"
	"testing"

	"gigvault/internal/errs"
)

// A staff member's personal details, as CheckStrength's userInputs.
var member = []string{"Zhang Wei", "+86 138-1234-5678", "zhangwei", "wei.zhang@example.com", "张伟"}

func TestCheckStrength(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pw     string
		inputs []string
		reason string // "" means accepted
	}{
		// Weak: common passwords, sequences and keyboard walks.
		{"common password with digits", "password1234", nil, ReasonTooWeak},
		{"digit sequence", "123456789012", nil, ReasonTooWeak},
		{"keyboard walk", "qwertyuiop12", nil, ReasonTooWeak},
		{"keyboard columns", "1qaz2wsx3edc", nil, ReasonTooWeak},
		{"l33t common", "P@ssw0rd2024!", nil, ReasonTooWeak},
		{"capitalised common", "Password123!", nil, ReasonTooWeak},
		{"phrase plus year", "iloveyou2024", nil, ReasonTooWeak},
		{"repeat", "aaaaaaaaaaaaaaaa", nil, ReasonTooWeak},
		{"alphabet", "abcdefghijklmn", nil, ReasonTooWeak},
		{"pinyin love", "woaini1314520", nil, ReasonTooWeak},
		// Personal information.
		{"mobile number", "Zebra!13812345678kite", member, ReasonPersonalInfo},
		{"mobile number with country code", "kite8613812345678zebra", member, ReasonPersonalInfo},
		{"mobile number with separators", "kite 138-1234-5678 zebra", member, ReasonPersonalInfo},
		{"mobile given bare", "Zebra!13812345678kite", []string{"13812345678"}, ReasonPersonalInfo},
		{"username", "orchid-ZhangWei-ember-quilt", member, ReasonPersonalInfo},
		{"e-mail local part", "orchid wei.zhang ember quilt", member, ReasonPersonalInfo},
		{"name in Han characters", "张伟的猫咪很可爱还爱吃鱼", member, ReasonPersonalInfo},
		{"name with space", "orchid zhang wei ember quilt", member, ReasonPersonalInfo},
		// zxcvbn alone: the username dominates what is left.
		{"username plus digits", "zhangwei123456", nil, ReasonTooWeak},
		// Length.
		{"empty", "", nil, ReasonTooShort},
		{"eleven runes", "Xq7#mK2!vR9", nil, ReasonTooShort},
		{"eleven Han runes", "猫咪很可爱还爱吃鱼和肉", nil, ReasonTooShort},
		{"129 runes", strings.Repeat("k7#Q", 32) + "z", nil, ReasonTooLong},
		{"very long", strings.Repeat("correct horse ", 1000), nil, ReasonTooLong},
		{"invalid UTF-8", "correct horse\xff battery staple", nil, ReasonNotText},
		// Strong.
		{"xkcd passphrase", "correct horse battery staple", nil, ""},
		{"hyphenated passphrase", "violet-anchor-mosaic-ledger", member, ""},
		{"random characters", "q7#Lm2!vR9@xWp4$", member, ""},
		{"twelve random runes", "Xq7#mK2!vR9w", nil, ""},
		{"Han passphrase", "猫咪很可爱还爱吃鱼和肉丝", member, ""},
		{"128 runes", strings.Repeat("k7#Q", 32), nil, ""},
		{"short inputs ignored", "staple ember quilt orchid", []string{"em", "ber", "wei"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckStrength(tc.pw, tc.inputs...)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("CheckStrength refused a strong password: %v", err)
				}
				return
			}
			checkRefusal(t, err, tc.pw, tc.inputs, tc.reason)
		})
	}
}

func checkRefusal(t *testing.T, err error, pw string, inputs []string, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("CheckStrength accepted it; want %q", reason)
	}
	var e *errs.Error
	if !asErr(err, &e) {
		t.Fatalf("error %T is not *errs.Error", err)
	}
	if e.Code != errs.Invalid || e.Field != "password" {
		t.Errorf("code %q field %q; want %q %q", e.Code, e.Field, errs.Invalid, "password")
	}
	if !strings.HasPrefix(e.Message, reason+": ") {
		t.Errorf("message %q; want reason %q", e.Message, reason)
	}
	if e.MessageZh == "" || e.MessageZh == e.Message {
		t.Errorf("zh-CN message %q missing", e.MessageZh)
	}
	for _, s := range []string{err.Error(), e.Message, e.MessageZh} {
		if pw != "" && strings.Contains(s, pw) {
			t.Errorf("message %q contains the password", s)
		}
		for _, in := range inputs {
			if strings.Contains(strings.ToLower(s), strings.ToLower(strings.TrimSpace(in))) {
				t.Errorf("message %q contains a user input", s)
			}
		}
	}
}

// TestCheckStrengthEstimatorPanic makes the estimator panic: the password is
// refused with ReasonCannotBeAssessed and the panic does not escape. Not
// parallel: it swaps a package variable.
func TestCheckStrengthEstimatorPanic(t *testing.T) {
	saved := estimate
	t.Cleanup(func() { estimate = saved })
	estimate = func(string, []string) int { panic("boom") }
	pw := "correct horse battery staple"
	checkRefusal(t, CheckStrength(pw), pw, nil, ReasonCannotBeAssessed)
}

// TestCheckStrengthConcurrent runs the estimator from several goroutines so
// the race detector sees any shared state in the library.
func TestCheckStrengthConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := []string{"correct horse battery staple", "password1234"}[i%2]
			err := CheckStrength(pw, member...)
			if (err == nil) != (i%2 == 0) {
				t.Errorf("CheckStrength(%d) = %v", i, err)
			}
		}()
	}
	wg.Wait()
}

// FuzzCheckStrength: any input is accepted or refused with one of the fixed
// errors (so no message can carry the password or the user input); never a
// panic (a recovered estimator panic would show up as an unknown message).
func FuzzCheckStrength(f *testing.F) {
	known := map[string]bool{}
	for _, pw := range []string{"\xff", "", strings.Repeat("x", 200), "Zebra!13812345678kite", "password1234"} {
		known[CheckStrength(pw, "13812345678").Error()] = true
	}
	if len(known) != 5 {
		f.Fatalf("reference refusals: %d distinct, want 5", len(known))
	}
	for _, s := range []string{"", "password1234", "correct horse battery staple", "张伟的猫咪很可爱还爱吃鱼", "İstanbul1453!", "\xff\xfe"} {
		f.Add(s, "zhangwei")
	}
	f.Fuzz(func(t *testing.T, pw, input string) {
		err := CheckStrength(pw, input)
		if err == nil {
			return
		}
		var e *errs.Error
		if !asErr(err, &e) || e.Code != errs.Invalid || e.Field != "password" {
			t.Fatalf("error %v is not invalid (password)", err)
		}
		if !known[err.Error()] {
			t.Fatalf("unexpected error text %q", err)
		}
	})
}
