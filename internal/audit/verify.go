package audit

import (
	"bytes"
	"context"
	"fmt"
	"hash"

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
	Signed      int64 // entries covered by a verified checkpoint
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

// Verify recomputes the whole chain and checks every checkpoint signature.
// It stops at the first problem and names it. progress, when set, is called
// with entries done and the total.
func (l *Log) Verify(ctx context.Context, db *store.DB, progress func(done, total int64)) (Report, error) {
	var rep Report
	cps, err := loadCheckpoints(ctx, db)
	if err != nil {
		return rep, err
	}
	rep.Checkpoints = len(cps)
	bySeq := make(map[int64]checkpointRow, len(cps))
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
		bySeq[cp.seq] = cp
	}
	var total int64
	if err := db.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&total); err != nil {
		return rep, fmt.Errorf("audit: verify: %w", err)
	}

	batches := make(chan []row, 4)
	readErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { readErr <- readRows(ctx, db, batches) }()

	v := verifier{h: l.suite.NewHash(), prev1: l.genesis(), expected: 1}
	var pendingNext []row
	next := func() ([]row, bool) {
		if pendingNext != nil {
			b := pendingNext
			pendingNext = nil
			return b, true
		}
		b, ok := <-batches
		return b, ok
	}
	for {
		batch, ok := next()
		if !ok {
			break
		}
		for i := range batch {
			r := &batch[i]
			ok := v.matches(r)
			cp, isCP := bySeq[r.seq]
			cpBad := ok && isCP && !bytes.Equal(cp.hash, r.hash)
			if !ok || cpBad {
				var nxt *row
				if i+1 < len(batch) {
					nxt = &batch[i+1]
				} else if b, more := next(); more && len(b) > 0 {
					pendingNext = b
					nxt = &b[0]
				}
				p := v.classify(r, nxt)
				if cpBad && p.Kind == "modified" {
					p = &Problem{r.seq, "checkpoint_mismatch", "the signed checkpoint does not match this entry: the chain up to here was rewritten"}
				}
				rep.Problem = p
				rep.Entries = v.count
				rep.LastSeq = v.expected - 1
				cancel()
				drain(batches)
				<-readErr
				return rep, nil
			}
			v.advance(r)
			if isCP {
				rep.Signed = r.seq
			}
		}
		if progress != nil {
			progress(v.count, total)
		}
	}
	if err := <-readErr; err != nil {
		return rep, err
	}
	rep.Entries = v.count
	rep.LastSeq = v.expected - 1
	for _, cp := range cps {
		if cp.seq > rep.LastSeq {
			rep.Problem = &Problem{rep.LastSeq + 1, "deleted", fmt.Sprintf("a signed checkpoint covers entry %d but the chain ends at %d: entries were removed from the end", cp.seq, rep.LastSeq)}
			return rep, nil
		}
	}
	var headSeq int64
	var headHash []byte
	if err := db.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return rep, fmt.Errorf("audit: verify: read chain head: %w", err)
	}
	if headSeq != rep.LastSeq || !bytes.Equal(headHash, v.prev1) {
		rep.Problem = &Problem{min(headSeq, rep.LastSeq) + 1, "head_mismatch", fmt.Sprintf("the chain head says %d entries, the table holds %d: entries were removed from or added to the end", headSeq, rep.LastSeq)}
	}
	return rep, nil
}

func drain(c <-chan []row) {
	for range c {
	}
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

const verifyBatch = 4096

// readRows streams the chain in sequence order, in batches, so scanning and
// hashing run on both cores.
func readRows(ctx context.Context, db *store.DB, out chan<- []row) error {
	defer close(out)
	rows, err := db.Query(ctx, `SELECT seq, id, at, actor, action, subject_id, fields, purpose, outcome, channel, detail, hash
		FROM audit_entries ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit: verify: read entries: %w", err)
	}
	defer rows.Close()
	batch := make([]row, 0, verifyBatch)
	for rows.Next() {
		batch = append(batch, row{})
		if err := scanRow(rows, &batch[len(batch)-1]); err != nil {
			return err
		}
		if len(batch) == verifyBatch {
			select {
			case out <- batch:
			case <-ctx.Done():
				return nil
			}
			batch = make([]row, 0, verifyBatch)
		}
	}
	if err := rows.Err(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("audit: verify: read entries: %w", err)
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
		}
	}
	return nil
}

// verifier walks the chain keeping the last two hashes.
type verifier struct {
	h            hash.Hash
	buf, sum     []byte
	prev1, prev2 []byte
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

// advance moves past r, which matched.
func (v *verifier) advance(r *row) {
	v.prev2, v.prev1 = v.prev1, r.hash
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
