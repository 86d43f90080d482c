// Package report builds the regulator export (GIG-9): a signed JSON package
// of compliance figures over a period, with the privacy policy and the two
// public lists in force, that the operator hands to a regulator's platform.
//
// The package holds counts only — how many data subjects, consent acts,
// provisions to third parties — never a subject ID, an event ID or any
// other value that points at a person. The documents it embeds (the policy,
// the list of PI collected, the third-party sharing list) are the
// operator's public documents.
//
// # Period and totals
//
// Counts "in period" cover [from, to); "total" counts cover everything
// recorded before to, so a report describes the state at the end of its
// period whenever it is generated. The period must have ended when the
// report is generated. All counts are read in one transaction: on
// PostgreSQL a REPEATABLE READ, READ ONLY snapshot; on SQLite the store's
// only transaction, which holds the write lock for the few aggregate
// queries (SQLite readers are not blocked).
//
// Data-subject requests are counted from rights_requests by when they were
// received (created_at). Incidents have no table yet (a later issue adds
// it): their counts are null, with a note "not yet recorded", whenever the
// table RightsRequestsTable or IncidentsTable is absent — never a
// misleading 0.
//
// # Signature
//
// Sign signs the canonical JSON (see canonical.go) of the package whose
// signature object holds key_id, public_key and algorithm but not value,
// prefixed by the domain string "gigvault-regulator-report-v1\n"; the key
// and algorithm are therefore covered too. Verify accepts only the
// canonical form (one final newline allowed), so any change of any byte
// fails.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"gigvault/internal/errs"
	"gigvault/internal/sharing"
	"gigvault/internal/store"
)

// Format identifies this package format and version.
const Format = "gigvault-regulator-report/1"

// Tables a later issue adds. When one exists, its rows are counted by a
// created_at column in microseconds since the epoch, like every other
// table.
const (
	RightsRequestsTable = "rights_requests"
	IncidentsTable      = "incidents"
)

// NoteNotRecorded is the note beside a count that is null because nothing
// records it yet.
const NoteNotRecorded = "not yet recorded"

// Package is the regulator export. Its JSON is canonical (see Marshal).
type Package struct {
	Format      string     `json:"format"`
	GeneratedAt time.Time  `json:"generated_at"`
	Period      Period     `json:"period"`
	Controller  Controller `json:"controller"`
	Counts      Counts     `json:"counts"`
	Policy      Policy     `json:"policy"`
	Lists       Lists      `json:"lists"`
	Signature   *Signature `json:"signature,omitempty"`
}

// Period is the half-open interval [From, To) the period counts cover.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Controller is the personal-information handler the report is about.
type Controller struct {
	Name    string `json:"name"`
	Contact string `json:"contact"`
}

// Counts are the figures. A nil pointer is a figure nothing records yet;
// Notes says why, keyed by the figure's JSON name.
type Counts struct {
	Subjects       SubjectCounts     `json:"subjects"`
	Consents       ConsentCounts     `json:"consents"`
	Provisions     ProvisionCounts   `json:"provisions"`
	RightsRequests *RecordCounts     `json:"rights_requests"`
	Incidents      *RecordCounts     `json:"incidents"`
	Notes          map[string]string `json:"notes"`
}

// SubjectCounts counts data subjects (table subjects).
type SubjectCounts struct {
	Total           int64            `json:"total"`             // registered before the period's end
	CreatedInPeriod int64            `json:"created_in_period"` // registered in the period
	ErasedTotal     int64            `json:"erased_total"`      // erased before the period's end
	ErasedInPeriod  int64            `json:"erased_in_period"`  // erased in the period
	ByKind          map[string]int64 `json:"by_kind"`           // Total by kind (worker, employer, staff, …)
}

// ConsentCounts counts consent acts (table consent_events).
type ConsentCounts struct {
	InPeriod EventCounts `json:"in_period"`
	Total    EventCounts `json:"total"`
}

// EventCounts counts consent events. ByEvent is keyed agree, refuse and
// withdraw; ByScope by the kind of scope: policy, function, sensitive,
// recipient and processor. Subjects is how many distinct people acted.
type EventCounts struct {
	Events   int64            `json:"events"`
	Subjects int64            `json:"subjects"`
	ByEvent  map[string]int64 `json:"by_event"`
	ByScope  map[string]int64 `json:"by_scope"`
}

// ProvisionCounts counts provisions of PI outside gigvault (the sharing
// ledger).
type ProvisionCounts struct {
	InPeriod ProvisionSet `json:"in_period"`
	Total    ProvisionSet `json:"total"`
}

