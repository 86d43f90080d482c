package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"sync"
	"sync/atomic"

	"gigvault/internal/store"
)

// Problem is the first inconsistency Verify found.
type Problem struct {
	Seq    int64  // the entry (or checkpoint) concerned
	Kind   string // modified | deleted | inserted | reordered | checkpoint_signature | checkpoint_mismatch | head_mismatch
	Detail string
}

func (p *Problem) String() string {
	return fmt.Sprintf("audit entry %d: %s: %s", p.Seq, p.Kind, p.Detail)
}

// Report is the outcome of Verify.
type Report struct {
	Entries     int64
	Checkpoints int
	LastSeq     int64
	Signed      int64 // the last entry covered by a verified checkpoint
	Problem     *Problem
}

// OK reports whether the chain verified.
func (r Report) OK() bool { return r.Problem == nil }

type checkpointRow struct {
	seq, at int64
	hash    []byte
	keyID   string
	sig     []byte
}

// verifyWorkers is how many ranges of the chain are checked at once. Every
// entry is checked against the stored hash of the one before it, so ranges
// are independent; two match this machine's two cores.
const verifyWorkers = 2

// Verify recomputes the whole chain and checks every checkpoint signature.
// It reports the first problem (the lowest sequence number) and names it.
// progress, when set, is called with entries done and the total.
func (l *Log) Verify(ctx context.Context, db *store.DB, progress func(done, total int64)) (Report, error) {
	var rep Report
	cps, err := loadCheckpoints(ctx, db)
	if err != nil {
		return rep, err
	}
	rep.Checkpoints = len(cps)
	bySeq := make(map[int64][]byte, len(cps))
	for _, cp := range cps {
		v, ok := l.signer.AuditVerifier(cp.keyID)
		if !ok {
			rep.Problem = &Problem{cp.seq, "checkpoint_signature", "signed by unknown key " + cp.keyID}
			return rep, nil
		}
		if !v.Verify(checkpointMsg(cp.seq, cp.hash, cp.at), cp.sig) {
			rep.Problem = &Problem{cp.seq, "checkpoint_signature", "checkpoint signature does not verify"}
			return rep, nil
		}
		bySeq[cp.seq] = cp.hash
	}
	// The head is read first: entries up to it are final, so a server that
	// keeps appending while we verify cannot make a clean chain look broken.
	var total int64
	var headHash []byte
	if err := db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&total, &headHash); err != nil {
		return rep, fmt.Errorf("audit: verify: read chain head: %w", err)
	}
	var maxSeq, minSeq, count int64
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0), COALESCE(MIN(seq), 1), COUNT(*) FROM audit_entries WHERE seq <= ?`, total).
		Scan(&maxSeq, &minSeq, &count); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	if minSeq < 1 {
		rep.Problem = &Problem{minSeq, "inserted", "an entry outside the chain's numbering was added"}
		return rep, nil
	}
	var tableMax int64
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&tableMax); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}
	for _, cp := range cps {
		if cp.seq > tableMax {
			rep.Problem = &Problem{tableMax + 1, "deleted", fmt.Sprintf("a signed checkpoint covers entry %d but the chain ends at %d: entries were removed from the end", cp.seq, tableMax)}
			return rep, nil
		}
	}
	if tableMax < total {
		rep.Problem = &Problem{tableMax + 1, "deleted", fmt.Sprintf("the chain head says %d entries, the table ends at %d: entries were removed from the end", total, tableMax)}
		return rep, nil
	}

	// Split [1, total] into ranges checked in parallel.
	var done atomic.Int64
	var progMu sync.Mutex
	report := func(n int64) {
		d := done.Add(n)
		if progress != nil {
			progMu.Lock()
			progress(d, total)
			progMu.Unlock()
		}
	}
	workers := verifyWorkers
	if total < 10000 {
		workers = 1
	}
	span := (total + int64(workers) - 1) / int64(max(workers, 1))
	results := make([]rangeResult, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		from, to := int64(w)*span+1, min(int64(w+1)*span, total)
		if w == workers-1 {
			to = total
		}
		wg.Add(1)
		go func(w int, from, to int64) {
			defer wg.Done()
			results[w] = l.verifyRange(ctx, db, from, to, bySeq, report)
		}(w, from, to)
	}
	wg.Wait()
	var lastHash []byte
	for _, r := range results {
		if r.err != nil {
			return rep, r.err
		}
		rep.Entries += r.count
		if rep.Problem != nil {
			continue // results are in sequence order: the first problem is the lowest
		}
		if r.signed > rep.Signed {
			rep.Signed = r.signed
		}
		rep.Problem = r.problem
		lastHash = r.last
	}
	rep.LastSeq = total
	if rep.Problem != nil {
		return rep, nil
	}
	if total == 0 {
		lastHash = l.genesis()
	}
	if !bytes.Equal(headHash, lastHash) {
		rep.Problem = &Problem{total, "head_mismatch", "the chain head does not match the last entry: the end of the chain was rewritten"}
	} else if count != total {
		rep.Problem = &Problem{total, "inserted", fmt.Sprintf("%d rows where the chain has %d entries", count, total)}
	}
	return rep, nil
}

type rangeResult struct {
	count, signed int64
	last          []byte
	problem       *Problem
	err           error
}

// verifyRange checks entries from..to, reading one entry past to as
// look-ahead for classifying a problem at the end of the range.
func (l *Log) verifyRange(ctx context.Context, db *store.DB, from, to int64, checkpoints map[int64][]byte, report func(int64)) rangeResult {
	var res rangeResult
	if from > to {
		return res
	}
	v := verifier{h: l.suite.NewHash(), expected: from}
	// The stored hashes just before the range stand in for the chain so far.
	var err error
	if v.prev1, err = storedHash(ctx, db, from-1, l.genesis()); err != nil {
		res.err = err
		return res
	}
	if from > 1 {
		if v.prev2, err = storedHash(ctx, db, from-2, l.genesis()); err != nil {
			res.err = err
			return res
		}
	}
	rows, err := db.Query(ctx, `SELECT `+rowColumns+` FROM audit_entries WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to+1)
	if err != nil {
		res.err = fmt.Errorf("audit: verify: read entries: %w", err)
		return res
	}
	defer rows.Close()
	// Two row slots whose byte buffers are reused: scanning into RawBytes
	// and copying spares the allocations that dominate a long verify.
	var cur, next row
	var rawBody, rawHash sql.RawBytes
	have, pending := false, int64(0)
	advance := func() bool {
		if !rows.Next() {
			return false
		}
		if err := rows.Scan(&next.seq, &next.at, &next.actor, &next.action, &next.subject, &rawBody, &rawHash); err != nil {
			res.err = fmt.Errorf("audit: read entry: %w", err)
			return false
		}
		next.body = append(next.body[:0], rawBody...)
		next.hash = append(next.hash[:0], rawHash...)
		return true
	}
	have = advance()
	for have && res.err == nil {
		cur, next = next, cur // next's buffers are reused for the row after
		have = advance()
		if cur.seq > to {
			break
		}
		var nxt *row
		if have {
			nxt = &next
		}
		ok := v.matches(&cur)
		cpHash, isCP := checkpoints[cur.seq]
		cpBad := ok && isCP && !bytes.Equal(cpHash, cur.hash)
		if !ok || cpBad {
			p := v.classify(&cur, nxt)
			if cpBad && p.Kind == "modified" {
				p = &Problem{cur.seq, "checkpoint_mismatch", "the signed checkpoint does not match this entry: the chain up to here was rewritten"}
			}
			res.problem = p
			break
		}
		v.advance(&cur)
		if isCP {
			res.signed = cur.seq
		}
		if pending++; pending == 4096 {
			report(pending)
			pending = 0
		}
	}
	report(pending)
	if res.err == nil {
		res.err = rows.Err()
		if res.err != nil {
			res.err = fmt.Errorf("audit: verify: read entries: %w", res.err)
		}
	}
	res.count = v.count
	res.last = v.prev1
	if res.problem == nil && res.err == nil && v.expected != to+1 {
		res.problem = &Problem{v.expected, "deleted", fmt.Sprintf("entries %d to %d are missing", v.expected, to)}
	}
	return res
}

