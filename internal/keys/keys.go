// Package keys is gigvault's key management: the root key, versioned
// key-encryption keys (KEKs), one data key (DEK) per data subject, the
// blind-index key and the audit signing key (ENC-2).
//
// Like upspin's Factotum, a Keyring performs key operations — seal, open,
// index, sign, destroy — and never hands key bytes to its callers. Keys are
// kept in their own store (store.KMS), apart from the business database, so
// a copy of the business database carries only ciphertext: destroying a
// subject's DEK here makes every copy of their data noise (ENC-5).
//
// Hierarchy: root key → KEK versions (wrapped by the root) → one DEK per
// subject (wrapped by a KEK) → field ciphertext. Rotation adds a KEK version
// and re-wraps DEKs; field data is never rewritten.
package keys

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/store"
)

// Errors returned by a Keyring.
var (
	// ErrWrongRoot: the master key does not open this key store.
	ErrWrongRoot = errors.New("the master key does not match this key store")
	// ErrSuiteMismatch: the key store was created with another crypto suite.
	ErrSuiteMismatch = errors.New("the key store uses another crypto suite")
	// ErrErased: the subject's data key was destroyed; their data is gone.
	ErrErased = errors.New("subject erased: data key destroyed")
	// ErrNoKey: the subject has no data key (nothing was ever sealed for them).
	ErrNoKey = errors.New("subject has no data key")
	// ErrIntegrity: a ciphertext failed authentication — altered, or moved
	// from another subject, field, record or key version.
	ErrIntegrity = errors.New("ciphertext failed its integrity check")
)

// Options tune a Keyring. Zero values take the defaults.
type Options struct {
	// CacheSize bounds how many unwrapped DEKs are kept in memory (default 100,000).
	CacheSize int
	// CacheTTL bounds how long an unwrapped DEK stays cached (default 10 minutes).
	CacheTTL time.Duration
	Clock    clock.Clock
}

// Keyring is the key agent. It is safe for concurrent use.
type Keyring struct {
	db    *store.DB
	suite cryptox.Suite
	clk   clock.Clock
	root  cipher.AEAD
	gen   bool

	mu   sync.RWMutex
	keks map[int]cipher.AEAD

	cache    *expirable.LRU[string, *dek]
	hits     atomic.Uint64
	miss     atomic.Uint64
	destroys atomic.Uint64 // bumped around every Destroy: a read that overlaps one is not cached

	bidx     []byte
	signer   cryptox.Signer
	signerID string
	receipt  cryptox.Signer // consent-receipt signing key (SM2 by default)
	rcptID   string
	platform platformState // the contract signing key, once unsealed (platform.go)
	origin   string        // "generated" or "configured": the root the store was created under
}

type dek struct {
	aead    cipher.AEAD
	version int
}

const (
	nameBlindIndex = "blind-index"
	nameAuditSign  = "audit-signing"
	nameReceipt    = "receipt-signing"
	checkPlain     = "gigvault key store check"
)

