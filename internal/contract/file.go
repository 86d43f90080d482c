package contract

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/obs"
)

// FileFormat is the format identifier of contract files.
const FileFormat = "gigvault-contract/1"

// MaxFileSize is the largest contract file ParseFile reads.
const MaxFileSize = 4 << 20

// MaxSignatures is the most signatures a contract file may carry.
const MaxSignatures = 8

// Validity windows VerifyFile reports.
const (
	WindowValid      = "valid"
	WindowNotYet     = "not_yet_valid"
	WindowExpired    = "expired"
	WindowUnknown    = "" // the document could not be read
	fileTimeLayout   = "2006-01-02T15:04:05Z"
	minFileTimeYear  = 2000
	maxFileTimeYear  = 9998
	problemSeparator = " / "
)

// Reasons a SigCheck gives for a signature that does not check out.
const (
	SigBadEncoding   = "bad_encoding"    // public key or signature not in canonical hex/base64
	SigBadPublicKey  = "bad_public_key"  // the public key does not parse for the suite
	SigKeyIDMismatch = "key_id_mismatch" // the key ID is not the public key's
	SigBadPayload    = "bad_payload"     // party, signer or time out of range
	SigBadSignature  = "bad_signature"   // the signature does not verify
	SigUntrusted     = "untrusted_key"   // the registry does not know this key
)

// File is a downloadable contract: the canonical document with its digest,
// validity window and signatures. Marshal and ParseFile convert it to and
// from its one JSON encoding.
type File struct {
	Format     string // FileFormat
	Suite      string // "sm" or "aes"
	ContractID string
	Document   string // the canonical HTML
	Digest     string // lower-case hex suite digest of Document
	ValidFrom  time.Time
	ValidUntil time.Time
	Signatures []FileSignature
}

// FileSignature is one signature in a File.
type FileSignature struct {
	Party     string
	Signer    string
	KeyID     string
	PublicKey string // lower-case hex of the uncompressed public key
	SignedAt  time.Time
	Signature string // standard base64 (with padding) of the ASN.1 DER signature
}

// fileJSON and sigJSON are the JSON encoding of File and FileSignature.
type fileJSON struct {
	Format     string    `json:"format"`
	Suite      string    `json:"suite"`
	ContractID string    `json:"contract_id"`
	Digest     string    `json:"digest"`
	ValidFrom  string    `json:"valid_from"`
	ValidUntil string    `json:"valid_until"`
	Signatures []sigJSON `json:"signatures"`
	Document   string    `json:"document"`
}

type sigJSON struct {
	Party     string `json:"party"`
	Signer    string `json:"signer"`
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	SignedAt  string `json:"signed_at"`
	Signature string `json:"signature"`
}

func fileError(reason, zh, en string, cause error) *errs.Error {
	return errs.Wrap(errs.Invalid, "file", zh, en, cause).With(reason, nil, "")
}

// NewFile assembles the file of doc signed with sigs under suite. Each
// signature must be a valid signature of doc's contract ID and digest by
// the key its key ID names; both parties are not required here (VerifyFile
// requires them), so a file can be built after each signing step.
func NewFile(suite cryptox.Suite, doc Document, sigs ...Signature) (File, error) {
	if suite == nil || (suite.Name() != "sm" && suite.Name() != "aes") {
		return File{}, errs.New(errs.Invalid, "suite", "不支持的密码套件", "unsupported crypto suite")
	}
	if _, err := ParseDocument(doc.String()); err != nil {
		return File{}, err
	}
	if len(sigs) > MaxSignatures {
		return File{}, signatureError("signatures", fmt.Sprintf("签名不能超过 %d 个", MaxSignatures), fmt.Sprintf("at most %d signatures", MaxSignatures))
	}
	m := doc.Meta()
	f := File{
		Format: FileFormat, Suite: suite.Name(), ContractID: m.ContractID,
		Document: doc.String(), Digest: doc.Digest(suite),
		ValidFrom: m.ValidFrom, ValidUntil: m.ValidUntil,
		Signatures: make([]FileSignature, 0, len(sigs)),
	}
	for _, s := range sigs {
		p := s.Payload
		if p.ContractID != f.ContractID || p.DocumentDigest != f.Digest {
			return File{}, signatureError("signatures", "签名不属于该合同文档", "a signature is for another contract document")
		}
		v, err := suite.ParseVerifier(s.PublicKey)
		if err != nil || KeyID(suite, s.PublicKey) != p.KeyID || !VerifySignature(v, p, s.Sig) {
			return File{}, signatureError("signatures", "签名无效", "a signature does not verify")
		}
		f.Signatures = append(f.Signatures, FileSignature{
			Party: p.Party, Signer: p.Signer, KeyID: p.KeyID,
			PublicKey: hex.EncodeToString(s.PublicKey), SignedAt: p.SignedAt.UTC(),
			Signature: base64.StdEncoding.EncodeToString(s.Sig),
		})
	}
	return f, nil
}

