package access_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/access"
	"gigvault/internal/consent"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
	"gigvault/internal/vault"
)

// BenchmarkConsentCheck measures what the consent check adds to a vault
// read (issue 4): a staff member's masked read of a subject for a purpose
// that needs consent, through the Guard, with the real consent store
// holding 100,000 subjects × 10 scopes, against the same read with consent
// checking off (a fixed "granted" answer), interleaved in one run so the
// noise of this shared machine falls on both alike. It reports the median
// of each and the median added cost, with the cache (the normal case: a
// subject's state was loaded within the TTL) and without it (every check
// queries the database).
func BenchmarkConsentCheck(b *testing.B) {
	const subjects, scopes, readable = 100_000, 10, 1_000
	eng := testenv.Engines(b)[0]
	c := testenv.Open(b, eng.Config(b))
	ctx := context.Background()
	// 100,000 subjects with 10 scopes each, written in batches.
	scopeNames := []string{"policy", "function:marketing", "sensitive:marketing", "function:nearby_jobs", "sensitive:nearby_jobs",
		"function:personalised_recommendation", "function:message_push", "function:survey", "recipient:tax_authority", "processor:umeng"}
	if len(scopeNames) != scopes {
		b.Fatal("scope list")
	}
	ids := make([]string, 0, subjects)
	now := time.Now().UnixMicro()
	for start := 0; start < subjects; start += 500 {
		err := c.DB.InTx(ctx, func(tx *store.Tx) error {
			var sb strings.Builder
			var args []any
			sb.WriteString(`INSERT INTO subjects (id, kind, created_at) VALUES `)
			var cb strings.Builder
			var cargs []any
			cb.WriteString(`INSERT INTO consents (subject_id, purpose, state, policy_version, channel, at, event_id, policy_seq, refused_at) VALUES `)
			for i := 0; i < 500; i++ {
				id := uuid.NewString()
				ids = append(ids, id)
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, 'worker', ?)")
				args = append(args, id, now)
				for j, sc := range scopeNames {
					if i > 0 || j > 0 {
						cb.WriteString(", ")
					}
					cb.WriteString("(?, ?, 'granted', '1', 'app', ?, '', 1, 0)")
					cargs = append(cargs, id, sc, now)
				}
			}
			if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, cb.String(), cargs...)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// A thousand of them have values to read.
	for _, id := range ids[:readable] {
		if err := c.Vault.Put(ctx, vault.Actor{ID: "bench", Channel: "test"}, "account_registration", id, vault.Item{Field: "mobile", Value: fmt.Sprintf("139%08d", len(id))}); err != nil {
			b.Fatal(err)
		}
	}
	sup := &access.Principal{SessionID: "s", AccountID: "sup", Kind: "staff", SubjectID: "staff-subject-sup", Roles: []policy.Role{policy.Support}}
	const purpose = "account_registration" // a basic purpose: needs the "policy" scope
	off := access.New(c.DB, c.Vault, c.Issuer, consent.Fixed{purpose: policy.Granted}, c.Approvals, c.Audit, c.Clock, access.Config{})
	cached := access.New(c.DB, c.Vault, c.Issuer, c.Consent, c.Approvals, c.Audit, c.Clock, access.Config{})
	uncachedStore := consent.New(c.DB, c.Clock, consent.Options{Functions: c.Functions, Catalog: c.Catalog, CacheTTL: -1})
	uncached := access.New(c.DB, c.Vault, c.Issuer, uncachedStore, c.Approvals, c.Audit, c.Clock, access.Config{})
	read := func(g *access.Guard, subject string) time.Duration {
		t0 := time.Now()
		vs, err := g.Read(ctx, sup, subject, purpose)
		d := time.Since(t0)
		if err != nil || len(vs) != 1 || !vs[0].Masked {
			b.Fatalf("read: %v %+v", err, vs)
		}
		return d
	}
	// Warm each path once per readable subject (the cached store loads its state).
	for _, id := range ids[:readable] {
		read(off, id)
		read(cached, id)
	}
	var tOff, tCached, tUncached []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := ids[i%readable]
		// Rotate the order, so no path always runs first (or last).
		for k := 0; k < 3; k++ {
			switch (i + k) % 3 {
			case 0:
				tOff = append(tOff, read(off, id))
			case 1:
				tCached = append(tCached, read(cached, id))
			default:
				tUncached = append(tUncached, read(uncached, id))
			}
		}
	}
	b.StopTimer()
	mOff, mCached, mUncached := median(tOff), median(tCached), median(tUncached)
	b.ReportMetric(mOff, "off-median-µs")
	b.ReportMetric(mCached, "on-median-µs")
	b.ReportMetric(mUncached, "uncached-median-µs")
	b.ReportMetric(mCached-mOff, "added-µs")
	b.ReportMetric(mUncached-mOff, "added-uncached-µs")
	b.ReportMetric(mCached/mOff, "on/off")
}

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Microsecond)
}
