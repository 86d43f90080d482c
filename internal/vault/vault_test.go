package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

var (
	ctx   = context.Background()
	actor = vault.Actor{ID: "test:vault", Channel: "test"}
)

func newSubject(t *testing.T, c *app.Core) string {
	t.Helper()
	return testenv.Subjects(t, c, "worker", 1)[0]
}

func eachEngine(t *testing.T, fn func(t *testing.T, c *app.Core)) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			fn(t, testenv.Open(t, e.Config(t)))
		})
	}
}

func TestPutGetMaskedAndRevealed(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *app.Core) {
		s := newSubject(t, c)
		if err := c.Vault.Put(ctx, actor, "account_registration", s,
			vault.Item{Field: "mobile", Value: "+86 153-1234-2212"},
			vault.Item{Field: "name", Value: "张三丰"},
		); err != nil {
			t.Fatal(err)
		}
		got, err := c.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Masked || got.Text != "153****2212" {
			t.Fatalf("masked get = %+v, want 153****2212 masked", got)
		}
		rv, _ := c.Issuer.Issue(actor.ID, s, "mobile", "", "account_registration", "test", time.Minute)
		got, err = c.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", rv)
		if err != nil {
			t.Fatal(err)
		}
		if got.Masked || got.Text != "15312342212" {
			t.Fatalf("revealed get = %+v, want normalised 15312342212", got)
		}
		// A capability aimed at another field, purpose or actor reveals nothing.
		for _, bad := range []struct{ actor, field, record, purpose string }{
			{"test:other", "mobile", "", "account_registration"},
			{actor.ID, "name", "", "account_registration"},
			{actor.ID, "mobile", "", "marketing"},
			{actor.ID, "mobile", "other-record", "account_registration"},
		} {
			rv, _ := c.Issuer.Issue(bad.actor, s, bad.field, bad.record, bad.purpose, "test", time.Minute)
			got, err := c.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", rv)
			if err != nil || !got.Masked {
				t.Errorf("capability %+v revealed: %+v, %v", bad, got, err)
			}
		}
		// An expired capability reveals nothing.
		rv, _ = c.Issuer.Issue(actor.ID, s, "mobile", "", "account_registration", "test", time.Minute)
		c.Clock.(interface{ Advance(time.Duration) }).Advance(2 * time.Minute)
		if got, _ := c.Vault.Get(ctx, actor, "account_registration", s, "mobile", "", rv); !got.Masked {
			t.Error("expired capability revealed the value")
		}
		if _, err := c.Issuer.Issue(actor.ID, s, "mobile", "", "account_registration", "  ", time.Minute); !errs.Is(err, errs.Invalid) {
			t.Errorf("reveal without a reason: %v", err)
		}
		// Refused reveals are audited as such.
		es, err := audit.Search(ctx, c.DB, audit.Filter{Subject: s, Action: "pi.read"})
		if err != nil {
			t.Fatal(err)
		}
		refused, revealed := 0, 0
		for _, e := range es {
			if e.Detail["reveal_refused"] != "" {
				refused++
			}
			if e.Detail["revealed"] == "true" && e.Detail["reason"] == "test" {
				revealed++
			}
		}
		if refused != 5 || revealed != 1 {
			t.Errorf("audit: %d refused reveals, %d reveals; want 5 and 1", refused, revealed)
		}
		name, err := c.Vault.Get(ctx, actor, "account_registration", s, "name", "", nil)
		if err != nil || name.Text != "张**" {
			t.Fatalf("name = %+v, %v", name, err)
		}
	})
}

func TestPutRefusesBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *app.Core) {
		s := newSubject(t, c)
		cases := []struct {
			name  string
			item  vault.Item
			field string
		}{
			{"undeclared field", vault.Item{Field: "blood_type", Value: "A"}, "blood_type"},
			{"request-only field", vault.Item{Field: "current_location", Value: "26.07,119.30"}, "current_location"},
			{"bad mobile", vault.Item{Field: "mobile", Value: "12345"}, "mobile"},
			{"bad id number", vault.Item{Field: "id_number", Value: "110101199003072910"}, "id_number"},
			{"record on single field", vault.Item{Field: "mobile", Record: "2", Value: "15312342212"}, "mobile"},
		}
		for _, tc := range cases {
			err := c.Vault.Put(ctx, actor, "account_registration", s, tc.item)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != tc.field {
				t.Errorf("%s: err = %v, want invalid on %s", tc.name, err, tc.field)
				continue
			}
			if e.MessageZh == "" || e.Message == "" {
				t.Errorf("%s: missing messages: %+v", tc.name, e)
			}
			if tc.item.Value != "" && strings.Contains(err.Error(), tc.item.Value) {
				t.Errorf("%s: error reveals the value: %v", tc.name, err)
			}
		}
		// Nothing was stored by the refused puts.
		var n int
		if err := c.DB.QueryRow(ctx, `SELECT COUNT(*) FROM pi_values WHERE subject_id = ?`, s).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rows after refused puts = %d, %v", n, err)
		}
		if err := c.Vault.Put(ctx, actor, "account_registration", "no-such-subject", vault.Item{Field: "mobile", Value: "15312342212"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("put for unknown subject: %v", err)
		}
	})
}

