package payout_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/payout"
)

// mapPayee answers from m, counting calls per worker when calls is set.
func mapPayee(m map[string]payout.Payee, calls map[string]int) payout.PayeeFunc {
	return func(_ context.Context, subject string) (payout.Payee, error) {
		if calls != nil {
			calls[subject]++
		}
		p, ok := m[subject]
		if !ok {
			return payout.Payee{}, errors.New("no payee")
		}
		return p, nil
	}
}

type fixture struct {
	b      payout.Batch
	rows   []payout.Row
	payees map[string]payout.Payee
}

func newFixture() fixture {
	rows := []payout.Row{
		{Line: 2, WorkerID: wid(1), AmountFen: 350000, Memo: "11月工资", Status: payout.RowPending},
		{Line: 3, WorkerID: wid(2), AmountFen: 120000, Memo: `加班费,"夜班"`, Status: payout.RowPending},
		{Line: 5, WorkerID: wid(3), AmountFen: 8800, Status: payout.RowPending},
	}
	return fixture{
		b:    payout.Batch{ID: uuid.NewString(), OrgID: "org-a", Status: payout.Approved, RowCount: 3, TotalFen: 478800},
		rows: rows,
		payees: map[string]payout.Payee{
			wid(1): {Name: "张三", CardNumber: card("622202", 19, 11), BankName: "中国工商银行"},
			wid(2): {Name: "欧阳·娜娜", CardNumber: " " + card("621700", 16, 22) + " ", BankName: "中国建设银行, 深圳分行"},
			wid(3): {Name: "李四", CardNumber: frozenCard(), BankName: "招商银行"},
		},
	}
}

func TestWriteBankFile(t *testing.T) {
	f := newFixture()
	calls := map[string]int{}
	var out bytes.Buffer
	if err := payout.WriteBankFile(ctx, &out, f.b, f.rows, mapPayee(f.payees, calls)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), payout.BankFileHeader+"\r\n") || strings.Count(out.String(), "\r\n") != 4 {
		t.Errorf("header or line ends:\n%q", out.String())
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		strings.Split(payout.BankFileHeader, ","),
		{"2", "张三", f.payees[wid(1)].CardNumber, "中国工商银行", "350000", "11月工资", f.b.ID + "-2"},
		{"3", "欧阳·娜娜", strings.TrimSpace(f.payees[wid(2)].CardNumber), "中国建设银行, 深圳分行", "120000", `加班费,"夜班"`, f.b.ID + "-3"},
		{"5", "李四", f.payees[wid(3)].CardNumber, "招商银行", "8800", "", f.b.ID + "-5"},
	}
	if diff := cmp.Diff(want, recs); diff != "" {
		t.Errorf("bank file (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{wid(1): 1, wid(2): 1, wid(3): 1}, calls); diff != "" {
		t.Errorf("payee calls (-want +got):\n%s", diff)
	}
	// The cards are in the bank file only: not in the rows or the batch.
	for _, p := range f.payees {
		if s := fmt.Sprintf("%+v %+v", f.b, f.rows); strings.Contains(s, strings.TrimSpace(p.CardNumber)) || strings.Contains(s, p.Name) {
			t.Errorf("a card or name outside the bank file")
		}
	}
}

