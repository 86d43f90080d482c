package keys

import (
	"context"
	"fmt"

	"gigvault/internal/cryptox"
	"gigvault/internal/store"
)

// Progress receives how many data keys are done out of a total.
type Progress func(done, total int)

// RotateResult says what a rotation did.
type RotateResult struct {
	Version   int  // the active KEK version afterwards
	Resumed   bool // an interrupted rotation was finished instead of starting a new one
	Rewrapped int  // data keys re-wrapped
	Destroyed int  // old KEK versions destroyed
}

const rewrapBatch = 256

// Rotate adds a KEK version and re-wraps every live data key under it, in
// batches, while other processes keep sealing and opening: field data is not
// rewritten. If a previous rotation was interrupted, Rotate finishes it
// instead of adding another version. Old versions are destroyed once no data
// key needs them.
func (k *Keyring) Rotate(ctx context.Context, progress Progress) (RotateResult, error) {
	var res RotateResult
	active, resumed, err := k.startRotation(ctx)
	if err != nil {
		return res, err
	}
	res.Resumed = resumed
	pending, err := k.countBelow(ctx, active)
	if err != nil {
		return res, err
	}
	res.Version = active
	if err := k.loadKEKs(ctx); err != nil {
		return res, err
	}
	if _, err := k.kek(ctx, active); err != nil {
		return res, err
	}
	total := pending
	for {
		n, err := k.rewrapBatch(ctx, active)
		if err != nil {
			return res, err
		}
		if n == 0 {
			destroyed, done, err := k.retireOld(ctx, active)
			if err != nil {
				return res, err
			}
			if done {
				res.Destroyed = destroyed
				break
			}
			continue // a straggler appeared; sweep again
		}
		if n < 0 {
			continue
		}
		res.Rewrapped += n
		if res.Rewrapped > total {
			total = res.Rewrapped
		}
		if progress != nil {
			progress(res.Rewrapped, total)
		}
	}
	if progress != nil {
		progress(res.Rewrapped, max(total, res.Rewrapped))
	}
	if err := k.loadKEKs(ctx); err != nil {
		return res, err
	}
	return res, k.flush(ctx)
}

func (k *Keyring) countBelow(ctx context.Context, v int) (int, error) {
	var n int
	err := k.db.QueryRow(ctx, `SELECT COUNT(*) FROM kms_deks WHERE wrapped IS NOT NULL AND kek_version < ?`, v).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("keys: count data keys to re-wrap: %w", err)
	}
	return n, nil
}

// startRotation, under the key store's exclusive lock, either finds an
// unfinished rotation (a retiring version, or data keys under an older
// version) and returns its target to resume, or adds a new active version.
func (k *Keyring) startRotation(ctx context.Context) (version int, resumed bool, err error) {
	raw := cryptox.NewKey(k.suite)
	defer cryptox.Wipe(raw)
	err = k.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockRoot(ctx, tx, true); err != nil {
			return err
		}
		var active, unfinished int
		if err := tx.QueryRow(ctx, `SELECT version FROM kms_keks WHERE state = 'active' ORDER BY version DESC LIMIT 1`).Scan(&active); err != nil {
			return fmt.Errorf("keys: active KEK: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM kms_keks WHERE state = 'retiring')
			+ (SELECT COUNT(*) FROM kms_deks WHERE wrapped IS NOT NULL AND kek_version < ?)`, active).Scan(&unfinished); err != nil {
			return fmt.Errorf("keys: rotation state: %w", err)
		}
		if unfinished > 0 {
			version, resumed = active, true
			return nil
		}
		version, resumed = active+1, false
		if _, err := tx.Exec(ctx, `UPDATE kms_keks SET state = 'retiring' WHERE state = 'active'`); err != nil {
			return fmt.Errorf("keys: retire KEK: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kms_keks (version, wrapped, state, created_at) VALUES (?, ?, 'active', ?)`,
			version, cryptox.Seal(k.root, nil, raw, kekAAD(version)), k.now()); err != nil {
			return fmt.Errorf("keys: add KEK version: %w", err)
		}
		return nil
	})
	return version, resumed, err
}

type rewrapRow struct {
	subject    string
	dekV, kekV int
	wrapped    []byte
}

