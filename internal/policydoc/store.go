package policydoc

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/store"
)

// Version statuses.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// SystemActor is who publishes the first version (EnsureInitial).
const SystemActor = "system"

// MaxSummary is the longest change summary, in characters, per language.
const MaxSummary = 2000

// Version is one version of the privacy policy as stored. Seq is 0 while it
// is a draft.
type Version struct {
	Meta
	Status      string    `json:"status"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	PublishedBy string    `json:"published_by,omitempty"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Digest      string    `json:"digest,omitempty"` // hex digest of policy JSON ‖ 0 ‖ children JSON
}

// Store keeps the policy's versions in the business database (table
// policy_versions). A draft is edited until it is published; publishing
// renders both documents from the sources at that moment and freezes them
// with their digest.
//
// Current and MaterialFloor are asked on every consent check, so they are
// answered from an in-memory snapshot of all published versions, evaluated
// against the clock at each call (a version published with a future
// effective date becomes current when the clock passes it). The snapshot is
// dropped when this Store publishes and reloaded at most every CacheTTL
// otherwise, so another node's publication is seen within CacheTTL.
type Store struct {
	db  *store.DB
	src Sources
	clk clock.Clock

	// CacheTTL bounds the age of the snapshot of published versions
	// (default 1s); zero or less reloads it on every call.
	CacheTTL time.Duration

	mu   sync.Mutex // one snapshot load at a time
	gen  atomic.Uint64
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	gen       uint64
	at        time.Time
	published []Version // by seq, ascending
}

