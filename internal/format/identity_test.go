package format

import (
	"fmt"
	"testing"
)

// Known-answer vectors: the GB 11643 example, real company codes and the
// standard IMEI/Luhn examples, computed independently of this code.
func TestIDCheckChar(t *testing.T) {
	for body, want := range map[string]byte{
		"11010519491231002": 'X', // GB 11643-1999 example
		"44052418800101001": '4', // GB 11643-1999 example
		"51010519900307291": '4',
		"35010419851120123": '2',
		"11010120000229123": 'X',
	} {
		if got, ok := IDCheckChar(body); !ok || got != want {
			t.Errorf("IDCheckChar(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
	for _, body := range []string{"", "1101051949123100", "110105194912310021", "1101051949123100a"} {
		if _, ok := IDCheckChar(body); ok {
			t.Errorf("IDCheckChar(%q) ok, want not ok", body)
		}
	}
}

func TestLuhn(t *testing.T) {
	for body, want := range map[string]byte{
		"49015420323751":     '8', // IMEI example of 3GPP TS 23.003
		"7992739871":         '3', // ISO/IEC 7812 example
		"622202123456789012": '8',
		"0":                  '0',
	} {
		if got, ok := LuhnCheckDigit(body); !ok || got != want {
			t.Errorf("LuhnCheckDigit(%s) = %q, %v; want %q", body, got, ok, want)
		}
		if !LuhnValid(body + string(want)) {
			t.Errorf("LuhnValid(%s%c) = false", body, want)
		}
		wrong := '0' + (want-'0'+1)%10
		if LuhnValid(body + string(wrong)) {
			t.Errorf("LuhnValid(%s%c) = true", body, wrong)
		}
	}
	for _, s := range []string{"", "0", "12a4", "１２"} {
		if LuhnValid(s) {
			t.Errorf("LuhnValid(%q) = true", s)
		}
	}
	if _, ok := LuhnCheckDigit(""); ok {
		t.Error(`LuhnCheckDigit("") ok`)
	}
}

func TestUSCCCheckChar(t *testing.T) {
	for body, want := range map[string]byte{
		"91440300192203821": '6', // Huawei Technologies
		"91440300708461136": 'T', // Shenzhen Tencent Computer Systems
		"91330100799655058": 'B', // Alibaba (China)
		"91350100M000100Y4": '3', // a widely quoted sample code
		"12100000400000624": 'D',
	} {
		if got, ok := USCCCheckChar(body); !ok || got != want {
			t.Errorf("USCCCheckChar(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
	for _, body := range []string{"", "9144030019220382", "9144030019220382I", "9144030019220382a"} {
		if _, ok := USCCCheckChar(body); ok {
			t.Errorf("USCCCheckChar(%q) ok, want not ok", body)
		}
	}
}

// TestMobileSegments checks every 1xy segment against the list in the brief.
func TestMobileSegments(t *testing.T) {
	allowed := map[byte]string{
		'3': "0123456789", '4': "56789", '5': "012356789", '6': "2567",
		'7': "012345678", '8': "0123456789", '9': "012356789",
	}
	for a := byte('0'); a <= '9'; a++ {
		for b := byte('0'); b <= '9'; b++ {
			v := fmt.Sprintf("1%c%c12345678", a, b)
			want := false
			for _, c := range []byte(allowed[a]) {
				want = want || c == b
			}
			if got := Validate(KindMobile, v) == nil; got != want {
				t.Errorf("segment 1%c%c: valid = %v, want %v", a, b, got, want)
			}
		}
	}
}

// TestIDProvinces checks the province prefixes of the brief, each with a
// correct check character so that only the region decides.
func TestIDProvinces(t *testing.T) {
	valid := map[int]bool{71: true, 81: true, 82: true, 83: true, 91: true}
	for _, r := range [][2]int{{11, 15}, {21, 23}, {31, 37}, {41, 46}, {50, 54}, {61, 65}} {
		for p := r[0]; p <= r[1]; p++ {
			valid[p] = true
		}
	}
	for p := 10; p <= 99; p++ {
		body := fmt.Sprintf("%02d010519900307291", p)
		c, _ := IDCheckChar(body)
		if got := Validate(KindIDNumber, body+string(c)) == nil; got != valid[p] {
			t.Errorf("province %02d: valid = %v, want %v", p, got, valid[p])
		}
	}
}

func TestIDBirthDates(t *testing.T) {
	for date, want := range map[string]bool{
		"19000101": true, "20991231": true, "20000229": true, "19960229": true,
		"18991231": false, "21000101": false, "19000229": false, "19990229": false,
		"19901301": false, "19900001": false, "19900100": false, "19900431": false,
	} {
		body := "350104" + date + "123"
		c, _ := IDCheckChar(body)
		if got := Validate(KindIDNumber, body+string(c)) == nil; got != want {
			t.Errorf("birth date %s: valid = %v, want %v", date, got, want)
		}
	}
}
