package format

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// vcase is one Validate/Normalize case: code "" means valid, and then norm is
// the expected Normalize output ("" meaning the input, trimmed).
type vcase struct {
	kind Kind
	in   string
	norm string
	code string
}

func ok(k Kind, in string) vcase               { return vcase{kind: k, in: in} }
func okNorm(k Kind, in, norm string) vcase     { return vcase{kind: k, in: in, norm: norm} }
func bad(k Kind, in string, code string) vcase { return vcase{kind: k, in: in, code: code} }

var validateCases = []vcase{
	// mobile
	ok(KindMobile, "15312342212"),
	okNorm(KindMobile, "153 1234 2212", "15312342212"),
	okNorm(KindMobile, "153-1234-2212", "15312342212"),
	okNorm(KindMobile, "+8615312342212", "15312342212"),
	okNorm(KindMobile, "+86 153 1234 2212", "15312342212"),
	okNorm(KindMobile, "8615312342212", "15312342212"),
	okNorm(KindMobile, "008615312342212", "15312342212"),
	okNorm(KindMobile, "  13800138000\u3000", "13800138000"),
	ok(KindMobile, "14512345678"),
	ok(KindMobile, "14912345678"),
	ok(KindMobile, "15012345678"),
	ok(KindMobile, "16212345678"),
	ok(KindMobile, "16712345678"),
	ok(KindMobile, "17012345678"),
	ok(KindMobile, "17812345678"),
	ok(KindMobile, "18012345678"),
	ok(KindMobile, "19212345678"),
	ok(KindMobile, "19912345678"),
	bad(KindMobile, "1531234221", CodeInvalidMobile),
	bad(KindMobile, "153123422123", CodeInvalidMobile),
	bad(KindMobile, "14412345678", CodeInvalidMobile),
	bad(KindMobile, "15412345678", CodeInvalidMobile),
	bad(KindMobile, "16112345678", CodeInvalidMobile),
	bad(KindMobile, "16812345678", CodeInvalidMobile),
	bad(KindMobile, "17912345678", CodeInvalidMobile),
	bad(KindMobile, "19412345678", CodeInvalidMobile),
	bad(KindMobile, "12012345678", CodeInvalidMobile),
	bad(KindMobile, "25312342212", CodeInvalidMobile),
	bad(KindMobile, "+8715312342212", CodeInvalidMobile),
	bad(KindMobile, "+15312342212", CodeInvalidMobile),
	bad(KindMobile, "+86+15312342212", CodeInvalidMobile),
	bad(KindMobile, "153.1234.2212", CodeInvalidMobile),
	bad(KindMobile, "1531234221a", CodeInvalidMobile),
	bad(KindMobile, "１５３１２３４２２１２", CodeInvalidMobile),
	bad(KindMobile, "", CodeEmpty),
	bad(KindMobile, " \u3000 ", CodeEmpty),
	bad(KindMobile, "153\x0012342212", CodeControlChars),
	bad(KindMobile, "15312342212\n", CodeControlChars),
	bad(KindMobile, "\xff15312342212", CodeInvalidUTF8),
	bad(KindMobile, strings.Repeat("1", 40), CodeTooLong),

	// id_number
	ok(KindIDNumber, "11010519491231002X"),
	okNorm(KindIDNumber, "11010519491231002x", "11010519491231002X"),
	ok(KindIDNumber, "510105199003072914"),
	ok(KindIDNumber, "350104198511201232"),
	ok(KindIDNumber, "11010120000229123X"),
	ok(KindIDNumber, "310104196001010018"),
	ok(KindIDNumber, "650102199912319998"),
	bad(KindIDNumber, "440305200702290011", CodeInvalidIDNumber), // 2007-02-29, check digit right
	bad(KindIDNumber, "440524188001010014", CodeInvalidIDNumber), // GB 11643 example born 1880
	bad(KindIDNumber, "510105199003072915", CodeInvalidIDNumber),
	bad(KindIDNumber, "990105199003072914", CodeInvalidIDNumber),
	bad(KindIDNumber, "11010519491231002", CodeInvalidIDNumber),
	bad(KindIDNumber, "11010519491231002XX", CodeInvalidIDNumber),
	bad(KindIDNumber, "11010519491231002Y", CodeInvalidIDNumber),
	bad(KindIDNumber, "1101051949123100 2X", CodeInvalidIDNumber),
	bad(KindIDNumber, "1101051949123100２X", CodeInvalidIDNumber),
	bad(KindIDNumber, "110105194912310", CodeInvalidIDNumber), // 15-digit first-generation ID

	// bank_card
	ok(KindBankCard, "6222021234567890128"),
	okNorm(KindBankCard, "6222 0212 3456 7890 128", "6222021234567890128"),
	ok(KindBankCard, "622588123456784"),
	ok(KindBankCard, "622848000011112221"),
	ok(KindBankCard, "6217000000000006"),
	ok(KindBankCard, "356300000000012"),
	bad(KindBankCard, "6222021234567890129", CodeInvalidBankCard),
	bad(KindBankCard, "62220212345", CodeInvalidBankCard),
	bad(KindBankCard, "62220212345678901234", CodeInvalidBankCard),
	bad(KindBankCard, "6222-0212-3456-7890-128", CodeInvalidBankCard),
	bad(KindBankCard, "6222a21234567890128", CodeInvalidBankCard),

	// uscc
	ok(KindUSCC, "91350100M000100Y43"),
	okNorm(KindUSCC, "91350100m000100y43", "91350100M000100Y43"),
	ok(KindUSCC, "914403001922038216"),
	ok(KindUSCC, "91440300708461136T"),
	ok(KindUSCC, "91110000600037341L"),
	ok(KindUSCC, "12100000400000624D"),
	ok(KindUSCC, "91350104MA2XYW1239"),
	bad(KindUSCC, "91350100M000100Y44", CodeInvalidUSCC),
	bad(KindUSCC, "91350100M000100Y4", CodeInvalidUSCC),
	bad(KindUSCC, "91350100M000100I43", CodeInvalidUSCC),
	bad(KindUSCC, "91350100M000100Z43", CodeInvalidUSCC),
	bad(KindUSCC, "91350100M000100Ｙ43", CodeInvalidUSCC),
	bad(KindUSCC, "91350100M000100ſ43", CodeInvalidUSCC), // ToUpper(ſ) == S

	// email
	ok(KindEmail, "zhangsan@163.com"),
	okNorm(KindEmail, " ZhangSan@QQ.com ", "zhangsan@qq.com"),
	ok(KindEmail, "a.b+tag@mail.example.cn"),
	ok(KindEmail, "user_1@gmail.com"),
	ok(KindEmail, "x@a-b.co"),
	bad(KindEmail, "zhangsan", CodeInvalidEmail),
	bad(KindEmail, "@163.com", CodeInvalidEmail),
	bad(KindEmail, "zhangsan@", CodeInvalidEmail),
	bad(KindEmail, "zhangsan@163", CodeInvalidEmail),
	bad(KindEmail, "Zhang San <zhangsan@163.com>", CodeInvalidEmail),
	bad(KindEmail, "<zhangsan@163.com>", CodeInvalidEmail),
	bad(KindEmail, "zhangsan@163.com (work)", CodeInvalidEmail),
	bad(KindEmail, "zhang san@163.com", CodeInvalidEmail),
	bad(KindEmail, `"zs"@163.com`, CodeInvalidEmail),
	bad(KindEmail, "zs@[1.2.3.4]", CodeInvalidEmail),
	bad(KindEmail, "张三@163.com", CodeInvalidEmail),
	bad(KindEmail, "zs@163..com", CodeInvalidEmail),
	bad(KindEmail, ".zs@163.com", CodeInvalidEmail),
	bad(KindEmail, "zs.@163.com", CodeInvalidEmail),
	bad(KindEmail, "z..s@163.com", CodeInvalidEmail),
	bad(KindEmail, "zs@-163.com", CodeInvalidEmail),
	bad(KindEmail, "zs@163.123", CodeInvalidEmail),
	bad(KindEmail, "a@b@163.com", CodeInvalidEmail),
	bad(KindEmail, strings.Repeat("a", 65)+"@163.com", CodeInvalidEmail),
	bad(KindEmail, strings.Repeat("a", 250)+"@a.cn", CodeTooLong),

	// ip
	ok(KindIP, "192.168.1.1"),
	ok(KindIP, "58.22.103.7"),
	okNorm(KindIP, "2001:DB8:0:0::1", "2001:db8::1"),
	ok(KindIP, "::ffff:1.2.3.4"),
	ok(KindIP, "::1"),
	bad(KindIP, "256.1.1.1", CodeInvalidIP),
	bad(KindIP, "1.2.3", CodeInvalidIP),
	bad(KindIP, "01.2.3.4", CodeInvalidIP),
	bad(KindIP, "fe80::1%eth0", CodeInvalidIP),
	bad(KindIP, "1.2.3.4/24", CodeInvalidIP),
	bad(KindIP, "localhost", CodeInvalidIP),

	// device_id
	ok(KindDeviceID, "490154203237518"),
	ok(KindDeviceID, "860123456789014"),
	ok(KindDeviceID, "9774d56d682e549c"),
	okNorm(KindDeviceID, "9774D56D682E549C", "9774d56d682e549c"),
	okNorm(KindDeviceID, "AA:BB:CC:DD:EE:FF", "aa:bb:cc:dd:ee:ff"),
	okNorm(KindDeviceID, "00-1a-2B-3c-4D-5e", "00:1a:2b:3c:4d:5e"),
	bad(KindDeviceID, "490154203237519", CodeInvalidDeviceID),
	bad(KindDeviceID, "9774d56d682e549g", CodeInvalidDeviceID),
	bad(KindDeviceID, "aa:bb:cc:dd:ee", CodeInvalidDeviceID),
	bad(KindDeviceID, "aa:bb-cc:dd:ee:ff", CodeInvalidDeviceID),
	bad(KindDeviceID, "aa:bb:cc:dd:ee:fg", CodeInvalidDeviceID),
	bad(KindDeviceID, "aabb.ccdd.eeff", CodeInvalidDeviceID),
	bad(KindDeviceID, "12345", CodeInvalidDeviceID),

	// geo_point
	ok(KindGeoPoint, "26.0745,119.2965"),
	ok(KindGeoPoint, "26.0745, 119.2965"),
	ok(KindGeoPoint, "-90,180"),
	ok(KindGeoPoint, "0,0"),
	ok(KindGeoPoint, "-33.8688,151.2093"),
	bad(KindGeoPoint, "91,0", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "0,181", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "-90.0001,0", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "26.07", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "26.07,119.29,1", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "NaN,0", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "1e1,2", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "0x1p1,2", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "+26.0,119", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "26.,119", CodeInvalidGeoPoint),
	bad(KindGeoPoint, ".5,119", CodeInvalidGeoPoint),
	bad(KindGeoPoint, "a,b", CodeInvalidGeoPoint),

	// city, geo_area, address
	ok(KindCity, "福州市"),
	ok(KindCity, "Fuzhou"),
	ok(KindCity, "北京市（朝阳）"),
	ok(KindGeoArea, "福建省福州市仓山区"),
	ok(KindGeoArea, "新疆维吾尔自治区 伊犁哈萨克自治州·伊宁市"),
	bad(KindCity, "😀", CodeInvalidCity),
	bad(KindCity, "Москва", CodeInvalidCity),
	bad(KindCity, "---", CodeInvalidCity),
	bad(KindCity, strings.Repeat("福", 65), CodeTooLong),
	ok(KindGeoArea, strings.Repeat("福", 64)),
	bad(KindGeoArea, "仓山区\u200f", CodeControlChars),
	bad(KindGeoArea, "☃区", CodeInvalidGeoArea),
	ok(KindAddress, "福建省福州市仓山区金工路12号3栋402室"),
	ok(KindAddress, "Room 402, No. 12 Jingong Rd"),
	bad(KindAddress, "——", CodeInvalidAddress),
	bad(KindAddress, strings.Repeat("路", 129), CodeTooLong),

	// gender
	ok(KindGender, "男"),
	ok(KindGender, "女"),
	ok(KindGender, "未知"),
	okNorm(KindGender, "male", "男"),
	okNorm(KindGender, " Female ", "女"),
	okNorm(KindGender, "UNKNOWN", "未知"),
	bad(KindGender, "M", CodeInvalidGender),
	bad(KindGender, "男性", CodeInvalidGender),
	bad(KindGender, "other", CodeInvalidGender),

	// year_month, date
	ok(KindYearMonth, "1990-03"),
	ok(KindYearMonth, "1900-01"),
	ok(KindYearMonth, "2099-12"),
	bad(KindYearMonth, "1990-13", CodeInvalidYearMonth),
	bad(KindYearMonth, "1990-00", CodeInvalidYearMonth),
	bad(KindYearMonth, "1899-12", CodeInvalidYearMonth),
	bad(KindYearMonth, "2100-01", CodeInvalidYearMonth),
	bad(KindYearMonth, "1990-3", CodeInvalidYearMonth),
	bad(KindYearMonth, "199003", CodeInvalidYearMonth),
	bad(KindYearMonth, "1990/03", CodeInvalidYearMonth),
	bad(KindYearMonth, "1990-03-07", CodeInvalidYearMonth),
	ok(KindDate, "1990-03-07"),
	ok(KindDate, "2000-02-29"),
	ok(KindDate, "1900-01-01"),
	ok(KindDate, "2099-12-31"),
	bad(KindDate, "1900-02-29", CodeInvalidDate),
	bad(KindDate, "2023-02-29", CodeInvalidDate),
	bad(KindDate, "1990-04-31", CodeInvalidDate),
	bad(KindDate, "1990-3-7", CodeInvalidDate),
	bad(KindDate, "1990-03-07T00:00:00", CodeInvalidDate),
	bad(KindDate, "1899-12-31", CodeInvalidDate),
	bad(KindDate, "2100-01-01", CodeInvalidDate),
	bad(KindDate, "1990年3月7日", CodeInvalidDate),

	// money_fen, score
	ok(KindMoneyFen, "0"),
	ok(KindMoneyFen, "1500"),
	ok(KindMoneyFen, "1000000000000"),
	bad(KindMoneyFen, "1000000000001", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "99999999999999999999", CodeInvalidMoneyFen),
	bad(KindMoneyFen, strings.Repeat("9", 65), CodeTooLong),
	bad(KindMoneyFen, "-1", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "+1", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "01", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "15.00", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "1e3", CodeInvalidMoneyFen),
	bad(KindMoneyFen, "１００", CodeInvalidMoneyFen),
	ok(KindScore, "0"),
	ok(KindScore, "650"),
	ok(KindScore, "1000"),
	bad(KindScore, "1001", CodeInvalidScore),
	bad(KindScore, "-5", CodeInvalidScore),
	bad(KindScore, "007", CodeInvalidScore),
	bad(KindScore, "99.5", CodeInvalidScore),

	// json
	ok(KindJSON, `{"a":1}`),
	ok(KindJSON, `[]`),
	ok(KindJSON, "{\n\t\"school\": \"福州大学\",\n\t\"from\": \"2012-09\"\n}"),
	bad(KindJSON, `"str"`, CodeInvalidJSON),
	bad(KindJSON, `1`, CodeInvalidJSON),
	bad(KindJSON, `{`, CodeInvalidJSON),
	bad(KindJSON, `{"a":1}x`, CodeInvalidJSON),
	bad(KindJSON, `{"a":1}{}`, CodeInvalidJSON),
	bad(KindJSON, "{\r\n}", CodeControlChars),
	ok(KindJSON, "[0"+strings.Repeat(" ", 64<<10-3)+"]"),
	bad(KindJSON, "[0"+strings.Repeat(" ", 64<<10-2)+"]", CodeTooLong),

	// url
	ok(KindURL, "https://example.com/a?b=c#d"),
	ok(KindURL, "http://127.0.0.1:8080/x"),
	ok(KindURL, "HTTPS://EXAMPLE.COM"),
	ok(KindURL, "https://例子.中国/路径"),
	bad(KindURL, "ftp://example.com", CodeInvalidURL),
	bad(KindURL, "//example.com", CodeInvalidURL),
	bad(KindURL, "https://", CodeInvalidURL),
	bad(KindURL, "example.com", CodeInvalidURL),
	bad(KindURL, "https://exa mple.com", CodeInvalidURL),
	bad(KindURL, "https://example.com/a b", CodeInvalidURL),
	bad(KindURL, "javascript:alert(1)", CodeInvalidURL),
	bad(KindURL, "https:example.com", CodeInvalidURL),
	bad(KindURL, "https://"+strings.Repeat("a", 2050)+".com", CodeTooLong),

	// person_name
	ok(KindPersonName, "张三"),
	ok(KindPersonName, "欧阳娜娜"),
	ok(KindPersonName, "买买提·艾力"),
	ok(KindPersonName, "Zhang San"),
	ok(KindPersonName, "José García"),
	ok(KindPersonName, "Jose\u0301"),
	ok(KindPersonName, "𠮷田"),
	ok(KindPersonName, strings.Repeat("张", 32)),
	bad(KindPersonName, strings.Repeat("张", 33), CodeTooLong),
	bad(KindPersonName, "张三1", CodeInvalidPersonName),
	bad(KindPersonName, "张三!", CodeInvalidPersonName),
	bad(KindPersonName, "·张三", CodeInvalidPersonName),
	bad(KindPersonName, "张三·", CodeInvalidPersonName),
	bad(KindPersonName, "买买提··艾力", CodeInvalidPersonName),
	bad(KindPersonName, "Иван", CodeInvalidPersonName),
	bad(KindPersonName, "\u0301Jose", CodeInvalidPersonName),
	bad(KindPersonName, "😀", CodeInvalidPersonName),
	bad(KindPersonName, "张\t三", CodeControlChars),

	// free text
	ok(KindText, "本人性格开朗。\n\t有两年餐饮服务经验。"),
	ok(KindText, strings.Repeat("字", 20000)),
	ok(KindText, "表情😀与零宽\u200b字符"),
	bad(KindText, strings.Repeat("字", 20001), CodeTooLong),
	bad(KindText, "a\rb", CodeControlChars),
	bad(KindText, "a\u202eb", CodeControlChars),
	bad(KindText, "a\u0085b", CodeControlChars),
	bad(KindText, "a\x7fb", CodeControlChars),
	bad(KindText, "\n\t\n", CodeEmpty),
	ok(KindShortText, "周末可兼职，有服务经验"),
	ok(KindShortText, strings.Repeat("字", 128)),
	bad(KindShortText, strings.Repeat("字", 129), CodeTooLong),
	bad(KindShortText, "a\nb", CodeControlChars),
	ok(KindKeyword, "快递分拣"),
	bad(KindKeyword, "\x1b[31m", CodeControlChars),
	ok(KindUsername, "xiaozhang_1990"),
	bad(KindUsername, "   ", CodeEmpty),
	ok(KindBankName, "中国工商银行"),
	ok(KindAccount, "wxid_abc123"),
	bad(KindAccount, strings.Repeat("a", 129), CodeTooLong),
	bad(KindBankName, "\xe4\xb8", CodeInvalidUTF8),
}

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
