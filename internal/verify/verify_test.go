package verify

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// Synthetic factors (valid check character, Luhn digit and segment).
const (
	tName   = "张三"
	tID     = "110101199003070011"
	tIDX    = "32010219870101080X"
	tCard   = "6222000000000000012"
	tMobile = "13800000001"
)

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]Level{"2": Level2, " 3": Level3, "4\n": Level4} {
		got, err := ParseLevel(s)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "1", "5", "02", "two", "2.0", "-2", "２"} {
		_, err := ParseLevel(s)
		e := errs.As(err)
		if err == nil || e.Code != errs.Invalid || e.Field != FieldLevel || e.Reason != ReasonInvalidLevel {
			t.Errorf("ParseLevel(%q) error = %#v", s, err)
		}
	}
	if Level2.String() != "2" || Level4.String() != "4" || Level(7).String() != "invalid" {
		t.Error("Level.String")
	}
}

func TestFactors(t *testing.T) {
	want := map[Level][]string{
		Level2: {"name", "id_number"},
		Level3: {"name", "id_number", "bank_card"},
		Level4: {"name", "id_number", "bank_card", "mobile"},
		0:      nil,
		1:      nil,
		5:      nil,
	}
	for l, w := range want {
		if got := Factors(l); !slices.Equal(got, w) {
			t.Errorf("Factors(%d) = %v, want %v", l, got, w)
		}
	}
	f := Factors(Level2)
	f[0] = "changed"
	if Factors(Level2)[0] != "name" {
		t.Error("Factors returns a shared slice")
	}
}

