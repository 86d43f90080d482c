package keys

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"gigvault/internal/cryptox"
	"gigvault/internal/store"
)

// Seal encrypts plaintext under the subject's data key, creating the key on
// first use, with aad bound into the authentication tag. It returns the
// sealed bytes and the DEK version the caller must present to Open.
func (k *Keyring) Seal(ctx context.Context, subject string, plaintext, aad []byte) ([]byte, int, error) {
	d, err := k.dek(ctx, subject, true)
	if err != nil {
		return nil, 0, err
	}
	return cryptox.Seal(d.aead, nil, plaintext, aad), d.version, nil
}

// Open decrypts what Seal produced. A ciphertext altered, or presented with
// another subject, aad or version, fails with ErrIntegrity; a destroyed key
// with ErrErased.
func (k *Keyring) Open(ctx context.Context, subject string, version int, sealed, aad []byte) ([]byte, error) {
	d, err := k.dek(ctx, subject, false)
	if err != nil {
		return nil, err
	}
	if version != d.version {
		return nil, fmt.Errorf("keys: subject key version %d, ciphertext claims %d: %w", d.version, version, ErrIntegrity)
	}
	pt, err := cryptox.Open(d.aead, nil, sealed, aad)
	if err != nil {
		return nil, ErrIntegrity
	}
	return pt, nil
}

// dek returns the subject's unwrapped data key from the cache or the store.
func (k *Keyring) dek(ctx context.Context, subject string, create bool) (*dek, error) {
	if d, ok := k.cache.Get(subject); ok {
		k.hits.Add(1)
		return d, nil
	}
	k.miss.Add(1)
	for attempt := 0; attempt < 3; attempt++ {
		gen := k.destroys.Load()
		var dekV, kekV int
		var wrapped []byte
		var destroyed sql.NullInt64
		err := k.db.QueryRow(ctx, `SELECT dek_version, kek_version, wrapped, destroyed_at FROM kms_deks WHERE subject_id = ?`, subject).
			Scan(&dekV, &kekV, &wrapped, &destroyed)
		if errors.Is(err, sql.ErrNoRows) {
			if !create {
				return nil, ErrNoKey
			}
			if err := k.createDEK(ctx, subject); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: read data key: %w", err)
		}
		if destroyed.Valid || wrapped == nil {
			return nil, ErrErased
		}
		kek, err := k.kek(ctx, kekV)
		if err != nil {
			if attempt < 2 {
				continue // re-wrapped and its old KEK destroyed since we read it: read again
			}
			return nil, err
		}
		raw, err := cryptox.Open(kek, nil, wrapped, dekAAD(subject, dekV, kekV))
		if err != nil {
			return nil, fmt.Errorf("keys: data key of a subject: %w", ErrIntegrity)
		}
		a, err := k.suite.NewAEAD(raw)
		cryptox.Wipe(raw)
		if err != nil {
			return nil, fmt.Errorf("keys: data key: %w", err)
		}
		d := &dek{aead: a, version: dekV}
		if k.destroys.Load() != gen {
			continue // a Destroy ran while we read: read again rather than cache a dead key
		}
		k.cache.Add(subject, d)
		if k.destroys.Load() != gen {
			k.cache.Remove(subject)
			continue
		}
		return d, nil
	}
	return nil, errors.New("keys: data key vanished while being created")
}