// Open loads the key store, creating its first keys on an empty store. A
// wrong master key or another suite is refused before anything is written.
func Open(ctx context.Context, db *store.DB, suite cryptox.Suite, root *Root, opts Options) (*Keyring, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 100_000
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 10 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	wrapKey := cryptox.Digest(suite, []byte("gigvault/root-wrap/v1\x00"), root.key)[:suite.KeySize()]
	rootAEAD, err := suite.NewAEAD(wrapKey)
	cryptox.Wipe(wrapKey)
	if err != nil {
		return nil, fmt.Errorf("keys: root key: %w", err)
	}
	k := &Keyring{
		db: db, suite: suite, clk: opts.Clock, root: rootAEAD, gen: root.Generated,
		keks:  map[int]cipher.AEAD{},
		cache: expirable.NewLRU[string, *dek](opts.CacheSize, nil, opts.CacheTTL),
	}
	for attempt := 0; ; attempt++ {
		var suiteName string
		var check []byte
		err := db.QueryRow(ctx, `SELECT suite, check_value, origin FROM kms_root WHERE id = 1`).Scan(&suiteName, &check, &k.origin)
		if errors.Is(err, sql.ErrNoRows) && attempt == 0 {
			if err := k.initialise(ctx); err != nil && !store.IsUniqueViolation(err) {
				return nil, err
			}
			continue // re-read what we (or a racing node) wrote
		}
		if err != nil {
			return nil, fmt.Errorf("keys: read key store: %w", err)
		}
		if suiteName != suite.Name() {
			return nil, fmt.Errorf("keys: %w: store has %q, configured %q", ErrSuiteMismatch, suiteName, suite.Name())
		}
		if _, err := cryptox.Open(rootAEAD, nil, check, []byte("gigvault/kms-check")); err != nil {
			return nil, fmt.Errorf("keys: %w (nothing was changed)", ErrWrongRoot)
		}
		break
	}
	if err := k.loadKEKs(ctx); err != nil {
		return nil, err
	}
	if err := k.loadNamed(ctx); err != nil {
		return nil, err
	}
	if err := k.loadReceiptKey(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *Keyring) now() int64 { return k.clk.Now().UnixMicro() }

func kekAAD(v int) []byte { return []byte("gigvault/kek/" + strconv.Itoa(v)) }

func dekAAD(subject string, dekV, kekV int) []byte {
	return []byte("gigvault/dek/" + subject + "/" + strconv.Itoa(dekV) + "/" + strconv.Itoa(kekV))
}

func namedAAD(name string) []byte { return []byte("gigvault/key/" + name) }

func (k *Keyring) initialise(ctx context.Context) error {
	check := cryptox.Seal(k.root, nil, []byte(checkPlain), []byte("gigvault/kms-check"))
	kek := cryptox.NewKey(k.suite)
	defer cryptox.Wipe(kek)
	bidx := cryptox.NewKey(k.suite)
	defer cryptox.Wipe(bidx)
	signer, err := k.suite.GenerateSigner()
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	now := k.now()
	return k.db.InTx(ctx, func(tx *store.Tx) error {
		origin := "configured"
		if k.gen {
			origin = "generated"
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kms_root (id, suite, check_value, origin, created_at) VALUES (1, ?, ?, ?, ?)`, k.suite.Name(), check, origin, now); err != nil {
			return fmt.Errorf("keys: initialise: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kms_keks (version, wrapped, state, created_at) VALUES (1, ?, 'active', ?)`,
			cryptox.Seal(k.root, nil, kek, kekAAD(1)), now); err != nil {
			return fmt.Errorf("keys: initialise KEK: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kms_keys (name, purpose, wrapped, created_at) VALUES (?, 'blind_index', ?, ?)`,
			nameBlindIndex, cryptox.Seal(k.root, nil, bidx, namedAAD(nameBlindIndex)), now); err != nil {
			return fmt.Errorf("keys: initialise blind-index key: %w", err)
		}
		priv := signer.PrivateBytes()
		defer cryptox.Wipe(priv)
		if _, err := tx.Exec(ctx, `INSERT INTO kms_keys (name, purpose, wrapped, public_key, created_at) VALUES (?, 'audit_signing', ?, ?, ?)`,
			nameAuditSign, cryptox.Seal(k.root, nil, priv, namedAAD(nameAuditSign)), signer.PublicBytes(), now); err != nil {
			return fmt.Errorf("keys: initialise audit signing key: %w", err)
		}
		return nil
	})
}

// loadKEKs unwraps every KEK that still has key material.
func (k *Keyring) loadKEKs(ctx context.Context) error {
	rows, err := k.db.Query(ctx, `SELECT version, wrapped FROM kms_keks WHERE wrapped IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("keys: load KEKs: %w", err)
	}
	defer rows.Close()
	loaded := map[int]cipher.AEAD{}
	for rows.Next() {
		var v int
		var wrapped []byte
		if err := rows.Scan(&v, &wrapped); err != nil {
			return fmt.Errorf("keys: load KEKs: %w", err)
		}
		raw, err := cryptox.Open(k.root, nil, wrapped, kekAAD(v))
		if err != nil {
			return fmt.Errorf("keys: KEK version %d: %w", v, ErrIntegrity)
		}
		a, err := k.suite.NewAEAD(raw)
		cryptox.Wipe(raw)
		if err != nil {
			return fmt.Errorf("keys: KEK version %d: %w", v, err)
		}
		loaded[v] = a
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("keys: load KEKs: %w", err)
	}
	k.mu.Lock()
	k.keks = loaded
	k.mu.Unlock()
	return nil
}

func (k *Keyring) loadNamed(ctx context.Context) error {
	var wrapped []byte
	if err := k.db.QueryRow(ctx, `SELECT wrapped FROM kms_keys WHERE name = ?`, nameBlindIndex).Scan(&wrapped); err != nil {
		return fmt.Errorf("keys: load blind-index key: %w", err)
	}
	raw, err := cryptox.Open(k.root, nil, wrapped, namedAAD(nameBlindIndex))
	if err != nil {
		return fmt.Errorf("keys: blind-index key: %w", ErrIntegrity)
	}
	k.bidx = raw
	signer, pub, err := k.loadSigner(ctx, nameAuditSign)
	if err != nil {
		return fmt.Errorf("keys: audit signing key: %w", err)
	}
	k.signer, k.signerID = signer, keyID(k.suite, pub)
	return nil
}

// loadSigner unwraps the named signing key and returns it with its public
// key; sql.ErrNoRows when the store has none by that name.
func (k *Keyring) loadSigner(ctx context.Context, name string) (cryptox.Signer, []byte, error) {
	var wrapped, pub []byte
	if err := k.db.QueryRow(ctx, `SELECT wrapped, public_key FROM kms_keys WHERE name = ?`, name).Scan(&wrapped, &pub); err != nil {
		return nil, nil, err
	}
	priv, err := cryptox.Open(k.root, nil, wrapped, namedAAD(name))
	if err != nil {
		return nil, nil, ErrIntegrity
	}
	defer cryptox.Wipe(priv)
	s, err := k.suite.ParseSigner(priv)
	if err != nil {
		return nil, nil, err
	}
	return s, pub, nil
}

func keyID(s cryptox.Suite, pub []byte) string {
	return s.Name() + ":" + hex.EncodeToString(cryptox.Digest(s, pub)[:8])
}

// kek returns the unwrapped KEK of version v, reloading once if another
// node rotated since this one loaded.
func (k *Keyring) kek(ctx context.Context, v int) (cipher.AEAD, error) {
	k.mu.RLock()
	a, ok := k.keks[v]
	k.mu.RUnlock()
	if ok {
		return a, nil
	}
	if err := k.loadKEKs(ctx); err != nil {
		return nil, err
	}
	k.mu.RLock()
	a, ok = k.keks[v]
	k.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("keys: KEK version %d is not available", v)
	}
	return a, nil
}

// CreatedUnderGeneratedRoot reports whether the key store was first created
// under a generated development key — true even if that key's bytes were
// later copied into GIGVAULT_MASTER_KEY.
func (k *Keyring) CreatedUnderGeneratedRoot() bool { return k.origin == "generated" }

// StoreID identifies this key store (its audit signing key's ID), so the
// business database can be bound to it.
func (k *Keyring) StoreID() string { return k.signerID }
