package sealkey

import (
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

const wrapDomain = "gigvault-sealkey-wrap-v1\x00"

// Wrap encrypts plaintext (typically a private key) under kek with the
// suite's AEAD (SM4-GCM or AES-256-GCM) and returns nonce‖ciphertext‖tag.
// The associated data bound to it is the suite name and aad, so the result
// opens only with the same suite, key and aad. kek must be suite.KeySize()
// bytes.
func Wrap(suite cryptox.Suite, kek, plaintext, aad []byte) ([]byte, error) {
	a, err := suite.NewAEAD(kek)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, "kek", "密钥加密密钥不正确", "the key-encryption key is not valid", err)
	}
	return cryptox.Seal(a, nil, plaintext, wrapAAD(suite, aad)), nil
}

// Unwrap reverses Wrap. A wrapped key that fails authentication — altered,
// bound to other aad, or a wrong kek such as one combined from wrong shares
// — is an *errs.Error with code Integrity and reason ReasonUnwrapFailed
// that wraps cryptox.ErrOpen. The caller should cryptox.Wipe the result.
func Unwrap(suite cryptox.Suite, kek, wrapped, aad []byte) ([]byte, error) {
	a, err := suite.NewAEAD(kek)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, "kek", "密钥加密密钥不正确", "the key-encryption key is not valid", err)
	}
	p, err := cryptox.Open(a, nil, wrapped, wrapAAD(suite, aad))
	if err != nil {
		return nil, errs.Wrap(errs.Integrity, "", "被封装的密钥无法解封", "the wrapped key failed authentication", err).
			With(ReasonUnwrapFailed, nil, "")
	}
	return p, nil
}

func wrapAAD(suite cryptox.Suite, aad []byte) []byte {
	b := make([]byte, 0, len(wrapDomain)+len(suite.Name())+1+len(aad))
	b = append(b, wrapDomain...)
	b = append(b, suite.Name()...)
	b = append(b, 0)
	return append(b, aad...)
}
