package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

const (
	testNumber = "13812345678"
	testCode   = "482913"
)

func loginMsg(to, code string) Message {
	return Message{To: to, Template: TemplateLoginCode, Params: map[string]string{ParamCode: code, ParamMinutes: "5"}}
}

// wantErr checks that err is an *errs.Error with code and field.
func wantErr(t *testing.T, err error, code errs.Code, field string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Code != code || e.Field != field {
		t.Fatalf("got %s (field %q), want %s (field %q): %v", e.Code, e.Field, code, field, err)
	}
	if e.Message == "" || e.MessageZh == "" {
		t.Fatalf("missing message: %+v", e)
	}
}

func TestConsoleValidation(t *testing.T) {
	tests := []struct {
		name  string
		msg   Message
		code  errs.Code // "" = accepted
		field string
	}{
		{name: "login", msg: loginMsg(testNumber, testCode)},
		{name: "verify 4 digits", msg: Message{To: "19912345678", Template: TemplateVerifyCode, Params: map[string]string{"code": "0000"}}},
		{name: "sign intent 8 digits", msg: Message{To: "10000000000", Template: TemplateSignIntent, Params: map[string]string{"code": "12345678", "minutes": "1440"}}},

		{name: "empty number", msg: loginMsg("", testCode), code: errs.Invalid, field: "mobile"},
		{name: "10 digits", msg: loginMsg("1381234567", testCode), code: errs.Invalid, field: "mobile"},
		{name: "12 digits", msg: loginMsg("138123456789", testCode), code: errs.Invalid, field: "mobile"},
		{name: "not starting with 1", msg: loginMsg("23812345678", testCode), code: errs.Invalid, field: "mobile"},
		{name: "+86 prefix", msg: loginMsg("+8613812345678", testCode), code: errs.Invalid, field: "mobile"},
		{name: "separators", msg: loginMsg("138-1234-567", testCode), code: errs.Invalid, field: "mobile"},
		{name: "letters", msg: loginMsg("1381234567a", testCode), code: errs.Invalid, field: "mobile"},
		{name: "fullwidth digits", msg: loginMsg("１３８１２３４５６７８", testCode), code: errs.Invalid, field: "mobile"},

		{name: "unknown template", msg: Message{To: testNumber, Template: "promo", Params: map[string]string{"code": testCode}}, code: errs.Invalid, field: "template"},
		{name: "empty template", msg: Message{To: testNumber, Params: map[string]string{"code": testCode}}, code: errs.Invalid, field: "template"},
		{name: "template case", msg: Message{To: testNumber, Template: "LOGIN_CODE", Params: map[string]string{"code": testCode}}, code: errs.Invalid, field: "template"},

		{name: "no params", msg: Message{To: testNumber, Template: TemplateLoginCode}, code: errs.Invalid, field: "template"},
		{name: "empty code", msg: loginMsg(testNumber, ""), code: errs.Invalid, field: "template"},
		{name: "3-digit code", msg: loginMsg(testNumber, "123"), code: errs.Invalid, field: "template"},
		{name: "9-digit code", msg: loginMsg(testNumber, "123456789"), code: errs.Invalid, field: "template"},
		{name: "code with letter", msg: loginMsg(testNumber, "12345a"), code: errs.Invalid, field: "template"},
		{name: "code with space", msg: loginMsg(testNumber, "123 456"), code: errs.Invalid, field: "template"},
		{name: "unknown param", msg: Message{To: testNumber, Template: TemplateLoginCode, Params: map[string]string{"code": testCode, "name": "张三"}}, code: errs.Invalid, field: "template"},
		{name: "minutes zero", msg: Message{To: testNumber, Template: TemplateLoginCode, Params: map[string]string{"code": testCode, "minutes": "0"}}, code: errs.Invalid, field: "template"},
		{name: "minutes leading zero", msg: Message{To: testNumber, Template: TemplateLoginCode, Params: map[string]string{"code": testCode, "minutes": "05"}}, code: errs.Invalid, field: "template"},
		{name: "minutes too long", msg: Message{To: testNumber, Template: TemplateLoginCode, Params: map[string]string{"code": testCode, "minutes": "1441"}}, code: errs.Invalid, field: "template"},
		{name: "minutes not a number", msg: Message{To: testNumber, Template: TemplateLoginCode, Params: map[string]string{"code": testCode, "minutes": "five"}}, code: errs.Invalid, field: "template"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConsole(ConsoleOptions{Clock: clock.NewFake(t0)})
			ref, err := c.Send(context.Background(), tc.msg)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !strings.HasPrefix(ref, "console-") || len(ref) != len("console-")+16 {
					t.Fatalf("ref %q", ref)
				}
				out := c.Outbox(tc.msg.To)
				if len(out) != 1 || out[0].Ref != ref || out[0].Template != tc.msg.Template ||
					out[0].Params[ParamCode] != tc.msg.Params[ParamCode] || !out[0].At.Equal(t0) {
					t.Fatalf("outbox %+v", out)
				}
				return
			}
			if ref != "" {
				t.Errorf("ref %q on error", ref)
			}
			wantErr(t, err, tc.code, tc.field)
			if n := len(c.Outbox("")); n != 0 {
				t.Errorf("refused message in outbox (%d)", n)
			}
		})
	}
}

