package receipt

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
)

// Signature algorithms, one per crypto suite.
const (
	AlgSM2SM3     = "SM2-SM3"           // suite "sm": SM2 with SM3 and the default user ID
	AlgECDSAP256  = "ECDSA-P256-SHA256" // suite "aes": ECDSA P-256 with SHA-256
	signingDomain = "gigvault-consent-receipt-v1\n"
)

// MaxFileSize is the largest receipt file Verify reads.
const MaxFileSize = 256 << 10

// Signed is a signed receipt, the content of a receipt file.
//
// The signature covers signingDomain followed by the canonical JSON of
// {"alg":…,"kid":…,"receipt":…}, so the algorithm and key ID cannot be
// swapped without breaking it. Sig is standard base64 (with padding) of the
// ASN.1 DER signature.
type Signed struct {
	Receipt Receipt `json:"receipt"`
	Alg     string  `json:"alg"`
	KeyID   string  `json:"kid"`
	Sig     string  `json:"sig"`
}

// Errors Verify and Sign return; match them with errors.Is.
var (
	ErrMalformed     = errors.New("malformed receipt file")
	ErrNotCanonical  = errors.New("receipt file is not in canonical form")
	ErrUnknownAlg    = errors.New("unknown signature algorithm")
	ErrUnknownKey    = errors.New("unknown signing key")
	ErrBadSignature  = errors.New("receipt signature does not verify")
	ErrSuiteMismatch = errors.New("signer does not belong to the suite")
)

var reKeyID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// AlgForSuite returns the signature algorithm of a suite.
func AlgForSuite(suite cryptox.Suite) (string, error) {
	if suite == nil {
		return "", fmt.Errorf("receipt: %w: nil suite", cryptox.ErrUnknownSuite)
	}
	switch suite.Name() {
	case "sm":
		return AlgSM2SM3, nil
	case "aes":
		return AlgECDSAP256, nil
	}
	return "", fmt.Errorf("receipt: %w %q", cryptox.ErrUnknownSuite, suite.Name())
}

// Sign validates r and signs it with s, a signer of suite, under keyID.
// It fills in PublicKey with the signer's public key (an existing different
// value is an error) and does not modify r.
func Sign(r *Receipt, s cryptox.Signer, keyID string, suite cryptox.Suite) (*Signed, error) {
	if r == nil || s == nil {
		return nil, errors.New("receipt: sign: nil receipt or signer")
	}
	alg, err := AlgForSuite(suite)
	if err != nil {
		return nil, err
	}
	if !reKeyID.MatchString(keyID) {
		return nil, errors.New("receipt: sign: key ID must be 1-128 letters, digits, '.', '_', ':' or '-'")
	}
	pub := s.PublicBytes()
	out := &Signed{Receipt: clone(r), Alg: alg, KeyID: keyID}
	pk := hex.EncodeToString(pub)
	switch out.Receipt.PublicKey {
	case "":
		out.Receipt.PublicKey = pk
	case pk:
	default:
		return nil, &FieldError{"publicKey", "differs from the signer's public key"}
	}
	if err := out.Receipt.Validate(); err != nil {
		return nil, err
	}
	msg, err := signingInput(&out.Receipt, alg, keyID)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(msg)
	if err != nil {
		return nil, fmt.Errorf("receipt: sign: %w", err)
	}
	// The signer must be a key of suite, or alg would lie: check the
	// signature with a verifier the suite parses from the public key.
	v, err := suite.ParseVerifier(pub)
	if err != nil || !v.Verify(msg, sig) {
		return nil, fmt.Errorf("receipt: sign: %w %q", ErrSuiteMismatch, suite.Name())
	}
	out.Sig = base64.StdEncoding.EncodeToString(sig)
	return out, nil
}