func TestCheckNormalises(t *testing.T) {
	tests := []struct {
		in, want Request
	}{
		{Request{Level: Level2, Name: " 张三 ", IDNumber: "32010219870101080x"},
			Request{Level: Level2, Name: "张三", IDNumber: tIDX}},
		{Request{Level: Level3, Name: "阿依古丽·买买提", IDNumber: tID, BankCard: "6222 0000 0000 0000 012"},
			Request{Level: Level3, Name: "阿依古丽·买买提", IDNumber: tID, BankCard: tCard}},
		{Request{Level: Level4, Name: "Anna Müller", IDNumber: tID, BankCard: tCard, Mobile: "+86 138-0000-0001"},
			Request{Level: Level4, Name: "Anna Müller", IDNumber: tID, BankCard: tCard, Mobile: tMobile}},
		{Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: "008613800000001"},
			Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}},
	}
	for _, tt := range tests {
		got, err := tt.in.Check()
		if err != nil {
			t.Errorf("%v: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Check = %+v, want %+v", got, tt.want) // Request prints without values
			t.Logf("name %q id %q card %q mobile %q", got.Name, got.IDNumber, got.BankCard, got.Mobile)
		}
		again, err := got.Check()
		if err != nil || again != got {
			t.Errorf("Check is not idempotent: %v", err)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	ok4 := Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}
	with := func(l Level, edit func(*Request)) Request {
		r := ok4
		r.Level = l
		if l < Level4 {
			r.Mobile = ""
		}
		if l < Level3 {
			r.BankCard = ""
		}
		edit(&r)
		return r
	}
	badCheck := tID[:17] + "2" // wrong check character
	badLuhn := tCard[:18] + "3"
	tests := []struct {
		name   string
		r      Request
		field  string
		reason string
		secret string // a value that must not appear in the error
	}{
		{"level 0", with(Level2, func(r *Request) { r.Level = 0 }), FieldLevel, ReasonInvalidLevel, tID},
		{"level 1", with(Level2, func(r *Request) { r.Level = 1 }), FieldLevel, ReasonInvalidLevel, tID},
		{"level 5", with(Level4, func(r *Request) { r.Level = 5 }), FieldLevel, ReasonInvalidLevel, tID},
		{"level -2", with(Level2, func(r *Request) { r.Level = -2 }), FieldLevel, ReasonInvalidLevel, tID},

		{"2: missing name", with(Level2, func(r *Request) { r.Name = "" }), FieldName, ReasonMissingFactor, tID},
		{"2: blank name", with(Level2, func(r *Request) { r.Name = " \u3000 " }), FieldName, ReasonMissingFactor, tID},
		{"2: missing id", with(Level2, func(r *Request) { r.IDNumber = "" }), FieldIDNumber, ReasonMissingFactor, tName},
		{"3: missing card", with(Level3, func(r *Request) { r.BankCard = "" }), FieldBankCard, ReasonMissingFactor, tID},
		{"4: missing mobile", with(Level4, func(r *Request) { r.Mobile = "" }), FieldMobile, ReasonMissingFactor, tCard},
		{"4: blank mobile", with(Level4, func(r *Request) { r.Mobile = "  " }), FieldMobile, ReasonMissingFactor, tCard},

		{"2: extra card", with(Level2, func(r *Request) { r.BankCard = tCard }), FieldBankCard, ReasonFactorNotNeeded, tCard},
		{"2: extra mobile", with(Level2, func(r *Request) { r.Mobile = tMobile }), FieldMobile, ReasonFactorNotNeeded, tMobile},
		{"2: extra blank card", with(Level2, func(r *Request) { r.BankCard = " " }), FieldBankCard, ReasonFactorNotNeeded, tID},
		{"3: extra mobile", with(Level3, func(r *Request) { r.Mobile = tMobile }), FieldMobile, ReasonFactorNotNeeded, tMobile},
		{"2: extra invalid card", with(Level2, func(r *Request) { r.BankCard = badLuhn }), FieldBankCard, ReasonFactorNotNeeded, badLuhn},
		{"extra before invalid", with(Level2, func(r *Request) { r.IDNumber = badCheck; r.Mobile = tMobile }), FieldMobile, ReasonFactorNotNeeded, badCheck},

		{"2: id check char", with(Level2, func(r *Request) { r.IDNumber = badCheck }), FieldIDNumber, format.CodeInvalidIDNumber, badCheck},
		{"2: id region", with(Level2, func(r *Request) { r.IDNumber = "990101199003070011" }), FieldIDNumber, format.CodeInvalidIDNumber, "990101199003070011"},
		{"2: id birth", with(Level2, func(r *Request) { r.IDNumber = "110101199002300011" }), FieldIDNumber, format.CodeInvalidIDNumber, "110101199002300011"},
		{"2: id 15 digits", with(Level2, func(r *Request) { r.IDNumber = "110101900307001" }), FieldIDNumber, format.CodeInvalidIDNumber, "110101900307001"},
		{"2: name digits", with(Level2, func(r *Request) { r.Name = "张三123456" }), FieldName, format.CodeInvalidPersonName, "张三123456"},
		{"2: name control", with(Level2, func(r *Request) { r.Name = "张三\u202e李四" }), FieldName, format.CodeControlChars, "李四"},
		{"2: name too long", with(Level2, func(r *Request) { r.Name = strings.Repeat("张", 40) }), FieldName, format.CodeTooLong, strings.Repeat("张", 40)},
		{"2: name bad utf8", with(Level2, func(r *Request) { r.Name = "张三\xff李四" }), FieldName, format.CodeInvalidUTF8, "李四"},
		{"3: luhn", with(Level3, func(r *Request) { r.BankCard = badLuhn }), FieldBankCard, format.CodeInvalidBankCard, badLuhn},
		{"3: card letters", with(Level3, func(r *Request) { r.BankCard = "6222abcd00000012" }), FieldBankCard, format.CodeInvalidBankCard, "6222abcd00000012"},
		{"3: card short", with(Level3, func(r *Request) { r.BankCard = "62220000004" }), FieldBankCard, format.CodeInvalidBankCard, "62220000004"},
		{"4: mobile segment", with(Level4, func(r *Request) { r.Mobile = "12800000001" }), FieldMobile, format.CodeInvalidMobile, "12800000001"},
		{"4: mobile length", with(Level4, func(r *Request) { r.Mobile = "1380000000" }), FieldMobile, format.CodeInvalidMobile, "1380000000"},
		{"4: mobile foreign", with(Level4, func(r *Request) { r.Mobile = "+4413800000001" }), FieldMobile, format.CodeInvalidMobile, "4413800000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.r.Check()
			if err == nil {
				t.Fatal("accepted")
			}
			if got != (Request{}) {
				t.Error("non-zero request with an error")
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not an *errs.Error", err)
			}
			if e.Code != errs.Invalid || e.Field != tt.field || e.Reason != tt.reason {
				t.Errorf("code %s field %q reason %q; want invalid %q %q", e.Code, e.Field, e.Reason, tt.field, tt.reason)
			}
			if e.Message == "" || e.MessageZh == "" {
				t.Error("missing message")
			}
			if tt.reason == ReasonMissingFactor && !slices.Equal(e.Missing, []string{tt.field}) {
				t.Errorf("Missing = %v", e.Missing)
			}
			assertNoValue(t, e, tt.secret, tt.r.Name, tt.r.IDNumber, tt.r.BankCard, tt.r.Mobile)
		})
	}
}

