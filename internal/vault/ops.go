package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/store"
)

// ListOptions narrow a List.
type ListOptions struct {
	// Fields limits the read to these catalog fields; nil means every field.
	Fields []string
	// Reveal, a subject-wide capability (Issuer.IssueSubject), returns the
	// values whole; without it they are masked.
	Reveal *Reveal
}

// List reads the stored values of a subject, masked unless o.Reveal covers
// the whole subject, with one audit entry.
func (v *Vault) List(ctx context.Context, actor Actor, purpose, subject string, o ListOptions) ([]Value, error) {
	whole := o.Reveal != nil && v.validReveal(o.Reveal, actor.ID, subject, AllFields, AllFields, purpose)
	rows, err := v.db.Query(ctx, `SELECT v.field, v.record_id, v.dek_version, v.ciphertext, v.updated_at FROM pi_values v
		JOIN subjects s ON s.id = v.subject_id WHERE v.subject_id = ? AND s.erased_at IS NULL ORDER BY v.field, v.record_id`, subject)
	if err != nil {
		return nil, fmt.Errorf("vault: list: %w", err)
	}
	type raw struct {
		field, record string
		ver           int
		ct            []byte
		updated       int64
	}
	var rs []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.field, &r.record, &r.ver, &r.ct, &r.updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("vault: list: %w", err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vault: list: %w", err)
	}
	out := make([]Value, 0, len(rs))
	var names []string
	for _, r := range rs {
		f, ok := v.cat.Field(r.field)
		if !ok {
			continue // a field dropped from the catalog: kept for retention, not shown
		}
		if o.Fields != nil && !slices.Contains(o.Fields, r.field) {
			continue
		}
		val, err := v.open(ctx, subject, f, r.record, r.ver, r.ct, whole)
		if err != nil {
			return nil, err
		}
		val.UpdatedAt = time.UnixMicro(r.updated).UTC()
		out = append(out, val)
		names = append(names, r.field)
	}
	detail := map[string]string{"values": strconv.Itoa(len(out))}
	if whole {
		detail["revealed"], detail["reason"] = "true", o.Reveal.reason
	}
	err = v.rec.Record(ctx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.list",
		Subject: subject, Fields: audit.SortedFields(names...), Purpose: purpose, Detail: withDecision(ctx, detail)})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Match is a subject found by a blind-index look-up.
type Match struct {
	Subject, Record string
}

// Find looks a value up by its blind index — log-in by mobile number,
// duplicate ID numbers — without decrypting anything. The field must be
// declared indexed. The look-up is audited by field, never by value.
func (v *Vault) Find(ctx context.Context, actor Actor, purpose, field, value string) ([]Match, error) {
	out, err := v.find(ctx, field, value)
	if err != nil {
		return nil, err
	}
	return out, v.rec.Record(ctx, findEntry(ctx, actor, purpose, field, len(out)))
}

// FindTx is Find inside the caller's transaction, audited in it: for a
// look-up that decides what the transaction writes (one account per number).
func (v *Vault) FindTx(ctx context.Context, tx *store.Tx, actor Actor, purpose, field, value string) ([]Match, error) {
	out, err := v.find(ctx, field, value)
	if err != nil {
		return nil, err
	}
	return out, v.log.Append(ctx, tx, findEntry(ctx, actor, purpose, field, len(out)))
}

func findEntry(ctx context.Context, actor Actor, purpose, field string, matches int) audit.Entry {
	return audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.find",
		Fields: []string{field}, Purpose: purpose, Detail: withDecision(ctx, map[string]string{"matches": fmt.Sprint(matches)})}
}

func (v *Vault) find(ctx context.Context, field, value string) ([]Match, error) {
	f, ok := v.cat.Field(field)
	if !ok || !f.Indexed {
		return nil, errs.New(errs.Invalid, field, "该字段不支持精确查找", "this field has no blind index for look-ups")
	}
	norm, err := format.Normalize(f.Format, value)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, field, "取值无效", "invalid value", err)
	}
	found, err := v.keys.Lookup(ctx, field, norm)
	if err != nil {
		return nil, fmt.Errorf("vault: find: %w", err)
	}
	type cand struct {
		Match
		ver int
		ct  []byte
	}
	var cands []cand
	for _, f := range found {
		c := cand{Match: Match{Subject: f.Subject, Record: f.Record}}
		err := v.db.QueryRow(ctx, `SELECT v.dek_version, v.ciphertext FROM pi_values v JOIN subjects s ON s.id = v.subject_id
			WHERE v.subject_id = ? AND v.field = ? AND v.record_id = ? AND s.erased_at IS NULL`, f.Subject, field, f.Record).Scan(&c.ver, &c.ct)
		if errors.Is(err, sql.ErrNoRows) {
			continue // a stale index entry
		}
		if err != nil {
			return nil, fmt.Errorf("vault: find: %w", err)
		}
		cands = append(cands, c)
	}
	// The index is only a pointer: each candidate is confirmed by decrypting
	// it, so an index value copied onto another row finds nothing.
	var out []Match
	for _, c := range cands {
		pt, err := v.keys.Open(ctx, c.Subject, c.ver, c.ct, aad(c.Subject, field, c.Record, c.ver))
		if err != nil {
			v.C.IntegrityFailures.Add(1)
			continue
		}
		if string(pt) == norm {
			out = append(out, c.Match)
		}
		clear(pt)
	}
	v.C.Finds.Add(1)
	return out, nil
}