// Marshal returns the receipt file: the canonical JSON of s and a newline.
func (s *Signed) Marshal() ([]byte, error) {
	b, err := canonicalEnvelope(s)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Verify checks a receipt file and returns its receipt. It fails closed:
// the file must be at most MaxFileSize bytes of exactly one JSON object with
// no duplicate keys and no trailing data (one final newline is allowed), in
// canonical form (see Canonical) with no unknown fields; alg must be a known
// algorithm, kid a key lookup knows, sig a valid signature by that key, and
// the receipt must pass Validate.
//
// The receipt's publicKey field is not trusted: only the verifier lookup
// returns for the key ID is.
func Verify(b []byte, lookup func(keyID string) (cryptox.Verifier, bool)) (*Receipt, error) {
	s, err := parseFile(b)
	if err != nil {
		return nil, err
	}
	switch s.Alg {
	case AlgSM2SM3, AlgECDSAP256:
	default:
		return nil, fmt.Errorf("receipt: %w", ErrUnknownAlg)
	}
	if !reKeyID.MatchString(s.KeyID) || lookup == nil {
		return nil, fmt.Errorf("receipt: %w", ErrUnknownKey)
	}
	v, ok := lookup(s.KeyID)
	if !ok || v == nil {
		return nil, fmt.Errorf("receipt: %w", ErrUnknownKey)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
	// The decoder skips '\r' and '\n'; re-encoding rules out such variants.
	if err != nil || len(sig) == 0 || base64.StdEncoding.EncodeToString(sig) != s.Sig {
		return nil, fmt.Errorf("receipt: %w: sig is not base64", ErrMalformed)
	}
	msg, err := signingInput(&s.Receipt, s.Alg, s.KeyID)
	if err != nil {
		return nil, fmt.Errorf("receipt: %w: %v", ErrMalformed, err)
	}
	if !v.Verify(msg, sig) {
		return nil, fmt.Errorf("receipt: %w", ErrBadSignature)
	}
	if err := s.Receipt.Validate(); err != nil {
		return nil, err
	}
	r := s.Receipt
	return &r, nil
}

// parseFile decodes a receipt file strictly and checks that it is exactly
// the canonical encoding of what it decodes to.
func parseFile(b []byte) (*Signed, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("receipt: %w: larger than %d bytes", ErrMalformed, MaxFileSize)
	}
	body := bytes.TrimSuffix(b, []byte("\n"))
	if err := checkStrictJSON(body); err != nil {
		return nil, malformed(err)
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	var s Signed
	if err := d.Decode(&s); err != nil {
		return nil, malformed(err)
	}
	want, err := canonicalEnvelope(&s)
	if err != nil {
		return nil, malformed(err)
	}
	if !bytes.Equal(body, want) {
		return nil, fmt.Errorf("receipt: %w", ErrNotCanonical)
	}
	return &s, nil
}

// malformed wraps a parse error in ErrMalformed. JSON errors can quote key
// names from the file, so PI-looking parts are redacted.
func malformed(err error) error {
	return fmt.Errorf("receipt: %w: %s", ErrMalformed, obs.Redact(err.Error()))
}

func canonicalEnvelope(s *Signed) ([]byte, error) {
	if _, err := Canonical(&s.Receipt); err != nil { // refuses invalid UTF-8
		return nil, err
	}
	return canonicalJSON(s)
}

// signingInput is what the signature covers: the domain string, then the
// canonical JSON of the envelope without sig.
func signingInput(r *Receipt, alg, keyID string) ([]byte, error) {
	if _, err := Canonical(r); err != nil {
		return nil, err
	}
	body, err := canonicalJSON(struct {
		Receipt *Receipt `json:"receipt"`
		Alg     string   `json:"alg"`
		KeyID   string   `json:"kid"`
	}{r, alg, keyID})
	if err != nil {
		return nil, err
	}
	return append([]byte(signingDomain), body...), nil
}

// clone deep-copies r so Sign never aliases its caller's slices.
func clone(r *Receipt) Receipt {
	c := *r
	c.PIIControllers = append([]Controller(nil), r.PIIControllers...)
	c.Services = make([]Service, len(r.Services))
	for i, s := range r.Services {
		c.Services[i] = Service{Service: s.Service, Purposes: make([]Purpose, len(s.Purposes))}
		for j, p := range s.Purposes {
			p.PurposeCategory = append([]string(nil), p.PurposeCategory...)
			p.PIICategory = append([]string(nil), p.PIICategory...)
			c.Services[i].Purposes[j] = p
		}
	}
	if r.Services == nil {
		c.Services = nil
	}
	c.SPICat = append([]string(nil), r.SPICat...)
	if r.Guardian != nil {
		g := *r.Guardian
		c.Guardian = &g
	}
	return c
}