// ProvisionSet counts ledger rows: Rows provisions of Records records to
// Recipients distinct recipients, concerning Subjects distinct people.
type ProvisionSet struct {
	Rows            int64            `json:"rows"`
	Records         int64            `json:"records"`
	Recipients      int64            `json:"recipients"`
	Subjects        int64            `json:"subjects"`
	ByLegalBasis    map[string]int64 `json:"by_legal_basis"`    // rows by legal basis
	ByRecipientKind map[string]int64 `json:"by_recipient_kind"` // rows by kind of recipient
}

// RecordCounts counts the rows of a table added by a later issue.
type RecordCounts struct {
	Total    int64 `json:"total"`
	InPeriod int64 `json:"in_period"`
}

// Policy is the privacy policy in force when the report is generated.
// Digest is the version's published digest (policy_versions.digest: the
// suite's digest of the stored policy JSON ‖ 0x00 ‖ the children's policy
// JSON), which identifies the version as consent records cite it; Document
// is the policy JSON in canonical form, whose bytes therefore differ from
// the stored ones.
type Policy struct {
	Version  string          `json:"version"`
	Digest   string          `json:"digest"`
	Document json.RawMessage `json:"document"`
}

// Lists are the two public lists (CON-10, SHR-2) as their JSON endpoints
// serve them, in canonical form.
type Lists struct {
	PICollected       json.RawMessage `json:"pi_collected"`
	ThirdPartySharing json.RawMessage `json:"third_party_sharing"`
}

// Signature is the operator's signature over the package. PublicKey is hex
// (lower case), Value standard base64 with padding of the ASN.1 DER
// signature.
type Signature struct {
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// Documents is what the caller supplies besides the database: who the
// controller is, when the report is generated (zero means now), and the
// documents in force — the current policy (policydoc.Store.Current and
// Documents) and the JSON of the two public lists
// (thirdparty.CollectedList(...).JSON(), thirdparty.SharingList(...).JSON()).
type Documents struct {
	Controller        Controller
	GeneratedAt       time.Time
	PolicyVersion     string
	PolicyDigest      string // hex, as policydoc.Version.Digest
	PolicyJSON        []byte
	PICollected       []byte
	ThirdPartySharing []byte
}

// MaxText bounds the controller's name and contact, in characters.
const MaxText = 500

var reDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

// Build reads the counts for [from, to) from db and assembles an unsigned
// package with docs. Times are kept in UTC to the microsecond, the
// database's resolution.
func Build(ctx context.Context, db *store.DB, from, to time.Time, docs Documents) (Package, error) {
	if db == nil {
		return Package{}, errors.New("report: no database")
	}
	gen := docs.GeneratedAt
	if gen.IsZero() {
		gen = time.Now()
	}
	p := Package{
		Format:      Format,
		GeneratedAt: gen.UTC().Truncate(time.Second),
		Period:      Period{From: from.UTC().Truncate(time.Microsecond), To: to.UTC().Truncate(time.Microsecond)},
		Controller:  Controller{Name: strings.TrimSpace(docs.Controller.Name), Contact: strings.TrimSpace(docs.Controller.Contact)},
		Policy:      Policy{Version: docs.PolicyVersion, Digest: docs.PolicyDigest},
	}
	if p.Period.From.IsZero() || p.Period.From.Before(time.Unix(0, 0)) {
		return Package{}, invalid("from", "须指明报告期的开始时间", "give the start of the period")
	}
	if !p.Period.To.After(p.Period.From) {
		return Package{}, invalid("to", "报告期的结束时间须晚于开始时间", "the period must end after it starts")
	}
	if p.Period.To.After(gen) {
		return Package{}, invalid("to", "报告期尚未结束", "the period has not ended yet")
	}
	for _, d := range []struct {
		field string
		in    []byte
		out   *json.RawMessage
	}{
		{"policy", docs.PolicyJSON, &p.Policy.Document},
		{"pi_collected", docs.PICollected, &p.Lists.PICollected},
		{"third_party_sharing", docs.ThirdPartySharing, &p.Lists.ThirdPartySharing},
	} {
		c, err := canonicalDocument(d.in)
		if err != nil {
			e := invalid(d.field, "文档须为JSON对象", "the document must be a JSON object")
			e.Err = err
			return Package{}, e
		}
		*d.out = c
	}
	if err := p.validate(); err != nil {
		return Package{}, err
	}
	err := db.InTx(ctx, func(tx *store.Tx) error {
		if tx.Engine() == store.Postgres {
			// One snapshot for every count; must be the first statement.
			if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
				return err
			}
		}
		var err error
		p.Counts, err = count(ctx, tx, p.Period.From.UnixMicro(), p.Period.To.UnixMicro())
		return err
	})
	if err != nil {
		return Package{}, fmt.Errorf("report: count: %w", err)
	}
	return p, nil
}

