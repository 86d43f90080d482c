package report

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"gigvault/internal/cryptox"
	"gigvault/internal/obs"
	"gigvault/internal/receipt"
)

// signingDomain prefixes the signed bytes, so a package signature can never
// be passed off as a signature over anything else the key signs.
const signingDomain = "gigvault-regulator-report-v1\n"

// MaxFileSize is the largest package Verify reads. The policy and the two
// lists make up most of a package: about 300 KiB today.
const MaxFileSize = 16 << 20

// Errors Sign and Verify return; match them with errors.Is.
var (
	ErrMalformed     = errors.New("malformed report package")
	ErrNotCanonical  = errors.New("report package is not in canonical form")
	ErrUnsigned      = errors.New("report package is not signed")
	ErrUnknownAlg    = errors.New("unknown signature algorithm")
	ErrUntrustedKey  = errors.New("report package is signed by another key")
	ErrBadSignature  = errors.New("report package signature does not verify")
	ErrSuiteMismatch = errors.New("signer does not belong to the suite")
)

var reKeyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// Sign signs p with s, a signer of the suite called suiteName ("sm" or
// "aes", as cryptox.ByName), under keyID — for the operator, the consent
// receipt key (keys.Keyring.ReceiptSigner), whose public key is published.
// It sets p.Signature, replacing any earlier one; on error p is unchanged.
func Sign(p *Package, s cryptox.Signer, keyID string, suiteName string) error {
	if p == nil || s == nil {
		return errors.New("report: sign: nil package or signer")
	}
	suite, err := cryptox.ByName(suiteName)
	if err != nil {
		return fmt.Errorf("report: sign: %w", err)
	}
	alg, err := receipt.AlgForSuite(suite)
	if err != nil {
		return fmt.Errorf("report: sign: %w", err)
	}
	if !reKeyID.MatchString(keyID) {
		return errors.New("report: sign: key ID must be 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	if err := p.validate(); err != nil {
		return err
	}
	pub := s.PublicBytes()
	c := *p
	c.Signature = &Signature{KeyID: keyID, PublicKey: hex.EncodeToString(pub), Algorithm: alg}
	msg, err := signingInput(&c)
	if err != nil {
		return err
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return fmt.Errorf("report: sign: %w", err)
	}
	// The signer must be a key of the suite, or the algorithm would lie.
	v, err := suite.ParseVerifier(pub)
	if err != nil || !v.Verify(msg, sig) {
		return fmt.Errorf("report: sign: %w %q", ErrSuiteMismatch, suite.Name())
	}
	c.Signature.Value = base64.StdEncoding.EncodeToString(sig)
	*p = c
	return nil
}

// Marshal returns the package file: the canonical JSON of p and a newline.
func (p *Package) Marshal() ([]byte, error) {
	b, err := canonicalJSON(p)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Verify checks a package file and returns the package. It fails closed:
// the file must be at most MaxFileSize bytes of exactly one JSON object
// with no duplicate keys and no trailing data (one final newline allowed),
// in canonical form with no unknown fields, signed with a known algorithm
// by the public key it names, and pass the checks Sign makes.
//
// trustedPub, when not empty, is the public key the package must be signed
// by (the operator's published receipt key). Without it Verify proves only
// that nothing changed since someone signed with the key the package
// itself names: compare Signature.PublicKey with the published key.
func Verify(b []byte, trustedPub []byte) (Package, error) {
	if len(b) > MaxFileSize {
		return Package{}, fmt.Errorf("report: %w: larger than %d bytes", ErrMalformed, MaxFileSize)
	}
	body := bytes.TrimSuffix(b, []byte("\n"))
	tree, err := parseTree(body)
	if err != nil {
		return Package{}, malformed(err)
	}
	if canon, err := encodeTree(tree); err != nil || !bytes.Equal(canon, body) {
		return Package{}, fmt.Errorf("report: %w", ErrNotCanonical)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	var p Package
	if err := d.Decode(&p); err != nil {
		return Package{}, malformed(err)
	}
	// Decoding must lose nothing (a key spelled in another case, a time
	// written another way): the package must re-encode to the same bytes.
	if again, err := canonicalJSON(&p); err != nil || !bytes.Equal(again, body) {
		return Package{}, fmt.Errorf("report: %w", ErrNotCanonical)
	}
	sg := p.Signature
	if sg == nil {
		return Package{}, fmt.Errorf("report: %w", ErrUnsigned)
	}
	var suiteName string
	switch sg.Algorithm {
	case receipt.AlgSM2SM3:
		suiteName = "sm"
	case receipt.AlgECDSAP256:
		suiteName = "aes"
	default:
		return Package{}, fmt.Errorf("report: %w", ErrUnknownAlg)
	}
	suite, err := cryptox.ByName(suiteName)
	if err != nil {
		return Package{}, err
	}
	if !reKeyID.MatchString(sg.KeyID) {
		return Package{}, fmt.Errorf("report: %w: key_id", ErrMalformed)
	}
	pub, err := hex.DecodeString(sg.PublicKey)
	if err != nil || len(pub) == 0 || hex.EncodeToString(pub) != sg.PublicKey {
		return Package{}, fmt.Errorf("report: %w: public_key is not lower-case hex", ErrMalformed)
	}
	if len(trustedPub) > 0 && !bytes.Equal(pub, trustedPub) {
		return Package{}, fmt.Errorf("report: %w", ErrUntrustedKey)
	}
	v, err := suite.ParseVerifier(pub)
	if err != nil {
		return Package{}, fmt.Errorf("report: %w: public_key: %v", ErrMalformed, err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sg.Value)
	// The decoder skips '\r' and '\n'; re-encoding rules out such variants.
	if err != nil || len(sig) == 0 || base64.StdEncoding.EncodeToString(sig) != sg.Value {
		return Package{}, fmt.Errorf("report: %w: signature value is not base64", ErrMalformed)
	}
	msg, err := signingInput(&p)
	if err != nil {
		return Package{}, malformed(err)
	}
	if !v.Verify(msg, sig) {
		return Package{}, fmt.Errorf("report: %w", ErrBadSignature)
	}
	if err := p.validate(); err != nil {
		return Package{}, err
	}
	return p, nil
}

// signingInput is what the signature covers: the domain string, then the
// canonical JSON of p with the signature object minus its value.
func signingInput(p *Package) ([]byte, error) {
	if p.Signature == nil {
		return nil, ErrUnsigned
	}
	tree, err := toTree(p)
	if err != nil {
		return nil, err
	}
	sig, ok := tree.(map[string]any)["signature"].(map[string]any)
	if !ok {
		return nil, ErrUnsigned
	}
	delete(sig, "value")
	body, err := encodeTree(tree)
	if err != nil {
		return nil, err
	}
	return append([]byte(signingDomain), body...), nil
}

// malformed wraps a parse error in ErrMalformed. JSON errors can quote
// parts of the file, so PI-looking parts are redacted.
func malformed(err error) error {
	return fmt.Errorf("report: %w: %s", ErrMalformed, obs.Redact(err.Error()))
}
