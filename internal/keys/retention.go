package keys

import (
	"context"
	"crypto/cipher"
	"fmt"

	"gigvault/internal/cryptox"
)

// nameRetention is the kms_keys row of the retention key.
const nameRetention = "retention"

// The retention key seals the records the law requires after an account is
// cancelled (RET-3: transactions for 3 years, financial identity for 5). It
// is not the subject's data key — that is destroyed at cancellation — and it
// never leaves this package: callers seal and open through SealRetained and
// OpenRetained, and only the retention store (no daily-business path) does.

// SealRetained encrypts a retained record under the retention key, bound to
// aad (the record's ID and class).
func (k *Keyring) SealRetained(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	a, err := k.retentionAEAD(ctx)
	if err != nil {
		return nil, err
	}
	return cryptox.Seal(a, nil, plaintext, aad), nil
}

// OpenRetained reverses SealRetained.
func (k *Keyring) OpenRetained(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	a, err := k.retentionAEAD(ctx)
	if err != nil {
		return nil, err
	}
	pt, err := cryptox.Open(a, nil, sealed, aad)
	if err != nil {
		return nil, fmt.Errorf("keys: retained record: %w", ErrIntegrity)
	}
	return pt, nil
}

func (k *Keyring) retentionAEAD(ctx context.Context) (cipher.AEAD, error) {
	key, err := k.symmetric(ctx, nameRetention, "retention")
	if err != nil {
		return nil, err
	}
	defer cryptox.Wipe(key)
	a, err := k.suite.NewAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("keys: retention key: %w", err)
	}
	return a, nil
}
