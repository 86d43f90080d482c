// Package audit keeps gigvault's tamper-evident audit log (AUD-1 to AUD-4).
//
// Each entry is appended in the same transaction as the change it records,
// and chained: hash = digest(previous hash ‖ canonical entry), with SM3 in
// the default suite. Every N entries or T seconds a checkpoint (sequence,
// hash, time) is signed with the audit signing key (SM2 by default). The
// tables refuse UPDATE and DELETE through triggers on both engines; Verify
// recomputes the chain and names the first entry that was modified,
// removed, inserted or reordered, or the first checkpoint whose signature fails.
//
// Entries describe personal information by field name and subject ID only,
// never by value.
package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/store"
)

// Entry is one audited event.
type Entry struct {
	Seq     int64 // the entry's ID: its place in the chain
	At      time.Time
	Actor   string   // who: "staff:…", "worker:…", "system:retention", "cli:demo-seed"
	Action  string   // what: "pi.put", "pi.read", "pi.erase", "keys.rotate", "auth.login" …
	Subject string   // whose PI, by subject ID; "" when none
	Fields  []string // which catalog fields; names only, never values
	Purpose string   // why
	Outcome string   // "ok", "denied", "error", …
	Channel string   // "api", "cli", "system"
	Detail  map[string]string
}

// Signer signs checkpoints and finds verifiers; *keys.Keyring implements it.
type Signer interface {
	SignAudit(msg []byte) (keyID string, sig []byte, err error)
	AuditVerifier(keyID string) (cryptox.Verifier, bool)
}

// Options tune checkpointing.
type Options struct {
	// CheckpointEvery signs a checkpoint once this many entries are unsigned (default 1000).
	CheckpointEvery int64
	// CheckpointInterval signs a checkpoint when the last one is older (default 1 minute).
	CheckpointInterval time.Duration
	Clock              clock.Clock
}

// Log appends to and verifies the audit chain.
type Log struct {
	suite   cryptox.Suite
	signer  Signer
	clk     clock.Clock
	every   int64
	period  time.Duration
	appends atomic.Uint64
}

// New returns a Log.
func New(suite cryptox.Suite, signer Signer, opts Options) *Log {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 1000
	}
	if opts.CheckpointInterval <= 0 {
		opts.CheckpointInterval = time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	return &Log{suite: suite, signer: signer, clk: opts.Clock, every: opts.CheckpointEvery, period: opts.CheckpointInterval}
}

// Appends reports how many entries this process appended.
func (l *Log) Appends() uint64 { return l.appends.Load() }

func (l *Log) genesis() []byte { return make([]byte, l.suite.NewHash().Size()) }

// Init creates the chain head on a new database. Idempotent.
func (l *Log) Init(ctx context.Context, db *store.DB) error {
	_, err := db.Exec(ctx, `INSERT INTO audit_head (id, seq, hash, checkpoint_seq, checkpoint_at) VALUES (1, 0, ?, 0, ?)
		ON CONFLICT (id) DO NOTHING`, l.genesis(), l.clk.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("audit: init chain head: %w", err)
	}
	return nil
}

type head struct {
	seq, cpSeq, cpAt int64
	hash             []byte
}

func (l *Log) lockHead(ctx context.Context, tx *store.Tx) (head, error) {
	q := `SELECT seq, hash, checkpoint_seq, checkpoint_at FROM audit_head WHERE id = 1`
	if tx.Engine() == store.Postgres {
		q += ` FOR UPDATE` // appends serialise on the head row, across nodes
	}
	var h head
	if err := tx.QueryRow(ctx, q).Scan(&h.seq, &h.hash, &h.cpSeq, &h.cpAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return h, errors.New("audit: chain head missing (database not initialised)")
		}
		return h, fmt.Errorf("audit: read chain head: %w", err)
	}
	return h, nil
}

const insertCols = 7

// Append chains entries into the log inside tx, the transaction of the
// change they describe, so the change and its record commit or fail together.
func (l *Log) Append(ctx context.Context, tx *store.Tx, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	locked, err := l.txHead(ctx, tx)
	if err != nil {
		return err
	}
	// Work on a copy: the transaction's head moves only once every row and
	// checkpoint of this call is written, so a caller that handles an error
	// and commits anyway cannot leave the head ahead of the rows.
	hc := *locked
	h := &hc
	now := l.clk.Now()
	prev := h.hash
	var due []head // checkpoints to sign once the rows are in
	const perStmt = 64
	args := make([]any, 0, perStmt*insertCols)
	var canon []byte
	flush := func(n int) error {
		if n == 0 {
			return nil
		}
		q := insertSQL(n)
		if _, err := tx.ExecHot(ctx, q, args...); err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
		args = args[:0]
		return nil
	}
	pending := 0
	for i := range entries {
		e := &entries[i]
		h.seq++
		e.Seq = h.seq
		if e.At.IsZero() {
			e.At = now
		}
		if e.Outcome == "" {
			e.Outcome = "ok"
		}
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return err
		}
		row := row{seq: e.Seq, at: e.At.UnixMicro(), actor: e.Actor, action: e.Action, subject: e.Subject,
			body: encodeBody(strings.Join(e.Fields, ","), e.Purpose, e.Outcome, e.Channel, detail)}
		canon = row.canonical(canon[:0])
		sum := cryptox.Digest(l.suite, prev, canon)
		prev = sum
		h.hash = sum
		if h.seq-h.cpSeq >= l.every {
			due = append(due, head{seq: h.seq, hash: sum})
			h.cpSeq = h.seq
		}
		args = append(args, row.seq, row.at, row.actor, row.action, row.subject, row.body, sum)
		pending++
		if pending == perStmt {
			if err := flush(pending); err != nil {
				return err
			}
			pending = 0
		}
	}
	if err := flush(pending); err != nil {
		return err
	}
	// Checkpoints are written after the entries they cover.
	for _, cp := range due {
		if err := l.checkpoint(ctx, tx, &cp, now); err != nil {
			return err
		}
		h.cpSeq, h.cpAt = cp.cpSeq, cp.cpAt
	}
	if h.seq > h.cpSeq && now.Sub(time.UnixMicro(h.cpAt)) >= l.period {
		if err := l.checkpoint(ctx, tx, h, now); err != nil {
			return err
		}
	}
	*locked = hc
	l.appends.Add(uint64(len(entries)))
	return nil
}

