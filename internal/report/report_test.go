package report_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/errs"
	"gigvault/internal/report"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

// The period of the tests: October 2026, China Standard Time.
var (
	cst  = time.FixedZone("CST", 8*3600)
	from = time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
	to   = time.Date(2026, 11, 1, 0, 0, 0, 0, cst)
	gen  = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	µs   = time.Microsecond
)

func openDB(t *testing.T, e testenv.Engine) *store.DB {
	t.Helper()
	cfg := store.Config{Path: filepath.Join(t.TempDir(), "gigvault.db")}
	if e.Postgres() {
		cfg = store.Config{URL: e.SchemaURL(t)}
	}
	db, err := store.OpenMigrated(ctx, cfg, store.Main)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func randID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// planted records every identifier the tests write, for the PI scan.
type planted struct {
	db  *store.DB
	ids []string
}

func (p *planted) subject(t *testing.T, kind string, created time.Time, erased *time.Time) string {
	t.Helper()
	id := randID("subj")
	var er any
	if erased != nil {
		er = erased.UnixMicro()
	}
	exec(t, p.db, `INSERT INTO subjects (id, kind, created_at, erased_at) VALUES (?, ?, ?, ?)`, id, kind, created.UnixMicro(), er)
	p.ids = append(p.ids, id)
	return id
}

func (p *planted) consent(t *testing.T, subject, scope, event string, at time.Time) {
	t.Helper()
	id, ip := randID("cev"), randID("iptag")
	exec(t, p.db, `INSERT INTO consent_events (id, subject_id, scope, event, policy_version, channel, notice_digest, ip_tag, acted_by, at)
		VALUES (?, ?, ?, ?, '1', 'app', 'digest', ?, 'subject', ?)`, id, subject, scope, event, ip, at.UnixMicro())
	p.ids = append(p.ids, id, ip)
}

func (p *planted) provision(t *testing.T, at time.Time, recipient, kind, basis string, records int, subjects ...string) {
	t.Helper()
	id, actor := randID("ledger"), randID("actor")
	ref := ""
	if basis == "consent" {
		ref = randID("cref")
	}
	exec(t, p.db, `INSERT INTO sharing_ledger (id, at, recipient, recipient_kind, purpose, fields, subjects, records, legal_basis, consent_ref, actor, channel)
		VALUES (?, ?, ?, ?, 'job_matching', 'name,mobile', ?, ?, ?, ?, ?, 'api')`, id, at.UnixMicro(), recipient, kind, len(subjects), records, basis, ref, actor)
	for _, s := range subjects {
		exec(t, p.db, `INSERT INTO sharing_subjects (ledger_id, subject_id) VALUES (?, ?)`, id, s)
	}
	p.ids = append(p.ids, id, actor)
	if ref != "" {
		p.ids = append(p.ids, ref)
	}
}

const digest = "5f3c2a1b0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"

func smallDocs() report.Documents {
	return report.Documents{
		Controller:        report.Controller{Name: "福建坤慧网络科技有限公司", Contact: "客服热线 4001689788"},
		GeneratedAt:       gen,
		PolicyVersion:     "2026.11",
		PolicyDigest:      digest,
		PolicyJSON:        []byte(`{"title_zh": "隐私政策", "seq": 3}`),
		PICollected:       []byte(`{"items": []}`),
		ThirdPartySharing: []byte("{\"items\":[{\"id\":\"sdk-a\",\"name\":\"<b>&\"}]}\n"),
	}
}

// seed plants rows on both sides of the period's boundaries and returns
// the counts they must give.
func seed(t *testing.T, db *store.DB) (*planted, report.Counts) {
	t.Helper()
	p := &planted{db: db}
	erasedAtFrom, erasedAtTo, erasedBefore := from, to, from.Add(-µs)
	sBefore := p.subject(t, "worker", from.Add(-µs), &erasedAtFrom) // erased in the period
	sAtFrom := p.subject(t, "worker", from, nil)
	sLast := p.subject(t, "employer", to.Add(-µs), nil)
	sAtTo := p.subject(t, "worker", to, nil)                       // after the period: not counted at all
	p.subject(t, "staff", from.Add(-240*time.Hour), &erasedAtTo)   // erased after the period
	p.subject(t, "staff", from.Add(-480*time.Hour), &erasedBefore) // erased before the period

	p.consent(t, sBefore, "policy", "agree", from.Add(-µs))
	p.consent(t, sAtFrom, "policy", "agree", from)
	p.consent(t, sAtFrom, "function:job_matching", "refuse", from.Add(time.Hour))
	p.consent(t, sLast, "sensitive:precise_location", "withdraw", to.Add(-µs))
	p.consent(t, sLast, "recipient:employer_org", "agree", to)
	p.consent(t, sBefore, "processor:sms_gateway", "agree", from.Add(2*time.Hour))
	p.consent(t, sAtTo, "policy", "agree", to.Add(time.Hour))

	p.provision(t, from.Add(-µs), "org-A", "employer", "contract", 2, sBefore)
	p.provision(t, from, "sdk-x", "sdk", "consent", 3, sAtFrom, sBefore)
	p.provision(t, to.Add(-µs), "org-A", "employer", "contract", 1, sLast)
	p.provision(t, to, "org-B", "employer", "legal_obligation", 5, sAtTo)

	bases := func(consent, contract int64) map[string]int64 {
		return map[string]int64{"consent": consent, "contract": contract, "legal_obligation": 0, "vital_interest": 0, "public_interest": 0, "published_data": 0}
	}
	kinds := func(sdk, employer int64) map[string]int64 {
		return map[string]int64{"sdk": sdk, "recipient": 0, "processor": 0, "employer": employer, "subject_named": 0}
	}
	want := report.Counts{
		Subjects: report.SubjectCounts{Total: 5, CreatedInPeriod: 2, ErasedTotal: 2, ErasedInPeriod: 1,
			ByKind: map[string]int64{"worker": 2, "employer": 1, "staff": 2}},
		Consents: report.ConsentCounts{
			InPeriod: report.EventCounts{Events: 4, Subjects: 3,
				ByEvent: map[string]int64{"agree": 2, "refuse": 1, "withdraw": 1},
				ByScope: map[string]int64{"policy": 1, "function": 1, "sensitive": 1, "recipient": 0, "processor": 1}},
			Total: report.EventCounts{Events: 5, Subjects: 3,
				ByEvent: map[string]int64{"agree": 3, "refuse": 1, "withdraw": 1},
				ByScope: map[string]int64{"policy": 2, "function": 1, "sensitive": 1, "recipient": 0, "processor": 1}},
		},
		Provisions: report.ProvisionCounts{
			InPeriod: report.ProvisionSet{Rows: 2, Records: 4, Recipients: 2, Subjects: 3, ByLegalBasis: bases(1, 1), ByRecipientKind: kinds(1, 1)},
			Total:    report.ProvisionSet{Rows: 3, Records: 6, Recipients: 2, Subjects: 3, ByLegalBasis: bases(1, 2), ByRecipientKind: kinds(1, 2)},
		},
		RightsRequests: &report.RecordCounts{},
		Notes:          map[string]string{"incidents": report.NoteNotRecorded},
	}
	return p, want
}

// Counts over [from, to) and before to are right on both engines, rows at
// exactly from count, rows at exactly to do not, and the tables no issue
// has added yet give null with a note, not 0.
func TestCounts(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := openDB(t, e)
			planted, want := seed(t, db)
			p, err := report.Build(ctx, db, from, to, smallDocs())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, p.Counts); d != "" {
				t.Errorf("counts (-want +got):\n%s", d)
			}
			js, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(js, []byte(`"incidents":null`)) || !bytes.Contains(js, []byte(`"rights_requests":{"in_period":0,"total":0}`)) ||
				!bytes.Contains(js, []byte(`"notes":{"incidents":"not yet recorded"}`)) {
				t.Errorf("the absent table not reported as null with a note, the present one not counted:\n%s", js)
			}

			// Requests are counted by when they were received (issue 6's
			// table); a table without created_at is reported, not guessed at.
			exec(t, db, `CREATE TABLE incidents (id TEXT PRIMARY KEY, opened BIGINT NOT NULL)`)
			for _, at := range []time.Time{from.Add(-time.Hour), from, to.Add(-µs), to} {
				exec(t, db, `INSERT INTO rights_requests (id, subject_id, kind, status, created_at, due_at, target_at, updated_at) VALUES (?, ?, 'access', 'completed', ?, ?, ?, ?)`,
					randID("dsr"), planted.ids[0], at.UnixMicro(), at.UnixMicro(), at.UnixMicro(), at.UnixMicro())
			}
			p, err = report.Build(ctx, db, from, to, smallDocs())
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&report.RecordCounts{Total: 3, InPeriod: 2}, p.Counts.RightsRequests); d != "" {
				t.Errorf("rights requests (-want +got):\n%s", d)
			}
			if p.Counts.Incidents != nil || !strings.Contains(p.Counts.Notes["incidents"], "created_at") {
				t.Errorf("incidents without created_at: %+v, note %q", p.Counts.Incidents, p.Counts.Notes["incidents"])
			}
			if _, ok := p.Counts.Notes["rights_requests"]; ok {
				t.Errorf("note left for a counted table: %v", p.Counts.Notes)
			}
		})
	}
}