// assertNoValue fails if any value of 6 or more bytes (other than a text
// of the error's fixed vocabulary) appears in e.
func assertNoValue(t *testing.T, e *errs.Error, values ...string) {
	t.Helper()
	all := e.Error() + "\x00" + e.Message + "\x00" + e.MessageZh + "\x00" + e.Reason + "\x00" + strings.Join(e.Missing, ",")
	for _, v := range values {
		if len(v) < 6 {
			continue
		}
		if strings.Contains(all, v) {
			t.Errorf("error %q contains a value", all)
		}
	}
}

func TestRequestPrintsNoValues(t *testing.T) {
	r := Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "req", r)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "req", r)
	out := fmt.Sprintf("%v %+v %#v %s", r, r, r, r) + fmt.Sprintf("%v %+v", []Request{r}, struct{ R Request }{r}) + logs.String()
	for _, v := range []string{tName, tID, tCard, tMobile} {
		if strings.Contains(out, v) {
			t.Fatalf("printed request shows a value: %s", out)
		}
	}
	if want := "verify.Request{level=4 factors=[name id_number bank_card mobile]}"; r.String() != want {
		t.Errorf("String() = %q, want %q", r.String(), want)
	}
	if !strings.Contains(logs.String(), `"factors":"name,id_number,bank_card,mobile"`) {
		t.Errorf("log = %s", logs.String())
	}
}

func TestRejectBiometrics(t *testing.T) {
	tests := []struct {
		keys  []string
		field string // "" with refused: refused without a field; "-": accepted
	}{
		{nil, "-"},
		{[]string{}, "-"},
		{[]string{"level", "name", "id_number", "bank_card", "mobile", "request_id", "purpose", "consent_id"}, "-"},
		{[]string{"level", "face"}, "face"},
		{[]string{"face_image", "name"}, "face_image"},
		{[]string{"name", "FaceImage"}, "FaceImage"},
		{[]string{"faceBase64"}, "faceBase64"},
		{[]string{"photo"}, "photo"},
		{[]string{"id_card_photo"}, "id_card_photo"},
		{[]string{"selfie"}, "selfie"},
		{[]string{"SELFIE_URL"}, "SELFIE_URL"},
		{[]string{"liveness"}, "liveness"},
		{[]string{"liveness_video"}, "liveness_video"},
		{[]string{"live-detect"}, "live-detect"},
		{[]string{"fingerprint"}, "fingerprint"},
		{[]string{"finger_print"}, "finger_print"},
		{[]string{"Finger-Print"}, "Finger-Print"},
		{[]string{"iris"}, "iris"},
		{[]string{"iris_scan"}, "iris_scan"},
		{[]string{"voiceprint"}, "voiceprint"},
		{[]string{"voice_print"}, "voice_print"},
		{[]string{"palm"}, "palm"},
		{[]string{"palmprint"}, "palmprint"},
		{[]string{"vein_pattern"}, "vein_pattern"},
		{[]string{"retina"}, "retina"},
		{[]string{"biometrics"}, "biometrics"},
		{[]string{"portrait"}, "portrait"},
		{[]string{"image"}, "image"},
		{[]string{"name", "mobile", "face", "photo"}, "face"}, // the first one found
		{[]string{"人脸照片"}, ""},                                // refused, not a plain key
		{[]string{"指纹"}, ""},
		{[]string{"声纹"}, ""},
		{[]string{"face image with spaces"}, ""},
		{[]string{strings.Repeat("a", 70) + "face"}, ""},
	}
	for _, tt := range tests {
		err := RejectBiometrics(tt.keys)
		if tt.field == "-" {
			if err != nil {
				t.Errorf("%q: %v", tt.keys, err)
			}
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) {
			t.Errorf("%q: accepted (%v)", tt.keys, err)
			continue
		}
		if e.Code != errs.Invalid || e.Reason != ReasonBiometricsNotAccepted || e.Field != tt.field {
			t.Errorf("%q: code %s reason %q field %q", tt.keys, e.Code, e.Reason, e.Field)
		}
		if !strings.Contains(e.MessageZh, "不接受人脸、指纹等生物识别信息") {
			t.Errorf("zh message %q", e.MessageZh)
		}
	}
}