type headKey struct{}

// txHead returns the chain head locked by this transaction, locking it on
// the first append; the head row is written back once, just before commit,
// so many appends in one transaction cost one read and one write of it.
func (l *Log) txHead(ctx context.Context, tx *store.Tx) (*head, error) {
	if h, ok := tx.Value(headKey{}).(*head); ok {
		return h, nil
	}
	hv, err := l.lockHead(ctx, tx)
	if err != nil {
		return nil, err
	}
	h := &hv
	tx.Set(headKey{}, h)
	tx.BeforeCommit(func() error {
		if _, err := tx.ExecHot(ctx, `UPDATE audit_head SET seq = ?, hash = ?, checkpoint_seq = ?, checkpoint_at = ? WHERE id = 1`,
			h.seq, h.hash, h.cpSeq, h.cpAt); err != nil {
			return fmt.Errorf("audit: advance chain head: %w", err)
		}
		return nil
	})
	return h, nil
}

var insertCache [65]string

func insertSQL(n int) string {
	if n < len(insertCache) && insertCache[n] != "" {
		return insertCache[n]
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_entries (seq, at, actor, action, subject_id, body, hash) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	return b.String()
}

func init() {
	for i := 1; i < len(insertCache); i++ {
		insertCache[i] = insertSQL(i)
	}
}

// MaxDetail bounds an entry's detail: the log records what happened, by
// name and ID, not documents.
const MaxDetail = 16 << 10

func encodeDetail(d map[string]string) (string, error) {
	if len(d) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(d) // map keys are sorted: canonical
	if err != nil {
		return "", fmt.Errorf("audit: detail: %w", err)
	}
	if len(b) > MaxDetail {
		return "", fmt.Errorf("audit: detail of %d bytes: at most %d", len(b), MaxDetail)
	}
	return string(b), nil
}

// checkpointMsg is what a checkpoint signature covers.
func checkpointMsg(seq int64, hash []byte, at int64) []byte {
	var b bytes.Buffer
	b.WriteString("gigvault-audit-checkpoint\x00")
	b.WriteString(strconv.FormatInt(seq, 10))
	b.WriteByte(0)
	b.Write(hash)
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(at, 10))
	return b.Bytes()
}

func (l *Log) checkpoint(ctx context.Context, tx *store.Tx, h *head, now time.Time) error {
	if h.seq == h.cpSeq {
		h.cpAt = now.UnixMicro()
		return nil
	}
	at := now.UnixMicro()
	keyID, sig, err := l.signer.SignAudit(checkpointMsg(h.seq, h.hash, at))
	if err != nil {
		return fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`,
		h.seq, h.hash, at, keyID, sig); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	h.cpSeq, h.cpAt = h.seq, at
	return nil
}

// Checkpoint signs the chain head now if entries were appended since the
// last checkpoint. serve calls it every CheckpointInterval so a quiet chain
// does not keep an unsigned tail.
func (l *Log) Checkpoint(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *store.Tx) error {
		h, err := l.txHead(ctx, tx)
		if err != nil {
			return err
		}
		if h.seq == h.cpSeq {
			return nil
		}
		return l.checkpoint(ctx, tx, h, l.clk.Now())
	})
}

// Filter selects entries for Search (AUD-5).
type Filter struct {
	Actor, Subject, Action, Channel string
	From, To                        time.Time
	Limit                           int
	// Newest returns the latest entries first; Before (a sequence number,
	// with Newest) pages back from there.
	Newest bool
	Before int64
}

// maxChannelScan bounds how many rows one channel-filtered search decodes.
const maxChannelScan = 100000

// Search returns entries matching f, oldest first unless f.Newest.
func Search(ctx context.Context, db store.Querier, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Subject != "" {
		add("subject_id = ?", f.Subject)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.From.IsZero() {
		add("at >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		add("at < ?", f.To.UnixMicro())
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	q := `SELECT seq, at, actor, action, subject_id, body, hash FROM audit_entries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Newest {
		q += " DESC"
	}
	if f.Channel == "" {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	} // else: the channel is in the body, so the limit applies after decoding
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	defer rows.Close()
	var out []Entry
	scanned := 0
	for rows.Next() {
		var r row
		if err := scanRow(rows, &r); err != nil {
			return nil, err
		}
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		if scanned++; scanned > maxChannelScan {
			break // a channel filter decodes rows: bounded, page on with Before
		}
		if f.Channel != "" && e.Channel != f.Channel {
			continue // channel lives in the body: filtered after decoding
		}
		out = append(out, e)
		if len(out) == f.Limit {
			break
		}

	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	return out, nil
}

// SortedFields returns names sorted and de-duplicated, for stable entries.
func SortedFields(names ...string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