// An empty database gives zeros, every known key present, on both engines.
func TestCountsEmpty(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			p, err := report.Build(ctx, openDB(t, e), from, to, smallDocs())
			if err != nil {
				t.Fatal(err)
			}
			c := p.Counts
			if c.Subjects.Total != 0 || len(c.Subjects.ByKind) != 0 || c.Consents.Total.Events != 0 || len(c.Consents.Total.ByEvent) != 3 ||
				len(c.Consents.InPeriod.ByScope) != 5 || c.Provisions.Total.Rows != 0 || len(c.Provisions.InPeriod.ByLegalBasis) != 6 ||
				c.RightsRequests == nil || *c.RightsRequests != (report.RecordCounts{}) || c.Incidents != nil {
				t.Errorf("empty database: %+v", c)
			}
		})
	}
}

// The package holds counts, never an identifier of a person or of a row:
// none of the planted subject, event, ledger or actor IDs (nor the IP tags)
// appears anywhere in the signed file.
func TestNoPersonalInformation(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			db := openDB(t, e)
			pl, _ := seed(t, db)
			p, err := report.Build(ctx, db, from, to, smallDocs())
			if err != nil {
				t.Fatal(err)
			}
			signer, keyID := newSigner(t, "sm")
			if err := report.Sign(&p, signer, keyID, "sm"); err != nil {
				t.Fatal(err)
			}
			out, err := p.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if len(pl.ids) < 25 {
				t.Fatalf("only %d identifiers planted", len(pl.ids))
			}
			for _, id := range pl.ids {
				for _, form := range []string{id, strings.SplitN(id, "-", 2)[1]} {
					if bytes.Contains(out, []byte(form)) {
						t.Errorf("the package contains the identifier %q", form)
					}
				}
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	db := openDB(t, testenv.Engines(t)[0])
	type tc struct {
		field    string
		from, to time.Time
		mod      func(*report.Documents)
	}
	keep := func(*report.Documents) {}
	for name, c := range map[string]tc{
		"to before from":    {"to", to, from, keep},
		"empty period":      {"to", from, from, keep},
		"no from":           {"from", time.Time{}, to, keep},
		"period not over":   {"to", from, gen.Add(time.Second), keep},
		"policy not object": {"policy", from, to, func(d *report.Documents) { d.PolicyJSON = []byte(`[1]`) }},
		"policy missing":    {"policy", from, to, func(d *report.Documents) { d.PolicyJSON = nil }},
		"list bad JSON":     {"pi_collected", from, to, func(d *report.Documents) { d.PICollected = []byte(`{"a":`) }},
		"list dup key":      {"third_party_sharing", from, to, func(d *report.Documents) { d.ThirdPartySharing = []byte(`{"a":1,"a":2}`) }},
		"list bad UTF-8":    {"pi_collected", from, to, func(d *report.Documents) { d.PICollected = []byte("{\"a\":\"\xff\"}") }},
		"no controller":     {"controller.name", from, to, func(d *report.Documents) { d.Controller.Name = " " }},
		"no contact":        {"controller.contact", from, to, func(d *report.Documents) { d.Controller.Contact = "" }},
		"no version":        {"policy.version", from, to, func(d *report.Documents) { d.PolicyVersion = "" }},
		"bad digest":        {"policy.digest", from, to, func(d *report.Documents) { d.PolicyDigest = strings.ToUpper(digest) }},
	} {
		d := smallDocs()
		c.mod(&d)
		_, err := report.Build(ctx, db, c.from, c.to, d)
		if e := errs.As(err); err == nil || e.Code != errs.Invalid || e.Field != c.field {
			t.Errorf("%s: %v, want invalid (%s)", name, err, c.field)
		}
	}
}

// Build keeps the period to the microsecond in UTC, and the documents in
// canonical form with the same content.
func TestBuildNormalises(t *testing.T) {
	db := openDB(t, testenv.Engines(t)[0])
	p, err := report.Build(ctx, db, from.Add(1500*time.Nanosecond), to, smallDocs())
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != report.Format || !p.GeneratedAt.Equal(gen) || p.Period.From.Location() != time.UTC ||
		!p.Period.From.Equal(from.Add(µs)) || !p.Period.To.Equal(to) {
		t.Errorf("header: %s %v %v–%v", p.Format, p.GeneratedAt, p.Period.From, p.Period.To)
	}
	if got := string(p.Lists.ThirdPartySharing); got != `{"items":[{"id":"sdk-a","name":"<b>&"}]}` {
		t.Errorf("list not canonical: %s", got)
	}
	if got := string(p.Policy.Document); got != `{"seq":3,"title_zh":"隐私政策"}` {
		t.Errorf("policy not canonical: %s", got)
	}
	var v any
	if err := json.Unmarshal(p.Policy.Document, &v); err != nil {
		t.Fatal(err)
	}
}
