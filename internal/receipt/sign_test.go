package receipt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/cryptox"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	sm, aes, lookup := bothKeys(t)
	for _, k := range []testKey{sm, aes} {
		for name, r := range map[string]*Receipt{"adult": example(), "minor": minorExample()} {
			t.Run(k.suite.Name()+"/"+name, func(t *testing.T) {
				orig := *r
				b := mustSign(t, r, k)
				if r.PublicKey != "" || !cmp.Equal(*r, orig) {
					t.Fatal("Sign modified its argument")
				}
				got, err := Verify(b, lookup)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				want := *r
				want.PublicKey = strings.ToLower(hexOf(k.signer.PublicBytes()))
				if d := cmp.Diff(&want, got); d != "" {
					t.Fatalf("round trip (-want +got):\n%s", d)
				}
				// Without the final newline the file still verifies.
				if _, err := Verify(bytes.TrimSuffix(b, []byte("\n")), lookup); err != nil {
					t.Fatalf("Verify without newline: %v", err)
				}
				// With a freshly generated key of the suite too.
				fresh, err := k.suite.GenerateSigner()
				if err != nil {
					t.Fatal(err)
				}
				fk := testKey{k.suite, "fresh", fresh}
				if _, err := Verify(mustSign(t, r, fk), keyring(fk)); err != nil {
					t.Fatalf("Verify with a fresh key: %v", err)
				}
			})
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}

func TestSignAlg(t *testing.T) {
	sm, aes, _ := bothKeys(t)
	for _, c := range []struct {
		k   testKey
		alg string
	}{{sm, AlgSM2SM3}, {aes, AlgECDSAP256}} {
		s, err := Sign(example(), c.k.signer, c.k.kid, c.k.suite)
		if err != nil {
			t.Fatal(err)
		}
		if s.Alg != c.alg || s.KeyID != c.k.kid {
			t.Errorf("%s: alg %q kid %q", c.k.suite.Name(), s.Alg, s.KeyID)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	sm, aes, _ := bothKeys(t)
	bad := example()
	bad.Event = "maybe"
	if _, err := Sign(bad, sm.signer, sm.kid, sm.suite); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid receipt: %v", err)
	}
	if _, err := Sign(example(), aes.signer, aes.kid, cryptox.SM{}); !errors.Is(err, ErrSuiteMismatch) {
		t.Errorf("P-256 key under sm suite: %v", err)
	}
	if _, err := Sign(example(), sm.signer, sm.kid, cryptox.AES{}); !errors.Is(err, ErrSuiteMismatch) {
		t.Errorf("SM2 key under aes suite: %v", err)
	}
	if _, err := Sign(example(), sm.signer, "bad kid", sm.suite); err == nil {
		t.Error("bad key ID accepted")
	}
	if _, err := Sign(example(), sm.signer, sm.kid, nil); err == nil {
		t.Error("nil suite accepted")
	}
	other := example()
	other.PublicKey = hexOf(aes.signer.PublicBytes())
	if _, err := Sign(other, sm.signer, sm.kid, sm.suite); !errors.Is(err, ErrInvalid) {
		t.Errorf("publicKey of another key: %v", err)
	}
}

func TestVerifyWrongKey(t *testing.T) {
	sm, aes, _ := bothKeys(t)
	for _, k := range []testKey{sm, aes} {
		b := mustSign(t, example(), k)
		other, err := k.suite.GenerateSigner()
		if err != nil {
			t.Fatal(err)
		}
		// Same key ID, different key of the same suite.
		if _, err := Verify(b, keyring(testKey{k.suite, k.kid, other})); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: other key: %v", k.suite.Name(), err)
		}
		// Unknown key ID.
		if _, err := Verify(b, keyring()); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("%s: unknown key: %v", k.suite.Name(), err)
		}
		if _, err := Verify(b, nil); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("%s: nil lookup: %v", k.suite.Name(), err)
		}
	}
	// A key of the other suite under the signer's key ID.
	b := mustSign(t, example(), sm)
	if _, err := Verify(b, keyring(testKey{aes.suite, sm.kid, aes.signer})); !errors.Is(err, ErrBadSignature) {
		t.Errorf("aes key for sm receipt: %v", err)
	}
}

