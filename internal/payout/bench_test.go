package payout_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/cryptox"
	"gigvault/internal/payout"
)

// BenchmarkBatch10k times a batch of 10,000 rows, reporting per batch:
//
//   - baseline-ms/op: reading the CSV with encoding/csv alone, the floor
//     the other figures can be quoted against;
//   - validate-ms/op: ParseCSV and Validate against an in-memory directory;
//   - file-ms/op: GenerateTransferFile, the bank file from an in-memory
//     payee map and its SM4-GCM sealing.
func BenchmarkBatch10k(b *testing.B) {
	const n = 10_000
	memos := []string{"11月工资", "加班费,11月", "餐补", "", "夜班补贴 第2周", "交通补助"}
	dir := &fakeDir{org: "org-a", workers: map[string]payout.WorkerInfo{}}
	payees := map[string]payout.Payee{}
	var in bytes.Buffer
	in.WriteString("worker,amount_fen,memo\r\n")
	var total int64
	for i := range n {
		w := uuid.NewString()
		amount := int64(1000 + i*37%80_000) // about 410 million fen in all, under the batch limit
		total += amount
		fmt.Fprintf(&in, "%s,%d,%q\r\n", w, amount, memos[i%len(memos)])
		dir.workers[w] = good
		payees[w] = payout.Payee{Name: "张三丰", CardNumber: card("622202", 19, i), BankName: "中国工商银行深圳分行"}
	}
	data := in.Bytes()
	key := cryptox.NewKey(cryptox.SM{})
	batch := payout.Batch{ID: uuid.NewString(), OrgID: "org-a", Status: payout.Approved, RowCount: n, TotalFen: total}
	payee := mapPayee(payees, nil)

	var base, validate, file time.Duration
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cr := csv.NewReader(bytes.NewReader(data))
		cr.ReuseRecord = true
		for {
			if _, err := cr.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		rows, rowErrs, err := payout.ParseCSV(bytes.NewReader(data), payout.Limits{})
		if err != nil || rowErrs != nil {
			b.Fatal(rowErrs, err)
		}
		dir.calls = dir.calls[:0]
		if rep := payout.Validate(ctx, rows, dir, "org-a", payout.Limits{}); !rep.OK {
			b.Fatalf("%+v", rep.Errors[:1])
		}
		t2 := time.Now()
		if _, _, err := payout.GenerateTransferFile(ctx, cryptox.SM{}, key, batch, rows, payee); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		base, validate, file = base+t1.Sub(t0), validate+t2.Sub(t1), file+t3.Sub(t2)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / 1e6 }
	b.ReportMetric(ms(base), "baseline-ms/op")
	b.ReportMetric(ms(validate), "validate-ms/op")
	b.ReportMetric(ms(file), "file-ms/op")
}
