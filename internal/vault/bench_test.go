package vault_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/cryptox"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

func benchCore(b *testing.B) *app.Core {
	b.Helper()
	return testenv.Open(b, testenv.Engines(b)[0].Config(b))
}

func benchSubjects(b *testing.B, c *app.Core, n int) []string {
	b.Helper()
	return testenv.Subjects(b, c, "worker", n)
}

// Vault seal+open of a 32-byte field with the data key cached, in memory,
// against raw SM4-GCM seal+open of the same bytes measured in the same run.
// Target: at most 1.5× raw.
func BenchmarkVaultSealOpen(b *testing.B) {
	c := benchCore(b)
	ctx := context.Background()
	subj := benchSubjects(b, c, 1)[0]
	pt := []byte("0123456789abcdef0123456789abcdef")
	if err := c.Vault.SealOpen(ctx, subj, "mobile", "main", pt); err != nil { // creates and caches the DEK
		b.Fatal(err)
	}
	raw, err := cryptox.SM{}.NewAEAD(cryptox.NewKey(cryptox.SM{}))
	if err != nil {
		b.Fatal(err)
	}
	aad := []byte("gigvault/pi/v1$" + subj + "mobile" + "main" + "1")
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sealed := cryptox.Seal(raw, nil, pt, aad)
		if _, err := cryptox.Open(raw, nil, sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
	rawNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if err := c.Vault.SealOpen(ctx, subj, "mobile", "main", pt); err != nil {
			b.Fatal(err)
		}
	}
	vaultNs := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.StopTimer()
	b.ReportMetric(rawNs, "raw-ns/op")
	b.ReportMetric(vaultNs, "vault-ns/op")
	b.ReportMetric(vaultNs/rawNs, "x-raw")
}

// Vault put on SQLite in batched transactions (fields/s, target ≥ 50,000),
// against plain INSERTs of same-sized blobs in the same batches.
func BenchmarkVaultPutBatched(b *testing.B) {
	const perTx, fieldsPerSubject = 1000, 10
	c := benchCore(b)
	ctx := context.Background()
	actor := vault.Actor{ID: "bench", Channel: "bench"}
	subjects := benchSubjects(b, c, perTx/fieldsPerSubject)
	for _, s := range subjects { // warm the DEKs: steady state, not first-contact
		if err := c.Vault.Put(ctx, actor, "bench", s, vault.Item{Field: "mobile", Value: "13800138000"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.DB.Exec(ctx, `CREATE TABLE bench_raw (a TEXT, b TEXT, c TEXT, d INTEGER, e BLOB, f BLOB, g INTEGER, h INTEGER, i INTEGER, PRIMARY KEY (a, b, c))`); err != nil {
		b.Fatal(err)
	}
	blob := make([]byte, 12+11+16)
	txs := max(1, b.N/perTx)
	b.ResetTimer()
	start := time.Now()
	for t := 0; t < txs; t++ {
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			for i := 0; i < perTx; i++ {
				if _, err := tx.Exec(ctx, `INSERT INTO bench_raw VALUES (?, ?, ?, 1, ?, NULL, 1, 1, NULL)
					ON CONFLICT (a, b, c) DO UPDATE SET e = excluded.e`, subjects[i%len(subjects)], fmt.Sprint("f", i%fieldsPerSubject), fmt.Sprint(t), blob); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	rawSec := time.Since(start).Seconds()
	start = time.Now()
	for t := 0; t < txs; t++ {
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			for _, s := range subjects {
				items := make([]vault.Item, fieldsPerSubject)
				for f := range items {
					items[f] = vault.Item{Field: "search_keyword", Record: fmt.Sprint(t, "-", f), Value: "服务员"}
				}
				if err := c.Vault.PutTx(ctx, tx, actor, "bench", s, items...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	vaultSec := time.Since(start).Seconds()
	b.StopTimer()
	n := float64(txs * perTx)
	b.ReportMetric(n/vaultSec, "fields/s")
	b.ReportMetric(n/rawSec, "raw-inserts/s")
	b.ReportMetric(vaultSec/rawSec, "x-raw")
}

// Single-field autocommit put on SQLite (target ≥ 2,000/s): each put is
// its own transaction with its audit entry, against a bare autocommit INSERT.
func BenchmarkVaultPutAutocommit(b *testing.B) {
	c := benchCore(b)
	ctx := context.Background()
	actor := vault.Actor{ID: "bench", Channel: "bench"}
	subjects := benchSubjects(b, c, 100)
	for _, s := range subjects {
		if err := c.Vault.Put(ctx, actor, "bench", s, vault.Item{Field: "mobile", Value: "13800138000"}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.DB.Exec(ctx, `CREATE TABLE bench_raw (a TEXT PRIMARY KEY, e BLOB)`); err != nil {
		b.Fatal(err)
	}
	blob := make([]byte, 39)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.DB.Exec(ctx, `INSERT INTO bench_raw VALUES (?, ?)`, fmt.Sprint(i), blob); err != nil {
			b.Fatal(err)
		}
	}
	rawSec := time.Since(start).Seconds()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		if err := c.Vault.Put(ctx, actor, "bench", subjects[i%len(subjects)], vault.Item{Field: "search_keyword", Record: fmt.Sprint(i), Value: "家教"}); err != nil {
			b.Fatal(err)
		}
	}
	vaultSec := time.Since(start).Seconds()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/vaultSec, "puts/s")
	b.ReportMetric(float64(b.N)/rawSec, "raw-inserts/s")
	b.ReportMetric(vaultSec/rawSec, "x-raw")
}

// Erasing one subject who has 10,000 records (target ≤ 50 ms), against a
// bare DELETE of the same number of rows.
func BenchmarkEraseSubject10k(b *testing.B) {
	c := benchCore(b)
	ctx := context.Background()
	actor := vault.Actor{ID: "bench", Channel: "bench"}
	var eraseTotal, deleteTotal time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		subjects := benchSubjects(b, c, 2)
		for _, s := range subjects {
			err := c.DB.InTx(ctx, func(tx *store.Tx) error {
				for chunk := 0; chunk < 10; chunk++ {
					items := make([]vault.Item, 1000)
					for r := range items {
						items[r] = vault.Item{Field: "search_keyword", Record: fmt.Sprint(chunk, "-", r), Value: "快递分拣"}
					}
					if err := c.Vault.PutTx(ctx, tx, actor, "bench", s, items...); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		rep, err := c.Vault.Erase(ctx, actor, "bench", subjects[0], "bench")
		eraseTotal += time.Since(start)
		if err != nil || rep.Rows != 10000 {
			b.Fatalf("erase = %+v, %v", rep, err)
		}
		start = time.Now()
		if _, err := c.DB.Exec(ctx, `DELETE FROM pi_values WHERE subject_id = ?`, subjects[1]); err != nil {
			b.Fatal(err)
		}
		deleteTotal += time.Since(start)
	}
	b.ReportMetric(float64(eraseTotal.Milliseconds())/float64(b.N), "erase-ms")
	b.ReportMetric(float64(deleteTotal.Milliseconds())/float64(b.N), "bare-delete-ms")
	b.ReportMetric(eraseTotal.Seconds()/deleteTotal.Seconds(), "x-bare-delete")
}
