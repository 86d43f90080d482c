// Package cryptox holds gigvault's cryptographic suites: the Chinese national
// suite "sm" (SM4-GCM, SM3, HMAC-SM3, SM2) — the default, ENC-3 — and the
// international suite "aes" (AES-256-GCM, SHA-256, HMAC-SHA256, ECDSA P-256).
//
// Callers never choose primitives directly: they hold a Suite and ask it for
// an AEAD, a hash, a MAC or a signer. Everything above this package is
// algorithm-agnostic.
package cryptox

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
)

// Suite is a consistent set of primitives.
type Suite interface {
	// Name is the stable identifier stored beside keys: "sm" or "aes".
	Name() string
	// KeySize is the symmetric key length in bytes for data and key-encryption keys.
	KeySize() int
	// NewAEAD returns the suite's authenticated cipher for key.
	NewAEAD(key []byte) (cipher.AEAD, error)
	// NewHash returns the suite's digest (SM3 or SHA-256).
	NewHash() hash.Hash
	// GenerateSigner creates a fresh signing key pair.
	GenerateSigner() (Signer, error)
	// ParseSigner restores a signer from the bytes returned by Signer.PrivateBytes.
	ParseSigner(priv []byte) (Signer, error)
	// ParseVerifier restores a verifier from the bytes returned by Signer.PublicBytes.
	ParseVerifier(pub []byte) (Verifier, error)
}

// Signer signs messages with a private key. PrivateBytes exists only so the
// keys package can wrap the key for storage; nothing else may call it.
type Signer interface {
	Verifier
	Sign(msg []byte) ([]byte, error)
	PublicBytes() []byte
	PrivateBytes() []byte
}

// Verifier checks signatures made by the matching Signer.
type Verifier interface {
	Verify(msg, sig []byte) bool
}

// ErrUnknownSuite is returned by ByName for an unsupported suite name.
var ErrUnknownSuite = errors.New("unknown crypto suite")

// ByName returns the suite called name ("sm" or "aes").
func ByName(name string) (Suite, error) {
	switch name {
	case "sm", "":
		return SM{}, nil
	case "aes":
		return AES{}, nil
	}
	return nil, fmt.Errorf("cryptox: %w %q (want sm or aes)", ErrUnknownSuite, name)
}

// Digest hashes the concatenation of parts with the suite's digest.
func Digest(s Suite, parts ...[]byte) []byte {
	h := s.NewHash()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// MAC computes HMAC with the suite's digest (HMAC-SM3 or HMAC-SHA256).
func MAC(s Suite, key []byte, parts ...[]byte) []byte {
	m := hmac.New(s.NewHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// NewKey returns a fresh random symmetric key of the suite's size.
func NewKey(s Suite) []byte {
	k := make([]byte, s.KeySize())
	if _, err := rand.Read(k); err != nil {
		panic("cryptox: system randomness failed: " + err.Error())
	}
	return k
}

// ErrOpen means a ciphertext failed authentication: it was altered, is
// truncated, or is bound to another context (associated data) or key.
var ErrOpen = errors.New("ciphertext failed authentication")

// Seal encrypts plaintext with a fresh random nonce and returns nonce‖ciphertext‖tag.
func Seal(a cipher.AEAD, dst, plaintext, aad []byte) []byte {
	ns := a.NonceSize()
	if cap(dst)-len(dst) < ns+len(plaintext)+a.Overhead() {
		nd := make([]byte, len(dst), len(dst)+ns+len(plaintext)+a.Overhead())
		copy(nd, dst)
		dst = nd
	}
	nonce := dst[len(dst) : len(dst)+ns]
	if _, err := rand.Read(nonce); err != nil {
		panic("cryptox: system randomness failed: " + err.Error())
	}
	return a.Seal(dst[:len(dst)+ns], nonce, plaintext, aad)
}

// Open reverses Seal. Any failure is reported as ErrOpen.
func Open(a cipher.AEAD, dst, sealed, aad []byte) ([]byte, error) {
	ns := a.NonceSize()
	if len(sealed) < ns+a.Overhead() {
		return nil, ErrOpen
	}
	out, err := a.Open(dst, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Wipe overwrites b with zeros. Go may keep other copies; this narrows the
// window in which key bytes sit in memory, it does not close it.
func Wipe(b []byte) {
	clear(b)
}