// A ciphertext moved to another subject, field or record fails to open with
// an integrity error, never garbage (ENC-4).
func TestMovedCiphertextFailsToOpen(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *app.Core) {
		a, b := newSubject(t, c), newSubject(t, c)
		for _, s := range []string{a, b} {
			if err := c.Vault.Put(ctx, actor, "job_matching", s,
				vault.Item{Field: "mobile", Value: "15312342212"},
				vault.Item{Field: "email", Value: "z@163.com"},
				vault.Item{Field: "search_keyword", Record: "k1", Value: "服务员"},
				vault.Item{Field: "search_keyword", Record: "k2", Value: "家教"},
			); err != nil {
				t.Fatal(err)
			}
		}
		copyCT := func(fromSubj, fromField, fromRec, toSubj, toField, toRec string) {
			t.Helper()
			var ct []byte
			if err := c.DB.QueryRow(ctx, `SELECT ciphertext FROM pi_values WHERE subject_id = ? AND field = ? AND record_id = ?`, fromSubj, fromField, fromRec).Scan(&ct); err != nil {
				t.Fatal(err)
			}
			if _, err := c.DB.Exec(ctx, `UPDATE pi_values SET ciphertext = ? WHERE subject_id = ? AND field = ? AND record_id = ?`, ct, toSubj, toField, toRec); err != nil {
				t.Fatal(err)
			}
		}
		copyCT(a, "mobile", "main", b, "mobile", "main")             // another subject
		copyCT(a, "email", "main", a, "mobile", "main")              // another field
		copyCT(a, "search_keyword", "k1", a, "search_keyword", "k2") // another record
		for _, tc := range []struct{ subj, field, rec string }{{b, "mobile", "main"}, {a, "mobile", "main"}, {a, "search_keyword", "k2"}} {
			_, err := c.Vault.Get(ctx, actor, "job_matching", tc.subj, tc.field, tc.rec, nil)
			if !errs.Is(err, errs.Integrity) {
				t.Errorf("moved ciphertext into %s/%s: err = %v, want integrity", tc.field, tc.rec, err)
			}
		}
		// A corrupted ciphertext is an integrity error too.
		if _, err := c.DB.Exec(ctx, `UPDATE pi_values SET ciphertext = ? WHERE subject_id = ? AND field = 'email'`, []byte("garbage-garbage-garbage-garbage!"), b); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Vault.Get(ctx, actor, "job_matching", b, "email", "", nil); !errs.Is(err, errs.Integrity) {
			t.Errorf("corrupted ciphertext: err = %v", err)
		}
		// The untouched value still opens.
		if v, err := c.Vault.Get(ctx, actor, "job_matching", a, "search_keyword", "k1", nil); err != nil || v.Text == "" {
			t.Errorf("untouched value: %+v, %v", v, err)
		}
	})
}

func TestFindByBlindIndex(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *app.Core) {
		a, b := newSubject(t, c), newSubject(t, c)
		must(t, c.Vault.Put(ctx, actor, "account_registration", a, vault.Item{Field: "mobile", Value: "15312342212"}))
		must(t, c.Vault.Put(ctx, actor, "account_registration", b, vault.Item{Field: "mobile", Value: "13800138000"}))
		got, err := c.Vault.Find(ctx, actor, "account_registration", "mobile", "+86 153 1234 2212")
		if err != nil || len(got) != 1 || got[0].Subject != a {
			t.Fatalf("find = %+v, %v; want subject a", got, err)
		}
		if got, _ := c.Vault.Find(ctx, actor, "account_registration", "mobile", "13900139000"); len(got) != 0 {
			t.Fatalf("find unknown = %+v", got)
		}
		// A changed value is found by its new value only; the old index entry is pruned.
		must(t, c.Vault.Put(ctx, actor, "account_registration", a, vault.Item{Field: "mobile", Value: "13900139000"}))
		if got, _ := c.Vault.Find(ctx, actor, "account_registration", "mobile", "15312342212"); len(got) != 0 {
			t.Fatalf("find old value = %+v", got)
		}
		if got, _ := c.Vault.Find(ctx, actor, "account_registration", "mobile", "13900139000"); len(got) != 1 || got[0].Subject != a {
			t.Fatalf("find new value = %+v", got)
		}
		var entries int
		if err := c.KMS.QueryRow(ctx, `SELECT COUNT(*) FROM kms_blind WHERE subject_id = ?`, a).Scan(&entries); err != nil || entries != 1 {
			t.Fatalf("index entries for a = %d, %v", entries, err)
		}
		if _, err := c.Vault.Find(ctx, actor, "account_registration", "name", "张三"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("find on unindexed field: %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
