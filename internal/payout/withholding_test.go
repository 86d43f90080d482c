package payout_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/errs"
	"gigvault/internal/payout"
)

func TestWithholding(t *testing.T) {
	for _, c := range []struct {
		what        string
		income, tax int64 // fen
	}{
		{"negative", -100, 0},
		{"zero", 0, 0},
		{"800 yuan", 80_000, 0},
		{"800.01 yuan: 0.2 fen rounds down", 80_001, 0},
		{"800.03 yuan: 0.6 fen rounds up", 80_003, 1},
		{"3,000 yuan", 300_000, 44_000},
		{"4,000 yuan: (4000−800)×20%", 400_000, 64_000},
		{"4,000.01 yuan: 3200.008×20% = 640.0016", 400_001, 64_000},
		{"4,001.03 yuan: 3200.824×20% = 640.1648", 400_103, 64_016},
		{"10,000 yuan", 1_000_000, 160_000},
		{"25,000 yuan: taxable 20,000 at 20%", 2_500_000, 400_000},
		{"25,000.01 yuan: 30% less 2,000 meets 20%", 2_500_001, 400_000},
		{"30,000 yuan: 24,000×30%−2,000", 3_000_000, 520_000},
		{"62,500 yuan: taxable 50,000 at 30%−2,000", 6_250_000, 1_300_000},
		{"62,500.01 yuan: 40% less 7,000 meets 30%", 6_250_001, 1_300_000},
		{"100,000 yuan: 80,000×40%−7,000", 10_000_000, 2_500_000},
		{"1,000,000 yuan", 100_000_000, 31_300_000},
	} {
		if got := payout.Withholding(c.income); got != c.tax {
			t.Errorf("%s: Withholding(%d) = %d, want %d", c.what, c.income, got, c.tax)
		}
	}
	// No overflow at the top: 32% less the deduction, to the fen.
	if got, want := payout.Withholding(math.MaxInt64), int64(math.MaxInt64/25*8)+int64(math.MaxInt64%25*8+12)/25-700_000; got != want {
		t.Errorf("Withholding(MaxInt64) = %d, want %d", got, want)
	}
	// The tax never decreases as income grows, and never exceeds 40%.
	prev := int64(0)
	for income := int64(0); income <= 7_000_000; income += 997 {
		tax := payout.Withholding(income)
		if tax < prev || tax*10 > income*4 {
			t.Fatalf("Withholding(%d) = %d after %d", income, tax, prev)
		}
		prev = tax
	}
}

func TestWriteWithholdingSummary(t *testing.T) {
	ids := map[string][2]string{
		wid(1): {"张三", idNumber("11010119900307123")},
		wid(2): {"李四", strings.ToLower(idNumber("44030419851231002"))},
		wid(3): {"王五", idNumber("31010119800101002")},
	}
	calls := 0
	identity := func(_ context.Context, subject string) (string, string, error) {
		calls++
		v, ok := ids[subject]
		if !ok {
			return "", "", errors.New("no identity")
		}
		return v[0], v[1], nil
	}
	rows := []payout.Row{
		{Line: 2, WorkerID: wid(2), AmountFen: 2_000_000, Status: payout.RowPaid},
		{Line: 3, WorkerID: wid(1), AmountFen: 300_000, Status: payout.RowPaid},
		{Line: 4, WorkerID: wid(2), AmountFen: 1_000_000, Status: payout.RowPaid}, // summed with line 2: 30,000 yuan
		{Line: 5, WorkerID: wid(3), AmountFen: 9_999_999, Status: payout.RowFailed},
		{Line: 6, WorkerID: wid(3), AmountFen: 50_000, Status: payout.RowPending},
	}
	var out bytes.Buffer
	if err := payout.WriteWithholdingSummary(ctx, &out, "2026-11", rows, identity); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		strings.Split(payout.WithholdingHeader, ","),
		{"2026-11", "李四", strings.ToUpper(ids[wid(2)][1]), "3000000", "520000", "2480000"},
		{"2026-11", "张三", ids[wid(1)][1], "300000", "44000", "256000"},
		{"2026-11", "王五", ids[wid(3)][1], "50000", "0", "50000"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if calls != 3 {
		t.Errorf("identity called %d times, want once per worker", calls)
	}

	for _, c := range []struct {
		what, period string
		ids          map[string][2]string
		field        string
	}{
		{"bad period", "2026-13", ids, "period"},
		{"period format", "202611", ids, "period"},
		{"bad ID number", "2026-11", map[string][2]string{wid(1): {"张三", "110101199003071230"}, wid(2): ids[wid(2)], wid(3): ids[wid(3)]}, "id_number"},
		{"bad name", "2026-11", map[string][2]string{wid(1): {"", ids[wid(1)][1]}, wid(2): ids[wid(2)], wid(3): ids[wid(3)]}, "name"},
	} {
		ids = c.ids
		var out bytes.Buffer
		err := payout.WriteWithholdingSummary(ctx, &out, c.period, rows, identity)
		e := wantErr(t, c.what, err, errs.Invalid, c.field)
		if strings.Contains(err.Error()+e.MessageZh, "1101011990") || out.Len() != 0 {
			t.Errorf("%s: an ID number in the error, or output written: %v", c.what, err)
		}
	}
	ids = map[string][2]string{}
	if err := payout.WriteWithholdingSummary(ctx, &bytes.Buffer{}, "2026-11", rows, identity); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("identity failure: %v", err)
	}
}