// Marshal returns the file's JSON: two-space indented, keys in a fixed
// order (format, suite, contract_id, digest, valid_from, valid_until,
// signatures, document), HTML characters not escaped, times as RFC 3339 in
// UTC to the second, and a final newline. Times must be whole seconds and
// strings valid UTF-8.
func (f File) Marshal() ([]byte, error) {
	ft := func(t time.Time) (string, error) {
		if t.Nanosecond() != 0 || t.UTC().Year() < minFileTimeYear || t.UTC().Year() > maxFileTimeYear {
			return "", fileError(ReasonFileMalformed, "合同文件中的时间须为 2000–9998 年间的整秒",
				"times in a contract file must be whole seconds between the years 2000 and 9998", nil)
		}
		return t.UTC().Format(fileTimeLayout), nil
	}
	j := fileJSON{Format: f.Format, Suite: f.Suite, ContractID: f.ContractID, Digest: f.Digest, Document: f.Document,
		Signatures: make([]sigJSON, len(f.Signatures))}
	strs := []string{f.Format, f.Suite, f.ContractID, f.Digest, f.Document}
	var err error
	if j.ValidFrom, err = ft(f.ValidFrom); err != nil {
		return nil, err
	}
	if j.ValidUntil, err = ft(f.ValidUntil); err != nil {
		return nil, err
	}
	for i, s := range f.Signatures {
		at, err := ft(s.SignedAt)
		if err != nil {
			return nil, err
		}
		j.Signatures[i] = sigJSON{Party: s.Party, Signer: s.Signer, KeyID: s.KeyID, PublicKey: s.PublicKey, SignedAt: at, Signature: s.Signature}
		strs = append(strs, s.Party, s.Signer, s.KeyID, s.PublicKey, s.Signature)
	}
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return nil, fileError(ReasonFileMalformed, "合同文件含有无效的 UTF-8 文本", "the contract file contains invalid UTF-8", nil)
		}
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	if err := e.Encode(j); err != nil {
		return nil, fileError(ReasonFileMalformed, "合同文件无法编码", "the contract file cannot be encoded", err)
	}
	return b.Bytes(), nil
}

