package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"gigvault/internal/cryptox"
	"gigvault/internal/store"
)

// The consent-receipt signing key is a named key of its own, apart from the
// audit signing key: receipts are handed to users and regulators, so its
// public key is published, and it can be replaced without touching the
// audit chain's checkpoints. Key stores created before it existed get it on
// their next start.

// loadReceiptKey loads the receipt signing key, creating it when missing.
func (k *Keyring) loadReceiptKey(ctx context.Context) error {
	s, pub, err := k.loadSigner(ctx, nameReceipt)
	if errors.Is(err, sql.ErrNoRows) {
		if err := k.createReceiptKey(ctx); err != nil && !store.IsUniqueViolation(err) {
			return err
		}
		s, pub, err = k.loadSigner(ctx, nameReceipt) // what we (or a racing node) wrote
	}
	if err != nil {
		return fmt.Errorf("keys: receipt signing key: %w", err)
	}
	k.receipt, k.rcptID = signOnly{s}, ReceiptKeyID(k.suite, pub)
	return nil
}

func (k *Keyring) createReceiptKey(ctx context.Context) error {
	s, err := k.suite.GenerateSigner()
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	priv := s.PrivateBytes()
	defer cryptox.Wipe(priv)
	_, err = k.db.Exec(ctx, `INSERT INTO kms_keys (name, purpose, wrapped, public_key, created_at) VALUES (?, 'receipt_signing', ?, ?, ?)`,
		nameReceipt, cryptox.Seal(k.root, nil, priv, namedAAD(nameReceipt)), s.PublicBytes(), k.now())
	if err != nil {
		return fmt.Errorf("keys: create receipt signing key: %w", err)
	}
	return nil
}

// ReceiptSigner returns the consent-receipt signer and its key ID. The
// signer signs; it never hands out its private key.
func (k *Keyring) ReceiptSigner() (cryptox.Signer, string) { return k.receipt, k.rcptID }

// ReceiptVerifier returns the verifier for a receipt key ID.
func (k *Keyring) ReceiptVerifier(keyID string) (cryptox.Verifier, bool) {
	if keyID != k.rcptID {
		return nil, false
	}
	return k.receipt, true
}

// ReceiptPublicKey returns the receipt key's ID and public key, which are
// published so anyone can check a receipt.
func (k *Keyring) ReceiptPublicKey() (keyID string, public []byte) {
	return k.rcptID, k.receipt.PublicBytes()
}

// ReceiptKeyID is the key ID a receipt public key of suite has.
func ReceiptKeyID(suite cryptox.Suite, public []byte) string {
	return "receipt-" + keyID(suite, public)
}

// signOnly is a Signer whose private key stays inside.
type signOnly struct{ s cryptox.Signer }

func (o signOnly) Sign(msg []byte) ([]byte, error) { return o.s.Sign(msg) }
func (o signOnly) Verify(msg, sig []byte) bool     { return o.s.Verify(msg, sig) }
func (o signOnly) PublicBytes() []byte             { return o.s.PublicBytes() }
func (o signOnly) PrivateBytes() []byte            { return nil }
