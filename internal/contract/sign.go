package contract

import (
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

// The parties to a contract.
const (
	PartyWorker   = "worker"
	PartyPlatform = "platform"
)

// signingDomain starts every signed message, so a contract signature is
// never valid for any other kind of gigvault message.
const signingDomain = "gigvault-contract-signature-v1\n"

const signedAtLayout = "2006-01-02T15:04:05Z"

var reDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// SignedPayload is what a party signs: this document (by digest) of this
// contract, signed by this signer as this party with this key at this time.
type SignedPayload struct {
	ContractID     string
	DocumentDigest string // lower-case hex digest of the canonical document
	Party          string // PartyWorker or PartyPlatform
	Signer         string // the signer's ID: worker ID or platform staff ID
	KeyID          string // KeyID of the signer's public key
	SignedAt       time.Time
}

// Signature is a signed payload with the signer's public key.
type Signature struct {
	Payload   SignedPayload
	PublicKey []byte // uncompressed public key, see cryptox.Signer.PublicBytes
	Sig       []byte // ASN.1 DER signature (SM2 with SM3, or ECDSA P-256 with SHA-256)
}

// KeyID returns the key ID of a public key of suite: "sm2-" (suite "sm")
// or "ecdsa-" (suite "aes") followed by the first 16 hex digits of the
// suite's digest of the public key — the same digest prefix the keys
// package uses in its key IDs.
func KeyID(suite cryptox.Suite, publicKey []byte) string {
	return keyIDPrefix(suite.Name()) + hex.EncodeToString(cryptox.Digest(suite, publicKey)[:8])
}

func keyIDPrefix(suite string) string {
	switch suite {
	case "sm":
		return "sm2-"
	case "aes":
		return "ecdsa-"
	}
	return suite + "-"
}

// suiteOfKeyID returns the suite a key ID belongs to.
func suiteOfKeyID(keyID string) (cryptox.Suite, bool) {
	switch {
	case strings.HasPrefix(keyID, "sm2-"):
		return cryptox.SM{}, true
	case strings.HasPrefix(keyID, "ecdsa-"):
		return cryptox.AES{}, true
	}
	return nil, false
}

var reKeyID = regexp.MustCompile(`^(sm2|ecdsa)-[0-9a-f]{16}$`)

func signatureError(field, zh, en string) *errs.Error {
	return errs.New(errs.Invalid, field, zh, en).With(ReasonInvalidSignature, nil, "")
}

// Canonical returns the bytes a signature covers: the domain line
// "gigvault-contract-signature-v1", then one "name=value" line each, in this
// order, for contract_id, document_digest, party, signer, key_id and
// signed_at (RFC 3339 in UTC to the second, e.g. 2026-01-01T08:00:00Z),
// every line ending in LF. Values are checked first, so none can contain a
// line break or "=": the encoding is unambiguous.
func (p SignedPayload) Canonical() ([]byte, error) {
	switch {
	case !reID.MatchString(p.ContractID):
		return nil, signatureError("contract_id", "合同编号格式不正确", "the contract ID is not valid")
	case !reDigest.MatchString(p.DocumentDigest):
		return nil, signatureError("document_digest", "文档摘要须为 64 位小写十六进制", "the document digest must be 64 lower-case hex digits")
	case p.Party != PartyWorker && p.Party != PartyPlatform:
		return nil, signatureError("party", "签署方须为 worker 或 platform", "the party must be worker or platform")
	case !reID.MatchString(p.Signer):
		return nil, signatureError("signer", "签署人标识格式不正确", "the signer ID is not valid")
	case !reKeyID.MatchString(p.KeyID):
		return nil, signatureError("key_id", "密钥标识格式不正确", "the key ID is not valid")
	case p.SignedAt.UTC().Year() < 2000 || p.SignedAt.UTC().Year() > 9998 || p.SignedAt.Nanosecond() != 0:
		return nil, signatureError("signed_at", "签署时间须为 2000–9998 年间的整秒", "the signing time must be a whole second between the years 2000 and 9998")
	}
	var b strings.Builder
	b.WriteString(signingDomain)
	for _, kv := range [][2]string{
		{"contract_id", p.ContractID},
		{"document_digest", p.DocumentDigest},
		{"party", p.Party},
		{"signer", p.Signer},
		{"key_id", p.KeyID},
		{"signed_at", p.SignedAt.UTC().Format(signedAtLayout)},
	} {
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(kv[1])
		b.WriteByte('\n')
	}
	return []byte(b.String()), nil
}

// Sign signs p with s. SignedAt is truncated to the second and kept in UTC;
// KeyID must be the KeyID of s's public key. The returned signature carries
// the payload as signed and the public key.
func Sign(s cryptox.Signer, p SignedPayload) (Signature, error) {
	if s == nil {
		return Signature{}, signatureError("signer", "缺少签名密钥", "no signing key")
	}
	p.SignedAt = p.SignedAt.UTC().Truncate(time.Second)
	msg, err := p.Canonical()
	if err != nil {
		return Signature{}, err
	}
	suite, _ := suiteOfKeyID(p.KeyID) // Canonical checked the prefix
	pub := s.PublicBytes()
	if KeyID(suite, pub) != p.KeyID {
		return Signature{}, signatureError("key_id", "密钥标识与签名密钥不符", "the key ID does not belong to the signing key")
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return Signature{}, errs.Wrap(errs.Internal, "", "签名失败", "signing failed", err)
	}
	// The signer must be a key of the suite the key ID names: check with a
	// verifier the suite parses from the public key.
	if v, err := suite.ParseVerifier(pub); err != nil || !v.Verify(msg, sig) {
		return Signature{}, signatureError("key_id", "签名密钥不属于密钥标识所指的算法套件", "the signing key does not belong to the key ID's suite")
	}
	return Signature{Payload: p, PublicKey: pub, Sig: sig}, nil
}

// VerifySignature reports whether sig is v's signature of p.
func VerifySignature(v cryptox.Verifier, p SignedPayload, sig []byte) bool {
	if v == nil || len(sig) == 0 {
		return false
	}
	msg, err := p.Canonical()
	if err != nil {
		return false
	}
	return v.Verify(msg, sig)
}
