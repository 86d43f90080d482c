// Package vault is where personal information lives. Callers put, get, find
// and erase PI by (subject, field, record); the vault validates each value
// against the catalog, seals it under the subject's data key with its
// context bound in as associated data, keeps a blind index for exact
// look-ups, masks what it returns unless the caller presents a reveal
// capability, and records every operation in the audit chain in the same
// transaction (ENC-1, ENC-4, ACC-6, AUD-1).
//
// The database below only ever sees ciphertext and keyed digests.
package vault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/format"
	"gigvault/internal/keys"
	"gigvault/internal/obs"
	"gigvault/internal/store"
)

// MainRecord is the record ID of single-valued fields.
const MainRecord = "main"

// Actor is who performs an operation, as the audit log names them.
type Actor struct {
	ID      string // "worker:…", "staff:…", "cli:demo-seed", "system:retention"
	Channel string // "api", "cli", "system"
}

// Item is one value to store.
type Item struct {
	Field  string
	Record string // "" means MainRecord; multi-valued fields need distinct records
	Value  string
}

// Value is one value read back.
type Value struct {
	Field     string
	Record    string
	Text      string // masked unless the read was revealed
	Masked    bool
	UpdatedAt time.Time
}

// Counters are the vault's operation counts, for metrics.
type Counters struct {
	Puts, Gets, Reveals, Finds, Erases, IntegrityFailures atomic.Uint64
}

// Vault stores PI. Safe for concurrent use.
type Vault struct {
	db   *store.DB
	keys *keys.Keyring
	cat  *catalog.Catalog
	log  *audit.Log
	clk  clock.Clock
	rec  *audit.Recorder
	cap  []byte // capability MAC key, per process
	C    Counters
}

// New wires a vault and returns it with its capability Issuer, which the
// wiring hands only to the decision point.
func New(db *store.DB, kr *keys.Keyring, cat *catalog.Catalog, log *audit.Log, clk clock.Clock) (*Vault, *Issuer) {
	if clk == nil {
		clk = clock.Real{}
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("vault: system randomness failed: " + err.Error())
	}
	v := &Vault{db: db, keys: kr, cat: cat, log: log, clk: clk, cap: k, rec: audit.NewRecorder(log, db, 0)}
	return v, &Issuer{v}
}

// Recorder is the vault's group-committing audit recorder. Everything else
// that records outside a business transaction (the Guard's refusals,
// log-ins, the API) uses it too, so concurrent callers share one batch.
func (v *Vault) Recorder() *audit.Recorder { return v.rec }

// Catalog returns the catalog the vault enforces.
func (v *Vault) Catalog() *catalog.Catalog { return v.cat }

// aad binds a ciphertext to its subject, field, record and key version, so
// a ciphertext copied anywhere else fails to open (ENC-4).
func aad(subject, field, record string, version int) []byte {
	b := make([]byte, 0, 32+len(subject)+len(field)+len(record))
	b = append(b, "gigvault/pi/v1"...)
	for _, s := range [...]string{subject, field, record} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return strconv.AppendInt(b, int64(version), 10)
}

// CreateSubject registers a new data subject and returns its ID (UUIDv7).
func (v *Vault) CreateSubject(ctx context.Context, tx *store.Tx, kind string) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("vault: subject id: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO subjects (id, kind, created_at) VALUES (?, ?, ?)`, id.String(), kind, v.clk.Now().UnixMicro()); err != nil {
		return "", fmt.Errorf("vault: create subject: %w", err)
	}
	return id.String(), nil
}

// field resolves and checks a catalog field for storage.
func (v *Vault) field(name, record string) (*catalog.Field, string, error) {
	f, ok := v.cat.Field(name)
	if !ok {
		return nil, "", errs.New(errs.Invalid, name, "该字段未在个人信息目录中声明,不能存储", "this field is not declared in the PI catalog and cannot be stored")
	}
	if !f.Retention.Stored() {
		return nil, "", errs.New(errs.Invalid, name, "该字段仅用于单次请求,不得存储", "this field is used for a single request only and is never stored")
	}
	if record == "" {
		record = MainRecord
	}
	if !f.Multi && record != MainRecord {
		return nil, "", errs.New(errs.Invalid, name, "该字段只能有一条记录", "this field holds a single record")
	}
	if len(record) > 64 {
		return nil, "", errs.New(errs.Invalid, name, "记录标识过长", "record ID is too long")
	}
	return f, record, nil
}

// sealed is a value ready to write.
type sealed struct {
	field, record string
	version       int
	ct            []byte
	index         *keys.IndexEntry
	expires       sql.NullInt64
}