// NewStore returns a Store rendering from src and digesting with suite.
// A nil clk is the wall clock.
func NewStore(db *store.DB, src Sources, suite cryptox.Suite, clk clock.Clock) *Store {
	if clk == nil {
		clk = clock.Real{}
	}
	if suite == nil {
		suite = cryptox.SM{}
	}
	if src.Suite == nil {
		src.Suite = suite
	}
	return &Store{db: db, src: src, clk: clk, CacheTTL: time.Second}
}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$`)

func invalid(field, zh, en string) *errs.Error { return errs.New(errs.Invalid, field, zh, en) }

func errNotFound() error {
	return errs.New(errs.NotFound, "version", "隐私政策版本不存在", "no such privacy-policy version")
}

func errPublished() error {
	return errs.New(errs.Conflict, "version", "该隐私政策版本已发布，不能再修改或发布", "this privacy-policy version is already published and cannot be changed or published again")
}

// validate checks what an editor writes.
func validate(actor string, m Meta) error {
	if strings.TrimSpace(actor) == "" {
		return invalid("actor", "须指明操作人", "name who acts")
	}
	if !versionRE.MatchString(m.Version) {
		return invalid("version", "版本号须为 1 至 32 个字母、数字、点、下划线或连字符，且以字母或数字开头", "a version is 1 to 32 letters, digits, dots, underscores or hyphens, starting with a letter or digit")
	}
	for _, s := range []struct{ field, v string }{{"summary_zh", m.SummaryZh}, {"summary_en", m.SummaryEn}} {
		if strings.TrimSpace(s.v) == "" {
			return invalid(s.field, "须填写中英文变更摘要", "write the summary of changes in both languages")
		}
		if !utf8.ValidString(s.v) || utf8.RuneCountInString(s.v) > MaxSummary {
			return invalid(s.field, fmt.Sprintf("变更摘要不得超过 %d 个字符", MaxSummary), fmt.Sprintf("a summary of changes is at most %d characters", MaxSummary))
		}
	}
	if y := m.EffectiveAt.UTC().Year(); m.EffectiveAt.IsZero() || y < 2000 || y > 9999 {
		return invalid("effective_at", "须填写有效的生效日期", "give a valid effective date")
	}
	return nil
}

// CreateDraft stores a new draft. Seq is ignored. A version that exists
// already is errs.Conflict.
func (s *Store) CreateDraft(ctx context.Context, actor string, m Meta) (Version, error) {
	if err := validate(actor, m); err != nil {
		return Version{}, err
	}
	v := Version{Meta: m, Status: StatusDraft, CreatedBy: actor, CreatedAt: micro(s.clk.Now())}
	v.Seq, v.EffectiveAt = 0, micro(m.EffectiveAt)
	v.SummaryZh, v.SummaryEn = strings.TrimSpace(m.SummaryZh), strings.TrimSpace(m.SummaryEn)
	_, err := s.db.Exec(ctx, `INSERT INTO policy_versions (version, seq, status, material, effective_at, summary_zh, summary_en, created_by, created_at)
		VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?)`, v.Version, StatusDraft, boolInt(v.Material), v.EffectiveAt.UnixMicro(),
		v.SummaryZh, v.SummaryEn, v.CreatedBy, v.CreatedAt.UnixMicro())
	if store.IsUniqueViolation(err) {
		return Version{}, errs.New(errs.Conflict, "version", "该隐私政策版本号已存在", "this privacy-policy version already exists")
	}
	if err != nil {
		return Version{}, fmt.Errorf("policydoc: create draft %s: %w", m.Version, err)
	}
	return v, nil
}

// UpdateDraft replaces a draft's effective date, summaries and material
// flag. A published version is errs.Conflict; an unknown one errs.NotFound.
func (s *Store) UpdateDraft(ctx context.Context, actor string, m Meta) (Version, error) {
	if err := validate(actor, m); err != nil {
		return Version{}, err
	}
	var v Version
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := get(ctx, tx, m.Version)
		if err != nil {
			return err
		}
		if cur.Status != StatusDraft {
			return errPublished()
		}
		v = cur
		v.EffectiveAt, v.Material = micro(m.EffectiveAt), m.Material
		v.SummaryZh, v.SummaryEn = strings.TrimSpace(m.SummaryZh), strings.TrimSpace(m.SummaryEn)
		res, err := tx.Exec(ctx, `UPDATE policy_versions SET material = ?, effective_at = ?, summary_zh = ?, summary_en = ?
			WHERE version = ? AND status = ?`, boolInt(v.Material), v.EffectiveAt.UnixMicro(), v.SummaryZh, v.SummaryEn, v.Version, StatusDraft)
		if err != nil {
			return fmt.Errorf("policydoc: update draft %s: %w", m.Version, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return errPublished()
		}
		return nil
	})
	return v, err
}

// Publish freezes a draft: it renders the policy and the children's policy
// from the sources now, stores their JSON and digest (hex of the suite's
// digest of policy ‖ 0 ‖ children), and gives the version the next
// publication sequence number. An effective date already past becomes now.
// Publishing a published version is errs.Conflict.
func (s *Store) Publish(ctx context.Context, actor, version string) (Version, error) {
	if strings.TrimSpace(actor) == "" {
		return Version{}, invalid("actor", "须指明操作人", "name who acts")
	}
	var v Version
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		// Publications take their sequence numbers one at a time.
		if err := tx.LockKey(ctx, "policydoc.publish"); err != nil {
			return err
		}
		cur, err := get(ctx, tx, version)
		if err != nil {
			return err
		}
		if cur.Status != StatusDraft {
			return errPublished()
		}
		var maxSeq sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT MAX(seq) FROM policy_versions`).Scan(&maxSeq); err != nil {
			return fmt.Errorf("policydoc: publish %s: %w", version, err)
		}
		now := micro(s.clk.Now())
		v = cur
		v.Seq = maxSeq.Int64 + 1
		if v.EffectiveAt.Before(now) {
			v.EffectiveAt = now
		}
		v.Status, v.PublishedBy, v.PublishedAt = StatusPublished, actor, now
		pol, err := render(s.src, v.Meta, now)
		if err != nil {
			return err
		}
		ch, err := renderChildren(s.src, v.Meta, now)
		if err != nil {
			return err
		}
		doc, err := pol.JSON()
		if err != nil {
			return err
		}
		kids, err := ch.JSON()
		if err != nil {
			return err
		}
		v.Digest = hex.EncodeToString(cryptox.Digest(s.src.Suite, doc, []byte{0}, kids))
		res, err := tx.Exec(ctx, `UPDATE policy_versions SET status = ?, seq = ?, effective_at = ?, published_by = ?, published_at = ?,
			document = ?, children = ?, digest = ? WHERE version = ? AND status = ?`,
			StatusPublished, v.Seq, v.EffectiveAt.UnixMicro(), v.PublishedBy, v.PublishedAt.UnixMicro(),
			string(doc), string(kids), v.Digest, version, StatusDraft)
		if err != nil {
			return fmt.Errorf("policydoc: publish %s: %w", version, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return errPublished()
		}
		tx.AfterCommit(s.invalidate)
		return nil
	})
	if err != nil {
		return Version{}, err
	}
	return v, nil
}