// ParseFile reads a contract file strictly: at most MaxFileSize bytes of
// one JSON object with no unknown fields, of format FileFormat, that is
// exactly what Marshal writes for the result (the final newline may be
// missing). So any change to the bytes of a file either fails here or
// changes the File, which VerifyFile then catches. ParseFile does not check
// the document or signatures: VerifyFile does.
func ParseFile(b []byte) (File, error) {
	if len(b) > MaxFileSize {
		return File{}, fileError(ReasonFileTooLarge,
			fmt.Sprintf("合同文件超过 %d 字节", MaxFileSize), fmt.Sprintf("the contract file is larger than %d bytes", MaxFileSize), nil)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var j fileJSON
	if err := d.Decode(&j); err != nil {
		return File{}, fileError(ReasonFileMalformed, "合同文件格式不正确", "the contract file is malformed",
			fmt.Errorf("%s", obs.Redact(err.Error())))
	}
	if j.Format != FileFormat {
		return File{}, fileError(ReasonFileMalformed, "不支持的合同文件格式", "unsupported contract file format", nil)
	}
	pt := func(s string) (time.Time, error) { return time.Parse(fileTimeLayout, s) }
	f := File{Format: j.Format, Suite: j.Suite, ContractID: j.ContractID, Document: j.Document, Digest: j.Digest}
	var err error
	if f.ValidFrom, err = pt(j.ValidFrom); err != nil {
		return File{}, fileError(ReasonFileMalformed, "合同文件中的时间格式不正确", "a time in the contract file is malformed", nil)
	}
	if f.ValidUntil, err = pt(j.ValidUntil); err != nil {
		return File{}, fileError(ReasonFileMalformed, "合同文件中的时间格式不正确", "a time in the contract file is malformed", nil)
	}
	if len(j.Signatures) > MaxSignatures {
		return File{}, fileError(ReasonFileMalformed, fmt.Sprintf("签名不能超过 %d 个", MaxSignatures), fmt.Sprintf("at most %d signatures", MaxSignatures), nil)
	}
	for _, s := range j.Signatures {
		at, err := pt(s.SignedAt)
		if err != nil {
			return File{}, fileError(ReasonFileMalformed, "合同文件中的时间格式不正确", "a time in the contract file is malformed", nil)
		}
		f.Signatures = append(f.Signatures, FileSignature{Party: s.Party, Signer: s.Signer, KeyID: s.KeyID, PublicKey: s.PublicKey, SignedAt: at, Signature: s.Signature})
	}
	want, err := f.Marshal()
	if err != nil {
		return File{}, err
	}
	if !bytes.Equal(b, want) && !bytes.Equal(b, want[:len(want)-1]) {
		return File{}, fileError(ReasonFileNotCanonical, "合同文件不是规范编码，可能被改动过", "the contract file is not in canonical form: it may have been altered", nil)
	}
	return f, nil
}

// Report is the outcome of VerifyFile.
type Report struct {
	// OK means the file is intact and signed by both parties: the digest
	// matches the document, every signature verifies (and, when a trusted
	// lookup was given, is by a registered key), and there are no problems.
	// It says nothing about the validity window: see Window.
	OK         bool
	DigestOK   bool
	Signatures []SigCheck
	// Window is WindowValid, WindowNotYet or WindowExpired at the time
	// given, from the document's own validity window; WindowUnknown when the
	// document could not be read.
	Window string
	// Problems lists what is wrong, each as "zh-CN / English".
	Problems []string
}

// SigCheck is the outcome for one signature.
type SigCheck struct {
	Party   string `json:"party"`
	Signer  string `json:"signer"`
	KeyID   string `json:"key_id"`
	OK      bool   `json:"ok"`      // the signature verifies (and the key is trusted, if a lookup was given)
	Trusted bool   `json:"trusted"` // the registry's public key for KeyID is the embedded one
	Reason  string `json:"reason"`  // why not OK: one of the Sig… codes; empty when OK
}

func (r *Report) problem(zh, en string) { r.Problems = append(r.Problems, zh+problemSeparator+en) }

// VerifyFile checks a contract file at time at:
//
//   - the format and suite are known, and the document is a canonical
//     contract document (ParseDocument) whose contract ID and validity
//     window are the file's;
//   - the digest recomputed from the document equals Digest (DigestOK);
//   - each signature verifies, over the recomputed digest, with the public
//     key it embeds, whose key ID it names; when trusted is not nil, the
//     registry must also return that very public key for the key ID;
//   - there is a valid signature of both the worker and the platform.
//
// Without a trusted lookup, OK only means the file is intact and
// self-consistent: anyone can make such a file with keys of their own.
// Callers that decide anything on a contract must pass the key registry.
func VerifyFile(f File, trusted func(keyID string) ([]byte, bool), at time.Time) Report {
	r := Report{Window: WindowUnknown}
	if f.Format != FileFormat {
		r.problem("不支持的合同文件格式", "unsupported contract file format")
	}
	var suite cryptox.Suite
	switch f.Suite {
	case "sm":
		suite = cryptox.SM{}
	case "aes":
		suite = cryptox.AES{}
	default:
		r.problem("不支持的密码套件", "unsupported crypto suite")
		return r
	}
	digest := hex.EncodeToString(cryptox.Digest(suite, []byte(f.Document)))
	r.DigestOK = digest == f.Digest
	if !r.DigestOK {
		r.problem("文档摘要与文档内容不符", "the digest does not match the document")
	}
	if doc, err := ParseDocument(f.Document); err != nil {
		r.problem("合同文档不是有效的规范文档", "the document is not a valid canonical contract document")
	} else {
		m := doc.Meta()
		if m.ContractID != f.ContractID {
			r.problem("合同编号与文档不符", "the contract ID does not match the document")
		}
		if !m.ValidFrom.Equal(f.ValidFrom) || !m.ValidUntil.Equal(f.ValidUntil) {
			r.problem("有效期与文档不符", "the validity window does not match the document")
		}
		switch {
		case at.Before(m.ValidFrom):
			r.Window = WindowNotYet
		case at.After(m.ValidUntil):
			r.Window = WindowExpired
		default:
			r.Window = WindowValid
		}
	}
	if len(f.Signatures) > MaxSignatures {
		r.problem(fmt.Sprintf("签名超过 %d 个", MaxSignatures), fmt.Sprintf("more than %d signatures", MaxSignatures))
		f.Signatures = f.Signatures[:MaxSignatures]
	}
	signed := map[string]bool{}
	allOK := true
	for _, s := range f.Signatures {
		c := checkSignature(suite, f.ContractID, digest, s, trusted)
		r.Signatures = append(r.Signatures, c)
		if c.OK {
			signed[c.Party] = true
		} else {
			allOK = false
			r.problem("签名未通过验证（"+c.Party+"）", "a signature does not check out ("+c.Party+": "+c.Reason+")")
		}
	}
	if !signed[PartyWorker] {
		r.problem("缺少劳动者的有效签名", "no valid signature of the worker")
	}
	if !signed[PartyPlatform] {
		r.problem("缺少平台的有效签名", "no valid signature of the platform")
	}
	r.OK = r.DigestOK && allOK && len(r.Problems) == 0
	return r
}

func checkSignature(suite cryptox.Suite, contractID, digest string, s FileSignature, trusted func(string) ([]byte, bool)) SigCheck {
	c := SigCheck{Party: s.Party, Signer: s.Signer, KeyID: s.KeyID}
	if s.Party != PartyWorker && s.Party != PartyPlatform {
		c.Party = "?"
	}
	pub, err := hex.DecodeString(s.PublicKey)
	if err != nil || len(pub) == 0 || hex.EncodeToString(pub) != s.PublicKey {
		c.Reason = SigBadEncoding
		return c
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s.Signature)
	// The decoder skips '\r' and '\n'; re-encoding rules out such variants.
	if err != nil || len(sig) == 0 || base64.StdEncoding.EncodeToString(sig) != s.Signature {
		c.Reason = SigBadEncoding
		return c
	}
	if KeyID(suite, pub) != s.KeyID {
		c.Reason = SigKeyIDMismatch
		return c
	}
	v, err := suite.ParseVerifier(pub)
	if err != nil {
		c.Reason = SigBadPublicKey
		return c
	}
	p := SignedPayload{ContractID: contractID, DocumentDigest: digest, Party: s.Party, Signer: s.Signer, KeyID: s.KeyID, SignedAt: s.SignedAt}
	if _, err := p.Canonical(); err != nil {
		c.Reason = SigBadPayload
		return c
	}
	if !VerifySignature(v, p, sig) {
		c.Reason = SigBadSignature
		return c
	}
	if trusted != nil {
		reg, ok := trusted(s.KeyID)
		c.Trusted = ok && bytes.Equal(reg, pub)
		if !c.Trusted {
			c.Reason = SigUntrusted
			return c
		}
	}
	c.OK = true
	return c
}
