package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

// TestNoPIInErrorsOrLogs drives every failure path of both gateways with a
// known number and code — including providers that echo them back — and
// checks that neither reaches an error text or a log line. The one
// exception is the Console gateway's deliberate dev line, which shows the
// code but never the full number.
func TestNoPIInErrorsOrLogs(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var failures []error
	expectErr := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		var e *errs.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %T is not an *errs.Error", what, err)
		}
		failures = append(failures, err)
	}
	ctx := context.Background()
	msg := func(to, tmpl string, params map[string]string) Message {
		return Message{To: to, Template: tmpl, Params: params}
	}
	code := map[string]string{ParamCode: testCode}

	// Console: every refusal, then one success.
	clk := clock.NewFake(t0)
	c := NewConsole(ConsoleOptions{Log: log, Clock: clk, PerNumberPerMinute: 1})
	for _, to := range []string{"+86" + testNumber, testNumber + "9", "0" + testNumber, testNumber[:10], " " + testNumber} {
		_, err := c.Send(ctx, msg(to, TemplateLoginCode, code))
		expectErr("console bad number", err)
	}
	_, err := c.Send(ctx, msg(testNumber, "promo_"+testCode, code))
	expectErr("console bad template", err)
	for _, p := range []map[string]string{
		nil,
		{ParamCode: testCode + "999"},
		{ParamCode: "x" + testCode},
		{ParamCode: testCode, "mobile": testNumber},
		{ParamCode: testCode, ParamMinutes: testCode},
	} {
		_, err := c.Send(ctx, msg(testNumber, TemplateVerifyCode, p))
		expectErr("console bad params", err)
	}
	if _, err := c.Send(ctx, msg(testNumber, TemplateLoginCode, code)); err != nil {
		t.Fatalf("console good send: %v", err)
	}
	_, err = c.Send(ctx, msg(testNumber, TemplateLoginCode, code))
	expectErr("console throttled", err)
	_, err = NewConsole(ConsoleOptions{Log: log, FailRate: 1}).Send(ctx, msg(testNumber, TemplateLoginCode, code))
	expectErr("console failure", err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = NewConsole(ConsoleOptions{Log: log, Latency: time.Second}).Send(cctx, msg(testNumber, TemplateLoginCode, code))
	expectErr("console cancelled", err)
	consoleLogs := logs.String()
	logs.Reset()

	// HTTP: a provider that echoes the request in every error body.
	echo := func(st int) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(st)
			fmt.Fprintf(w, `{"error":"invalid_mobile","message":"bad number %s code %s"}`, testNumber, testCode)
		}
	}
	for _, tc := range []struct {
		name    string
		replies []func(http.ResponseWriter, *http.Request)
		timeout time.Duration
	}{
		{"400", []func(http.ResponseWriter, *http.Request){echo(400)}, 0},
		{"422", []func(http.ResponseWriter, *http.Request){echo(422)}, 0},
		{"429", []func(http.ResponseWriter, *http.Request){echo(429)}, 0},
		{"503", []func(http.ResponseWriter, *http.Request){echo(503)}, 0},
		{"403", []func(http.ResponseWriter, *http.Request){echo(403)}, 0},
		{"timeout", []func(http.ResponseWriter, *http.Request){hang}, 10 * time.Millisecond},
		{"oversized", []func(http.ResponseWriter, *http.Request){status(200, `{"message_id":"`+strings.Repeat(testNumber+testCode, 8<<10)+`"}`)}, 0},
		{"malformed", []func(http.ResponseWriter, *http.Request){status(200, `{"message_id":"`+testNumber+` `+testCode+`"}`)}, 0},
	} {
		p := newProvider(t, tc.replies...)
		g := newTestHTTP(t, p.srv.URL+"/send", func(hc *HTTPConfig) {
			hc.Log = log
			if tc.timeout > 0 {
				hc.Timeout = tc.timeout
			}
		})
		_, err := g.Send(ctx, msg(testNumber, TemplateLoginCode, code))
		expectErr("http "+tc.name, err)
	}
	p := newProvider(t, okReply("x"))
	url := p.srv.URL
	p.srv.Close()
	g := newTestHTTP(t, url, func(hc *HTTPConfig) { hc.Log = log })
	_, err = g.Send(ctx, msg(testNumber, TemplateLoginCode, code))
	expectErr("http connection refused", err)
	_, err = g.Send(ctx, msg(testNumber+"0", TemplateLoginCode, code))
	expectErr("http bad number", err)
	_, err = g.Send(ctx, msg(testNumber, "bad template "+testCode, code))
	expectErr("http bad template", err)
	_, err = g.Send(cctx, msg(testNumber, TemplateLoginCode, code))
	expectErr("http cancelled", err)
	httpLogs := logs.String()

	// Errors: neither the number nor the code, in any text a caller or a
	// log could show.
	for _, err := range failures {
		e := errs.As(err)
		for _, s := range []string{err.Error(), e.Message, e.MessageZh, fmt.Sprintf("%+v", err)} {
			if strings.Contains(s, testNumber) || strings.Contains(s, testCode) {
				t.Errorf("error text leaks the number or code: %q", s)
			}
		}
	}
	if len(failures) < 25 {
		t.Errorf("only %d failure paths exercised", len(failures))
	}

	// HTTP logs: neither, and they did log the failures.
	if strings.Contains(httpLogs, testNumber) || strings.Contains(httpLogs, testCode) {
		t.Errorf("HTTP gateway log leaks the number or code:\n%s", httpLogs)
	}
	if !strings.Contains(httpLogs, "sms provider send failed") || !strings.Contains(httpLogs, "retrying") {
		t.Errorf("HTTP gateway failures not logged:\n%s", httpLogs)
	}

	// Console logs: never the full number; the code only on the dev line.
	if strings.Contains(consoleLogs, testNumber) {
		t.Errorf("console log holds the full number:\n%s", consoleLogs)
	}
	devLines := 0
	for line := range strings.Lines(consoleLogs) {
		if strings.Contains(line, `"msg":"sms (console gateway)"`) {
			devLines++
			if !strings.Contains(line, `"to":"138****5678"`) || !strings.Contains(line, `"code":"`+testCode+`"`) {
				t.Errorf("dev line lacks masked number or code: %s", line)
			}
			continue
		}
		if strings.Contains(line, testCode) {
			t.Errorf("console log leaks the code outside the dev line: %s", line)
		}
	}
	if devLines != 1 {
		t.Errorf("%d dev log lines, want 1 (one accepted message):\n%s", devLines, consoleLogs)
	}
}