func TestWriteBankFileRefusals(t *testing.T) {
	secret := card("622202", 19, 77)
	for _, c := range []struct {
		what  string
		edit  func(f *fixture)
		code  errs.Code
		field string
	}{
		{"not approved", func(f *fixture) { f.b.Status = payout.PendingApproval }, errs.Conflict, "status"},
		{"submitted", func(f *fixture) { f.b.Status = payout.Submitted }, errs.Conflict, "status"},
		{"a row missing", func(f *fixture) { f.rows = f.rows[:2] }, errs.Invalid, "rows"},
		{"another amount", func(f *fixture) { f.rows[0].AmountFen++ }, errs.Invalid, "rows"},
		{"a paid row", func(f *fixture) { f.rows[0].Status = payout.RowPaid }, errs.Invalid, "rows"},
		{"a repeated line", func(f *fixture) { f.rows[1].Line = 2 }, errs.Invalid, "rows"},
		{"bad card", func(f *fixture) {
			f.payees[wid(2)] = payout.Payee{Name: "李四", CardNumber: secret[:18] + "x", BankName: "招商银行"}
		}, errs.Invalid, "card_number"},
		{"bad Luhn", func(f *fixture) {
			bad := secret[:18] + string('0'+(secret[18]-'0'+1)%10)
			f.payees[wid(2)] = payout.Payee{Name: "李四", CardNumber: bad, BankName: "招商银行"}
		}, errs.Invalid, "card_number"},
		{"no name", func(f *fixture) { f.payees[wid(2)] = payout.Payee{CardNumber: secret, BankName: "招商银行"} }, errs.Invalid, "account_name"},
		{"formula bank", func(f *fixture) {
			f.payees[wid(2)] = payout.Payee{Name: "李四", CardNumber: secret, BankName: "=1+1"}
		}, errs.Invalid, "bank_name"},
	} {
		t.Run(c.what, func(t *testing.T) {
			f := newFixture()
			c.edit(&f)
			var out bytes.Buffer
			err := payout.WriteBankFile(ctx, &out, f.b, f.rows, mapPayee(f.payees, nil))
			e := wantErr(t, c.what, err, c.code, c.field)
			if strings.Contains(err.Error()+e.MessageZh, secret[:12]) {
				t.Errorf("the card is in the error %v", err)
			}
			if c.field == "card_number" && (!strings.Contains(e.Message, "line 3") || !strings.Contains(e.MessageZh, "第3行")) {
				t.Errorf("the error does not name the line: %q / %q", e.Message, e.MessageZh)
			}
			if _, _, err := payout.GenerateTransferFile(ctx, cryptox.SM{}, cryptox.NewKey(cryptox.SM{}), f.b, f.rows, mapPayee(f.payees, nil)); errs.CodeOf(err) != c.code {
				t.Errorf("GenerateTransferFile: %v", err)
			}
		})
	}

	// The integrator's failure is passed on, with the line.
	f := newFixture()
	delete(f.payees, wid(3))
	err := payout.WriteBankFile(ctx, &bytes.Buffer{}, f.b, f.rows, mapPayee(f.payees, nil))
	if err == nil || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), "no payee") {
		t.Errorf("payee failure: %v", err)
	}
}

func TestSealFile(t *testing.T) {
	for _, suite := range []cryptox.Suite{cryptox.SM{}, cryptox.AES{}} {
		t.Run(suite.Name(), func(t *testing.T) {
			f := newFixture()
			key := cryptox.NewKey(suite)
			var plain bytes.Buffer
			if err := payout.WriteBankFile(ctx, &plain, f.b, f.rows, mapPayee(f.payees, nil)); err != nil {
				t.Fatal(err)
			}
			sealed, digest, err := payout.GenerateTransferFile(ctx, suite, key, f.b, f.rows, mapPayee(f.payees, nil))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(sealed, []byte("GVPAY1")) || len(sealed) != 6+12+plain.Len()+16 {
				t.Errorf("envelope: %d bytes for %d of plaintext", len(sealed), plain.Len())
			}
			if want := hex.EncodeToString(cryptox.Digest(suite, sealed)); digest != want || len(digest) != 64 || digest != payout.FileDigest(suite, sealed) {
				t.Errorf("digest %s, want %s", digest, want)
			}
			for _, p := range f.payees {
				for _, s := range []string{strings.TrimSpace(p.CardNumber), strings.TrimSpace(p.CardNumber)[:8], p.Name} {
					if bytes.Contains(sealed, []byte(s)) {
						t.Errorf("the sealed file holds %q", s)
					}
				}
			}
			got, err := payout.OpenFile(suite, key, sealed, f.b.ID)
			if err != nil || !bytes.Equal(got, plain.Bytes()) {
				t.Fatalf("open: %v\n%s", err, got)
			}

			// Refusals: another batch, another key, any flipped byte, truncation.
			_, err = payout.OpenFile(suite, key, sealed, uuid.NewString())
			wantErr(t, "another batch", err, errs.Integrity, "file")
			_, err = payout.OpenFile(suite, cryptox.NewKey(suite), sealed, f.b.ID)
			wantErr(t, "another key", err, errs.Integrity, "file")
			for _, i := range []int{0, 5, 6, 17, 18, len(sealed) / 2, len(sealed) - 17, len(sealed) - 1} {
				bad := bytes.Clone(sealed)
				bad[i] ^= 0x01
				if _, err := payout.OpenFile(suite, key, bad, f.b.ID); errs.CodeOf(err) != errs.Integrity {
					t.Errorf("byte %d flipped: %v", i, err)
				}
			}
			for _, n := range []int{0, 6, 20, len(sealed) - 1} {
				if _, err := payout.OpenFile(suite, key, sealed[:n], f.b.ID); errs.CodeOf(err) != errs.Integrity {
					t.Errorf("truncated to %d: %v", n, err)
				}
			}

			// SealFile wipes the plaintext it was given.
			p := bytes.Clone(plain.Bytes())
			s2, err := payout.SealFile(suite, key, p, f.b.ID)
			if err != nil || slices.ContainsFunc(p, func(c byte) bool { return c != 0 }) {
				t.Errorf("SealFile did not wipe its input: %v", err)
			}
			if got, err := payout.OpenFile(suite, key, s2, f.b.ID); err != nil || !bytes.Equal(got, plain.Bytes()) {
				t.Errorf("open SealFile's output: %v", err)
			}
			if bytes.Equal(s2, sealed) {
				t.Errorf("two seals of one file are identical: the nonce repeats")
			}
			if _, err := payout.SealFile(suite, key[:5], []byte("x"), f.b.ID); err == nil {
				t.Errorf("short key accepted")
			}
			if _, err := payout.SealFile(suite, key, []byte("x"), ""); err == nil {
				t.Errorf("no batch ID accepted")
			}
		})
	}
}

