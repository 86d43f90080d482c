package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"gigvault/internal/errs"
)

type sample struct {
	Mobile string   `json:"mobile"`
	Tries  int      `json:"tries"`
	Roles  []string `json:"roles"`
}

func TestDecodeNamesTheField(t *testing.T) {
	for _, c := range []struct{ body, field string }{
		{`{"mobile": 1}`, "mobile"},
		{`{"tries": "x"}`, "tries"},
		{`{"nope": 1}`, "nope"},
		{`{"mobile": "1"} {"mobile": "2"}`, ""},
		{``, ""},
		{`{`, ""},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		var v sample
		err := decode(r, &v)
		e := errs.As(err)
		if err == nil || e.Code != errs.Invalid || e.Field != c.field {
			t.Errorf("%q: %v (field %q)", c.body, err, e.Field)
		}
	}
	var v sample
	if err := decode(httptest.NewRequest("POST", "/", strings.NewReader(`{"mobile":"13800138000","roles":["a"]}`)), &v); err != nil || v.Mobile != "13800138000" {
		t.Fatalf("good body: %v %+v", err, v)
	}
}

// FuzzDecode: a body is decoded or refused with invalid; never a panic,
// never another code, and the error never echoes the body.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"mobile":"13800138000"}`, `{"tries":1e99}`, `[]`, `null`, `{"roles":[1]}`, "\x00", `{"mobile":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v sample
		err := decode(httptest.NewRequest("POST", "/", strings.NewReader(body)), &v)
		if err == nil {
			return
		}
		e := errs.As(err)
		if e.Code != errs.Invalid {
			t.Fatalf("%q: code %s", body, e.Code)
		}
		if len(body) > 8 && (strings.Contains(e.Message, body) || strings.Contains(e.MessageZh, body)) {
			t.Fatalf("error echoes the body")
		}
	})
}

func TestCSVCellNeutralisesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+86 138": "'+86 138", "-2": "'-2", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx",
		"138****5678": "138****5678", "": "", "张三": "张三",
	} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimitKeyGroupsIPv6(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7": "192.0.2.7", "2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2::ffff": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7": "::ffff:192.0.2.7", "not an ip": "not an ip",
	} {
		if got := limitKey(in); got != want {
			t.Errorf("limitKey(%q) = %q, want %q", in, got, want)
		}
	}
}
