package keys_test

import (
	"bytes"
	"context"
	"testing"

	"gigvault/internal/keys"
	"gigvault/internal/testenv"
)

// TestReceiptKey: the receipt signing key is created with the store, kept
// across restarts, named by its public key, never hands out its private
// key, and is created on the next start of a store made before it existed.
func TestReceiptKey(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			cfg := eng.Config(t)
			c := testenv.Open(t, cfg)
			signer, kid := c.Keys.ReceiptSigner()
			id2, pub := c.Keys.ReceiptPublicKey()
			if kid == "" || kid != id2 || kid != keys.ReceiptKeyID(c.Suite, pub) {
				t.Fatalf("key IDs %q %q, derived %q", kid, id2, keys.ReceiptKeyID(c.Suite, pub))
			}
			if signer.PrivateBytes() != nil {
				t.Fatal("the receipt signer hands out its private key")
			}
			msg := []byte("receipt")
			sig, err := signer.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := c.Keys.ReceiptVerifier(kid)
			if !ok || !v.Verify(msg, sig) {
				t.Fatal("own signature does not verify")
			}
			if _, ok := c.Keys.ReceiptVerifier("receipt-other"); ok {
				t.Fatal("an unknown key ID has a verifier")
			}
			// The audit key is a different key.
			if _, ok := c.Keys.AuditVerifier(kid); ok {
				t.Fatal("the receipt key ID is also an audit key ID")
			}
			pv, err := c.Suite.ParseVerifier(pub)
			if err != nil || !pv.Verify(msg, sig) {
				t.Fatalf("published key does not verify (%v)", err)
			}
			// A key store from before the receipt key: it is created on the next start.
			if _, err := c.KMS.Exec(ctx, `DELETE FROM kms_keys WHERE name = 'receipt-signing'`); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			c2 := testenv.Open(t, cfg)
			_, pub2 := c2.Keys.ReceiptPublicKey()
			if len(pub2) == 0 || bytes.Equal(pub, pub2) {
				t.Fatalf("no new receipt key after it was missing (same: %v)", bytes.Equal(pub, pub2))
			}
			// A restart keeps it.
			if err := c2.Close(); err != nil {
				t.Fatal(err)
			}
			c3 := testenv.Open(t, cfg)
			if _, pub3 := c3.Keys.ReceiptPublicKey(); !bytes.Equal(pub2, pub3) {
				t.Fatal("the receipt key changed across a restart")
			}
		})
	}
}
