package sms

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"gigvault/internal/errs"
)

// fixedTexts is every text the Console can put in an error; finding a fuzzed
// input inside one of them is no sign of a leak.
var fixedTexts = func() string {
	var b strings.Builder
	for _, e := range []*errs.Error{errMobile(), errTemplate(), errParams(), errCode(), errThrottled(), errUnavailable(nil)} {
		b.WriteString(e.Error() + "\x00" + e.MessageZh + "\x00")
	}
	return b.String()
}()

// FuzzConsoleSend: no panics; a refusal is an errs.Invalid naming "mobile"
// or "template" that does not echo the number or the code; an accepted
// message is valid, in the outbox, and logged with the number masked.
// Seed corpus: testdata/fuzz/FuzzConsoleSend.
func FuzzConsoleSend(f *testing.F) {
	f.Add("13812345678", "login_code", "123456")
	f.Add("10000000000", "verify_code", "0000")
	f.Add("1381234567８", "sign_intent", "99999999")
	f.Fuzz(func(t *testing.T, to, template, code string) {
		var logs bytes.Buffer
		c := NewConsole(ConsoleOptions{Log: slog.New(slog.NewTextHandler(&logs, nil)), Capacity: 4})
		ref, err := c.Send(context.Background(), Message{To: to, Template: template,
			Params: map[string]string{ParamCode: code, ParamMinutes: "5"}})
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || (e.Field != "mobile" && e.Field != "template") {
				t.Fatalf("unexpected error %#v", err)
			}
			if ref != "" {
				t.Fatalf("ref %q with error", ref)
			}
			for _, s := range []string{to, code} {
				if s == "" || strings.Contains(fixedTexts, s) {
					continue
				}
				if strings.Contains(e.Error(), s) || strings.Contains(e.MessageZh, s) {
					t.Fatalf("error %q echoes input %q", e.Error(), s)
				}
			}
			if logs.Len() != 0 || len(c.Outbox("")) != 0 {
				t.Fatal("refused message logged or kept")
			}
			return
		}
		if !validMobile(to) {
			t.Fatalf("accepted bad number %q", to)
		}
		if _, ok := consoleTemplates[template]; !ok {
			t.Fatalf("accepted unknown template %q", template)
		}
		if len(code) < 4 || len(code) > 8 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("accepted bad code %q", code)
		}
		out := c.Outbox(to)
		if len(out) != 1 || out[0].Ref != ref || out[0].To != to || out[0].Template != template || out[0].Params[ParamCode] != code {
			t.Fatalf("outbox %+v", out)
		}
		if strings.Contains(logs.String(), to) || !strings.Contains(logs.String(), MaskMobile(to)) {
			t.Fatalf("log line does not mask the number: %s", logs.String())
		}
	})
}