// Get returns one version; errs.NotFound if there is none.
func (s *Store) Get(ctx context.Context, version string) (Version, error) {
	return get(ctx, s.db, version)
}

// Documents returns a published version's frozen policy and children's
// policy JSON. A draft has none: errs.NotFound.
func (s *Store) Documents(ctx context.Context, version string) (policyJSON, childrenJSON []byte, err error) {
	var status, doc, kids string
	err = s.db.QueryRow(ctx, `SELECT status, document, children FROM policy_versions WHERE version = ?`, version).Scan(&status, &doc, &kids)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("policydoc: documents %s: %w", version, err)
	}
	if status != StatusPublished {
		return nil, nil, errs.New(errs.NotFound, "version", "该隐私政策版本尚未发布", "this privacy-policy version is not published")
	}
	return []byte(doc), []byte(kids), nil
}

// List returns every version: drafts first (newest first), then published
// versions from the latest publication back.
func (s *Store) List(ctx context.Context) ([]Version, error) {
	return query(ctx, s.db, `SELECT `+cols+` FROM policy_versions
		ORDER BY CASE WHEN seq IS NULL THEN 0 ELSE 1 END, seq DESC, created_at DESC, version DESC`)
}

// Current returns the latest published version in effect now (by
// publication order); errs.NotFound if none is.
func (s *Store) Current(ctx context.Context) (Version, error) {
	pub, now, err := s.published(ctx)
	if err != nil {
		return Version{}, err
	}
	for i := len(pub) - 1; i >= 0; i-- {
		if !pub[i].EffectiveAt.After(now) {
			return pub[i], nil
		}
	}
	return Version{}, errs.New(errs.NotFound, "version", "尚无已生效的隐私政策", "no privacy policy is in effect yet")
}

// MaterialFloor returns the sequence number and version of the latest
// published material change in effect now: a consent given under an
// earlier version must be asked again (CON-3). It returns (0, "") if there
// is none.
func (s *Store) MaterialFloor(ctx context.Context) (seq int64, version string, err error) {
	pub, now, err := s.published(ctx)
	if err != nil {
		return 0, "", err
	}
	for i := len(pub) - 1; i >= 0; i-- {
		if pub[i].Material && !pub[i].EffectiveAt.After(now) {
			return pub[i].Seq, pub[i].Version, nil
		}
	}
	return 0, "", nil
}

