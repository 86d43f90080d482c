package credential

import (
	"bytes"
	"encoding/base32"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"rsc.io/qr"

	"gigvault/internal/errs"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B, "12345678901234567890"
// in ASCII, in base32.
var rfcSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))

// rfc6238SHA1 are the SHA-1 rows of RFC 6238 Appendix B (8 digits).
var rfc6238SHA1 = []struct {
	unix int64
	code string
}{
	{59, "94287082"},
	{1111111109, "07081804"},
	{1111111111, "14050471"},
	{1234567890, "89005924"},
	{2000000000, "69279037"},
	{20000000000, "65353130"},
}

// TestRFC6238Vectors checks the library against the RFC with 8 digits, and
// VerifyTOTP against the same vectors cut to 6 digits (a 6-digit code is the
// HOTP value mod 10^6: the last six digits of the 8-digit one).
func TestRFC6238Vectors(t *testing.T) {
	for _, v := range rfc6238SHA1 {
		t.Run(v.code, func(t *testing.T) {
			now := time.Unix(v.unix, 0).UTC()
			got, err := totp.GenerateCodeCustom(rfcSecret, now, totp.ValidateOpts{
				Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != v.code {
				t.Fatalf("T=%d: library code %s, RFC 6238 says %s", v.unix, got, v.code)
			}
			step, ok := VerifyTOTP(rfcSecret, v.code[2:], now, -1)
			if !ok || step != v.unix/30 {
				t.Fatalf("VerifyTOTP(%s) = %d, %v; want step %d", v.code[2:], step, ok, v.unix/30)
			}
		})
	}
}

func codeAt(t *testing.T, secret string, step int64) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, time.Unix(step*30, 0), totpOpts())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVerifyTOTPWindowAndReplay(t *testing.T) {
	secret := rfcSecret
	now := time.Unix(1_750_000_015, 0) // 15 s into a step
	cur := now.Unix() / 30
	codes := map[int64]string{}
	seen := map[string]int64{}
	for d := int64(-3); d <= 3; d++ {
		c := codeAt(t, secret, cur+d)
		if prev, dup := seen[c]; dup {
			t.Fatalf("steps %d and %d share code %s: pick another time", prev, cur+d, c)
		}
		seen[c], codes[d] = cur+d, c
	}
	for _, tc := range []struct {
		name     string
		code     string
		lastStep int64
		wantStep int64 // -1: refused
	}{
		{"current", codes[0], 0, cur},
		{"previous", codes[-1], 0, cur - 1},
		{"next", codes[1], 0, cur + 1},
		{"two back", codes[-2], 0, -1},
		{"two ahead", codes[2], 0, -1},
		{"three back", codes[-3], 0, -1},
		{"replay same step", codes[0], cur, -1},
		{"older step after newer", codes[-1], cur, -1},
		{"previous after older", codes[-1], cur - 2, cur - 1},
		{"next after current", codes[1], cur, cur + 1},
		{"after next was used", codes[1], cur + 1, -1},
		{"lastStep far ahead", codes[0], cur + 100, -1},
		{"no previous log-in", codes[0], -1, cur},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := VerifyTOTP(secret, tc.code, now, tc.lastStep)
			if tc.wantStep < 0 {
				if ok || step != 0 {
					t.Fatalf("VerifyTOTP = %d, %v; want refused", step, ok)
				}
				return
			}
			if !ok || step != tc.wantStep {
				t.Fatalf("VerifyTOTP = %d, %v; want %d, true", step, ok, tc.wantStep)
			}
		})
	}

	// A log-in sequence: the caller stores each returned step.
	last := int64(-1)
	step, ok := VerifyTOTP(secret, codes[0], now, last)
	if !ok {
		t.Fatal("first use refused")
	}
	last = step
	if _, ok := VerifyTOTP(secret, codes[0], now.Add(10*time.Second), last); ok {
		t.Fatal("replayed code accepted")
	}
	if step, ok := VerifyTOTP(secret, codes[1], now.Add(30*time.Second), last); !ok || step != cur+1 {
		t.Fatalf("next step's code refused: %d, %v", step, ok)
	}
}

func TestVerifyTOTPRefusesMalformed(t *testing.T) {
	now := time.Unix(1_750_000_015, 0)
	good := codeAt(t, rfcSecret, now.Unix()/30)
	short := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("0123456789abcde")) // 120 bits
	for _, tc := range []struct{ name, secret, code string }{
		{"empty code", rfcSecret, ""},
		{"five digits", rfcSecret, good[:5]},
		{"seven digits", rfcSecret, good + "0"},
		{"leading space", rfcSecret, " " + good[1:]},
		{"trailing space", rfcSecret, good[:5] + " "},
		{"space padded", rfcSecret, " " + good + " "},
		{"trailing newline", rfcSecret, good + "\n"},
		{"letter", rfcSecret, good[:5] + "a"},
		{"sign", rfcSecret, "+" + good[1:]},
		{"full-width digits", rfcSecret, "１２３４５６"},
		{"Arabic-Indic digits", rfcSecret, "٠١٢٣٤٥"},
		{"empty secret", "", good},
		{"secret too short", short, codeAt(t, short, now.Unix()/30)},
		{"lower-case secret", strings.ToLower(rfcSecret), good},
		{"padded secret", rfcSecret + "====", good},
		{"secret with space", " " + rfcSecret, good},
		{"secret not base32", strings.Repeat("1", 32), good},
		{"secret huge", strings.Repeat("A", 4096), good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if step, ok := VerifyTOTP(tc.secret, tc.code, now, -1); ok || step != 0 {
				t.Fatalf("VerifyTOTP = %d, %v; want refused", step, ok)
			}
		})
	}
	// The well-formed control, so the cases above fail for their defect.
	if _, ok := VerifyTOTP(rfcSecret, good, now, -1); !ok {
		t.Fatal("control code refused")
	}
}