// createDEK makes the subject's data key under the current KEK. A racing
// creator wins harmlessly: the insert does nothing and both read its key.
func (k *Keyring) createDEK(ctx context.Context, subject string) error {
	raw := cryptox.NewKey(k.suite)
	defer cryptox.Wipe(raw)
	return k.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockRoot(ctx, tx, false); err != nil {
			return err
		}
		var kekV int
		if err := tx.QueryRow(ctx, `SELECT version FROM kms_keks WHERE state = 'active' ORDER BY version DESC LIMIT 1`).Scan(&kekV); err != nil {
			return fmt.Errorf("keys: current KEK: %w", err)
		}
		kek, err := k.kek(ctx, kekV)
		if err != nil {
			return err
		}
		wrapped := cryptox.Seal(kek, nil, raw, dekAAD(subject, 1, kekV))
		_, err = tx.Exec(ctx, `INSERT INTO kms_deks (subject_id, dek_version, kek_version, wrapped, created_at)
			VALUES (?, 1, ?, ?, ?) ON CONFLICT (subject_id) DO NOTHING`, subject, kekV, wrapped, k.now())
		if err != nil {
			return fmt.Errorf("keys: store data key: %w", err)
		}
		return nil
	})
}

// Destroy erases the subject's data key for good, leaving a tombstone so the
// subject reads as erased. Every ciphertext sealed under it, in every copy
// of the business database, can no longer be opened. Idempotent.
func (k *Keyring) Destroy(ctx context.Context, subject string) error {
	now := k.now()
	k.destroys.Add(1)
	err := k.db.InTx(ctx, func(tx *store.Tx) error {
		// One statement: a key being created concurrently is either
		// overwritten here or finds the tombstone (no window on PostgreSQL
		// where an UPDATE matches nothing and the INSERT then yields).
		_, err := tx.Exec(ctx, `INSERT INTO kms_deks (subject_id, dek_version, kek_version, wrapped, created_at, destroyed_at)
			VALUES (?, 1, 0, NULL, ?, ?)
			ON CONFLICT (subject_id) DO UPDATE SET wrapped = NULL, destroyed_at = COALESCE(kms_deks.destroyed_at, excluded.destroyed_at)`,
			subject, now, now)
		if err != nil {
			return fmt.Errorf("keys: destroy data key: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kms_blind WHERE subject_id = ?`, subject); err != nil {
			return fmt.Errorf("keys: destroy blind indexes: %w", err)
		}
		return nil
	})
	k.destroys.Add(1)
	k.cache.Remove(subject)
	if err != nil {
		return err
	}
	return k.flush(ctx)
}

// flush moves SQLite's write-ahead log into the main file and truncates it,
// so a destroyed key's old page does not linger in the -wal file; secure
// deletion has already zeroed it in the main file. A reader can hold the
// checkpoint back for a moment, so it is retried; if it still cannot
// complete, the caller hears so (the erasure itself has committed and is
// idempotent to repeat).
func (k *Keyring) flush(ctx context.Context) error {
	if k.db.Engine() != store.SQLite {
		return nil
	}
	for attempt := 0; attempt < 50; attempt++ {
		var busy, logFrames, done int
		if err := k.db.QueryRowWriter(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &done); err != nil {
			return fmt.Errorf("keys: truncate key-store log: %w", err)
		}
		if busy == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return errors.New("keys: key-store log still held by readers; the destroyed key is gone from the table but may linger in keys.db-wal until the next checkpoint")
}

// lockRoot takes the key store's singleton row: shared by data-key
// creation, exclusive for adding a KEK version, so on PostgreSQL a key is
// never created under a version a rotation is retiring, and two rotations
// never run their version change at once. SQLite's single writer already
// serialises these.
func lockRoot(ctx context.Context, tx *store.Tx, exclusive bool) error {
	if tx.Engine() != store.Postgres {
		return nil
	}
	q := `SELECT id FROM kms_root WHERE id = 1 FOR SHARE`
	if exclusive {
		q = `SELECT id FROM kms_root WHERE id = 1 FOR UPDATE`
	}
	var id int
	if err := tx.QueryRow(ctx, q).Scan(&id); err != nil {
		return fmt.Errorf("keys: lock key store: %w", err)
	}
	return nil
}

// blindIndex is a keyed digest (HMAC-SM3 by default) of a normalised value:
// the same field and value always give the same index, and the index
// reveals nothing without the key.
func (k *Keyring) blindIndex(field, normalised string) []byte {
	return cryptox.MAC(k.suite, k.bidx, []byte(field), []byte{0}, []byte(normalised))
}

// IndexEntry is one value to make findable.
type IndexEntry struct {
	Field, Record, Normalised string
}

// Index records blind indexes for a subject's values, in the key store. An
// entry for a record that already has one for another value is added beside
// it; Prune removes the stale ones once the caller's write has committed.
func (k *Keyring) Index(ctx context.Context, subject string, entries ...IndexEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return k.db.InTx(ctx, func(tx *store.Tx) error {
		var destroyed sql.NullInt64
		err := tx.QueryRow(ctx, `SELECT destroyed_at FROM kms_deks WHERE subject_id = ?`, subject).Scan(&destroyed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("keys: index: %w", err)
		}
		if destroyed.Valid {
			return ErrErased
		}
		for _, e := range entries {
			if _, err := tx.ExecHot(ctx, `INSERT INTO kms_blind (subject_id, field, record_id, bidx) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				subject, e.Field, e.Record, k.blindIndex(e.Field, e.Normalised)); err != nil {
				return fmt.Errorf("keys: index: %w", err)
			}
		}
		return nil
	})
}

// Prune drops a subject's index entries for these records other than the
// current values'.
func (k *Keyring) Prune(ctx context.Context, subject string, current ...IndexEntry) error {
	if len(current) == 0 {
		return nil
	}
	return k.db.InTx(ctx, func(tx *store.Tx) error {
		for _, e := range current {
			if _, err := tx.Exec(ctx, `DELETE FROM kms_blind WHERE subject_id = ? AND field = ? AND record_id = ? AND bidx <> ?`,
				subject, e.Field, e.Record, k.blindIndex(e.Field, e.Normalised)); err != nil {
				return fmt.Errorf("keys: prune index: %w", err)
			}
		}
		return nil
	})
}

// Candidate is a (subject, record) whose index matches a look-up. The
// caller confirms it by decrypting.
type Candidate struct{ Subject, Record string }

// Lookup returns the records whose blind index matches the value.
func (k *Keyring) Lookup(ctx context.Context, field, normalised string) ([]Candidate, error) {
	rows, err := k.db.Query(ctx, `SELECT subject_id, record_id FROM kms_blind WHERE field = ? AND bidx = ? ORDER BY subject_id, record_id`,
		field, k.blindIndex(field, normalised))
	if err != nil {
		return nil, fmt.Errorf("keys: look-up: %w", err)
	}
	defer rows.Close()
	var out []Candidate
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.Subject, &c.Record); err != nil {
			return nil, fmt.Errorf("keys: look-up: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SignAudit signs an audit checkpoint with the audit signing key (SM2 by
// default) and returns the key's ID with the signature.
func (k *Keyring) SignAudit(msg []byte) (keyID string, sig []byte, err error) {
	sig, err = k.signer.Sign(msg)
	return k.signerID, sig, err
}

// AuditVerifier returns the verifier for an audit signing key ID.
func (k *Keyring) AuditVerifier(keyID string) (cryptox.Verifier, bool) {
	if keyID != k.signerID {
		return nil, false
	}
	return k.signer, true
}

// CacheStats reports DEK cache hits and misses since start.
func (k *Keyring) CacheStats() (hits, misses uint64) { return k.hits.Load(), k.miss.Load() }

// Tag is a keyed digest of parts for exact matching outside the vault:
// SMS challenges by number, lock-out counters by account, session tokens.
// It uses the blind-index key under its own domain ("tag/…" cannot collide
// with a catalog field name), so a copy of the database holds only values
// that cannot be matched against guesses without the key store.
func (k *Keyring) Tag(domain string, parts ...string) []byte {
	b := []byte("tag/" + domain)
	for _, p := range parts {
		b = binary.AppendUvarint(append(b, 0), uint64(len(p)))
		b = append(b, p...)
	}
	return cryptox.MAC(k.suite, k.bidx, b)
}
