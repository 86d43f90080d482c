package report_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/functions"
	"gigvault/internal/keys"
	"gigvault/internal/policydoc"
	"gigvault/internal/receipt"
	"gigvault/internal/report"
	"gigvault/internal/testenv"
	"gigvault/internal/thirdparty"
)

func newSigner(t testing.TB, suiteName string) (cryptox.Signer, string) {
	t.Helper()
	suite, err := cryptox.ByName(suiteName)
	if err != nil {
		t.Fatal(err)
	}
	s, err := suite.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s, keys.ReceiptKeyID(suite, s.PublicBytes())
}

// small builds a small package from an empty database: every byte of it
// is flipped in TestEveryByteMatters.
func small(t *testing.T) report.Package {
	t.Helper()
	p, err := report.Build(ctx, openDB(t, testenv.Engines(t)[0]), from, to, smallDocs())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func signed(t *testing.T, p report.Package, suiteName string) ([]byte, cryptox.Signer) {
	t.Helper()
	s, keyID := newSigner(t, suiteName)
	if err := report.Sign(&p, s, keyID, suiteName); err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b, s
}

func TestSignVerify(t *testing.T) {
	for _, suite := range []string{"sm", "aes"} {
		t.Run(suite, func(t *testing.T) {
			p := small(t)
			s, keyID := newSigner(t, suite)
			if err := report.Sign(&p, s, keyID, suite); err != nil {
				t.Fatal(err)
			}
			wantAlg := map[string]string{"sm": receipt.AlgSM2SM3, "aes": receipt.AlgECDSAP256}[suite]
			if sg := p.Signature; sg == nil || sg.KeyID != keyID || sg.Algorithm != wantAlg || sg.PublicKey != hex.EncodeToString(s.PublicBytes()) || sg.Value == "" {
				t.Fatalf("signature %+v", sg)
			}
			b, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			for name, trusted := range map[string][]byte{"embedded key": nil, "trusted key": s.PublicBytes()} {
				got, err := report.Verify(b, trusted)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if d := cmp.Diff(p, got); d != "" {
					t.Errorf("%s: verified package differs (-signed +verified):\n%s", name, d)
				}
			}
			// Without the final newline it is the same package.
			if _, err := report.Verify(bytes.TrimSuffix(b, []byte("\n")), nil); err != nil {
				t.Errorf("without the final newline: %v", err)
			}
			// Signing again (another key) replaces the signature.
			s2, id2 := newSigner(t, suite)
			if err := report.Sign(&p, s2, id2, suite); err != nil || p.Signature.KeyID != id2 {
				t.Fatalf("re-sign: %v", err)
			}
		})
	}
}

// Changing any one byte of a signed package — flipping its lowest bit, its
// case bit or its top bit — makes Verify fail.
func TestEveryByteMatters(t *testing.T) {
	b, s := signed(t, small(t), "sm")
	if len(b) > 4096 {
		t.Fatalf("the small package is %d bytes", len(b))
	}
	t.Logf("package of %d bytes:\n%s", len(b), b)
	for i := range b {
		for _, mask := range []byte{0x01, 0x20, 0x80} {
			c := bytes.Clone(b)
			c[i] ^= mask
			if _, err := report.Verify(c, nil); err == nil {
				t.Errorf("byte %d (%q) ^ %#x: still verifies without a trusted key", i, b[i], mask)
			}
			if _, err := report.Verify(c, s.PublicBytes()); err == nil {
				t.Errorf("byte %d (%q) ^ %#x: still verifies with the trusted key", i, b[i], mask)
			}
		}
	}
	// Dropping or adding a byte fails too.
	for _, c := range [][]byte{b[1:], b[:len(b)-2], append(bytes.Clone(b), '\n'), append([]byte(" "), b...)} {
		if _, err := report.Verify(c, nil); err == nil {
			t.Errorf("changed length %d verifies", len(c))
		}
	}
}

func TestAnotherKey(t *testing.T) {
	p := small(t)
	b, _ := signed(t, p, "sm")
	other, otherID := newSigner(t, "sm")

	// Signed by A, checked against B.
	if _, err := report.Verify(b, other.PublicBytes()); !errors.Is(err, report.ErrUntrustedKey) {
		t.Errorf("verified against another key: %v", err)
	}

	// B's public key (and key ID) put in place of A's: the signature is A's.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	sig := m["signature"].(map[string]any)
	sig["public_key"] = hex.EncodeToString(other.PublicBytes())
	sig["key_id"] = otherID
	swapped := canonical(t, m)
	if _, err := report.Verify(swapped, nil); !errors.Is(err, report.ErrBadSignature) {
		t.Errorf("swapped public key: %v", err)
	}

	// Someone changes a count and signs with their own key: the package is
	// consistent, but not by the trusted key.
	p.Counts.Subjects.Total = 1000
	forged, _ := signed(t, p, "sm")
	if _, err := report.Verify(forged, nil); err != nil {
		t.Fatalf("self-consistent forgery: %v", err)
	}
	if _, err := report.Verify(forged, other.PublicBytes()); !errors.Is(err, report.ErrUntrustedKey) {
		t.Errorf("forgery verified against the trusted key: %v", err)
	}

	// An ECDSA key claimed to be SM2.
	sig["public_key"] = hex.EncodeToString(mustSigner(t, "aes").PublicBytes())
	if _, err := report.Verify(canonical(t, m), nil); err == nil {
		t.Error("an ECDSA key under SM2-SM3 verifies")
	}
}

func mustSigner(t *testing.T, suite string) cryptox.Signer {
	t.Helper()
	s, _ := newSigner(t, suite)
	return s
}

// canonical re-encodes a decoded package canonically (json.Marshal sorts
// map keys; the test documents need no escaping json.Marshal would add).
func canonical(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestVerifyRejects(t *testing.T) {
	p := small(t)
	b, _ := signed(t, p, "sm")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canonical(t, m), b) {
		t.Fatal("the test's canonical encoder does not reproduce the package")
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	unsigned, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(m map[string]any)) []byte {
		var c map[string]any
		_ = json.Unmarshal(b, &c)
		f(c)
		return canonical(t, c)
	}
	sig := func(m map[string]any) map[string]any { return m["signature"].(map[string]any) }
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"empty":          {nil, report.ErrMalformed},
		"not JSON":       {[]byte("hello"), report.ErrMalformed},
		"array":          {[]byte("[]\n"), report.ErrMalformed},
		"indented":       {indented.Bytes(), report.ErrNotCanonical},
		"trailing data":  {append(bytes.TrimSuffix(bytes.Clone(b), []byte("\n")), " {}"...), report.ErrMalformed},
		"duplicate key":  {bytes.Replace(b, []byte(`{"controller":`), []byte(`{"format":"x","controller":`), 1), report.ErrMalformed},
		"key case":       {bytes.Replace(b, []byte(`"format":`), []byte(`"Format":`), 1), report.ErrNotCanonical},
		"unsigned":       {unsigned, report.ErrUnsigned},
		"unknown field":  {with(func(m map[string]any) { m["extra"] = "x" }), report.ErrMalformed},
		"unknown alg":    {with(func(m map[string]any) { sig(m)["algorithm"] = "RSA" }), report.ErrUnknownAlg},
		"upper-case hex": {with(func(m map[string]any) { sig(m)["public_key"] = strings.ToUpper(sig(m)["public_key"].(string)) }), report.ErrMalformed},
		"bad key":        {with(func(m map[string]any) { sig(m)["public_key"] = "04abcd" }), report.ErrMalformed},
		"bad key ID":     {with(func(m map[string]any) { sig(m)["key_id"] = "a b" }), report.ErrMalformed},
		"no value":       {with(func(m map[string]any) { sig(m)["value"] = "" }), report.ErrMalformed},
		"value not b64":  {with(func(m map[string]any) { sig(m)["value"] = "%%%%" }), report.ErrMalformed},
		"count changed":  {with(func(m map[string]any) { m["counts"].(map[string]any)["subjects"].(map[string]any)["total"] = 7 }), report.ErrBadSignature},
		"period changed": {with(func(m map[string]any) { m["period"].(map[string]any)["to"] = "2026-11-01T00:00:00Z" }), report.ErrBadSignature},
		"key ID changed": {with(func(m map[string]any) { sig(m)["key_id"] = "receipt-other" }), report.ErrBadSignature},
		"too large":      {append(bytes.Repeat([]byte(" "), report.MaxFileSize), b...), report.ErrMalformed},
	} {
		if _, err := report.Verify(c.in, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestSignRejects(t *testing.T) {
	p := small(t)
	smS, smID := newSigner(t, "sm")
	if err := report.Sign(&p, smS, smID, "aes"); !errors.Is(err, report.ErrSuiteMismatch) || p.Signature != nil {
		t.Errorf("SM2 key as aes: %v (signature %v)", err, p.Signature)
	}
	if err := report.Sign(&p, smS, smID, "rsa"); !errors.Is(err, cryptox.ErrUnknownSuite) {
		t.Errorf("unknown suite: %v", err)
	}
	if err := report.Sign(&p, smS, "bad id", "sm"); err == nil {
		t.Error("bad key ID accepted")
	}
	if err := report.Sign(nil, smS, smID, "sm"); err == nil {
		t.Error("nil package accepted")
	}
	var empty report.Package
	if err := report.Sign(&empty, smS, smID, "sm"); err == nil {
		t.Error("empty package signed")
	}
}

// The real documents: the policy published by policydoc and the two public
// lists as their endpoints render them go through Build, Sign and Verify,
// and come back with the same content.
func TestRealDocuments(t *testing.T) {
	db := openDB(t, testenv.Engines(t)[0])
	cat := catalog.Default()
	fns := functions.Default(cat)
	tp := thirdparty.Default(cat)
	ps := policydoc.NewStore(db, policydoc.Sources{Catalog: cat, Functions: fns, ThirdParty: tp}, cryptox.SM{}, clock.NewFake(gen.Add(-time.Hour)))
	v, err := ps.EnsureInitial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ps.Current(ctx)
	if err != nil || cur.Version != v.Version {
		t.Fatalf("current: %v %v", cur.Version, err)
	}
	polJSON, _, err := ps.Documents(ctx, cur.Version)
	if err != nil {
		t.Fatal(err)
	}
	collected, err := thirdparty.CollectedList(cat, fns).JSON()
	if err != nil {
		t.Fatal(err)
	}
	sharing, err := thirdparty.SharingList(tp, cat).JSON()
	if err != nil {
		t.Fatal(err)
	}
	docs := report.Documents{
		Controller:    report.Controller{Name: cat.Operator.NameZh, Contact: cat.Operator.Contact},
		GeneratedAt:   gen,
		PolicyVersion: cur.Version, PolicyDigest: cur.Digest, PolicyJSON: polJSON,
		PICollected: collected, ThirdPartySharing: sharing,
	}
	p, err := report.Build(ctx, db, from, to, docs)
	if err != nil {
		t.Fatal(err)
	}
	b, s := signed(t, p, "sm")
	got, err := report.Verify(b, s.PublicBytes())
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2][]byte{
		"policy":              {polJSON, got.Policy.Document},
		"pi_collected":        {collected, got.Lists.PICollected},
		"third_party_sharing": {sharing, got.Lists.ThirdPartySharing},
	} {
		var want, have any
		if err := json.Unmarshal(pair[0], &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(pair[1], &have); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, have); d != "" {
			t.Errorf("%s changed (-rendered +in the package):\n%s", name, d)
		}
	}
	if got.Policy.Version != cur.Version || got.Policy.Digest != cur.Digest {
		t.Errorf("policy %s %s, want %s %s", got.Policy.Version, got.Policy.Digest, cur.Version, cur.Digest)
	}
	t.Logf("package with the real documents: %d bytes", len(b))
}
