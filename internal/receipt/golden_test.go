package receipt

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/cryptox"
)

var update = flag.Bool("update", false, "rewrite testdata/example.json and the FuzzVerify seed corpus")

const examplePath = "testdata/example.json"

// TestExampleFile checks the documented example: testdata/example.json is
// example() signed with the fixed SM2 test key (key ID test-sm-2025).
// SM2 signatures are randomised, so -update writes a new, equally valid file.
func TestExampleFile(t *testing.T) {
	sm, aes, lookup := bothKeys(t)
	if *update {
		writeFile(t, examplePath, mustSign(t, example(), sm))
		corpus := map[string][]byte{
			"valid_sm":       mustSign(t, example(), sm),
			"valid_aes":      mustSign(t, example(), aes),
			"valid_minor_sm": mustSign(t, minorExample(), sm),
			"empty":          nil,
			"duplicate_key":  []byte(`{"alg":"SM2-SM3","alg":"SM2-SM3","kid":"test-sm-2025","receipt":{},"sig":""}`),
		}
		for name, b := range corpus {
			writeFile(t, filepath.Join("testdata/fuzz/FuzzVerify", name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b))
		}
	}
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(b, lookup)
	if err != nil {
		t.Fatalf("%s does not verify: %v (run go test -run TestExampleFile -update)", examplePath, err)
	}
	want := example()
	want.PublicKey = hexOf(sm.signer.PublicBytes())
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s differs from example() (-want +got):\n%s\nrun go test -run TestExampleFile -update", examplePath, d)
	}
	s, err := parseFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if s.Alg != AlgSM2SM3 || s.KeyID != testSMKeyID {
		t.Fatalf("alg %q kid %q", s.Alg, s.KeyID)
	}
	// The verifier can also be rebuilt from the public key alone.
	v, err := cryptox.SM{}.ParseVerifier(sm.signer.PublicBytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(b, func(kid string) (cryptox.Verifier, bool) { return v, kid == testSMKeyID }); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// FuzzVerify: Verify never panics, and whatever it accepts is a canonical
// file — re-encoding the parsed envelope gives back the same bytes — whose
// receipt passes Validate and re-canonicalises identically.
func FuzzVerify(f *testing.F) {
	sm, aes, lookup := bothKeys(f)
	f.Add(mustSign(f, example(), sm))
	f.Add(mustSign(f, minorExample(), aes))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Verify(b, lookup)
		if err != nil {
			if r != nil {
				t.Fatal("receipt returned with an error")
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("verified receipt fails Validate: %v", err)
		}
		s, err := parseFile(b)
		if err != nil {
			t.Fatalf("verified file does not parse: %v", err)
		}
		m, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m, b) && !bytes.Equal(m[:len(m)-1], b) {
			t.Fatalf("verified file is not canonical:\n%q\n%q", b, m)
		}
		c1, err := Canonical(r)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := Canonical(&s.Receipt)
		if err != nil || !bytes.Equal(c1, c2) {
			t.Fatalf("receipt re-canonicalises differently: %v", err)
		}
	})
}
