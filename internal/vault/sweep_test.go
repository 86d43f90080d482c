package vault_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/app"
	"gigvault/internal/clock"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// SweepTx deletes exactly the versions it is given: a value re-written
// since it was examined, a ref to nothing and a duplicate ref delete
// nothing more, and it reports only what went. An indexed value's blind
// index goes with it, so a look-up no longer finds even a candidate.
func TestSweepTx(t *testing.T) {
	eachEngine(t, func(t *testing.T, c *app.Core) {
		clk := c.Clock.(*clock.Fake)
		s := newSubject(t, c)
		must(t, c.Vault.Put(ctx, actor, "account_registration", s,
			vault.Item{Field: "search_keyword", Record: "1", Value: "服务员"},
			vault.Item{Field: "search_keyword", Record: "2", Value: "快递"},
			vault.Item{Field: "mobile", Value: "15312342212"}))
		v0 := clk.Now().UnixMicro()
		clk.Advance(1000)
		must(t, c.Vault.Put(ctx, actor, "account_registration", s, vault.Item{Field: "search_keyword", Record: "2", Value: "收银"}))

		refs := []vault.StoredRef{
			{Subject: s, Field: "search_keyword", Record: "1", UpdatedAt: v0},
			{Subject: s, Field: "search_keyword", Record: "2", UpdatedAt: v0}, // re-written since: stays
			{Subject: s, Field: "search_keyword", Record: "9", UpdatedAt: v0}, // no such value
			{Subject: s, Field: "mobile", Record: vault.MainRecord, UpdatedAt: v0},
			{Subject: s, Field: "search_keyword", Record: "1", UpdatedAt: v0}, // twice
		}
		var gone []vault.StoredRef
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			var err error
			gone, err = c.Vault.SweepTx(ctx, tx, refs)
			return err
		})
		must(t, err)
		if diff := cmp.Diff([]vault.StoredRef{refs[0], refs[3]}, gone); diff != "" {
			t.Fatalf("deleted (-want +got):\n%s", diff)
		}
		var left []string
		rows, err := c.DB.Query(ctx, `SELECT field || '/' || record_id FROM pi_values WHERE subject_id = ? ORDER BY 1`, s)
		must(t, err)
		for rows.Next() {
			var k string
			must(t, rows.Scan(&k))
			left = append(left, k)
		}
		rows.Close()
		if diff := cmp.Diff([]string{"search_keyword/2"}, left); diff != "" {
			t.Fatalf("left (-want +got):\n%s", diff)
		}
		var blind int
		must(t, c.KMS.QueryRow(ctx, `SELECT COUNT(*) FROM kms_blind WHERE subject_id = ? AND field = 'mobile'`, s).Scan(&blind))
		if blind != 0 {
			t.Fatalf("%d blind-index entries of the swept mobile number remain", blind)
		}
		if m, err := c.Vault.Find(ctx, actor, "account_registration", "mobile", "15312342212"); err != nil || len(m) != 0 {
			t.Fatalf("find after sweep = %v, %v", m, err)
		}
		// Nothing to do is not an error.
		must(t, c.DB.InTx(ctx, func(tx *store.Tx) error {
			g, err := c.Vault.SweepTx(ctx, tx, nil)
			if len(g) != 0 {
				t.Errorf("an empty sweep deleted %v", g)
			}
			return err
		}))
	})
}