// rewrapBatch moves up to rewrapBatch data keys onto the active KEK. Each
// update is conditional on the key being unchanged, so a concurrent destroy
// or another rotator is never overwritten.
func (k *Keyring) rewrapBatch(ctx context.Context, active int) (int, error) {
	rows, err := k.db.Query(ctx, `SELECT subject_id, dek_version, kek_version, wrapped FROM kms_deks
		WHERE wrapped IS NOT NULL AND kek_version < ? ORDER BY subject_id LIMIT ?`, active, rewrapBatch)
	if err != nil {
		return 0, fmt.Errorf("keys: list data keys: %w", err)
	}
	var batch []rewrapRow
	for rows.Next() {
		var r rewrapRow
		if err := rows.Scan(&r.subject, &r.dekV, &r.kekV, &r.wrapped); err != nil {
			rows.Close()
			return 0, fmt.Errorf("keys: list data keys: %w", err)
		}
		batch = append(batch, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("keys: list data keys: %w", err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	target, err := k.kek(ctx, active)
	if err != nil {
		return 0, err
	}
	done := 0
	err = k.db.InTx(ctx, func(tx *store.Tx) error {
		done = 0
		for _, r := range batch {
			old, err := k.kek(ctx, r.kekV)
			if err != nil {
				return err
			}
			raw, err := cryptox.Open(old, nil, r.wrapped, dekAAD(r.subject, r.dekV, r.kekV))
			if err != nil {
				return fmt.Errorf("keys: re-wrap data key: %w", ErrIntegrity)
			}
			wrapped := cryptox.Seal(target, nil, raw, dekAAD(r.subject, r.dekV, active))
			cryptox.Wipe(raw)
			upd, err := tx.Exec(ctx, `UPDATE kms_deks SET wrapped = ?, kek_version = ? WHERE subject_id = ? AND kek_version = ? AND wrapped IS NOT NULL`,
				wrapped, active, r.subject, r.kekV)
			if err != nil {
				return fmt.Errorf("keys: re-wrap data key: %w", err)
			}
			if n, _ := upd.RowsAffected(); n == 1 {
				done++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if done == 0 {
		done = -1 // rows were seen but all changed under us: not "nothing left", look again
	}
	return done, nil
}

// retireOld destroys KEK versions older than active once no data key needs
// them. It reports false when a straggler appeared and must be re-wrapped.
func (k *Keyring) retireOld(ctx context.Context, active int) (int, bool, error) {
	var destroyed int
	done := false
	err := k.db.InTx(ctx, func(tx *store.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE kms_keks SET state = 'destroyed', wrapped = NULL, destroyed_at = ?
			WHERE version < ? AND state <> 'destroyed'`, k.now(), active)
		if err != nil {
			return fmt.Errorf("keys: destroy old KEKs: %w", err)
		}
		var left int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM kms_deks WHERE wrapped IS NOT NULL AND kek_version < ?`, active).Scan(&left); err != nil {
			return fmt.Errorf("keys: count data keys to re-wrap: %w", err)
		}
		if left > 0 {
			return errStraggler
		}
		n, _ := res.RowsAffected()
		destroyed, done = int(n), true
		return nil
	})
	if err == errStraggler {
		return 0, false, nil
	}
	return destroyed, done, err
}

var errStraggler = fmt.Errorf("keys: a data key still uses an old KEK")

// Status describes the key store without revealing any key.
type Status struct {
	Suite       string
	RootOrigin  string
	Generated   bool
	KEKs        []KEKStatus
	LiveDEKs    int
	Destroyed   int
	CacheHits   uint64
	CacheMisses uint64
	AuditKeyID  string
}

// KEKStatus is one KEK version.
type KEKStatus struct {
	Version   int
	State     string
	CreatedAt int64
	DEKs      int
}

// Status reports key versions, data-key counts and cache figures.
func (k *Keyring) Status(ctx context.Context) (Status, error) {
	st := Status{Suite: k.suite.Name(), Generated: k.gen, AuditKeyID: k.signerID}
	st.CacheHits, st.CacheMisses = k.CacheStats()
	rows, err := k.db.Query(ctx, `SELECT v.version, v.state, v.created_at,
		(SELECT COUNT(*) FROM kms_deks d WHERE d.kek_version = v.version AND d.wrapped IS NOT NULL)
		FROM kms_keks v ORDER BY v.version`)
	if err != nil {
		return st, fmt.Errorf("keys: status: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s KEKStatus
		if err := rows.Scan(&s.Version, &s.State, &s.CreatedAt, &s.DEKs); err != nil {
			return st, fmt.Errorf("keys: status: %w", err)
		}
		st.KEKs = append(st.KEKs, s)
		st.LiveDEKs += s.DEKs
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("keys: status: %w", err)
	}
	if err := k.db.QueryRow(ctx, `SELECT COUNT(*) FROM kms_deks WHERE wrapped IS NULL`).Scan(&st.Destroyed); err != nil {
		return st, fmt.Errorf("keys: status: %w", err)
	}
	return st, nil
}
