// Package demo writes synthetic data for demonstrations and tests (GIG-8):
// realistic but invented workers, every catalog field filled, all of it
// through the vault like real data. Nothing here is ever real PI.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"gigvault/internal/catalog"
	"gigvault/internal/format"
	"gigvault/internal/store"
	"gigvault/internal/synth"
	"gigvault/internal/vault"
)

// Options tune Seed.
type Options struct {
	Subjects int
	Seed     int64
	// Batch is how many subjects go into one transaction (default 25).
	Batch int
	// Plaintext, when set, receives one JSON line per subject with the values
	// written, after their transaction commits: tests use it to hunt for leaks
	// and to check that acknowledged writes survive a crash.
	Plaintext io.Writer
	Progress  func(done, total int64)
}

// Line is one subject in the plaintext output.
type Line struct {
	Subject string            `json:"subject"`
	Fields  map[string]string `json:"fields"` // "field" or "field#record" → normalised value
}

// Report says what Seed wrote.
type Report struct {
	Subjects, Values int
}

var actor = vault.Actor{ID: "cli:demo-seed", Channel: "cli"}

// Seed writes opts.Subjects synthetic workers through v.
func Seed(ctx context.Context, db *store.DB, v *vault.Vault, opts Options) (Report, error) {
	var rep Report
	if opts.Batch <= 0 {
		opts.Batch = 25
	}
	g := synth.New(opts.Seed)
	cat := v.Catalog()
	enc := json.NewEncoder(io.Discard)
	if opts.Plaintext != nil {
		enc = json.NewEncoder(opts.Plaintext)
	}
	for done := 0; done < opts.Subjects; {
		n := min(opts.Batch, opts.Subjects-done)
		lines := make([]Line, 0, n)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			lines = lines[:0]
			for i := 0; i < n; i++ {
				id, err := v.CreateSubject(ctx, tx, "synthetic")
				if err != nil {
					return err
				}
				items, line, err := worker(g, cat, id)
				if err != nil {
					return err
				}
				if err := v.PutTx(ctx, tx, actor, "demo_data", id, items...); err != nil {
					return fmt.Errorf("demo: seed subject %s: %w", id, err)
				}
				lines = append(lines, line)
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		for _, l := range lines {
			rep.Values += len(l.Fields)
			if err := enc.Encode(l); err != nil {
				return rep, fmt.Errorf("demo: write plaintext: %w", err)
			}
		}
		done += n
		rep.Subjects = done
		if opts.Progress != nil {
			opts.Progress(int64(done), int64(opts.Subjects))
		}
	}
	return rep, nil
}

// worker invents one consistent person and a value for every stored field.
func worker(g *synth.Generator, cat *catalog.Catalog, id string) ([]vault.Item, Line, error) {
	p := g.Person()
	contact := g.Person()
	fixed := map[string]string{
		"mobile": p.Mobile, "name": p.Name, "gender": p.Gender, "birth_month": p.BirthDate[:7],
		"city": p.City, "id_number": p.IDNumber, "bank_card": p.BankCard, "bank_name": p.BankName,
		"address": p.Address, "email": p.Email,
		"employer_contact_name": contact.Name, "employer_contact_mobile": contact.Mobile,
		"employer_contact_id_number": contact.IDNumber,
	}
	line := Line{Subject: id, Fields: map[string]string{}}
	var items []vault.Item
	for _, f := range cat.Fields() {
		if !f.Retention.Stored() {
			continue
		}
		records := []string{vault.MainRecord}
		if f.Multi {
			records = []string{"1", "2"}
		}
		for _, rec := range records {
			val, ok := fixed[f.Name]
			if !ok || rec != vault.MainRecord {
				val = g.Value(f.Format)
			}
			norm, err := format.Normalize(f.Format, val)
			if err != nil {
				return nil, line, fmt.Errorf("demo: generated %s does not validate: %w", f.Name, err)
			}
			items = append(items, vault.Item{Field: f.Name, Record: rec, Value: norm})
			key := f.Name
			if rec != vault.MainRecord {
				key += "#" + rec
			}
			line.Fields[key] = norm
		}
	}
	return items, line, nil
}
