package textscan_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/textscan"
)

// want is an expected finding: its kind and the exact text it spans, which
// occurs once in the case's text.
type want struct{ kind, span string }

const (
	idN    = textscan.KindIDNumber
	card   = textscan.KindBankCard
	mobile = textscan.KindMobile
)

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []want
	}{
		// Mobile numbers.
		{"电话 13800138000 工作日", []want{{mobile, "13800138000"}}},
		{"请联系13800138000", []want{{mobile, "13800138000"}}},
		{"电话：138 0013 8000", []want{{mobile, "138 0013 8000"}}},
		{"电话 138-0013-8000。", []want{{mobile, "138-0013-8000"}}},
		{"call +86 138 0013 8000 now", []want{{mobile, "+86 138 0013 8000"}}},
		{"call +8613800138000", []want{{mobile, "+8613800138000"}}},
		{"86-13800138000", []want{{mobile, "86-13800138000"}}},
		{"0086 13800138000", []want{{mobile, "0086 13800138000"}}},
		{"号码8613800138000", []want{{mobile, "8613800138000"}}},
		{"（+86）13800138000", []want{{mobile, "13800138000"}}},
		{"1+8613800138000", []want{{mobile, "8613800138000"}}}, // a + after a digit is no prefix
		{"tel13800138000", []want{{mobile, "13800138000"}}},
		{"tel:19912345678.", []want{{mobile, "19912345678"}}},
		{"全角１３８００１３８０００号", []want{{mobile, "１３８００１３８０００"}}},
		{"全角１３８　００１３　８０００", []want{{mobile, "１３８　００１３　８０００"}}},
		{"两个号码：13800138000，13900139000", []want{{mobile, "13800138000"}, {mobile, "13900139000"}}},
		{"138 0013 8000 139 0013 9000", []want{{mobile, "138 0013 8000"}, {mobile, "139 0013 9000"}}},
		{"日期 2026-11-22 13800138000", []want{{mobile, "13800138000"}}},
		{"12 13800138000", []want{{mobile, "13800138000"}}},
		// ID numbers, with x or X as the check character.
		{"身份证11010519491231002X", []want{{idN, "11010519491231002X"}}},
		{"身份证 32010619850101123x。", []want{{idN, "32010619850101123x"}}},
		{"440304199003077519", []want{{idN, "440304199003077519"}}},
		{"证件 440304 19900307 7519", []want{{idN, "440304 19900307 7519"}}},
		{"证件 320106-19850101-123X", []want{{idN, "320106-19850101-123X"}}},
		{"４４０３０４１９９００３０７７５１９", []want{{idN, "４４０３０４１９９００３０７７５１９"}}},
		{"11010519491231002Ｘ号", []want{{idN, "11010519491231002Ｘ"}}},
		// Bank cards.
		{"卡号6222021234567894", []want{{card, "6222021234567894"}}},
		{"卡号 6222 0212 3456 7894", []want{{card, "6222 0212 3456 7894"}}},
		{"卡号 6222-0212-3456-7894。", []want{{card, "6222-0212-3456-7894"}}},
		{"6217 0012 3456 7890 122", []want{{card, "6217 0012 3456 7890 122"}}},
		{"6217001234567890122", []want{{card, "6217001234567890122"}}},
		{"amex 3782 822463 10005", []want{{card, "3782 822463 10005"}}},
		{"4000000000006", []want{{card, "4000000000006"}}},
		{"６２２２０２１２３４５６７８９４", []want{{card, "６２２２０２１２３４５６７８９４"}}},
		{"第20 6222 0212 3456 7894", []want{{card, "6222 0212 3456 7894"}}},
		// Several kinds, in order.
		{"身份证 11010519491231002X 卡 6222021234567894 手机 13800138000",
			[]want{{idN, "11010519491231002X"}, {card, "6222021234567894"}, {mobile, "13800138000"}}},

		// Not personal information.
		{"", nil},
		{"负责外卖配送，日结。", nil},
		{"2026-11-22", nil},
		{"2026-11-22 09:30 到岗", nil},
		{"时薪 25.50 元，月薪 8000 元，¥1,380.00", nil},
		{"订单号 12345678901234567890", nil},                // 20 digits: no card inside
		{"订单号 98765432109876543210987", nil},             // 23 digits
		{"订单 6222021234567895", nil},                     // Luhn fails
		{"12800138000", nil},                             // 12x is no mobile segment
		{"1380013800", nil},                              // 10 digits
		{"138001380001", nil},                            // 12 digits
		{"13800138000.50", nil},                          // a decimal number
		{"3.13800138000", nil},                           // a decimal number
		{"1234 5678 9012 3456 7890", nil},                // twenty digits grouped in fours
		{"0000 0000 0000 0000", nil},                     // a placeholder
		{"138 0013 800", nil},                            // 10 digits
		{"138  0013  8000", nil},                         // two spaces do not join groups
		{"+1 415 555 2671", nil},                         // not a mainland number
		{"id 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", nil}, // a UUID
		{"版本 1.2.3，邮编 100086", nil},
		{"11010519491231002", nil},    // 17 digits, no check character
		{"110105194912310021", nil},   // wrong check character (and no Luhn card)
		{"11010519491231002X00", nil}, // X inside a longer token
	} {
		got := textscan.Scan(tc.text)
		var exp []textscan.Finding
		for _, w := range tc.want {
			b := strings.Index(tc.text, w.span)
			if b < 0 || strings.Count(tc.text, w.span) != 1 {
				t.Fatalf("bad case %q: span %q", tc.text, w.span)
			}
			s := utf8.RuneCountInString(tc.text[:b])
			exp = append(exp, textscan.Finding{Kind: w.kind, Start: s, End: s + utf8.RuneCountInString(w.span)})
		}
		if !slices.Equal(got, exp) {
			t.Errorf("Scan(%q) = %+v, want %+v", tc.text, got, exp)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := textscan.Check("description", "负责外卖配送，2026-11-22 开始，时薪 25 元"); err != nil {
		t.Fatalf("clean text refused: %v", err)
	}
	text := "联系13800138000，身份证11010519491231002X，卡6222 0212 3456 7894，备用139-0013-9000"
	err := textscan.Check("description", text)
	e := errs.As(err)
	if err == nil || e.Code != errs.Invalid || e.Field != "description" || e.Reason != textscan.Reason {
		t.Fatalf("Check = %#v", err)
	}
	wantMissing := []string{"mobile@2-13", "id_number@17-35", "bank_card@37-56", "mobile@59-72"}
	if !slices.Equal(e.Missing, wantMissing) {
		t.Fatalf("missing %v, want %v", e.Missing, wantMissing)
	}
	for _, msg := range []string{e.Message, e.MessageZh, err.Error()} {
		for _, secret := range []string{"13800138000", "1380", "0013", "8000", "11010519491231002X", "1949", "6222", "7894", "9000"} {
			if strings.Contains(msg, secret) {
				t.Errorf("message %q contains digits %q of the text", msg, secret)
			}
		}
	}
	if !strings.Contains(e.Message, "a mobile number at characters 2–13") || !strings.Contains(e.Message, "1 more") ||
		!strings.Contains(e.MessageZh, "手机号") || !strings.Contains(e.MessageZh, "身份证号") || !strings.Contains(e.MessageZh, "银行卡号") {
		t.Errorf("messages do not name kinds and spans: %q / %q", e.Message, e.MessageZh)
	}
}

// digitsOf normalises a finding's span the way a person reads it: ASCII
// digits, X for the check character, no separators or plus sign.
func digitsOf(span []rune) string {
	var b strings.Builder
	for _, r := range span {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + r - '０')
		case r == 'x' || r == 'X' || r == 'ｘ' || r == 'Ｘ':
			b.WriteByte('X')
		}
	}
	return b.String()
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"电话 138 0013 8000，身份证 11010519491231002X",
		"+86-138-0013-8000 6222 0212 3456 7894",
		"１３８００１３８０００ 12345678901234567890",
		"2026-11-22 13800138000.5",
		"3782 822463 10005 ４４０３０４１９９００３０７７５１９",
		"\xff\xfe13800138000\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := textscan.Scan(text)
		rs := []rune(text)
		if len(rs) != utf8.RuneCountInString(text) {
			t.Fatal("rune count mismatch")
		}
		prevEnd := 0
		for _, fd := range got {
			if fd.Start < prevEnd || fd.End <= fd.Start || fd.End > len(rs) {
				t.Fatalf("finding %+v out of order, overlapping or out of range (previous end %d, %d runes)", fd, prevEnd, len(rs))
			}
			prevEnd = fd.End
			// Never a piece of a longer run of digits.
			if (fd.Start > 0 && isDigit(rs[fd.Start-1])) || (fd.End < len(rs) && isDigit(rs[fd.End])) {
				t.Fatalf("finding %+v cuts a run of digits", fd)
			}
			d := digitsOf(rs[fd.Start:fd.End])
			switch fd.Kind {
			case textscan.KindIDNumber:
				if err := format.Validate(format.KindIDNumber, d); err != nil {
					t.Fatalf("id_number %+v does not validate: %v", fd, err)
				}
			case textscan.KindMobile:
				switch {
				case len(d) == 15 && strings.HasPrefix(d, "0086"):
					d = d[4:]
				case len(d) == 13 && strings.HasPrefix(d, "86"):
					d = d[2:]
				}
				if len(d) != 11 || d[0] != '1' || d[1] < '3' || d[1] > '9' {
					t.Fatalf("mobile %+v is not 1[3-9] and nine digits", fd)
				}
			case textscan.KindBankCard:
				if len(d) < 13 || len(d) > 19 || d[0] == '0' || !format.LuhnValid(d) {
					t.Fatalf("bank_card %+v fails Luhn or length", fd)
				}
			default:
				t.Fatalf("unknown kind %q", fd.Kind)
			}
		}
		err := textscan.Check("f", text)
		if (err == nil) != (len(got) == 0) {
			t.Fatalf("Check %v but %d findings", err, len(got))
		}
		if err != nil && len(errs.As(err).Missing) != len(got) {
			t.Fatalf("Check lists %d findings, Scan %d", len(errs.As(err).Missing), len(got))
		}
	})
}