// sealCSV seals a hand-made bank file, for files WriteBankFile would not
// write.
func sealCSV(t *testing.T, key []byte, batchID string, lines ...string) []byte {
	t.Helper()
	s, err := payout.SealFile(cryptox.SM{}, key, []byte(strings.Join(lines, "\r\n")+"\r\n"), batchID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSandboxRail(t *testing.T) {
	key := cryptox.NewKey(cryptox.SM{})
	var slept []time.Duration
	rail, err := payout.NewSandboxRail(payout.SandboxConfig{Key: key, Latency: 3 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture()
	sealed, digest, err := payout.GenerateTransferFile(ctx, cryptox.SM{}, key, f.b, f.rows, mapPayee(f.payees, nil))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rail.Submit(ctx, f.b.ID, sealed)
	if err != nil || rc.BatchID != f.b.ID || rc.Digest != digest || rc.Rows != 3 || rc.TotalFen != f.b.TotalFen || !strings.HasPrefix(rc.Ref, "SBXB-") {
		t.Fatalf("receipt %+v %v", rc, err)
	}
	res, err := rail.Status(ctx, f.b.ID)
	if err != nil || len(res) != 3 {
		t.Fatalf("status %v %v", res, err)
	}
	if res[0].Status != payout.RowPaid || res[1].Status != payout.RowPaid || res[2] != (payout.RowResult{Line: 5, Status: payout.RowFailed, Code: payout.FailCardFrozen}) ||
		!strings.HasPrefix(res[0].Ref, "SBX-") || res[0].Ref == res[1].Ref || res[0].Line != 2 || res[1].Line != 3 {
		t.Errorf("results %+v", res)
	}
	if !slices.Equal(slept, []time.Duration{3 * time.Second, 3 * time.Second}) {
		t.Errorf("latency slept %v", slept)
	}

	// Deterministic: another rail, another seal of the same batch, the same outcome.
	rail2, _ := payout.NewSandboxRail(payout.SandboxConfig{Key: key})
	sealed2, _, _ := payout.GenerateTransferFile(ctx, cryptox.SM{}, key, f.b, f.rows, mapPayee(f.payees, nil))
	if _, err := rail2.Submit(ctx, f.b.ID, sealed2); err != nil {
		t.Fatal(err)
	}
	if res2, _ := rail2.Status(ctx, f.b.ID); !cmp.Equal(res, res2) {
		t.Errorf("not deterministic: %v vs %v", res, res2)
	}

	// The same file again: the same receipt. Another file for the batch: refused.
	if again, err := rail.Submit(ctx, f.b.ID, sealed); err != nil || again != rc {
		t.Errorf("resubmit: %+v %v", again, err)
	}
	_, err = rail.Submit(ctx, f.b.ID, sealed2)
	wantErr(t, "another file for the batch", err, errs.Conflict, "batch_id", "duplicate_batch")

	// Tampered, or sealed for another batch: refused.
	bad := bytes.Clone(sealed)
	bad[len(bad)/2] ^= 0x80
	other := uuid.NewString()
	_, err = rail.Submit(ctx, other, bad)
	wantErr(t, "tampered", err, errs.Integrity, "file")
	_, err = rail.Submit(ctx, other, sealed)
	wantErr(t, "another batch's file", err, errs.Integrity, "file")
	_, err = rail.Status(ctx, other)
	wantErr(t, "status of a refused batch", err, errs.NotFound, "batch_id")

	// Per-line checks on a hand-made file.
	id := uuid.NewString()
	good := card("622202", 19, 5)
	badLuhn := good[:18] + string('0'+(good[18]-'0'+1)%10)
	s := sealCSV(t, key, id, payout.BankFileHeader,
		"1,张三,"+good+",银行,100,,"+id+"-1",
		"2,张三,"+badLuhn+",银行,100,,"+id+"-2",
		"3,张三,"+good+",银行,0,,"+id+"-3",
		"4,张三,"+good+",银行,-5,,"+id+"-4",
		"5,,"+good+",银行,100,,"+id+"-5",
		"6,张三,"+good+",银行,100,,"+id+"-7",
		"7,张三,12345,银行,100,,"+id+"-7",
		"8,张三,"+frozenCard()+",银行,100,,"+id+"-8",
	)
	rc, err = rail.Submit(ctx, id, s)
	if err != nil || rc.Rows != 8 || rc.TotalFen != 600 {
		t.Fatalf("hand-made file: %+v %v", rc, err)
	}
	res, _ = rail.Status(ctx, id)
	var got []string
	for _, r := range res {
		got = append(got, fmt.Sprintf("%d:%s:%s", r.Line, r.Status, r.Code))
	}
	want := []string{"1:paid:", "2:failed:invalid_card", "3:failed:invalid_amount", "4:failed:invalid_amount", "5:failed:invalid_name",
		"6:failed:bad_reference", "7:failed:invalid_card", "8:failed:card_frozen"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}

	// Malformed files are refused whole.
	for what, lines := range map[string][]string{
		"header":        {"line,name"},
		"field count":   {payout.BankFileHeader, "1,张三," + good + ",银行,100,"},
		"line number":   {payout.BankFileHeader, "x,张三," + good + ",银行,100,,r"},
		"repeated line": {payout.BankFileHeader, "1,张三," + good + ",银行,100,,r", "1,张三," + good + ",银行,100,,r"},
	} {
		id := uuid.NewString()
		_, err := rail.Submit(ctx, id, sealCSV(t, key, id, lines...))
		wantErr(t, what, err, errs.Invalid, "file", "malformed_file")
	}

	// What the sandbox keeps: digests and counts, no card numbers.
	recs := rail.Received()
	if len(recs) != 10 || !recs[0].Accepted || recs[0].Digest != digest || !recs[1].Accepted || recs[1].Reason != "repeat" ||
		recs[2].Accepted || recs[2].Reason != "duplicate_batch" || recs[3].Reason != "integrity" || recs[4].Reason != "integrity" ||
		!recs[5].Accepted || recs[9].Reason != "malformed_file" {
		t.Errorf("received: %+v", recs)
	}
	dump := fmt.Sprintf("%+v %+v", recs, rc)
	for _, p := range f.payees {
		if strings.Contains(dump, strings.TrimSpace(p.CardNumber)) {
			t.Errorf("the sandbox keeps a card number")
		}
	}

	// Latency honours the context with the default sleep.
	slow, _ := payout.NewSandboxRail(payout.SandboxConfig{Key: key, Latency: time.Hour})
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := slow.Submit(cctx, f.b.ID, sealed); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled submit: %v", err)
	}
	if _, err := payout.NewSandboxRail(payout.SandboxConfig{Key: key[:4]}); err == nil {
		t.Errorf("short key accepted")
	}
}

// TestWriteBankFileNoBankName: the issuing bank is optional (banks tell it
// from the card's BIN); the field is left empty.
func TestWriteBankFileNoBankName(t *testing.T) {
	f := newFixture()
	p := f.payees[wid(2)]
	p.BankName = ""
	f.payees[wid(2)] = p
	var out bytes.Buffer
	if err := payout.WriteBankFile(ctx, &out, f.b, f.rows, mapPayee(f.payees, nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0220,,120000,") {
		t.Errorf("the row without a bank name: %q", out.String())
	}
}
