package vault

import (
	"context"
	"fmt"
	"strings"

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