// EnsureInitial publishes version "1" ("首次发布" / "First publication",
// not material, effective now, by SystemActor) if no version is published,
// and returns the latest published version. It is idempotent, and safe when
// several processes start at once: whoever loses a race re-reads. A draft
// "1" that someone else wrote is not published behind their back: that is
// errs.Conflict.
func (s *Store) EnsureInitial(ctx context.Context) (Version, error) {
	for range 3 {
		if v, ok, err := s.latestPublished(ctx); err != nil || ok {
			return v, err
		}
		m := Meta{Version: "1", EffectiveAt: s.clk.Now(), SummaryZh: "首次发布", SummaryEn: "First publication"}
		if _, err := s.CreateDraft(ctx, SystemActor, m); err != nil && !errs.Is(err, errs.Conflict) {
			return Version{}, err
		}
		d, err := s.Get(ctx, m.Version)
		if err != nil {
			return Version{}, err
		}
		if d.Status == StatusDraft && d.CreatedBy != SystemActor {
			return Version{}, errs.New(errs.Conflict, "version", "版本 1 是他人编写的草稿，请先发布或改名", "version 1 is someone else's draft: publish or rename it first")
		}
		v, err := s.Publish(ctx, SystemActor, m.Version)
		if err == nil {
			return v, nil
		}
		if !errs.Is(err, errs.Conflict) {
			return Version{}, err
		}
		// Another process published it first: read it back.
	}
	return Version{}, errs.New(errs.Conflict, "version", "首个隐私政策版本发布冲突，请重试", "publishing the first privacy-policy version kept conflicting; try again")
}

func (s *Store) latestPublished(ctx context.Context) (Version, bool, error) {
	vs, err := query(ctx, s.db, `SELECT `+cols+` FROM policy_versions WHERE status = ? ORDER BY seq DESC LIMIT 1`, StatusPublished)
	if err != nil || len(vs) == 0 {
		return Version{}, false, err
	}
	return vs[0], true, nil
}

// invalidate drops the snapshot; a load that started before it is not kept.
func (s *Store) invalidate() { s.gen.Add(1) }

// published returns every published version, from the snapshot while it
// is fresh, and the time to evaluate them against.
func (s *Store) published(ctx context.Context) ([]Version, time.Time, error) {
	now := s.clk.Now()
	fresh := func(sn *snapshot) bool {
		return sn != nil && sn.gen == s.gen.Load() && !now.Before(sn.at) && now.Sub(sn.at) < s.CacheTTL
	}
	if sn := s.snap.Load(); fresh(sn) {
		return sn.published, now, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snap.Load(); fresh(sn) {
		return sn.published, now, nil
	}
	gen := s.gen.Load()
	pub, err := query(ctx, s.db, `SELECT `+cols+` FROM policy_versions WHERE status = ? ORDER BY seq`, StatusPublished)
	if err != nil {
		return nil, now, err
	}
	s.snap.Store(&snapshot{gen: gen, at: now, published: pub})
	return pub, now, nil
}

const cols = `version, seq, status, material, effective_at, summary_zh, summary_en, created_by, created_at, published_by, published_at, digest`

func get(ctx context.Context, q store.Querier, version string) (Version, error) {
	vs, err := query(ctx, q, `SELECT `+cols+` FROM policy_versions WHERE version = ?`, version)
	if err != nil {
		return Version{}, err
	}
	if len(vs) == 0 {
		return Version{}, errNotFound()
	}
	return vs[0], nil
}

func query(ctx context.Context, q store.Querier, sqlText string, args ...any) ([]Version, error) {
	rows, err := q.Query(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("policydoc: query versions: %w", err)
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var v Version
		var seq sql.NullInt64
		var material, eff, created, published int64
		if err := rows.Scan(&v.Version, &seq, &v.Status, &material, &eff, &v.SummaryZh, &v.SummaryEn,
			&v.CreatedBy, &created, &v.PublishedBy, &published, &v.Digest); err != nil {
			return nil, fmt.Errorf("policydoc: query versions: %w", err)
		}
		v.Seq, v.Material = seq.Int64, material != 0
		v.EffectiveAt, v.CreatedAt = time.UnixMicro(eff).UTC(), time.UnixMicro(created).UTC()
		if published != 0 {
			v.PublishedAt = time.UnixMicro(published).UTC()
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("policydoc: query versions: %w", err)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
