package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"gigvault/internal/cryptox"
	"gigvault/internal/sealkey"
	"gigvault/internal/store"
)

// The platform's contract signing key (GIG-6) is the most critical private
// key, so it is held under dual control (ENC-7): it is wrapped not by the
// root key but by a key-encryption key that exists only as Shamir shares
// held by key officers. A server starts with it sealed; it signs contracts
// only after threshold officers have presented their shares
// (`gigvault keys unseal`), and forgets it when it stops.

// namePlatform is the kms_keys row of the platform contract signing key.
const namePlatform = "contract-platform"

// ErrNoPlatformKey: the platform signing key was never created
// (`gigvault keys init-platform`).
var ErrNoPlatformKey = errors.New("no platform contract signing key: run gigvault keys init-platform")

// ErrPlatformExists: InitPlatform on a store that has the key.
var ErrPlatformExists = errors.New("the platform contract signing key exists already")

// PlatformKey is the public part of the platform signing key.
type PlatformKey struct {
	Public []byte
	Set    sealkey.SetID // the share set that unseals it
}

// platformState is the unsealed platform signer, when it is.
type platformState struct {
	mu     sync.RWMutex
	signer cryptox.Signer
}

// InitPlatform creates the platform signing key and returns the n shares,
// any threshold of which unseal it. The shares are shown once, to be handed
// to n different key officers; the key-encryption key itself is never
// stored.
func (k *Keyring) InitPlatform(ctx context.Context, n, threshold int) ([]sealkey.Share, PlatformKey, error) {
	if _, err := k.PlatformKey(ctx); err == nil {
		return nil, PlatformKey{}, ErrPlatformExists
	} else if !errors.Is(err, ErrNoPlatformKey) {
		return nil, PlatformKey{}, err
	}
	s, err := k.suite.GenerateSigner()
	if err != nil {
		return nil, PlatformKey{}, fmt.Errorf("keys: platform key: %w", err)
	}
	priv := s.PrivateBytes()
	defer cryptox.Wipe(priv)
	kek := cryptox.NewKey(k.suite)
	defer cryptox.Wipe(kek)
	pub := s.PublicBytes()
	set := sealkey.SetIDFor(k.suite, pub)
	shares, err := sealkey.SplitSet(set, kek, n, threshold)
	if err != nil {
		return nil, PlatformKey{}, err
	}
	wrapped, err := sealkey.Wrap(k.suite, kek, priv, namedAAD(namePlatform))
	if err != nil {
		return nil, PlatformKey{}, fmt.Errorf("keys: platform key: %w", err)
	}
	_, err = k.db.Exec(ctx, `INSERT INTO kms_keys (name, purpose, wrapped, public_key, created_at) VALUES (?, 'contract_platform', ?, ?, ?)`,
		namePlatform, wrapped, pub, k.now())
	if store.IsUniqueViolation(err) {
		return nil, PlatformKey{}, ErrPlatformExists
	}
	if err != nil {
		return nil, PlatformKey{}, fmt.Errorf("keys: platform key: %w", err)
	}
	return shares, PlatformKey{Public: pub, Set: set}, nil
}

// PlatformKey returns the platform key's public part; ErrNoPlatformKey
// when there is none.
func (k *Keyring) PlatformKey(ctx context.Context) (PlatformKey, error) {
	var pub []byte
	err := k.db.QueryRow(ctx, `SELECT public_key FROM kms_keys WHERE name = ?`, namePlatform).Scan(&pub)
	if errors.Is(err, sql.ErrNoRows) {
		return PlatformKey{}, ErrNoPlatformKey
	}
	if err != nil {
		return PlatformKey{}, fmt.Errorf("keys: platform key: %w", err)
	}
	return PlatformKey{Public: pub, Set: sealkey.SetIDFor(k.suite, pub)}, nil
}

// UnsealPlatform opens the platform signing key with the key-encryption
// key the officers' shares combine to; a wrong key fails its integrity
// check and leaves it sealed.
func (k *Keyring) UnsealPlatform(ctx context.Context, kek []byte) error {
	var wrapped []byte
	err := k.db.QueryRow(ctx, `SELECT wrapped FROM kms_keys WHERE name = ?`, namePlatform).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoPlatformKey
	}
	if err != nil {
		return fmt.Errorf("keys: platform key: %w", err)
	}
	priv, err := sealkey.Unwrap(k.suite, kek, wrapped, namedAAD(namePlatform))
	if err != nil {
		return fmt.Errorf("keys: platform key: the shares do not open it: %w", ErrIntegrity)
	}
	defer cryptox.Wipe(priv)
	s, err := k.suite.ParseSigner(priv)
	if err != nil {
		return fmt.Errorf("keys: platform key: %w", err)
	}
	k.platform.mu.Lock()
	k.platform.signer = signOnly{s}
	k.platform.mu.Unlock()
	return nil
}

// PlatformSigner returns the unsealed platform signer; ok is false while
// it is sealed. The signer never hands out its private key.
func (k *Keyring) PlatformSigner() (s cryptox.Signer, ok bool) {
	k.platform.mu.RLock()
	defer k.platform.mu.RUnlock()
	return k.platform.signer, k.platform.signer != nil
}

// SealPlatform forgets the unsealed platform signer.
func (k *Keyring) SealPlatform() {
	k.platform.mu.Lock()
	k.platform.signer = nil
	k.platform.mu.Unlock()
}

// Suite is the key store's crypto suite.
func (k *Keyring) Suite() cryptox.Suite { return k.suite }

// nameTransfer is the kms_keys row of the payout transfer key.
const nameTransfer = "payout-transfer"

// TransferKey returns the symmetric key that seals bank payment files for
// transfer (GIG-7), creating it on first use. It is the one key this
// package hands out: the bank holds the same key, exchanged out of band
// (gigvault keys transfer-key), to open the files.
func (k *Keyring) TransferKey(ctx context.Context) ([]byte, error) {
	return k.symmetric(ctx, nameTransfer, "payout_transfer")
}

// symmetric returns the named symmetric key, wrapped by the root key in
// kms_keys, creating it on first use (concurrent first uses agree on one).
func (k *Keyring) symmetric(ctx context.Context, name, purpose string) ([]byte, error) {
	var wrapped []byte
	err := k.db.QueryRow(ctx, `SELECT wrapped FROM kms_keys WHERE name = ?`, name).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		key := cryptox.NewKey(k.suite)
		defer cryptox.Wipe(key)
		_, err = k.db.Exec(ctx, `INSERT INTO kms_keys (name, purpose, wrapped, public_key, created_at) VALUES (?, ?, ?, NULL, ?)`,
			name, purpose, cryptox.Seal(k.root, nil, key, namedAAD(name)), k.now())
		if err != nil && !store.IsUniqueViolation(err) {
			return nil, fmt.Errorf("keys: %s key: %w", purpose, err)
		}
		err = k.db.QueryRow(ctx, `SELECT wrapped FROM kms_keys WHERE name = ?`, name).Scan(&wrapped)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %s key: %w", purpose, err)
	}
	key, err := cryptox.Open(k.root, nil, wrapped, namedAAD(name))
	if err != nil {
		return nil, fmt.Errorf("keys: %s key: %w", purpose, ErrIntegrity)
	}
	return key, nil
}
