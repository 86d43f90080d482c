package payout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/payout"
)

var ctx = context.Background()

// wid is a deterministic worker (subject) ID.
func wid(i int) string { return fmt.Sprintf("0190f3c4-8a7e-7cc1-b3f2-%012d", i) }

// card returns a Luhn-valid card number of n digits starting with prefix,
// filled with digits from seed.
func card(prefix string, n, seed int) string {
	body := prefix + fmt.Sprintf("%030d", seed)[30-(n-1-len(prefix)):]
	c, ok := format.LuhnCheckDigit(body)
	if !ok {
		panic("bad card body")
	}
	return body + string(c)
}

// frozenCard returns a Luhn-valid 19-digit card number ending in 0000,
// which the sandbox rail fails with card_frozen.
func frozenCard() string {
	for i := 0; ; i++ {
		body := "62220202" + fmt.Sprintf("%07d", i) + "000"
		if c, _ := format.LuhnCheckDigit(body); c == '0' {
			return body + "0"
		}
	}
}

// idNumber returns a valid resident ID number with the 17-digit body.
func idNumber(body string) string {
	c, ok := format.IDCheckChar(body)
	if !ok {
		panic("bad ID body")
	}
	return body + string(c)
}

// wantErr fails unless err is an *errs.Error with code and field (and
// reason, when given).
func wantErr(t *testing.T, what string, err error, code errs.Code, field string, reason ...string) *errs.Error {
	t.Helper()
	e := errs.As(err)
	if err == nil || e.Code != code || e.Field != field || len(reason) > 0 && e.Reason != reason[0] {
		t.Errorf("%s: %v (reason %q), want %s (%s) %v", what, err, e.Reason, code, field, reason)
	}
	return e
}

// codes lists the errors as "line:field:code".
func codes(es []payout.RowError) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d:%s:%s", e.Line, e.Field, e.Code))
	}
	return out
}

// noLeak fails when a message of es contains one of secrets.
func noLeak(t *testing.T, what string, es []payout.RowError, secrets ...string) {
	t.Helper()
	for _, e := range es {
		if e.Message == "" || e.MessageZh == "" {
			t.Errorf("%s: error without a message: %+v", what, e)
		}
		for _, s := range secrets {
			if len([]rune(s)) > 5 && (strings.Contains(e.Message, s) || strings.Contains(e.MessageZh, s)) {
				t.Errorf("%s: message %q / %q repeats the cell %q", what, e.Message, e.MessageZh, s)
			}
		}
	}
}
