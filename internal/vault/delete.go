package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// DeleteTx deletes every value of the named fields of a subject inside the
// caller's transaction — a person deleting part of their data (DSR-4), or
// the profile behind personalised recommendations (CON-11) — and audits it
// as pi.delete with the number of values removed. Blind-index entries of
// deleted values are left to look-ups, which confirm every candidate by
// decrypting and so find nothing.
func (v *Vault) DeleteTx(ctx context.Context, tx *store.Tx, actor Actor, purpose, subject string, fields ...string) (int, error) {
	if len(fields) == 0 {
		return 0, nil
	}
	for _, f := range fields {
		if _, ok := v.cat.Field(f); !ok {
			return 0, errs.New(errs.Invalid, "fields", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog").With("", []string{f}, "")
		}
	}
	if err := v.lockLiveSubject(ctx, tx, subject, false); err != nil {
		return 0, err
	}
	args := []any{subject}
	for _, f := range fields {
		args = append(args, f)
	}
	res, err := tx.Exec(ctx, `DELETE FROM pi_values WHERE subject_id = ? AND field IN (?`+strings.Repeat(", ?", len(fields)-1)+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("vault: delete: %w", err)
	}
	n, _ := res.RowsAffected()
	detail := withDecision(ctx, map[string]string{"values": fmt.Sprint(n)})
	return int(n), v.log.Append(ctx, tx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.delete", Subject: subject,
		Fields: audit.SortedFields(fields...), Purpose: purpose, Outcome: "ok", Detail: detail})
}

// PruneTx keeps only the newest keep values of a multi-valued field of a
// subject that were written at or after since, deleting the rest inside
// the caller's transaction — a bounded history kept as the catalog's
// retention says (search keywords, GIG-3). A deletion is audited as
// pi.delete with reason "retention".
func (v *Vault) PruneTx(ctx context.Context, tx *store.Tx, actor Actor, purpose, subject, field string, keep int, since time.Time) (int, error) {
	if _, ok := v.cat.Field(field); !ok {
		return 0, errs.New(errs.Invalid, "fields", "该字段未在个人信息目录中声明", "a field is not declared in the PI catalog").With("", []string{field}, "")
	}
	rows, err := tx.Query(ctx, `SELECT record_id, updated_at FROM pi_values WHERE subject_id = ? AND field = ? ORDER BY updated_at DESC, record_id DESC`, subject, field)
	if err != nil {
		return 0, fmt.Errorf("vault: prune: %w", err)
	}
	var drop []any
	i := 0
	for rows.Next() {
		var rec string
		var at int64
		if err := rows.Scan(&rec, &at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("vault: prune: %w", err)
		}
		if i >= keep || at < since.UnixMicro() {
			drop = append(drop, rec)
		}
		i++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("vault: prune: %w", err)
	}
	if len(drop) == 0 {
		return 0, nil
	}
	args := append([]any{subject, field}, drop...)
	res, err := tx.Exec(ctx, `DELETE FROM pi_values WHERE subject_id = ? AND field = ? AND record_id IN (?`+strings.Repeat(", ?", len(drop)-1)+`)`, args...)
	if err != nil {
		return 0, fmt.Errorf("vault: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), v.log.Append(ctx, tx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.delete", Subject: subject,
		Fields: audit.SortedFields(field), Purpose: purpose, Outcome: "ok", Detail: map[string]string{"values": fmt.Sprint(n), "reason": "retention"}})
}

// Has reports whether subject has a value of field, from the row's
// presence alone: nothing is decrypted, so nothing is audited.
func (v *Vault) Has(ctx context.Context, subject, field string) (bool, error) {
	var n int
	err := v.db.QueryRow(ctx, `SELECT COUNT(*) FROM pi_values v JOIN subjects s ON s.id = v.subject_id
		WHERE v.subject_id = ? AND v.field = ? AND s.erased_at IS NULL`, subject, field).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("vault: has: %w", err)
	}
	return n > 0, nil
}