// edit decodes a signed file, applies fn to the envelope and re-encodes it
// canonically — a well-formed forgery attempt.
func edit(t *testing.T, b []byte, fn func(s *Signed)) []byte {
	t.Helper()
	var s Signed
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	fn(&s)
	out, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyKeyIDSwap(t *testing.T) {
	sm, aes, lookup := bothKeys(t)
	sm2 := testKey{sm.suite, "test-sm-2026", fixedKey(t, cryptox.SM{}).signer}
	lookup2 := keyring(sm, aes, sm2)
	b := mustSign(t, example(), sm)

	// Claiming the other suite's key: wrong key.
	if _, err := Verify(edit(t, b, func(s *Signed) { s.KeyID = aes.kid }), lookup); !errors.Is(err, ErrBadSignature) {
		t.Errorf("kid swapped to aes key: %v", err)
	}
	// Another ID for the very same key: the key ID is signed, so this fails too.
	if _, err := Verify(edit(t, b, func(s *Signed) { s.KeyID = sm2.kid }), lookup2); !errors.Is(err, ErrBadSignature) {
		t.Errorf("kid swapped to an alias of the same key: %v", err)
	}
	// The algorithm is signed as well.
	if _, err := Verify(edit(t, b, func(s *Signed) { s.Alg = AlgECDSAP256 }), lookup); !errors.Is(err, ErrBadSignature) {
		t.Errorf("alg swapped: %v", err)
	}
	if _, err := Verify(edit(t, b, func(s *Signed) { s.Alg = "none" }), lookup); !errors.Is(err, ErrUnknownAlg) {
		t.Errorf("alg none: %v", err)
	}
	// A signature moved from another receipt.
	other := mustSign(t, minorExample(), sm)
	var os Signed
	if err := json.Unmarshal(other, &os); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(edit(t, b, func(s *Signed) { s.Sig = os.Sig }), lookup); !errors.Is(err, ErrBadSignature) {
		t.Errorf("signature from another receipt: %v", err)
	}
	// An empty signature.
	if _, err := Verify(edit(t, b, func(s *Signed) { s.Sig = "" }), lookup); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty sig: %v", err)
	}
}

// The test: a receipt with one byte changed fails verification.
// Every byte of a signed file is replaced in several ways, and the file is
// also truncated at every length and extended.
func TestVerifyEveryByteChanged(t *testing.T) {
	sm, aes, lookup := bothKeys(t)
	masks := []byte{0x01, 0x20, 0x80, 0xff}
	if testing.Short() {
		masks = masks[:2]
	}
	for _, k := range []testKey{sm, aes} {
		t.Run(k.suite.Name(), func(t *testing.T) {
			t.Parallel()
			b := mustSign(t, small(), k)
			if _, err := Verify(b, lookup); err != nil {
				t.Fatalf("unchanged file: %v", err)
			}
			mut := make([]byte, len(b))
			for i := range b {
				for _, m := range masks {
					copy(mut, b)
					mut[i] ^= m
					if r, err := Verify(mut, lookup); err == nil {
						t.Fatalf("byte %d (%q) ^ %#x = %q verified: %+v", i, b[i], m, mut[i], r)
					}
				}
			}
			for n := 0; n < len(b)-1; n++ { // len(b)-1 only drops the optional newline
				if _, err := Verify(b[:n], lookup); err == nil {
					t.Fatalf("truncated to %d bytes verified", n)
				}
			}
			for _, tail := range []string{"\n", " ", "{}", "\r\n", "\x00"} {
				if _, err := Verify(append(bytes.Clone(b), tail...), lookup); err == nil {
					t.Fatalf("trailing %q verified", tail)
				}
			}
			if _, err := Verify(append([]byte(" "), b...), lookup); err == nil {
				t.Fatal("leading space verified")
			}
		})
	}
}

