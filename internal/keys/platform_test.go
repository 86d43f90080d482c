package keys_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"gigvault/internal/cryptox"
	"gigvault/internal/keys"
	"gigvault/internal/sealkey"
	"gigvault/internal/testenv"
)

// TestPlatformKey: the platform key exists only after InitPlatform, once;
// it is sealed at start, any two of three shares unseal it, one share or a
// wrong key does not, its signer never hands out the private key, and
// SealPlatform forgets it.
func TestPlatformKey(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			c := testenv.Open(t, eng.Config(t))
			if _, err := c.Keys.PlatformKey(ctx); !errors.Is(err, keys.ErrNoPlatformKey) {
				t.Fatalf("before init: %v", err)
			}
			shares, pk, err := c.Keys.InitPlatform(ctx, 3, 2)
			if err != nil || len(shares) != 3 || len(pk.Public) == 0 {
				t.Fatalf("init: %d shares %v", len(shares), err)
			}
			if _, _, err := c.Keys.InitPlatform(ctx, 3, 2); !errors.Is(err, keys.ErrPlatformExists) {
				t.Fatalf("second init: %v", err)
			}
			got, err := c.Keys.PlatformKey(ctx)
			if err != nil || !bytes.Equal(got.Public, pk.Public) || got.Set != pk.Set || shares[0].SetID != pk.Set {
				t.Fatalf("public part %+v %v", got, err)
			}
			if _, ok := c.Keys.PlatformSigner(); ok {
				t.Fatal("unsealed before any share")
			}
			if _, err := sealkey.Combine(shares[:1]); err == nil {
				t.Fatal("one share combined")
			}
			if err := c.Keys.UnsealPlatform(ctx, cryptox.NewKey(c.Suite)); !errors.Is(err, keys.ErrIntegrity) {
				t.Fatalf("a wrong key: %v", err)
			}
			if _, ok := c.Keys.PlatformSigner(); ok {
				t.Fatal("a wrong key unsealed it")
			}
			kek, err := sealkey.Combine([]sealkey.Share{shares[2], shares[0]})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Keys.UnsealPlatform(ctx, kek); err != nil {
				t.Fatal(err)
			}
			s, ok := c.Keys.PlatformSigner()
			if !ok || !bytes.Equal(s.PublicBytes(), pk.Public) || s.PrivateBytes() != nil {
				t.Fatalf("unsealed signer: ok %v, private bytes handed out %v", ok, s != nil && s.PrivateBytes() != nil)
			}
			sig, err := s.Sign([]byte("contract"))
			if err != nil || !s.Verify([]byte("contract"), sig) {
				t.Fatalf("sign: %v", err)
			}
			c.Keys.SealPlatform()
			if _, ok := c.Keys.PlatformSigner(); ok {
				t.Fatal("still unsealed after SealPlatform")
			}
		})
	}
}

// TestTransferKey: the payout transfer key is created once and the same
// on every call.
func TestTransferKey(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			ctx := context.Background()
			c := testenv.Open(t, eng.Config(t))
			a, err := c.Keys.TransferKey(ctx)
			if err != nil || len(a) != c.Suite.KeySize() {
				t.Fatalf("transfer key: %d bytes, %v", len(a), err)
			}
			b, err := c.Keys.TransferKey(ctx)
			if err != nil || !bytes.Equal(a, b) {
				t.Fatalf("second call differs: %v", err)
			}
		})
	}
}