// EraseReport describes an erasure without revealing what was erased.
type EraseReport struct {
	Subject string
	Rows    int
	Fields  []string
}

// Erase removes a subject's PI for good, in three steps, each recorded
// (AUD-4: time, tool, method, what — never values):
//
//  1. mark the subject erased (under its row lock) and audit the start: from
//     here no put is accepted and no read returns anything;
//  2. destroy the subject's data key: every ciphertext of theirs, in this
//     database or any copy of it, becomes noise (ENC-5, RET-4);
//  3. delete the rows (secure delete) and audit the completion.
//
// A crash between steps leaves nothing readable; ResumeErasures finishes
// the job at the next start. Erase is idempotent.
func (v *Vault) Erase(ctx context.Context, actor Actor, purpose, subject, tool string) (EraseReport, error) {
	rep := EraseReport{Subject: subject}
	now := v.clk.Now().UnixMicro()
	err := v.db.InTx(ctx, func(tx *store.Tx) error {
		if err := v.lockLiveSubject(ctx, tx, subject, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE subjects SET erased_at = COALESCE(erased_at, ?) WHERE id = ?`, now, subject); err != nil {
			return fmt.Errorf("vault: erase: %w", err)
		}
		return v.log.Append(ctx, tx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.erase",
			Subject: subject, Purpose: purpose, Outcome: "started", Detail: map[string]string{"tool": tool}})
	})
	if err != nil {
		return rep, err
	}
	return v.finishErase(ctx, actor, purpose, subject, tool)
}

// finishErase runs steps 2 and 3 of Erase.
func (v *Vault) finishErase(ctx context.Context, actor Actor, purpose, subject, tool string) (EraseReport, error) {
	rep := EraseReport{Subject: subject}
	if err := v.keys.Destroy(ctx, subject); err != nil {
		return rep, fmt.Errorf("vault: erase: %w", err)
	}
	err := v.db.InTx(ctx, func(tx *store.Tx) error {
		rows, err := tx.Query(ctx, `SELECT field, COUNT(*) FROM pi_values WHERE subject_id = ? GROUP BY field ORDER BY field`, subject)
		if err != nil {
			return fmt.Errorf("vault: erase: %w", err)
		}
		rep.Rows, rep.Fields = 0, nil
		for rows.Next() {
			var f string
			var n int
			if err := rows.Scan(&f, &n); err != nil {
				rows.Close()
				return fmt.Errorf("vault: erase: %w", err)
			}
			rep.Fields = append(rep.Fields, f)
			rep.Rows += n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("vault: erase: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM pi_values WHERE subject_id = ?`, subject); err != nil {
			return fmt.Errorf("vault: erase: %w", err)
		}
		return v.log.Append(ctx, tx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.erase",
			Subject: subject, Fields: rep.Fields, Purpose: purpose, Detail: map[string]string{
				"tool": tool, "method": "data key destroyed, then rows deleted (secure delete)", "rows": fmt.Sprint(rep.Rows),
			}})
	})
	if err != nil {
		return rep, err
	}
	v.C.Erases.Add(1)
	return rep, nil
}

// ResumeErasures finishes erasures a crash interrupted: subjects marked
// erased that still have rows get their key destroyed and rows deleted.
// The core runs it at every start.
func (v *Vault) ResumeErasures(ctx context.Context) (int, error) {
	rows, err := v.db.Query(ctx, `SELECT DISTINCT s.id FROM subjects s JOIN pi_values p ON p.subject_id = s.id WHERE s.erased_at IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("vault: find unfinished erasures: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("vault: find unfinished erasures: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("vault: find unfinished erasures: %w", err)
	}
	for _, id := range ids {
		if _, err := v.finishErase(ctx, Actor{ID: "system:erase-resume", Channel: "system"}, "deletion_request", id, "resume at start"); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// Erased reports whether a subject was erased.
func (v *Vault) Erased(ctx context.Context, subject string) (bool, error) {
	var erased sql.NullInt64
	err := v.db.QueryRow(ctx, `SELECT erased_at FROM subjects WHERE id = ?`, subject).Scan(&erased)
	if err != nil {
		return false, errs.Wrap(errs.NotFound, "subject", "数据主体不存在", "no such data subject", err)
	}
	return erased.Valid, nil
}