func TestVerifyStrictParsing(t *testing.T) {
	sm, _, lookup := bothKeys(t)
	b := bytes.TrimSuffix(mustSign(t, example(), sm), []byte("\n"))
	s := string(b)
	cases := map[string]struct {
		in   string
		want error
	}{
		"duplicate top-level key":   {strings.Replace(s, `{"alg":`, `{"alg":"x","alg":`, 1), ErrMalformed},
		"duplicate receipt key":     {strings.Replace(s, `"channel":"app"`, `"channel":"web","channel":"app"`, 1), ErrMalformed},
		"case-variant duplicate":    {strings.Replace(s, `"channel":"app"`, `"Channel":"web","channel":"app"`, 1), ErrMalformed},
		"case-variant key":          {strings.Replace(s, `"channel":`, `"Channel":`, 1), ErrNotCanonical},
		"unknown field":             {strings.Replace(s, `{"alg":`, `{"a":1,"alg":`, 1), ErrMalformed},
		"unknown receipt field":     {strings.Replace(s, `"channel":`, `"extra":"x","channel":`, 1), ErrMalformed},
		"pretty printed":            {strings.Replace(s, `,"kid":`, `, "kid":`, 1), ErrNotCanonical},
		"keys out of order":         {reorder(t, s), ErrNotCanonical},
		"escaped character":         {strings.Replace(s, `"channel":"app"`, `"channel":"\u0061pp"`, 1), ErrNotCanonical},
		"null guardian":             {strings.Replace(s, `"event":`, `"guardian":null,"event":`, 1), ErrNotCanonical},
		"float timestamp":           {strings.Replace(s, `1767225600`, `1767225600.0`, 1), ErrMalformed},
		"exponent timestamp":        {strings.Replace(s, `1767225600`, `1.7672256e9`, 1), ErrMalformed},
		"two values":                {s + s, ErrMalformed},
		"array":                     {"[" + s + "]", ErrMalformed},
		"empty":                     {"", ErrMalformed},
		"null":                      {"null", ErrNotCanonical},
		"too large":                 {s + strings.Repeat(" ", MaxFileSize), ErrMalformed},
		"sig with escaped newline":  {strings.Replace(s, `"sig":"`, `"sig":"\n`, 1), ErrMalformed},
		"sig with escaped CR":       {strings.Replace(s, `"sig":"`, `"sig":"\r`, 1), ErrMalformed},
		"sig url-safe":              {sigAs(t, b, base64.URLEncoding), ErrMalformed},
		"sig without padding":       {sigAs(t, b, base64.RawStdEncoding), ErrMalformed},
		"invalid UTF-8 in a string": {strings.Replace(s, `"channel":"app"`, "\"channel\":\"a\xffp\"", 1), ErrNotCanonical},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.in == s {
				t.Skip("input unchanged for this signature")
			}
			_, err := Verify([]byte(c.in), lookup)
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

// sigAs re-encodes the signature of file b with enc.
func sigAs(t *testing.T, b []byte, enc *base64.Encoding) string {
	out := edit(t, b, func(s *Signed) {
		sig, err := base64.StdEncoding.DecodeString(s.Sig)
		if err != nil {
			t.Fatal(err)
		}
		s.Sig = enc.EncodeToString(sig)
	})
	return string(bytes.TrimSuffix(out, []byte("\n")))
}

// reorder moves the sig member to the front of the envelope.
func reorder(t *testing.T, s string) string {
	i := strings.LastIndex(s, `,"sig":`)
	if i < 0 {
		t.Fatal("no sig")
	}
	return `{` + s[i+1:len(s)-1] + `,` + s[1:i] + `}`
}

// A receipt that is validly signed but fails Validate is refused: a signer
// bug or a stolen key must not yield a receipt carrying PI.
func TestVerifyValidatesReceipt(t *testing.T) {
	sm, _, lookup := bothKeys(t)
	r := example()
	r.Services[0].Purposes[0].Purpose = "sms 13800138000"
	s := &Signed{Receipt: *r, Alg: AlgSM2SM3, KeyID: sm.kid}
	msg, err := signingInput(r, s.Alg, s.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := sm.signer.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	s.Sig = base64.StdEncoding.EncodeToString(sig)
	b, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b, lookup); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Verify = %v, want ErrInvalid", err)
	}
}
