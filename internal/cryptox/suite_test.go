package cryptox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// GB/T 32907-2016 appendix A, example 1.
func TestSM4BlockKnownAnswer(t *testing.T) {
	key := unhex(t, "0123456789abcdeffedcba9876543210")
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	b.Encrypt(out, key)
	if got, want := hex.EncodeToString(out), "681edf34d206965e86b3e94f536e4246"; got != want {
		t.Fatalf("SM4 = %s, want %s", got, want)
	}
}

// GB/T 32905-2016 appendix A, examples 1 and 2.
func TestSM3KnownAnswer(t *testing.T) {
	cases := []struct{ in, want string }{
		{"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"},
		{"abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd", "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(Digest(SM{}, []byte(c.in))); got != c.want {
			t.Errorf("SM3(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// RFC 4231 test case 1 for HMAC-SHA256.
func TestHMACSHA256KnownAnswer(t *testing.T) {
	key := bytes.Repeat([]byte{0x0b}, 20)
	got := hex.EncodeToString(MAC(AES{}, key, []byte("Hi There")))
	if want := "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"; got != want {
		t.Fatalf("HMAC-SHA256 = %s, want %s", got, want)
	}
}

// GCM known answers: SM4-GCM from RFC 8998 appendix A.1, AES-256-GCM from
// the GCM specification's test cases 13 and 14 (NIST SP 800-38D vectors).
func TestGCMKnownAnswer(t *testing.T) {
	cases := []struct {
		name                         string
		suite                        Suite
		key, iv, aad, plain, ct, tag string
	}{
		{
			name: "sm4-gcm rfc8998", suite: SM{},
			key:   "0123456789abcdeffedcba9876543210",
			iv:    "00001234567800000000abcd",
			aad:   "feedfacedeadbeeffeedfacedeadbeefabaddad2",
			plain: "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa",
			ct:    "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d",
			tag:   "83de3541e4c2b58177e065a9bf7b62ec",
		},
		{
			name: "aes-256-gcm tc13", suite: AES{},
			key: "0000000000000000000000000000000000000000000000000000000000000000",
			iv:  "000000000000000000000000", tag: "530f8afbc74536b9a963b4f1c4cb738b",
		},
		{
			name: "aes-256-gcm tc14", suite: AES{},
			key:   "0000000000000000000000000000000000000000000000000000000000000000",
			iv:    "000000000000000000000000",
			plain: "00000000000000000000000000000000",
			ct:    "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := c.suite.NewAEAD(unhex(t, c.key))
			if err != nil {
				t.Fatal(err)
			}
			out := a.Seal(nil, unhex(t, c.iv), unhex(t, c.plain), unhex(t, c.aad))
			if got, want := hex.EncodeToString(out), c.ct+c.tag; got != want {
				t.Fatalf("seal = %s, want %s", got, want)
			}
			back, err := a.Open(nil, unhex(t, c.iv), out, unhex(t, c.aad))
			if err != nil || !bytes.Equal(back, unhex(t, c.plain)) {
				t.Fatalf("open = %x, %v", back, err)
			}
		})
	}
}

func TestSealOpenRejectsTampering(t *testing.T) {
	for _, s := range []Suite{SM{}, AES{}} {
		t.Run(s.Name(), func(t *testing.T) {
			a, err := s.NewAEAD(NewKey(s))
			if err != nil {
				t.Fatal(err)
			}
			sealed := Seal(a, nil, []byte("13800138000"), []byte("subject|mobile|main|1"))
			if got, err := Open(a, nil, sealed, []byte("subject|mobile|main|1")); err != nil || string(got) != "13800138000" {
				t.Fatalf("open = %q, %v", got, err)
			}
			if _, err := Open(a, nil, sealed, []byte("other|mobile|main|1")); !errors.Is(err, ErrOpen) {
				t.Fatalf("wrong aad: err = %v, want ErrOpen", err)
			}
			for i := range sealed {
				bad := bytes.Clone(sealed)
				bad[i] ^= 0x01
				if _, err := Open(a, nil, bad, []byte("subject|mobile|main|1")); !errors.Is(err, ErrOpen) {
					t.Fatalf("flipped byte %d: err = %v, want ErrOpen", i, err)
				}
			}
			if _, err := Open(a, nil, sealed[:5], nil); !errors.Is(err, ErrOpen) {
				t.Fatalf("truncated: err = %v", err)
			}
		})
	}
}

func TestSignerRoundTrip(t *testing.T) {
	for _, s := range []Suite{SM{}, AES{}} {
		t.Run(s.Name(), func(t *testing.T) {
			signer, err := s.GenerateSigner()
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("checkpoint 1000")
			sig, err := signer.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			restored, err := s.ParseSigner(signer.PrivateBytes())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(restored.PublicBytes(), signer.PublicBytes()) {
				t.Fatal("restored signer has another public key")
			}
			v, err := s.ParseVerifier(signer.PublicBytes())
			if err != nil {
				t.Fatal(err)
			}
			if !v.Verify(msg, sig) {
				t.Fatal("valid signature rejected")
			}
			if v.Verify([]byte("checkpoint 1001"), sig) {
				t.Fatal("signature accepted for another message")
			}
			bad := bytes.Clone(sig)
			bad[len(bad)-1] ^= 1
			if v.Verify(msg, bad) {
				t.Fatal("altered signature accepted")
			}
		})
	}
}

func TestByName(t *testing.T) {
	for name, want := range map[string]string{"": "sm", "sm": "sm", "aes": "aes"} {
		s, err := ByName(name)
		if err != nil || s.Name() != want {
			t.Errorf("ByName(%q) = %v, %v", name, s, err)
		}
	}
	if _, err := ByName("des"); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("ByName(des) err = %v", err)
	}
}
