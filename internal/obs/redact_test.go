package obs

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"login from 15312342212 ok", "login from [redacted:mobile] ok"},
		{"login from +86 153-1234-2212", "login from [redacted:mobile]"},
		{"id 11010519491231002X checked", "id [redacted:id_number] checked"},
		{"card 6222 0202 0000 1234 567 paid", "card [redacted:number] paid"},
		{"mail zhangsan@163.com", "mail [redacted:email]"},
		{"subject 0193f0a2-7c3e-7000-8000-000000000001 seq 12345", "subject 0193f0a2-7c3e-7000-8000-000000000001 seq 12345"},
		{"took 1500ms for 200 rows", "took 1500ms for 200 rows"},
		{"licence 91350100M000100Y43", "licence [redacted:uscc]"},
		{"mobile13800138000 and ID11010519491231002X", "mobile[redacted:mobile] and ID[redacted:id_number]"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRedactingHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewRedactingHandler(slog.NewJSONHandler(&buf, nil)))
	log.With("who", "13800138000").Info("user 15312342212 failed", "phone", int64(13912345678), "raw", []byte("user_13512345678"),
		"err", errors.New("lookup 11010519491231002X: not found"),
		slog.Group("req", "email", "a.b@qq.com", "n", 3))
	out := buf.String()
	for _, leak := range []string{"13800138000", "15312342212", "11010519491231002X", "a.b@qq.com", "13912345678", "13512345678"} {
		if strings.Contains(out, leak) {
			t.Errorf("log leaked %s: %s", leak, out)
		}
	}
	if !strings.Contains(out, `"n":3`) || !strings.Contains(out, "[redacted:mobile]") {
		t.Errorf("log lost non-PI content: %s", out)
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{"15312342212", "a@b.cn", "11010519491231002X", "6222020200001234567", "plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Redact(s)
		for _, l := range mobileRE.FindAllStringIndex(out, -1) {
			// What is left must be glued to a longer number or hyphenated ID.
			if !(l[0] > 0 && wordByte(out[l[0]-1])) && !(l[1] < len(out) && wordByte(out[l[1]])) {
				t.Fatalf("Redact(%q) = %q still has a standalone mobile number", s, out)
			}
		}
		if Redact(out) != out {
			t.Fatalf("Redact is not idempotent on %q", s)
		}
	})
}
