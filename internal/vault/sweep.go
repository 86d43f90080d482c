package vault

import (
	"context"
	"fmt"

	"gigvault/internal/keys"
	"gigvault/internal/store"
)

// StoredRef names one stored value by its place and version, never by its
// content: what the retention sweeper selects and hands back to SweepTx.
type StoredRef struct {
	Subject, Field, Record string
	// UpdatedAt is the version the caller examined (Unix µs). A value
	// written again since then is a new value with a new expiry, and
	// SweepTx leaves it alone.
	UpdatedAt int64
}

// sweptIndex is the normalised value handed to keys.Prune for a swept
// value of an indexed field: Prune keeps only the entry of the value it is
// given, and no stored value normalises to this, so every entry of the
// record goes.
const sweptIndex = "\x00gigvault: value deleted by retention\x00"

// SweepTx deletes the stored values refs names, inside the caller's
// transaction, for the retention sweeper (RET-1, RET-4). A value is deleted
// only if it is still the version the caller examined (the same
// updated_at), so a value re-written between the sweeper's selection and
// this transaction — on another node, or through another PostgreSQL
// connection — survives with its new expiry. SweepTx returns the refs it
// deleted, in their order: exactly those rows, so the caller's audit count
// is exact even when two sweepers race.
//
// Nothing is decrypted, so nothing is read in the audit sense. SweepTx
// does not audit: the caller appends, in tx, the entry that records the
// deletion (time, tool, method and what, described without values, AUD-4)
// because only the caller knows the rule that made the values due. Rows go
// with secure_delete on SQLite (freed pages zeroed); on PostgreSQL the dead
// tuples stay until VACUUM, as for every deletion.
//
// Blind-index entries of deleted values of indexed fields are removed from
// the key store once tx commits; if that fails they are left to look-ups,
// which confirm every candidate by decrypting and so find nothing.
func (v *Vault) SweepTx(ctx context.Context, tx *store.Tx, refs []StoredRef) ([]StoredRef, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var deleted []StoredRef
	var err error
	if tx.Engine() == store.Postgres {
		deleted, err = sweepPostgres(ctx, tx, refs)
	} else {
		deleted, err = sweepSQLite(ctx, tx, refs)
	}
	if err != nil {
		return nil, err
	}
	v.forgetIndexes(ctx, tx, deleted)
	return deleted, nil
}

// sweepSQLite deletes one row per statement, prepared once per
// transaction: on the single SQLite writer this is as fast as a multi-row
// statement (measured) and reports each row's fate through RowsAffected.
func sweepSQLite(ctx context.Context, tx *store.Tx, refs []StoredRef) ([]StoredRef, error) {
	out := make([]StoredRef, 0, len(refs))
	for _, r := range refs {
		res, err := tx.ExecHot(ctx, `DELETE FROM pi_values WHERE subject_id = ? AND field = ? AND record_id = ? AND updated_at = ?`,
			r.Subject, r.Field, r.Record, r.UpdatedAt)
		if err != nil {
			return nil, fmt.Errorf("vault: sweep: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// sweepPostgres deletes the batch in one statement over arrays (one round
// trip, four parameters whatever the batch size) and learns which rows went
// from RETURNING.
func sweepPostgres(ctx context.Context, tx *store.Tx, refs []StoredRef) ([]StoredRef, error) {
	subjects, fields, records := make([]string, len(refs)), make([]string, len(refs)), make([]string, len(refs))
	versions := make([]int64, len(refs))
	for i, r := range refs {
		subjects[i], fields[i], records[i], versions[i] = r.Subject, r.Field, r.Record, r.UpdatedAt
	}
	rows, err := tx.Query(ctx, `DELETE FROM pi_values p USING unnest(?::text[], ?::text[], ?::text[], ?::bigint[]) AS d (s, f, r, u)
		WHERE p.subject_id = d.s AND p.field = d.f AND p.record_id = d.r AND p.updated_at = d.u
		RETURNING p.subject_id, p.field, p.record_id`, subjects, fields, records, versions)
	if err != nil {
		return nil, fmt.Errorf("vault: sweep: %w", err)
	}
	gone := make(map[[3]string]bool, len(refs))
	for rows.Next() {
		var k [3]string
		if err := rows.Scan(&k[0], &k[1], &k[2]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("vault: sweep: %w", err)
		}
		gone[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vault: sweep: %w", err)
	}
	out := make([]StoredRef, 0, len(gone))
	for _, r := range refs {
		if k := [3]string{r.Subject, r.Field, r.Record}; gone[k] {
			out = append(out, r)
			delete(gone, k) // a ref listed twice is deleted once
		}
	}
	return out, nil
}

// forgetIndexes drops, after tx commits, the blind-index entries of the
// deleted values of fields the catalog indexes (or no longer declares, so
// may once have indexed). None of the embedded catalog's fixed-retention
// fields is indexed, so this is normally a no-op.
func (v *Vault) forgetIndexes(ctx context.Context, tx *store.Tx, deleted []StoredRef) {
	bySubject := map[string][]keys.IndexEntry{}
	for _, r := range deleted {
		if f, ok := v.cat.Field(r.Field); ok && !f.Indexed {
			continue
		}
		bySubject[r.Subject] = append(bySubject[r.Subject], keys.IndexEntry{Field: r.Field, Record: r.Record, Normalised: sweptIndex})
	}
	if len(bySubject) == 0 {
		return
	}
	tx.AfterCommit(func() {
		ctx := context.WithoutCancel(ctx)
		for subject, entries := range bySubject {
			_ = v.keys.Prune(ctx, subject, entries...)
		}
	})
}
