package audit

import (
	"context"
	"sync"

	"gigvault/internal/store"
)

// Recorder appends entries that belong to no business transaction — reads,
// decisions, log-ins — with group commit: concurrent callers are gathered
// into one transaction, and each Record returns only once its entries are
// committed (or with the error). A read is never answered unrecorded, and a
// busy server pays one commit per batch instead of one per request.
type Recorder struct {
	log      *Log
	db       *store.DB
	maxBatch int

	mu      sync.Mutex
	queue   []*pending
	running bool
}

type pending struct {
	entries []Entry
	done    chan error
}

// NewRecorder returns a Recorder appending to db through l. maxBatch bounds
// how many callers share one transaction (default 256).
func NewRecorder(l *Log, db *store.DB, maxBatch int) *Recorder {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	return &Recorder{log: l, db: db, maxBatch: maxBatch}
}

// Record appends entries and waits for the commit. If ctx ends first,
// Record returns ctx's error; the entries are still written.
func (r *Recorder) Record(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	p := &pending{entries: entries, done: make(chan error, 1)}
	r.mu.Lock()
	r.queue = append(r.queue, p)
	if !r.running {
		r.running = true
		go r.run()
	}
	r.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run commits batches until the queue is empty, then exits; the next Record
// starts it again. While one batch commits, the next one gathers.
func (r *Recorder) run() {
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		n := min(len(r.queue), r.maxBatch)
		batch := r.queue[:n:n]
		r.queue = r.queue[n:]
		if len(r.queue) == 0 {
			r.queue = nil
		}
		r.mu.Unlock()
		r.commit(batch)
	}
}

func (r *Recorder) commit(batch []*pending) {
	ctx := context.Background()
	err := r.db.InTx(ctx, func(tx *store.Tx) error {
		for _, p := range batch {
			if err := r.log.Append(ctx, tx, p.entries...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		// One caller's bad entry (say, an over-long detail) must not fail
		// the others: retry them one by one.
		for _, p := range batch {
			p.done <- r.db.InTx(ctx, func(tx *store.Tx) error { return r.log.Append(ctx, tx, p.entries...) })
		}
		return
	}
	for _, p := range batch {
		p.done <- err
	}
}