func storedHash(ctx context.Context, db *store.DB, seq int64, genesis []byte) ([]byte, error) {
	if seq <= 0 {
		return genesis, nil
	}
	var h []byte
	err := db.QueryRow(ctx, `SELECT hash FROM audit_entries WHERE seq = ?`, seq).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return genesis, nil // missing: the range before reports it
	}
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	return h, nil
}

func loadCheckpoints(ctx context.Context, db *store.DB) ([]checkpointRow, error) {
	rows, err := db.Query(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []checkpointRow
	for rows.Next() {
		var c checkpointRow
		if err := rows.Scan(&c.seq, &c.hash, &c.at, &c.keyID, &c.sig); err != nil {
			return nil, fmt.Errorf("audit: verify: read checkpoint: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	return out, nil
}

// verifier walks a range of the chain keeping the last two hashes.
type verifier struct {
	h            hash.Hash
	buf, sum     []byte
	prev1, prev2 []byte
	spare        []byte // the third buffer of the prev1/prev2 rotation
	expected     int64
	count        int64
}

func (v *verifier) digest(prev []byte, r *row, seq int64) []byte {
	saved := r.seq
	r.seq = seq
	v.buf = r.canonical(v.buf[:0])
	r.seq = saved
	v.h.Reset()
	v.h.Write(prev)
	v.h.Write(v.buf)
	v.sum = v.h.Sum(v.sum[:0])
	return v.sum
}

// matches reports whether r is the next entry of the chain.
func (v *verifier) matches(r *row) bool {
	return r.seq == v.expected && bytes.Equal(v.digest(v.prev1, r, r.seq), r.hash)
}

// advance moves past r, which matched. The hashes are copied: r's buffers
// are reused for later rows.
func (v *verifier) advance(r *row) {
	next := append(v.spare[:0], r.hash...)
	v.spare = v.prev2
	v.prev2, v.prev1 = v.prev1, next
	v.expected++
	v.count++
}

// classify names what happened at the first entry that failed.
func (v *verifier) classify(r, next *row) *Problem {
	s := v.expected
	if r.seq > s {
		return &Problem{s, "deleted", fmt.Sprintf("entries %d to %d are missing", s, r.seq-1)}
	}
	if next != nil && bytes.Equal(v.digest(v.prev1, next, s), next.hash) {
		if bytes.Equal(v.digest(next.hash, r, s+1), r.hash) {
			return &Problem{s, "reordered", fmt.Sprintf("entries %d and %d were swapped", s, s+1)}
		}
		return &Problem{s, "inserted", "this entry is not part of the chain: the entry after it continues from the one before"}
	}
	if v.prev2 != nil && s > 1 && bytes.Equal(v.digest(v.prev2, r, s-1), r.hash) {
		return &Problem{s - 1, "inserted", fmt.Sprintf("entry %d was inserted: entry %d continues the chain from entry %d", s-1, s, s-2)}
	}
	return &Problem{s, "modified", "the entry does not match its hash (it was modified, or an entry before it was removed and the rest renumbered)"}
}
