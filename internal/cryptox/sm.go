package cryptox

import (
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// SM is the national suite: SM4-GCM (GB/T 32907), SM3 (GB/T 32905) and SM2
// signatures (GB/T 32918) with the default user ID.
type SM struct{}

// Name returns "sm".
func (SM) Name() string { return "sm" }

// KeySize returns 16: SM4 keys are 128 bits.
func (SM) KeySize() int { return 16 }

// NewAEAD returns SM4 in GCM mode with a 96-bit nonce.
func (SM) NewAEAD(key []byte) (cipher.AEAD, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cryptox: sm4 key: %w", err)
	}
	return cipher.NewGCM(b)
}

// NewHash returns SM3.
func (SM) NewHash() hash.Hash { return sm3.New() }

// GenerateSigner creates an SM2 key pair.
func (SM) GenerateSigner() (Signer, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cryptox: sm2 generate: %w", err)
	}
	return smSigner{k}, nil
}

// ParseSigner restores an SM2 private key from its 32-byte scalar.
func (SM) ParseSigner(priv []byte) (Signer, error) {
	k, err := sm2.NewPrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("cryptox: sm2 private key: %w", err)
	}
	return smSigner{k}, nil
}

// ParseVerifier restores an SM2 public key from its uncompressed encoding.
func (SM) ParseVerifier(pub []byte) (Verifier, error) {
	k, err := sm2.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("cryptox: sm2 public key: %w", err)
	}
	return smVerifier{k}, nil
}

type smSigner struct{ k *sm2.PrivateKey }

func (s smSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := s.k.SignWithSM2(rand.Reader, nil, msg)
	if err != nil {
		return nil, fmt.Errorf("cryptox: sm2 sign: %w", err)
	}
	return sig, nil
}

func (s smSigner) Verify(msg, sig []byte) bool {
	return sm2.VerifyASN1WithSM2(&s.k.PublicKey, nil, msg, sig)
}

func (s smSigner) PublicBytes() []byte {
	pub, err := sm2.PublicKeyToECDH(&s.k.PublicKey)
	if err != nil {
		panic("cryptox: sm2 public key: " + err.Error())
	}
	return pub.Bytes() // uncompressed 0x04‖X‖Y
}

func (s smSigner) PrivateBytes() []byte { return s.k.D.FillBytes(make([]byte, 32)) }

type smVerifier struct{ k *ecdsa.PublicKey }

func (v smVerifier) Verify(msg, sig []byte) bool { return sm2.VerifyASN1WithSM2(v.k, nil, msg, sig) }
