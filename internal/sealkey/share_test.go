package sealkey

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/shamir"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

var update = flag.Bool("update", false, "rewrite the FuzzParseShare seed corpus")

func randomSecret(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func wantReason(t testing.TB, err error, code errs.Code, reason string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *errs.Error", err)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("error %v: code %q reason %q, want %q %q", err, e.Code, e.Reason, code, reason)
	}
	if e.Message == "" || e.MessageZh == "" {
		t.Fatalf("error %v lacks a message", err)
	}
}

func TestSplitEveryPairOf2of5(t *testing.T) {
	secret := randomSecret(t, 16)
	shares, err := Split(secret, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(shares) != 5 {
		t.Fatalf("%d shares", len(shares))
	}
	for i := range shares {
		if shares[i].Index != i+1 || shares[i].Threshold != 2 || shares[i].SetID != shares[0].SetID {
			t.Fatalf("share %d: %v", i, shares[i])
		}
		for j := range shares {
			if i == j {
				continue
			}
			got, err := Combine([]Share{shares[i], shares[j]})
			if err != nil {
				t.Fatalf("pair %d,%d: %v", i+1, j+1, err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("pair %d,%d rebuilt a wrong secret", i+1, j+1)
			}
		}
	}
	// Through the text encoding as well.
	a, err := ParseShare(shares[4].String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseShare(strings.ToUpper(" " + shares[1].String() + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Combine([]Share{a, b})
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("combine parsed shares: %v", err)
	}
}

func TestSplit3of5Subsets(t *testing.T) {
	secret := randomSecret(t, 32)
	shares, err := SplitSet(SetIDFor(cryptox.SM{}, []byte("public key")), secret, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		for j := i + 1; j < 5; j++ {
			if _, err := Combine([]Share{shares[i], shares[j]}); err == nil {
				t.Fatalf("2 of a 3-of-5 split combined")
			} else {
				wantReason(t, err, errs.Invalid, ReasonNotEnoughShares)
			}
			for k := j + 1; k < 5; k++ {
				got, err := Combine([]Share{shares[k], shares[i], shares[j]})
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("shares %d,%d,%d: %v", i, j, k, err)
				}
			}
		}
	}
	// Below the threshold the arithmetic itself yields a wrong secret:
	// the metadata check is not the only thing standing in the way.
	got, err := shamir.Combine([][]byte{shares[0].payload, shares[1].payload})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, secret) {
		t.Fatal("2 of 3 shares rebuilt the secret")
	}
}

func TestOneShareNeverEnough(t *testing.T) {
	secret := randomSecret(t, 16)
	shares, err := Split(secret, 5, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shares {
		_, err := Combine([]Share{s})
		wantReason(t, err, errs.Invalid, ReasonNotEnoughShares)
		// Lying about the threshold does not help either.
		s.Threshold = 1
		if _, err := Combine([]Share{s}); err == nil {
			t.Fatal("one share with threshold 1 combined")
		}
		if bytes.Equal(s.payload[:len(secret)], secret) {
			t.Fatal("a share contains the secret")
		}
	}
	// Two copies of one share are one share.
	_, err = Combine([]Share{shares[0], shares[0]})
	wantReason(t, err, errs.Conflict, ReasonShareRepeated)
}

func TestSplitLimits(t *testing.T) {
	secret := randomSecret(t, 16)
	for _, c := range []struct{ n, k int }{{5, 1}, {1, 1}, {2, 3}, {17, 2}, {16, 17}, {0, 0}, {5, 0}, {-1, 2}} {
		if _, err := Split(secret, c.n, c.k); err == nil || !errs.Is(err, errs.Invalid) {
			t.Errorf("Split(n=%d, threshold=%d): %v, want invalid", c.n, c.k, err)
		}
	}
	for _, n := range []int{0, MaxSecretSize + 1} {
		if _, err := Split(make([]byte, n), 3, 2); err == nil {
			t.Errorf("secret of %d bytes accepted", n)
		}
	}
	s, err := Split(randomSecret(t, MaxSecretSize), MaxShares, MaxShares)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range s {
		if _, err := ParseShare(sh.String()); err != nil {
			t.Fatalf("%s: %v", sh.String(), err)
		}
	}
}

func TestShareString(t *testing.T) {
	id := SetID{0xde, 0xad, 0xbe, 0xef}
	shares, err := SplitSet(id, randomSecret(t, 16), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := shares[2].String()
	if !strings.HasPrefix(line, "gvshare1-deadbeef-3-2-") {
		t.Fatalf("line %q", line)
	}
	f := strings.Split(line, "-")
	if len(f) != 6 || len(f[4]) != 28 || len(f[5]) != 8 {
		t.Fatalf("line %q", line)
	}
	// fmt never prints the payload.
	for _, out := range []string{fmt.Sprint(shares[2]), fmt.Sprintf("%v %+v %#v %s %q", shares[2], shares[2], shares[2], &shares[2], shares[2])} {
		if strings.Contains(out, f[4]) || strings.Contains(out, f[5]) || !strings.Contains(out, "redacted") {
			t.Fatalf("fmt leaks the share: %s", out)
		}
	}
	back, err := ParseShare(line)
	if err != nil {
		t.Fatal(err)
	}
	if back.String() != line || back.SetID != id || back.Index != 3 || back.Threshold != 2 {
		t.Fatalf("round trip: %q", back.String())
	}
	back.Wipe()
	if !bytes.Equal(back.payload, make([]byte, 17)) {
		t.Fatal("Wipe left bytes")
	}
}

// TestMistypedShare changes every character of a share line to every other
// character of its alphabet: each change is refused, most by the checksum.
func TestMistypedShare(t *testing.T) {
	shares, err := Split(randomSecret(t, 16), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := shares[0].String()
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz-"
	checksumHits := 0
	for i := range len(line) {
		for _, c := range []byte(alphabet) {
			if c == line[i] {
				continue
			}
			typo := line[:i] + string(c) + line[i+1:]
			_, err := ParseShare(typo)
			if err == nil {
				t.Fatalf("typo %q accepted", typo)
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid {
				t.Fatalf("typo %q: %v", typo, err)
			}
			if e.Reason == ReasonShareChecksum {
				checksumHits++
			}
		}
	}
	if checksumHits == 0 {
		t.Fatal("no typo was caught by the checksum")
	}
	// Swapping two adjacent payload characters.
	f := strings.Split(line, "-")
	p := []byte(f[4])
	for i := 0; i+1 < len(p); i++ {
		if p[i] == p[i+1] {
			continue
		}
		q := bytes.Clone(p)
		q[i], q[i+1] = q[i+1], q[i]
		typo := strings.Join([]string{f[0], f[1], f[2], f[3], string(q), f[5]}, "-")
		_, err := ParseShare(typo)
		if err == nil {
			t.Fatalf("transposition %q accepted", typo)
		}
	}
	// A changed index, threshold or set ID is caught too.
	for _, typo := range []string{
		strings.Replace(line, "-1-2-", "-2-2-", 1),
		strings.Replace(line, "-1-2-", "-1-3-", 1),
		"gvshare1-" + "00000000" + line[len("gvshare1-00000000"):],
	} {
		_, err := ParseShare(typo)
		wantReason(t, err, errs.Invalid, ReasonShareChecksum)
	}
}

func TestParseShareRejects(t *testing.T) {
	shares, err := Split(randomSecret(t, 16), 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := shares[0].String()
	f := strings.Split(line, "-")
	join := func(parts ...string) string { return strings.Join(parts, "-") }
	for _, bad := range []string{
		"",
		"gvshare1",
		line + "-",
		"x" + line,
		"gvshare2" + line[len("gvshare1"):],
		join(f[0], f[1], "01", f[3], f[4], f[5]),
		join(f[0], f[1], "0", f[3], f[4], f[5]),
		join(f[0], f[1], "17", f[3], f[4], f[5]),
		join(f[0], f[1], "+1", f[3], f[4], f[5]),
		join(f[0], f[1], f[2], "1", f[4], f[5]),
		join(f[0], f[1], f[2], "17", f[4], f[5]),
		join(f[0], f[1][:7], f[2], f[3], f[4], f[5]),
		join(f[0], f[1], f[2], f[3], f[4]+"=", f[5]),
		join(f[0], f[1], f[2], f[3], f[4][:len(f[4])-1], f[5]),
		join(f[0], f[1], f[2], f[3], "", f[5]),
		join(f[0], f[1], f[2], f[3], f[4], f[5][:7]),
		join(f[0], f[1], f[2], f[3], f[4], "zzzzzzzz"),
		strings.Replace(line, "-", " ", 1),
		line[:20] + "\x00" + line[21:],
	} {
		if _, err := ParseShare(bad); err == nil {
			t.Errorf("ParseShare(%q) accepted", bad)
		}
	}
}

func TestWrapUnwrap(t *testing.T) {
	for _, suite := range []cryptox.Suite{cryptox.SM{}, cryptox.AES{}} {
		kek := cryptox.NewKey(suite)
		priv := randomSecret(t, 32)
		w, err := Wrap(suite, kek, priv, []byte("platform-signing"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Unwrap(suite, kek, w, []byte("platform-signing"))
		if err != nil || !bytes.Equal(got, priv) {
			t.Fatalf("%s: unwrap: %v", suite.Name(), err)
		}
		other := cryptox.NewKey(suite)
		for name, try := range map[string]func() ([]byte, error){
			"wrong kek": func() ([]byte, error) { return Unwrap(suite, other, w, []byte("platform-signing")) },
			"wrong aad": func() ([]byte, error) { return Unwrap(suite, kek, w, []byte("audit-signing")) },
			"altered": func() ([]byte, error) {
				x := bytes.Clone(w)
				x[len(x)-1] ^= 1
				return Unwrap(suite, kek, x, []byte("platform-signing"))
			},
			"truncated": func() ([]byte, error) { return Unwrap(suite, kek, w[:10], []byte("platform-signing")) },
		} {
			_, err := try()
			wantReason(t, err, errs.Integrity, ReasonUnwrapFailed)
			if !errors.Is(err, cryptox.ErrOpen) {
				t.Fatalf("%s %s: %v does not wrap ErrOpen", suite.Name(), name, err)
			}
		}
		if _, err := Wrap(suite, kek[:5], priv, nil); err == nil {
			t.Fatal("short kek accepted")
		}
	}
	// The suite is bound: SM4 and AES-128 keys are both 16 bytes, but
	// nothing wrapped under one suite name opens under the other.
	kek := cryptox.NewKey(cryptox.SM{})
	w, err := Wrap(cryptox.SM{}, kek, []byte("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unwrap(cryptox.AES{}, kek, w, nil); err == nil {
		t.Fatal("opened under another suite")
	}
}

func FuzzParseShare(f *testing.F) {
	shares, err := SplitSet(SetID{1, 2, 3, 4}, bytes.Repeat([]byte{0x5a}, 16), 3, 2)
	if err != nil {
		f.Fatal(err)
	}
	corpus := map[string]string{
		"valid":        shares[0].String(),
		"upper":        strings.ToUpper(shares[1].String()),
		"bad_checksum": shares[2].String()[:len(shares[2].String())-1] + "0",
		"empty":        "",
		"fields":       "gvshare1-00000000-1-2--00000000",
	}
	if *update {
		for name, s := range corpus {
			p := filepath.Join("testdata/fuzz/FuzzParseShare", name)
			if err := os.WriteFile(p, fmt.Appendf(nil, "go test fuzz v1\nstring(%q)\n", s), 0o644); err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		s, err := ParseShare(line)
		if err != nil {
			if _, ok := err.(*errs.Error); !ok {
				t.Fatalf("error %T is not *errs.Error", err)
			}
			return
		}
		if s.check() != nil {
			t.Fatal("parsed share fails check")
		}
		canon := s.String()
		if canon != strings.ToLower(strings.TrimSpace(line)) {
			t.Fatalf("accepted a non-canonical spelling %q of %q", line, canon)
		}
		again, err := ParseShare(canon)
		if err != nil || again.String() != canon {
			t.Fatalf("round trip: %v", err)
		}
	})
}