func TestVerifyTOTPRefusesBadClock(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"before 1970", time.Unix(-15, 0)},
		{"zero time", time.Time{}},
		{"far future", time.Unix(1<<41, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for d := int64(-1); d <= 1; d++ {
				s := tc.now.Unix()/30 + d
				if s < 0 || s > 1<<45 {
					continue
				}
				if _, ok := VerifyTOTP(rfcSecret, codeAt(t, rfcSecret, s), tc.now, -1); ok {
					t.Fatalf("accepted at %v", tc.now)
				}
			}
			if _, ok := VerifyTOTP(rfcSecret, "000000", tc.now, -1); ok {
				t.Fatal("accepted")
			}
		})
	}
	// Step 0 (the first 30 s of 1970) is a valid step.
	if step, ok := VerifyTOTP(rfcSecret, codeAt(t, rfcSecret, 0), time.Unix(10, 0), -1); !ok || step != 0 {
		t.Fatalf("step 0: %d, %v", step, ok)
	}
}

func TestNewTOTP(t *testing.T) {
	secret, uri, err := NewTOTP("gigvault", "ops.admin")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil || len(raw) != 20 {
		t.Fatalf("secret: %d bytes, %v; want 20 bytes of base32", len(raw), err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/gigvault:ops.admin" {
		t.Errorf("URI %s: want otpauth://totp/gigvault:ops.admin", uri)
	}
	q := u.Query()
	for k, want := range map[string]string{"secret": secret, "issuer": "gigvault", "algorithm": "SHA1", "digits": "6", "period": "30"} {
		if got := q.Get(k); got != want {
			t.Errorf("URI %s=%q, want %q", k, got, want)
		}
	}
	// The secret works with the library's own 6-digit generator.
	now := time.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	if step, ok := VerifyTOTP(secret, code, now, -1); !ok || step != now.Unix()/30 {
		t.Fatalf("VerifyTOTP(fresh secret) = %d, %v", step, ok)
	}
	// Secrets are random.
	other, _, err := NewTOTP("gigvault", "ops.admin")
	if err != nil || other == secret {
		t.Fatalf("second secret equal to the first (%v)", err)
	}
}

func TestNewTOTPRefusesBadLabels(t *testing.T) {
	for _, tc := range []struct{ name, issuer, account, field string }{
		{"empty issuer", "", "ops.admin", "issuer"},
		{"empty account", "gigvault", "", "account"},
		{"colon in issuer", "gig:vault", "ops.admin", "issuer"},
		{"colon in account", "gigvault", "ops:admin", "account"},
		{"control character", "gigvault", "ops\nadmin", "account"},
		{"invalid UTF-8", "gigvault", "ops\xffadmin", "account"},
		{"too long", "gigvault", strings.Repeat("a", 65), "account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, uri, err := NewTOTP(tc.issuer, tc.account)
			if err == nil {
				t.Fatalf("accepted: %q", uri)
			}
			if secret != "" || uri != "" {
				t.Error("returned a secret with an error")
			}
			var e *errs.Error
			if !asErr(err, &e) || e.Code != errs.Invalid || e.Field != tc.field {
				t.Fatalf("error %v: want invalid (%s)", err, tc.field)
			}
		})
	}
}

// TestWriteQR decodes the half-block drawing back into modules and compares
// them with a low-error-correction QR code of the URI, so it fails if the
// mode, the level or the content differ.
func TestWriteQR(t *testing.T) {
	uri := "otpauth://totp/gigvault:ops.admin?algorithm=SHA1&digits=6&issuer=gigvault&period=30&secret=" + rfcSecret
	var buf bytes.Buffer
	WriteQR(&buf, uri)
	out := buf.String()
	if strings.Contains(out, rfcSecret) || strings.Contains(out, "otpauth") {
		t.Fatal("the drawing contains the URI in clear")
	}
	code, err := qr.Encode(uri, qr.L)
	if err != nil {
		t.Fatal(err)
	}
	const quiet = 4
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	rows := lines[quiet/2 : quiet/2+(code.Size+2)/2]
	for r, line := range rows {
		cells := []rune(line)
		if len(cells) < quiet+code.Size {
			t.Fatalf("row %d: %d cells, want at least %d", r, len(cells), quiet+code.Size)
		}
		for x := 0; x < code.Size; x++ {
			y := 2 * r
			top, bottom := code.Black(x, y), y+1 < code.Size && code.Black(x, y+1)
			var want rune
			switch {
			case top && bottom:
				want = ' '
			case top:
				want = '▄'
			case bottom:
				want = '▀'
			default:
				want = '█'
			}
			if got := cells[quiet+x]; got != want {
				t.Fatalf("module (%d,%d): cell %q, want %q", x, y, got, want)
			}
		}
	}
}

func TestWriteQRTooLong(t *testing.T) {
	var buf bytes.Buffer
	uri := "otpauth://totp/x:y?secret=" + strings.Repeat("A", 5000)
	WriteQR(&buf, uri) // must not panic
	if out := buf.String(); out == "" || strings.Contains(out, "AAAA") {
		t.Fatalf("output %q: want a notice without the URI", out)
	}
}
