package cryptox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
)

// AES is the international suite: AES-256-GCM, SHA-256 and ECDSA P-256.
type AES struct{}

// Name returns "aes".
func (AES) Name() string { return "aes" }

// KeySize returns 32: AES-256.
func (AES) KeySize() int { return 32 }

// NewAEAD returns AES-GCM with a 96-bit nonce.
func (AES) NewAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cryptox: aes key: %w", err)
	}
	return cipher.NewGCM(b)
}

// NewHash returns SHA-256.
func (AES) NewHash() hash.Hash { return sha256.New() }

// GenerateSigner creates an ECDSA P-256 key pair.
func (AES) GenerateSigner() (Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cryptox: ecdsa generate: %w", err)
	}
	return ecSigner{k}, nil
}

// ParseSigner restores a P-256 private key from its 32-byte scalar.
func (AES) ParseSigner(priv []byte) (Signer, error) {
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
	if err != nil {
		return nil, fmt.Errorf("cryptox: ecdsa private key: %w", err)
	}
	return ecSigner{k}, nil
}

// ParseVerifier restores a P-256 public key from its uncompressed encoding.
func (AES) ParseVerifier(pub []byte) (Verifier, error) {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		return nil, fmt.Errorf("cryptox: ecdsa public key: %w", err)
	}
	return ecVerifier{k}, nil
}

type ecSigner struct{ k *ecdsa.PrivateKey }

func (s ecSigner) Sign(msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, s.k, d[:])
	if err != nil {
		return nil, fmt.Errorf("cryptox: ecdsa sign: %w", err)
	}
	return sig, nil
}

func (s ecSigner) Verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(&s.k.PublicKey, d[:], sig)
}

func (s ecSigner) PublicBytes() []byte {
	b, err := s.k.PublicKey.Bytes()
	if err != nil {
		panic("cryptox: ecdsa public key: " + err.Error())
	}
	return b // uncompressed 0x04‖X‖Y
}

func (s ecSigner) PrivateBytes() []byte {
	b, err := s.k.Bytes()
	if err != nil {
		panic("cryptox: ecdsa key bytes: " + err.Error())
	}
	return b
}

type ecVerifier struct{ k *ecdsa.PublicKey }

func (v ecVerifier) Verify(msg, sig []byte) bool {
	d := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(v.k, d[:], sig)
}