func (v *Vault) seal(ctx context.Context, subject string, it Item) (sealed, error) {
	f, record, err := v.field(it.Field, it.Record)
	if err != nil {
		return sealed{}, err
	}
	norm, err := format.Normalize(f.Format, it.Value)
	if err != nil {
		var fe *format.Error
		if errors.As(err, &fe) {
			return sealed{}, &errs.Error{Code: errs.Invalid, Field: it.Field, Message: fe.Message, MessageZh: fe.MessageZh, Err: err}
		}
		return sealed{}, errs.Wrap(errs.Invalid, it.Field, "取值无效", "invalid value", err)
	}
	// Sealing with a version we learn only from the keyring: seal first, then
	// bind — so the AAD is computed with the version the keyring used.
	s := sealed{field: f.Name, record: record}
	ct, ver, err := v.sealWithVersion(ctx, subject, f.Name, record, []byte(norm))
	if err != nil {
		return sealed{}, err
	}
	s.ct, s.version = ct, ver
	if f.Indexed {
		s.index = &keys.IndexEntry{Field: f.Name, Record: record, Normalised: norm}
	}
	if exp := f.ExpiresAt(v.clk.Now()); !exp.IsZero() {
		s.expires = sql.NullInt64{Int64: exp.UnixMicro(), Valid: true}
	}
	return s, nil
}

// dekVersion is the only DEK version a subject has today; the AAD carries
// it so a future per-subject DEK rotation cannot be confused with today's.
const dekVersion = 1

func (v *Vault) sealWithVersion(ctx context.Context, subject, field, record string, pt []byte) ([]byte, int, error) {
	ct, ver, err := v.keys.Seal(ctx, subject, pt, aad(subject, field, record, dekVersion))
	if err != nil {
		return nil, 0, mapKeyErr(err, field)
	}
	if ver != dekVersion {
		return nil, 0, fmt.Errorf("vault: unexpected data key version %d", ver)
	}
	return ct, ver, nil
}

func mapKeyErr(err error, field string) error {
	switch {
	case errors.Is(err, keys.ErrErased):
		return errs.Wrap(errs.Erased, field, "该用户的个人信息已被删除", "this person's data has been erased", err)
	case errors.Is(err, keys.ErrIntegrity):
		return errs.Wrap(errs.Integrity, field, "数据完整性校验失败", "stored data failed its integrity check", err)
	case errors.Is(err, keys.ErrNoKey):
		return errs.Wrap(errs.NotFound, field, "未找到该信息", "no such value", err)
	}
	return err
}

// Put stores values for a subject in one transaction with one audit entry.
func (v *Vault) Put(ctx context.Context, actor Actor, purpose, subject string, items ...Item) error {
	return v.db.InTx(ctx, func(tx *store.Tx) error {
		return v.PutTx(ctx, tx, actor, purpose, subject, items...)
	})
}

// PutTx is Put inside the caller's transaction, so a business change and the
// PI it stores commit together.
func (v *Vault) PutTx(ctx context.Context, tx *store.Tx, actor Actor, purpose, subject string, items ...Item) error {
	if len(items) == 0 {
		return nil
	}
	if err := v.lockLiveSubject(ctx, tx, subject, false); err != nil {
		return err
	}
	now := v.clk.Now().UnixMicro()
	names := make([]string, 0, len(items))
	rows := make([]sealed, 0, len(items))
	seen := make(map[[2]string]int, len(items))
	for _, it := range items {
		s, err := v.seal(ctx, subject, it)
		if err != nil {
			return err
		}
		key := [2]string{s.field, s.record}
		if i, dup := seen[key]; dup {
			rows[i] = s // the last value for a record wins, as it would in sequence
			continue
		}
		seen[key] = len(rows)
		rows = append(rows, s)
		names = append(names, s.field)
	}
	const perStmt = 50
	// Blind indexes go to the key store first; a rollback below leaves at
	// worst a stale entry that look-ups discard. Stale entries of replaced
	// values are pruned once this transaction commits.
	var index []keys.IndexEntry
	for _, s := range rows {
		if s.index != nil {
			index = append(index, *s.index)
		}
	}
	if err := v.keys.Index(ctx, subject, index...); err != nil {
		return mapKeyErr(err, "subject")
	}
	if len(index) > 0 {
		tx.AfterCommit(func() { _ = v.keys.Prune(context.WithoutCancel(ctx), subject, index...) })
	}
	args := make([]any, 0, min(len(rows), perStmt)*8)
	for start := 0; start < len(rows); start += perStmt {
		chunk := rows[start:min(start+perStmt, len(rows))]
		args = args[:0]
		for _, s := range chunk {
			args = append(args, subject, s.field, s.record, s.version, s.ct, now, now, s.expires)
		}
		if _, err := tx.ExecHot(ctx, upsertSQL(len(chunk)), args...); err != nil {
			return fmt.Errorf("vault: put %d values: %w", len(chunk), err)
		}
	}
	v.C.Puts.Add(uint64(len(items)))
	return v.log.Append(ctx, tx, audit.Entry{
		Actor: actor.ID, Channel: actor.Channel, Action: "pi.put", Subject: subject,
		Fields: audit.SortedFields(names...), Purpose: purpose, Detail: withDecision(ctx, nil),
	})
}

