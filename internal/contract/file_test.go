package contract

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

var suites = []cryptox.Suite{cryptox.SM{}, cryptox.AES{}}

func TestKeyID(t *testing.T) {
	w, _ := parties(t, cryptox.SM{})
	if !strings.HasPrefix(w.keyID, "sm2-") || len(w.keyID) != len("sm2-")+16 {
		t.Fatalf("key ID %q", w.keyID)
	}
	if w.keyID != "sm2-"+hex.EncodeToString(cryptox.Digest(cryptox.SM{}, w.signer.PublicBytes())[:8]) {
		t.Fatal("key ID is not the SM3 digest prefix")
	}
	a, _ := parties(t, cryptox.AES{})
	if !strings.HasPrefix(a.keyID, "ecdsa-") || len(a.keyID) != len("ecdsa-")+16 {
		t.Fatalf("key ID %q", a.keyID)
	}
}

func TestSignVerify(t *testing.T) {
	for _, suite := range suites {
		t.Run(suite.Name(), func(t *testing.T) {
			w, p := parties(t, suite)
			d := mustRender(t)
			sig := mustSign(t, w, PartyWorker, "W-000123", d)
			if !VerifySignature(w.signer, sig.Payload, sig.Sig) {
				t.Fatal("does not verify")
			}
			v, err := suite.ParseVerifier(sig.PublicKey)
			if err != nil || !VerifySignature(v, sig.Payload, sig.Sig) {
				t.Fatal("does not verify with the embedded public key")
			}
			other := d
			m := exampleMeta()
			m.ContractID = "CT-2026-000043"
			other, err = Render(exampleTemplate(), exampleVars(), m)
			if err != nil {
				t.Fatal(err)
			}
			vars := exampleVars()
			vars["fee"] = "9.50"
			otherDoc, err := Render(exampleTemplate(), vars, exampleMeta())
			if err != nil {
				t.Fatal(err)
			}
			// The signature cannot be moved to anything else.
			for name, edit := range map[string]func(*SignedPayload){
				"contract ID": func(q *SignedPayload) { q.ContractID = other.Meta().ContractID },
				"document":    func(q *SignedPayload) { q.DocumentDigest = otherDoc.Digest(suite) },
				"signer":      func(q *SignedPayload) { q.Signer = "W-000124" },
				"party":       func(q *SignedPayload) { q.Party = PartyPlatform },
				"key ID":      func(q *SignedPayload) { q.KeyID = p.keyID },
				"signed at":   func(q *SignedPayload) { q.SignedAt = q.SignedAt.Add(time.Second) },
			} {
				q := sig.Payload
				edit(&q)
				if VerifySignature(w.signer, q, sig.Sig) {
					t.Errorf("signature moved to another %s", name)
				}
			}
			// Another key does not verify it.
			if VerifySignature(p.signer, sig.Payload, sig.Sig) {
				t.Fatal("verifies with another key")
			}
			if VerifySignature(nil, sig.Payload, sig.Sig) || VerifySignature(w.signer, sig.Payload, nil) {
				t.Fatal("verifies without a key or signature")
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	w, p := parties(t, cryptox.SM{})
	a, _ := parties(t, cryptox.AES{})
	d := mustRender(t)
	good := SignedPayload{ContractID: "CT-1", DocumentDigest: d.Digest(cryptox.SM{}), Party: PartyWorker, Signer: "W-1", KeyID: w.keyID, SignedAt: tSigned}
	for name, edit := range map[string]func(*SignedPayload){
		"other key's ID":    func(q *SignedPayload) { q.KeyID = p.keyID },
		"malformed key ID":  func(q *SignedPayload) { q.KeyID = "sm2-XYZ" },
		"aes key ID":        func(q *SignedPayload) { q.KeyID = a.keyID },
		"no party":          func(q *SignedPayload) { q.Party = "" },
		"other party":       func(q *SignedPayload) { q.Party = "witness" },
		"upper-case digest": func(q *SignedPayload) { q.DocumentDigest = strings.ToUpper(q.DocumentDigest) },
		"short digest":      func(q *SignedPayload) { q.DocumentDigest = q.DocumentDigest[:10] },
		"signer newline":    func(q *SignedPayload) { q.Signer = "W-1\nparty=platform" },
		"contract ID =":     func(q *SignedPayload) { q.ContractID = "a=b" },
		"zero time":         func(q *SignedPayload) { q.SignedAt = time.Time{} },
	} {
		q := good
		edit(&q)
		_, err := Sign(w.signer, q)
		wantErr(t, err, errs.Invalid, "*", ReasonInvalidSignature)
		_ = name
	}
	// An SM2 key cannot sign under an ECDSA key ID of the same bytes.
	q := good
	q.KeyID = KeyID(cryptox.AES{}, w.signer.PublicBytes())
	_, err := Sign(w.signer, q)
	wantErr(t, err, errs.Invalid, "key_id", ReasonInvalidSignature)
	_, err = Sign(nil, good)
	wantErr(t, err, errs.Invalid, "signer", ReasonInvalidSignature)

	// SignedAt is normalised to a whole second in UTC.
	q = good
	q.SignedAt = tSigned.In(Beijing).Add(123 * time.Millisecond)
	s, err := Sign(w.signer, q)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Payload.SignedAt.Equal(tSigned) || s.Payload.SignedAt.Location() != time.UTC {
		t.Fatalf("SignedAt %v", s.Payload.SignedAt)
	}
	msg, _ := s.Payload.Canonical()
	want := "gigvault-contract-signature-v1\ncontract_id=CT-1\ndocument_digest=" + good.DocumentDigest +
		"\nparty=worker\nsigner=W-1\nkey_id=" + w.keyID + "\nsigned_at=2026-02-21T09:15:00Z\n"
	if string(msg) != want {
		t.Fatalf("canonical payload:\n%s", msg)
	}
}

func TestFileRoundTrip(t *testing.T) {
	for _, suite := range suites {
		t.Run(suite.Name(), func(t *testing.T) {
			f, w, p := signedFile(t, suite)
			b, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			g, err := ParseFile(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := g.Marshal()
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("round trip: %v", err)
			}
			if _, err := ParseFile(bytes.TrimSuffix(b, []byte("\n"))); err != nil {
				t.Fatalf("without the final newline: %v", err)
			}
			r := VerifyFile(g, registry(w, p), tFrom.Add(time.Hour))
			if !r.OK || !r.DigestOK || r.Window != WindowValid || len(r.Problems) != 0 || len(r.Signatures) != 2 {
				t.Fatalf("report %+v", r)
			}
			for _, c := range r.Signatures {
				if !c.OK || !c.Trusted || c.Reason != "" {
					t.Fatalf("check %+v", c)
				}
			}
			if r.Signatures[0].Party != PartyWorker || r.Signatures[0].Signer != "W-000123" || r.Signatures[1].KeyID != p.keyID {
				t.Fatalf("checks %+v", r.Signatures)
			}
			// The document in the file is the rendered one.
			if g.Document != mustRender(t).String() || g.Digest != mustRender(t).Digest(suite) {
				t.Fatal("document differs")
			}
			if !strings.Contains(string(b), `"document": "<!DOCTYPE html>\n<html lang=\"zh-CN\">`) {
				t.Fatalf("file:\n%s", b)
			}
		})
	}
}

func TestVerifyFileTrust(t *testing.T) {
	f, w, p := signedFile(t, cryptox.SM{})
	at := tFrom.Add(time.Hour)

	// Without a registry: intact, but not trusted.
	r := VerifyFile(f, nil, at)
	if !r.OK || r.Signatures[0].Trusted || r.Signatures[1].Trusted {
		t.Fatalf("no registry: %+v", r)
	}
	// A registry that lacks the platform key.
	r = VerifyFile(f, registry(w), at)
	if r.OK || !r.Signatures[0].OK || r.Signatures[1].OK || r.Signatures[1].Reason != SigUntrusted {
		t.Fatalf("partial registry: %+v", r)
	}
	// A registry that has another public key under the key ID.
	lying := func(id string) ([]byte, bool) { return w.signer.PublicBytes(), true }
	r = VerifyFile(f, lying, at)
	if r.OK || r.Signatures[1].Trusted || r.Signatures[1].Reason != SigUntrusted {
		t.Fatalf("wrong registry key: %+v", r)
	}

	// A forger who re-signs with keys of their own makes a file that is
	// intact, but the registry does not know the keys.
	mallory := fixedParty(t, cryptox.SM{}, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	d := mustRender(t)
	forged, err := NewFile(cryptox.SM{}, d, mustSign(t, mallory, PartyWorker, "W-000123", d), mustSign(t, mallory, PartyPlatform, "staff-007", d))
	if err != nil {
		t.Fatal(err)
	}
	if r := VerifyFile(forged, nil, at); !r.OK {
		t.Fatalf("self-consistent forgery: %+v", r)
	}
	if r := VerifyFile(forged, registry(w, p), at); r.OK {
		t.Fatal("forgery trusted")
	}
}

func TestVerifyFileParties(t *testing.T) {
	w, p := parties(t, cryptox.SM{})
	d := mustRender(t)
	at := tFrom
	reg := registry(w, p)
	for name, sigs := range map[string][]Signature{
		"none":           nil,
		"worker only":    {mustSign(t, w, PartyWorker, "W-1", d)},
		"platform only":  {mustSign(t, p, PartyPlatform, "S-1", d)},
		"worker twice":   {mustSign(t, w, PartyWorker, "W-1", d), mustSign(t, w, PartyWorker, "W-2", d)},
		"platform twice": {mustSign(t, p, PartyPlatform, "S-1", d), mustSign(t, p, PartyPlatform, "S-2", d)},
	} {
		f, err := NewFile(cryptox.SM{}, d, sigs...)
		if err != nil {
			t.Fatal(err)
		}
		if r := VerifyFile(f, reg, at); r.OK || len(r.Problems) == 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// TestSignatureMoved moves signatures between documents and contracts.
func TestSignatureMoved(t *testing.T) {
	w, p := parties(t, cryptox.SM{})
	reg := registry(w, p)
	d := mustRender(t)
	vars := exampleVars()
	vars["fee"] = "0.50"
	cheaper, err := Render(exampleTemplate(), vars, exampleMeta())
	if err != nil {
		t.Fatal(err)
	}
	f, _, _ := signedFile(t, cryptox.SM{})
	// The signatures of d in a file of another document.
	g := f
	g.Document, g.Digest = cheaper.String(), cheaper.Digest(cryptox.SM{})
	r := VerifyFile(g, reg, tFrom)
	if r.OK || !r.DigestOK || r.Signatures[0].OK || r.Signatures[1].OK {
		t.Fatalf("moved to another document: %+v", r)
	}
	// NewFile refuses the same.
	if _, err := NewFile(cryptox.SM{}, cheaper, mustSign(t, w, PartyWorker, "W-1", d)); err == nil {
		t.Fatal("NewFile took a signature of another document")
	}
	// Swapping the parties' roles.
	g = f
	g.Signatures = append([]FileSignature(nil), f.Signatures...)
	g.Signatures[0].Party, g.Signatures[1].Party = PartyPlatform, PartyWorker
	if r := VerifyFile(g, reg, tFrom); r.OK || r.Signatures[0].OK || r.Signatures[1].OK {
		t.Fatalf("parties swapped: %+v", r)
	}
}

// TestVerifyFileFieldEdits edits one field of a valid file and re-marshals
// it, so the result is canonical and only the verification can catch it.
func TestVerifyFileFieldEdits(t *testing.T) {
	f, w, p := signedFile(t, cryptox.SM{})
	reg := registry(w, p)
	at := tFrom
	sig := func(g *File, i int) *FileSignature { return &g.Signatures[i] }
	edits := map[string]func(*File){
		"format":      func(g *File) { g.Format = "gigvault-contract/2" },
		"suite":       func(g *File) { g.Suite = "aes" },
		"no suite":    func(g *File) { g.Suite = "" },
		"contract ID": func(g *File) { g.ContractID = "CT-2026-000043" },
		"digest":      func(g *File) { g.Digest = strings.Repeat("0", 64) },
		"document":    func(g *File) { g.Document = strings.Replace(g.Document, "8.50", "9.50", 1) },
		"valid from":  func(g *File) { g.ValidFrom = g.ValidFrom.Add(-time.Hour) },
		"valid until": func(g *File) { g.ValidUntil = g.ValidUntil.AddDate(1, 0, 0) },
		"signer":      func(g *File) { sig(g, 0).Signer = "W-000124" },
		"signed at":   func(g *File) { sig(g, 1).SignedAt = sig(g, 1).SignedAt.Add(time.Second) },
		"party":       func(g *File) { sig(g, 0).Party = PartyPlatform },
		"bad party":   func(g *File) { sig(g, 0).Party = "witness" },
		"key ID":      func(g *File) { sig(g, 0).KeyID = p.keyID },
		"public key":  func(g *File) { sig(g, 0).PublicKey = hex.EncodeToString(p.signer.PublicBytes()) },
		"upper hex":   func(g *File) { sig(g, 0).PublicKey = strings.ToUpper(sig(g, 0).PublicKey) },
		"signature": func(g *File) {
			b, _ := base64.StdEncoding.DecodeString(sig(g, 1).Signature)
			b[len(b)-1] ^= 1
			sig(g, 1).Signature = base64.StdEncoding.EncodeToString(b)
		},
		"signature swap": func(g *File) {
			s := sig(g, 0)
			s.Signature = g.Signatures[1].Signature
		},
		"dropped signature": func(g *File) { g.Signatures = g.Signatures[:1] },
	}
	for name, edit := range edits {
		g := f
		g.Signatures = append([]FileSignature(nil), f.Signatures...)
		edit(&g)
		b, err := g.Marshal()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g2, err := ParseFile(b)
		if err != nil {
			continue // refused outright
		}
		if r := VerifyFile(g2, reg, at); r.OK || len(r.Problems) == 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// TestVerifyFileByteFlips flips every byte of a marshalled file with three
// masks: every result is refused by ParseFile or fails VerifyFile.
func TestVerifyFileByteFlips(t *testing.T) {
	for _, suite := range suites {
		f, w, p := signedFile(t, suite)
		reg := registry(w, p)
		b, err := f.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		docStart := bytes.Index(b, []byte(`"document": "`))
		if docStart < 0 {
			t.Fatal("no document")
		}
		parsedFlips := 0
		for i := range b {
			for _, mask := range []byte{0x01, 0x20, 0x80} {
				c := bytes.Clone(b)
				c[i] ^= mask
				g, err := ParseFile(c)
				if err != nil {
					continue
				}
				parsedFlips++
				if r := VerifyFile(g, reg, tFrom); r.OK {
					t.Fatalf("%s: flipping byte %d (%q) with %#x still verifies", suite.Name(), i, b[i], mask)
				}
				if r := VerifyFile(g, nil, tFrom); r.OK {
					t.Fatalf("%s: flipping byte %d (%q) with %#x verifies without a registry", suite.Name(), i, b[i], mask)
				}
			}
		}
		// Most flips inside the document and the signatures parse: the
		// verification, not only the parser, is exercised.
		if parsedFlips < len(b)-docStart {
			t.Fatalf("%s: only %d flips parsed", suite.Name(), parsedFlips)
		}
	}
}

func TestVerifyFileWindow(t *testing.T) {
	f, w, p := signedFile(t, cryptox.SM{})
	reg := registry(w, p)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{tFrom.Add(-time.Second), WindowNotYet},
		{tFrom, WindowValid},
		{tUntil, WindowValid},
		{tUntil.Add(time.Second), WindowExpired},
		{tUntil.AddDate(5, 0, 0), WindowExpired},
	} {
		r := VerifyFile(f, reg, c.at)
		if r.Window != c.want || !r.OK {
			t.Errorf("at %v: window %q ok %v, want %q", c.at, r.Window, r.OK, c.want)
		}
	}
	g := f
	g.Document = "junk"
	if r := VerifyFile(g, reg, tFrom); r.Window != WindowUnknown || r.OK {
		t.Fatalf("junk document: %+v", r)
	}
}

func TestParseFileRefuses(t *testing.T) {
	f, _, _ := signedFile(t, cryptox.SM{})
	b, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	unknown := bytes.Replace(b, []byte(`  "suite": "sm",`), []byte(`  "suite": "sm",`+"\n"+`  "comment": "x",`), 1)
	unknownSig := bytes.Replace(b, []byte(`      "party": "worker",`), []byte(`      "party": "worker",`+"\n"+`      "note": "x",`), 1)
	dup := bytes.Replace(b, []byte(`  "suite": "sm",`), []byte(`  "suite": "aes",`+"\n"+`  "suite": "sm",`), 1)
	upperKey := bytes.Replace(b, []byte(`"suite"`), []byte(`"Suite"`), 1)
	big := append(bytes.Clone(b[:len(b)-2]), []byte(strings.Repeat(" ", MaxFileSize))...)
	big = append(big, '}')
	var compact bytes.Buffer
	if err := jsonCompact(&compact, b); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		b      []byte
		reason string
	}{
		"unknown field":           {unknown, ReasonFileMalformed},
		"unknown signature field": {unknownSig, ReasonFileMalformed},
		"duplicate key":           {dup, ReasonFileNotCanonical},
		"case-folded key":         {upperKey, ReasonFileNotCanonical},
		"oversize":                {big, ReasonFileTooLarge},
		"trailing data":           {append(bytes.Clone(b), []byte("{}")...), ReasonFileNotCanonical},
		"two newlines":            {append(bytes.Clone(b), '\n'), ReasonFileNotCanonical},
		"compact":                 {compact.Bytes(), ReasonFileNotCanonical},
		"empty":                   {nil, ReasonFileMalformed},
		"array":                   {[]byte("[]"), ReasonFileMalformed},
		"other format":            {bytes.Replace(b, []byte(FileFormat), []byte("gigvault-contract/9"), 1), ReasonFileMalformed},
		"local time":              {bytes.Replace(b, []byte(`"2026-02-21T09:15:00Z"`), []byte(`"2026-02-21T17:15:00+08:00"`), 1), ReasonFileMalformed},
		"fractional time":         {bytes.Replace(b, []byte(`"2026-02-21T09:15:00Z"`), []byte(`"2026-02-21T09:15:00.0Z"`), 1), ReasonFileNotCanonical},
		"escaped html":            {bytes.Replace(b, []byte(`<!DOCTYPE`), []byte(`\u003c!DOCTYPE`), 1), ReasonFileNotCanonical},
	} {
		if _, err := ParseFile(c.b); err == nil {
			t.Errorf("%s: accepted", name)
		} else if e := errs.As(err); e.Code != errs.Invalid || e.Field != "file" || e.Reason != c.reason {
			t.Errorf("%s: %v (reason %q), want reason %q", name, err, e.Reason, c.reason)
		}
	}
	if len(big) <= MaxFileSize {
		t.Fatal("oversize test too small")
	}
}

func TestMarshalRefuses(t *testing.T) {
	f, _, _ := signedFile(t, cryptox.SM{})
	g := f
	g.ValidFrom = g.ValidFrom.Add(time.Millisecond)
	if _, err := g.Marshal(); err == nil {
		t.Fatal("sub-second time marshalled")
	}
	g = f
	g.Document = "\xff"
	if _, err := g.Marshal(); err == nil {
		t.Fatal("invalid UTF-8 marshalled")
	}
}

func TestNewFileRefuses(t *testing.T) {
	w, _ := parties(t, cryptox.SM{})
	d := mustRender(t)
	s := mustSign(t, w, PartyWorker, "W-1", d)
	if _, err := NewFile(cryptox.AES{}, d, s); err == nil {
		t.Fatal("signature of an SM3 digest in an aes file")
	}
	if _, err := NewFile(cryptox.SM{}, Document{}, s); err == nil {
		t.Fatal("empty document")
	}
	bad := s
	bad.Sig = bytes.Clone(s.Sig)
	bad.Sig[5] ^= 1
	if _, err := NewFile(cryptox.SM{}, d, bad); err == nil {
		t.Fatal("bad signature")
	}
	many := make([]Signature, MaxSignatures+1)
	for i := range many {
		many[i] = s
	}
	if _, err := NewFile(cryptox.SM{}, d, many...); err == nil {
		t.Fatal("too many signatures")
	}
}

func FuzzParseFile(f *testing.F) {
	sm, w, p := signedFile(f, cryptox.SM{})
	aes, _, _ := signedFile(f, cryptox.AES{})
	reg := registry(w, p)
	smb, err := sm.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	aesb, err := aes.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	if *update {
		for name, b := range map[string][]byte{
			"valid_sm":      smb,
			"valid_aes":     aesb,
			"empty":         nil,
			"unknown_field": []byte(`{"format":"gigvault-contract/1","extra":1}`),
			"duplicate_key": []byte(`{"format":"gigvault-contract/1","format":"gigvault-contract/1"}`),
		} {
			writeSeed(f, "FuzzParseFile", name, fmt.Sprintf("[]byte(%q)", b))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseFile(b)
		if err != nil {
			if _, ok := err.(*errs.Error); !ok {
				t.Fatalf("error %T is not *errs.Error", err)
			}
			return
		}
		m, err := g.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m, b) && !bytes.Equal(m[:len(m)-1], b) {
			t.Fatal("accepted a non-canonical file")
		}
		r := VerifyFile(g, reg, tFrom)
		if r.OK && (g.Document != sm.Document || g.Digest != sm.Digest || g.ContractID != sm.ContractID) {
			t.Fatalf("a different file verifies:\n%s", b)
		}
	})
}

func jsonCompact(dst *bytes.Buffer, b []byte) error { return json.Compact(dst, b) }