func TestDescribeReason(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range []string{"", ReasonMismatch, ReasonIDNotFound, ReasonCardNotMatching, ReasonMobileNotMatching, "other"} {
		zh, en := DescribeReason(r)
		if zh == "" || en == "" || seen[zh] || seen[en] {
			t.Errorf("DescribeReason(%q) = %q, %q", r, zh, en)
		}
		seen[zh], seen[en] = true, true
	}
}

// fixedTexts is every text Check can put in an error, gathered by probing
// each path; finding a fuzzed input inside it is no sign of a leak.
var fixedTexts = func() string {
	var b strings.Builder
	add := func(err error) {
		if e := errs.As(err); e != nil {
			b.WriteString(e.Error() + "\x00" + e.MessageZh + "\x00" + e.Reason + "\x00" + strings.Join(e.Missing, ",") + "\x00")
		}
	}
	add(errLevel())
	bad := map[string][]string{
		FieldName:     {"", " ", "\xff", "a\x01", strings.Repeat("a", 40), "a1", "·a", "a··b", "a·"},
		FieldIDNumber: {"", " ", "\xff", "a\x01", strings.Repeat("1", 40), "1", "990101199003070011", "110101199002300011", tID[:17] + "2", "11010119900307001a"},
		FieldBankCard: {"", " ", "\xff", "a\x01", strings.Repeat("1", 70), "1", "a", tCard[:18] + "3"},
		FieldMobile:   {"", " ", "\xff", "a\x01", strings.Repeat("1", 40), "a", "+1", "123", "12800000001"},
	}
	for _, f := range factorOrder {
		add(errNotNeeded(f))
		for _, v := range bad[f] {
			r := Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}
			*r.value(f) = v
			_, err := r.Check()
			add(err)
		}
	}
	return b.String()
}()

// FuzzRequestCheck: Check never panics; a refusal is an errs.Invalid naming
// a request field that does not contain any input of 6 bytes or more; an
// accepted request has exactly the level's factors, and checking it again
// returns it unchanged. Seed corpus: testdata/fuzz/FuzzRequestCheck.
func FuzzRequestCheck(f *testing.F) {
	f.Add(2, tName, tID, "", "")
	f.Add(3, tName, "32010219870101080x", "6222 0000 0000 0000 012", "")
	f.Add(4, "阿依古丽·买买提", tID, tCard, "+86 138 0000 0001")
	f.Add(2, tName, tID, tCard, "")
	f.Add(5, tName, tID, tCard, tMobile)
	f.Fuzz(func(t *testing.T, level int, name, id, card, mobile string) {
		in := Request{Level: Level(level), Name: name, IDNumber: id, BankCard: card, Mobile: mobile}
		out, err := in.Check()
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid {
				t.Fatalf("unexpected error %#v", err)
			}
			if e.Field != FieldLevel && fieldKind[e.Field] == "" {
				t.Fatalf("error names field %q", e.Field)
			}
			if out != (Request{}) {
				t.Fatal("non-zero request with an error")
			}
			text := e.Error() + "\x00" + e.MessageZh + "\x00" + e.Reason + "\x00" + strings.Join(e.Missing, ",")
			for _, v := range []string{name, id, card, mobile, strings.TrimSpace(name), strings.TrimSpace(id)} {
				if len(v) < 6 || strings.Contains(fixedTexts, v) {
					continue
				}
				if strings.Contains(text, v) {
					t.Fatalf("error %q echoes an input", text)
				}
			}
			return
		}
		if !out.Level.Valid() || out.Level != in.Level {
			t.Fatalf("accepted level %d", level)
		}
		for _, fld := range factorOrder {
			if (*out.value(fld) != "") != needs(out.Level, fld) {
				t.Fatalf("output factor %s present=%v at level %d", fld, *out.value(fld) != "", level)
			}
			if needs(out.Level, fld) {
				if err := format.Validate(fieldKind[fld], *out.value(fld)); err != nil {
					t.Fatalf("output %s invalid: %v", fld, err)
				}
			}
		}
		again, err := out.Check()
		if err != nil {
			t.Fatalf("output refused: %v", err)
		}
		if again != out {
			t.Fatal("Check is not idempotent")
		}
	})
}