// lockLiveSubject checks, inside tx, that the subject exists and is not
// erased, and locks its row (shared for writers of PI, exclusive for an
// erasure) on PostgreSQL, so no put can slip in beside an erasure. SQLite's
// single writer gives the same order.
func (v *Vault) lockLiveSubject(ctx context.Context, tx *store.Tx, subject string, exclusive bool) error {
	q := `SELECT erased_at FROM subjects WHERE id = ?`
	if tx.Engine() == store.Postgres {
		if exclusive {
			q += ` FOR UPDATE`
		} else {
			q += ` FOR SHARE`
		}
	}
	var erased sql.NullInt64
	err := tx.QueryRow(ctx, q, subject).Scan(&erased)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.New(errs.NotFound, "subject", "数据主体不存在", "no such data subject")
	}
	if err != nil {
		return fmt.Errorf("vault: check subject: %w", err)
	}
	if erased.Valid && !exclusive {
		return errs.New(errs.Erased, "subject", "该用户的个人信息已被删除", "this person's data has been erased")
	}
	return nil
}

var upsertCache sync.Map // rows → statement

// upsertSQL is the multi-row insert-or-replace of n values; both engines
// take the same text.
func upsertSQL(n int) string {
	if q, ok := upsertCache.Load(n); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO pi_values (subject_id, field, record_id, dek_version, ciphertext, created_at, updated_at, expires_at) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT (subject_id, field, record_id) DO UPDATE SET dek_version = excluded.dek_version,
		ciphertext = excluded.ciphertext, updated_at = excluded.updated_at, expires_at = excluded.expires_at`)
	q := b.String()
	upsertCache.Store(n, q)
	return q
}

// Reveal is the capability to read one record of one field of one subject
// whole, for one purpose, until it expires. Only the holder of the vault's
// Issuer — the decision point — can make one; the MAC binds every field, so
// a Reveal cannot be re-aimed even by code that copies it.
type Reveal struct {
	actor, subject, field, record, purpose, reason string
	exp                                            int64
	mac                                            []byte
}

// Issuer mints Reveal capabilities. vault.New returns it once, to the wiring.
type Issuer struct{ v *Vault }

// ErrNoReason: a reveal needs a reason (ACC-6).
var ErrNoReason = errs.New(errs.Invalid, "reason", "查看完整信息须说明理由", "a reveal needs a reason")

func (v *Vault) capMAC(r *Reveal) []byte {
	m := hmac.New(sha256.New, v.cap)
	for _, s := range [...]string{r.actor, r.subject, r.field, r.record, r.purpose, r.reason, strconv.FormatInt(r.exp, 10)} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// Issue grants actor a reveal of one record ("" = MainRecord) of subject's
// field for purpose, valid for ttl. The reason is required; it is kept in
// the audit log, redacted of anything that looks like PI and cut to 200
// characters, since the log can never be erased.
func (i *Issuer) Issue(actor, subject, field, record, purpose, reason string, ttl time.Duration) (*Reveal, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, ErrNoReason
	}
	if record == "" {
		record = MainRecord
	}
	if r := []rune(obs.Redact(reason)); len(r) > 200 {
		reason = string(r[:200])
	} else {
		reason = string(r)
	}
	r := &Reveal{actor: actor, subject: subject, field: field, record: record, purpose: purpose, reason: reason,
		exp: i.v.clk.Now().Add(ttl).UnixMicro()}
	r.mac = i.v.capMAC(r)
	return r, nil
}

// AllFields is the field and record of a capability covering every value
// of one subject: what a person holds to read their own data whole.
const AllFields = "*"

// IssueSubject grants actor a reveal of every value of subject for purpose,
// valid for ttl: a person reading their own data (DSR-1). List honours it;
// Get needs a per-field capability.
func (i *Issuer) IssueSubject(actor, subject, purpose, reason string, ttl time.Duration) (*Reveal, error) {
	return i.Issue(actor, subject, AllFields, AllFields, purpose, reason, ttl)
}

func (v *Vault) validReveal(r *Reveal, actor, subject, field, record, purpose string) bool {
	if r == nil || r.actor != actor || r.subject != subject || r.purpose != purpose {
		return false
	}
	if (r.field != field || r.record != record) && (r.field != AllFields || r.record != AllFields) {
		return false
	}
	if v.clk.Now().UnixMicro() > r.exp {
		return false
	}
	return hmac.Equal(r.mac, v.capMAC(r))
}

// Get reads one value: masked by the catalog's mask, or whole when reveal is
// a valid capability for exactly this actor, subject, field, record and
// purpose. Every attempt is audited — refused reveals, missing, erased and
// failed reads included — with the reveal reason when there is one.
func (v *Vault) Get(ctx context.Context, actor Actor, purpose, subject, field, record string, reveal *Reveal) (Value, error) {
	f, ok := v.cat.Field(field)
	if !ok {
		return Value{}, errs.New(errs.Invalid, field, "该字段未在个人信息目录中声明", "this field is not declared in the PI catalog")
	}
	if record == "" {
		record = MainRecord
	}
	detail := map[string]string{"record": record}
	var ver int
	var ct []byte
	var updated int64
	err := v.db.QueryRow(ctx, `SELECT v.dek_version, v.ciphertext, v.updated_at FROM pi_values v JOIN subjects s ON s.id = v.subject_id
		WHERE v.subject_id = ? AND v.field = ? AND v.record_id = ? AND s.erased_at IS NULL`,
		subject, field, record).Scan(&ver, &ct, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		e := errs.New(errs.NotFound, field, "未找到该信息", "no such value")
		if erased, _ := v.Erased(ctx, subject); erased {
			e = errs.New(errs.Erased, field, "该用户的个人信息已被删除", "this person's data has been erased")
		}
		return Value{}, v.auditRead(ctx, actor, purpose, subject, field, string(e.Code), detail, e)
	}
	if err != nil {
		return Value{}, fmt.Errorf("vault: get %s: %w", field, err)
	}
	whole := false
	if reveal != nil {
		if whole = v.validReveal(reveal, actor.ID, subject, field, record, purpose); whole {
			detail["revealed"], detail["reason"] = "true", reveal.reason
		} else {
			detail["reveal_refused"] = "capability not valid for this read"
		}
	}
	val, err := v.open(ctx, subject, f, record, ver, ct, whole)
	if err != nil {
		return Value{}, v.auditRead(ctx, actor, purpose, subject, field, string(errs.CodeOf(err)), detail, err)
	}
	val.UpdatedAt = time.UnixMicro(updated).UTC()
	if err := v.auditRead(ctx, actor, purpose, subject, field, "ok", detail, nil); err != nil {
		return Value{}, err
	}
	return val, nil
}

// auditRead records a read attempt and returns result (the caller's error,
// or an audit failure if recording itself failed: no unrecorded access).
func (v *Vault) auditRead(ctx context.Context, actor Actor, purpose, subject, field, outcome string, detail map[string]string, result error) error {
	err := v.rec.Record(ctx, audit.Entry{Actor: actor.ID, Channel: actor.Channel, Action: "pi.read",
		Subject: subject, Fields: []string{field}, Purpose: purpose, Outcome: outcome, Detail: withDecision(ctx, detail)})
	if err != nil {
		return err
	}
	return result
}

type decisionKey struct{}

// WithDecision attaches the decision point's effect and reason code to ctx;
// the vault writes them into the audit entry of the access they allowed, so
// one entry records both the decision and the access.
//
// basis, when given, names the legal-basis exception the access relies on
// (CON-13) and is recorded as "exception".
func WithDecision(ctx context.Context, effect, reason string, basis ...string) context.Context {
	d := [3]string{effect, reason}
	if len(basis) > 0 {
		d[2] = basis[0]
	}
	return context.WithValue(ctx, decisionKey{}, d)
}

func withDecision(ctx context.Context, detail map[string]string) map[string]string {
	d, ok := ctx.Value(decisionKey{}).([3]string)
	if !ok {
		return detail
	}
	if detail == nil {
		detail = map[string]string{}
	}
	detail["decision"], detail["decision_reason"] = d[0], d[1]
	if d[2] != "" {
		detail["exception"] = d[2]
	}
	return detail
}

func (v *Vault) open(ctx context.Context, subject string, f *catalog.Field, record string, ver int, ct []byte, whole bool) (Value, error) {
	pt, err := v.keys.Open(ctx, subject, ver, ct, aad(subject, f.Name, record, ver))
	if err != nil {
		if errors.Is(err, keys.ErrIntegrity) {
			v.C.IntegrityFailures.Add(1)
		}
		return Value{}, mapKeyErr(err, f.Name)
	}
	v.C.Gets.Add(1)
	val := Value{Field: f.Name, Record: record}
	if whole {
		v.C.Reveals.Add(1)
		val.Text = string(pt)
		return val, nil
	}
	masked, err := format.Mask(f.Mask, string(pt))
	clear(pt)
	if err != nil {
		masked = "****"
	}
	val.Text, val.Masked = masked, true
	return val, nil
}