func TestConsoleOutboxOrderAndRing(t *testing.T) {
	clk := clock.NewFake(t0)
	c := NewConsole(ConsoleOptions{Clock: clk, Capacity: 5})
	a, b := "13800000001", "13800000002"
	var refs []string
	for i := range 8 {
		to := a
		if i%2 == 1 {
			to = b
		}
		ref, err := c.Send(context.Background(), loginMsg(to, fmt.Sprintf("%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
		clk.Advance(time.Second)
	}
	all := c.Outbox("")
	if len(all) != 5 {
		t.Fatalf("outbox holds %d, want capacity 5", len(all))
	}
	for i, s := range all { // most recent first: messages 7, 6, 5, 4, 3
		if want := refs[7-i]; s.Ref != want {
			t.Errorf("all[%d] = %s, want %s", i, s.Ref, want)
		}
		if want := fmt.Sprintf("%04d", 7-i); s.Params[ParamCode] != want {
			t.Errorf("all[%d] code %s, want %s", i, s.Params[ParamCode], want)
		}
	}
	gotB := c.Outbox(b) // 7, 5, 3
	if len(gotB) != 3 || gotB[0].Ref != refs[7] || gotB[1].Ref != refs[5] || gotB[2].Ref != refs[3] {
		t.Errorf("Outbox(b) = %+v", gotB)
	}
	if gotA := c.Outbox(a); len(gotA) != 2 || gotA[0].Ref != refs[6] || gotA[1].Ref != refs[4] {
		t.Errorf("Outbox(a) = %+v", gotA)
	}
	if got := c.Outbox("13999999999"); len(got) != 0 {
		t.Errorf("unknown number: %+v", got)
	}
	// Copies: mutating the result does not change the outbox.
	gotB[0].Params[ParamCode] = "changed"
	if c.Outbox(b)[0].Params[ParamCode] != "0007" {
		t.Error("outbox params aliased")
	}
	// Nor does mutating the sent message's map.
	m := loginMsg(a, "9999")
	if _, err := c.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Params[ParamCode] = "changed"
	if c.Outbox(a)[0].Params[ParamCode] != "9999" {
		t.Error("outbox aliases the caller's params")
	}
}

func TestConsoleDefaultCapacityAndUniqueRefs(t *testing.T) {
	c := NewConsole(ConsoleOptions{})
	seen := map[string]bool{}
	for range 1100 {
		ref, err := c.Send(context.Background(), loginMsg(testNumber, testCode))
		if err != nil {
			t.Fatal(err)
		}
		if seen[ref] {
			t.Fatalf("duplicate ref %s", ref)
		}
		seen[ref] = true
	}
	if n := len(c.Outbox(testNumber)); n != 1000 {
		t.Fatalf("default capacity: outbox holds %d", n)
	}
	if c.Name() != "console" {
		t.Errorf("Name = %q", c.Name())
	}
}

func TestConsoleLatency(t *testing.T) {
	const latency = 30 * time.Millisecond
	c := NewConsole(ConsoleOptions{Latency: latency})

	start := time.Now()
	if _, err := c.Send(context.Background(), loginMsg(testNumber, testCode)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < latency {
		t.Errorf("Send returned after %v, want >= %v", d, latency)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := c.Send(ctx, loginMsg(testNumber, testCode))
	if d := time.Since(start); d >= latency {
		t.Errorf("cancelled Send took %v, want < %v", d, latency)
	}
	wantErr(t, err, errs.Unavailable, "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause not kept: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = NewConsole(ConsoleOptions{}).Send(ctx, loginMsg(testNumber, testCode))
	wantErr(t, err, errs.Unavailable, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cause not kept: %v", err)
	}
	if n := len(c.Outbox("")); n != 1 {
		t.Errorf("outbox holds %d, want only the completed send", n)
	}
}

func TestConsoleFailRate(t *testing.T) {
	tests := []struct {
		rate     float64
		min, max int // failures out of 1000
	}{
		{0, 0, 0},
		{-1, 0, 0},
		{0.1, 60, 140},
		{0.5, 440, 560},
		{1, 1000, 1000},
		{7, 1000, 1000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			run := func() (fails int, pattern string) {
				c := NewConsole(ConsoleOptions{FailRate: tc.rate})
				var p strings.Builder
				for range 1000 {
					_, err := c.Send(context.Background(), loginMsg(testNumber, testCode))
					if err != nil {
						wantErr(t, err, errs.Unavailable, "")
						fails++
						p.WriteByte('x')
					} else {
						p.WriteByte('.')
					}
				}
				if got := len(c.Outbox("")); got != min(1000-fails, 1000) {
					t.Errorf("outbox %d after %d failures", got, fails)
				}
				return fails, p.String()
			}
			fails, p1 := run()
			if fails < tc.min || fails > tc.max {
				t.Errorf("%d failures, want %d..%d", fails, tc.min, tc.max)
			}
			if _, p2 := run(); p1 != p2 {
				t.Error("failure pattern not deterministic")
			}
		})
	}
}

func TestConsoleThrottle(t *testing.T) {
	clk := clock.NewFake(t0)
	c := NewConsole(ConsoleOptions{Clock: clk, PerNumberPerMinute: 2})
	send := func(to string) error {
		_, err := c.Send(context.Background(), loginMsg(to, testCode))
		return err
	}
	for i := range 2 {
		if err := send(testNumber); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	wantErr(t, send(testNumber), errs.RateLimited, "")
	if err := send("13900000000"); err != nil {
		t.Fatalf("other number throttled: %v", err)
	}
	clk.Advance(29 * time.Second)
	wantErr(t, send(testNumber), errs.RateLimited, "")
	clk.Advance(time.Second)
	if err := send(testNumber); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	if n := len(c.Outbox(testNumber)); n != 3 {
		t.Errorf("outbox holds %d for the number, want 3", n)
	}
	// Invalid messages are refused before they count.
	c = NewConsole(ConsoleOptions{Clock: clk, PerNumberPerMinute: 1})
	_, err := c.Send(context.Background(), loginMsg(testNumber, "x"))
	wantErr(t, err, errs.Invalid, "template")
	if err := send(testNumber); err != nil {
		t.Fatalf("invalid send counted: %v", err)
	}
}

func TestConsoleLogLine(t *testing.T) {
	var buf bytes.Buffer
	c := NewConsole(ConsoleOptions{Log: slog.New(slog.NewTextHandler(&buf, nil))})
	ref, err := c.Send(context.Background(), loginMsg(testNumber, testCode))
	if err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"level=INFO", `msg="sms (console gateway)"`, "to=138****5678",
		"template=login_code", "code=" + testCode, "ref=" + ref} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Contains(line, testNumber) {
		t.Errorf("log line holds the full number: %q", line)
	}
}

func TestMaskMobile(t *testing.T) {
	for in, want := range map[string]string{
		"13812345678":  "138****5678",
		"":             "***",
		"1381234567":   "***",
		"138123456789": "***",
		"+8613812345":  "***",
	} {
		if got := MaskMobile(in); got != want {
			t.Errorf("MaskMobile(%q) = %q, want %q", in, got, want)
		}
	}
}