// validate checks what Build fills in from the caller, for Sign and Verify.
func (p *Package) validate() error {
	if p.Format != Format {
		return invalid("format", "未知的报告格式", "unknown report format")
	}
	if p.Period.From.IsZero() || !p.Period.To.After(p.Period.From) {
		return invalid("period", "报告期无效", "the period is not valid")
	}
	for _, f := range []struct{ name, v string }{{"controller.name", p.Controller.Name}, {"controller.contact", p.Controller.Contact}} {
		if strings.TrimSpace(f.v) == "" || utf8.RuneCountInString(f.v) > MaxText || !utf8.ValidString(f.v) {
			return invalid(f.name, fmt.Sprintf("须填写个人信息处理者的名称和联系方式(最多%d字)", MaxText),
				fmt.Sprintf("give the controller's name and contact (at most %d characters)", MaxText))
		}
	}
	if strings.TrimSpace(p.Policy.Version) == "" || len(p.Policy.Version) > 64 || !utf8.ValidString(p.Policy.Version) {
		return invalid("policy.version", "须指明现行隐私政策版本", "give the version of the privacy policy in force")
	}
	if !reDigest.MatchString(p.Policy.Digest) {
		return invalid("policy.digest", "隐私政策摘要须为64位小写十六进制", "the policy digest must be 64 lower-case hex digits")
	}
	return nil
}

// count reads every figure inside one transaction.
func count(ctx context.Context, q store.Querier, from, to int64) (Counts, error) {
	c := Counts{Notes: map[string]string{}}
	var err error
	if c.Subjects, err = countSubjects(ctx, q, from, to); err != nil {
		return c, err
	}
	if c.Consents, err = countConsents(ctx, q, from, to); err != nil {
		return c, err
	}
	if c.Provisions, err = countProvisions(ctx, q, from, to); err != nil {
		return c, err
	}
	for _, t := range []struct {
		key, table string
		out        **RecordCounts
	}{
		{"rights_requests", RightsRequestsTable, &c.RightsRequests},
		{"incidents", IncidentsTable, &c.Incidents},
	} {
		rc, note, err := countOptional(ctx, q, t.table, from, to)
		if err != nil {
			return c, err
		}
		*t.out = rc
		if note != "" {
			c.Notes[t.key] = note
		}
	}
	return c, nil
}

// sum is SUM(expr) as a BIGINT, 0 over no rows, on both engines (on
// PostgreSQL a SUM of BIGINT would be NUMERIC).
func sum(expr string) string { return "CAST(COALESCE(SUM(" + expr + "), 0) AS BIGINT)" }

func countSubjects(ctx context.Context, q store.Querier, from, to int64) (SubjectCounts, error) {
	s := SubjectCounts{ByKind: map[string]int64{}}
	err := q.QueryRow(ctx, `SELECT COUNT(*), `+
		sum(`CASE WHEN created_at >= ? THEN 1 ELSE 0 END`)+`, `+
		sum(`CASE WHEN erased_at < ? THEN 1 ELSE 0 END`)+`, `+
		sum(`CASE WHEN erased_at >= ? AND erased_at < ? THEN 1 ELSE 0 END`)+`
		FROM subjects WHERE created_at < ?`, from, to, from, to, to).
		Scan(&s.Total, &s.CreatedInPeriod, &s.ErasedTotal, &s.ErasedInPeriod)
	if err != nil {
		return s, fmt.Errorf("subjects: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT kind, COUNT(*) FROM subjects WHERE created_at < ? GROUP BY kind`, to)
	if err != nil {
		return s, fmt.Errorf("subjects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int64
		if err := rows.Scan(&kind, &n); err != nil {
			return s, fmt.Errorf("subjects: %w", err)
		}
		s.ByKind[kind] += n
	}
	return s, rows.Err()
}

// Consent events and scope kinds always listed, with 0 when none occurred.
var (
	consentEvents = []string{"agree", "refuse", "withdraw"}
	scopeKinds    = []string{"policy", "function", "sensitive", "recipient", "processor"}
)

func zeros(keys []string) map[string]int64 {
	m := make(map[string]int64, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

func newEventCounts() EventCounts {
	return EventCounts{ByEvent: zeros(consentEvents), ByScope: zeros(scopeKinds)}
}

func countConsents(ctx context.Context, q store.Querier, from, to int64) (ConsentCounts, error) {
	c := ConsentCounts{InPeriod: newEventCounts(), Total: newEventCounts()}
	// Grouped by the whole scope (a few dozen values); the kind is the part
	// before ':', taken here so the SQL is the same on both engines.
	rows, err := q.Query(ctx, `SELECT event, scope, COUNT(*), `+sum(`CASE WHEN at >= ? THEN 1 ELSE 0 END`)+`
		FROM consent_events WHERE at < ? GROUP BY event, scope`, from, to)
	if err != nil {
		return c, fmt.Errorf("consent events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var event, scope string
		var total, inPeriod int64
		if err := rows.Scan(&event, &scope, &total, &inPeriod); err != nil {
			return c, fmt.Errorf("consent events: %w", err)
		}
		kind, _, _ := strings.Cut(scope, ":")
		for _, e := range []struct {
			ec *EventCounts
			n  int64
		}{{&c.Total, total}, {&c.InPeriod, inPeriod}} {
			e.ec.Events += e.n
			e.ec.ByEvent[event] += e.n
			e.ec.ByScope[kind] += e.n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("consent events: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT COUNT(DISTINCT subject_id), COUNT(DISTINCT CASE WHEN at >= ? THEN subject_id END)
		FROM consent_events WHERE at < ?`, from, to).Scan(&c.Total.Subjects, &c.InPeriod.Subjects)
	if err != nil {
		return c, fmt.Errorf("consent events: %w", err)
	}
	return c, nil
}

func newProvisionSet() ProvisionSet {
	return ProvisionSet{ByLegalBasis: zeros(sharing.LegalBases), ByRecipientKind: zeros(sharing.RecipientKinds)}
}

func countProvisions(ctx context.Context, q store.Querier, from, to int64) (ProvisionCounts, error) {
	c := ProvisionCounts{InPeriod: newProvisionSet(), Total: newProvisionSet()}
	rows, err := q.Query(ctx, `SELECT legal_basis, recipient_kind, COUNT(*), `+sum(`records`)+`, `+
		sum(`CASE WHEN at >= ? THEN 1 ELSE 0 END`)+`, `+sum(`CASE WHEN at >= ? THEN records ELSE 0 END`)+`
		FROM sharing_ledger WHERE at < ? GROUP BY legal_basis, recipient_kind`, from, from, to)
	if err != nil {
		return c, fmt.Errorf("sharing ledger: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var basis, kind string
		var n, records, nIn, recordsIn int64
		if err := rows.Scan(&basis, &kind, &n, &records, &nIn, &recordsIn); err != nil {
			return c, fmt.Errorf("sharing ledger: %w", err)
		}
		for _, e := range []struct {
			ps         *ProvisionSet
			n, records int64
		}{{&c.Total, n, records}, {&c.InPeriod, nIn, recordsIn}} {
			e.ps.Rows += e.n
			e.ps.Records += e.records
			e.ps.ByLegalBasis[basis] += e.n
			e.ps.ByRecipientKind[kind] += e.n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("sharing ledger: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT COUNT(DISTINCT recipient), COUNT(DISTINCT CASE WHEN at >= ? THEN recipient END)
		FROM sharing_ledger WHERE at < ?`, from, to).Scan(&c.Total.Recipients, &c.InPeriod.Recipients)
	if err != nil {
		return c, fmt.Errorf("sharing ledger: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT COUNT(DISTINCT s.subject_id), COUNT(DISTINCT CASE WHEN l.at >= ? THEN s.subject_id END)
		FROM sharing_subjects s JOIN sharing_ledger l ON l.id = s.ledger_id WHERE l.at < ?`, from, to).
		Scan(&c.Total.Subjects, &c.InPeriod.Subjects)
	if err != nil {
		return c, fmt.Errorf("sharing subjects: %w", err)
	}
	return c, nil
}

// countOptional counts a table a later issue adds, by its created_at
// column. It returns nil and a note when the table (or the column) is not
// there.
func countOptional(ctx context.Context, q store.Querier, table string, from, to int64) (*RecordCounts, string, error) {
	ok, err := hasTable(ctx, q, table)
	if err != nil || !ok {
		return nil, NoteNotRecorded, err
	}
	if ok, err = hasColumn(ctx, q, table, "created_at"); err != nil || !ok {
		return nil, "table " + table + " has no created_at column; not counted", err
	}
	var rc RecordCounts
	// table is one of this package's constants, never input.
	err = q.QueryRow(ctx, `SELECT COUNT(*), `+sum(`CASE WHEN created_at >= ? THEN 1 ELSE 0 END`)+` FROM `+table+` WHERE created_at < ?`,
		from, to).Scan(&rc.Total, &rc.InPeriod)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", table, err)
	}
	return &rc, "", nil
}

// hasTable reports whether the business schema has a table called name.
func hasTable(ctx context.Context, q store.Querier, name string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if q.Engine() == store.Postgres {
		query = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	if err := q.QueryRow(ctx, query, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", name, err)
	}
	return n > 0, nil
}

// hasColumn reports whether table has a column called name.
func hasColumn(ctx context.Context, q store.Querier, table, name string) (bool, error) {
	query := `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`
	if q.Engine() == store.Postgres {
		query = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?`
	}
	var n int
	if err := q.QueryRow(ctx, query, table, name).Scan(&n); err != nil {
		return false, fmt.Errorf("look for column %s.%s: %w", table, name, err)
	}
	return n > 0, nil
}
