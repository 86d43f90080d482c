package notice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/store"
)

// The audit vocabulary of deliveries.
const (
	ActionDelivered = "notice.delivered"
	ActionFailed    = "notice.failed"
	ActionRetry     = "notice.retry"
	Actor           = "system:notice"
	auditChannel    = "system"
	auditPurpose    = "rights_request"
)

// Defaults of Options.
const (
	DefaultBatch          = 50
	DefaultMaxAttempts    = 8
	DefaultConcurrency    = 4
	DefaultClaimFor       = 10 * time.Minute
	DefaultNoticeDeadline = 15 * 24 * time.Hour
	maxBackoff            = 24 * time.Hour
)

// DefaultBackoff is the wait after each failed attempt: 1m, 5m, 30m, 2h,
// 6h, 12h, then 24h for every later one.
var DefaultBackoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// Payload builds a copy's body at send time (from the vault), with its
// content type. Returning ErrSubjectGone, an *errs.Error with code
// errs.Erased, or a Permanent error fails the delivery for good; any other
// error is retried.
type Payload func(ctx context.Context, d Delivery) (body []byte, contentType string, err error)

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	Batch       int // deliveries picked per RunOnce; default 50
	MaxAttempts int // attempts before a delivery fails; default 8
	// Backoff[i] is the wait after the (i+1)th failed attempt; the last
	// entry repeats. A temporary failure's RetryAfter hint lengthens it
	// (never past 24h). Default DefaultBackoff.
	Backoff []time.Duration
	// Concurrency is how many deliveries of a batch are in flight at once;
	// default 4.
	Concurrency int
	// ClaimFor is how long a picked delivery is held before another run
	// (on this node or another) may pick it again: longer than any
	// Deliverer takes. Default 10m.
	ClaimFor time.Duration
	// NoticeDeadline is how long a recipient has to delete, from the
	// delivery's creation; default 15 days.
	NoticeDeadline time.Duration
	// Catalog, when set, names the fields of deletion notices in zh-CN and
	// English.
	Catalog *catalog.Catalog
	// Payload builds copies; a copy without it fails (CodeNoPayload).
	Payload Payload
	// Finished, when set, runs inside the transaction that records a
	// delivery as delivered or failed, with the delivery as recorded: for
	// what has to commit with the outcome (the sharing-ledger row of a copy
	// provided, the request's own progress). An error rolls the outcome
	// back; the delivery is then attempted again once its claim expires.
	Finished func(ctx context.Context, tx *store.Tx, d Delivery) error
	// Log receives a line per outcome and per error (IDs and codes only);
	// discarded if nil.
	Log *slog.Logger
}

// Dispatcher sends due deliveries and records their outcomes. Safe for
// concurrent use, on one node or many: a picked delivery is claimed in the
// database first.
type Dispatcher struct {
	db  *store.DB
	d   Deliverer
	log *audit.Log
	clk clock.Clock
	o   Options
}

// New returns a Dispatcher.
func New(db *store.DB, d Deliverer, log *audit.Log, clk clock.Clock, o Options) *Dispatcher {
	if clk == nil {
		clk = clock.Real{}
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultBackoff
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ClaimFor <= 0 {
		o.ClaimFor = DefaultClaimFor
	}
	if o.NoticeDeadline <= 0 {
		o.NoticeDeadline = DefaultNoticeDeadline
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{db: db, d: d, log: log, clk: clk, o: o}
}

// Backoff returns the wait after the nth failed attempt (n ≥ 1) and a
// failure's hint, capped at 24 hours.
func (x *Dispatcher) Backoff(n int, hint time.Duration) time.Duration {
	i := min(max(n-1, 0), len(x.o.Backoff)-1)
	return min(max(x.o.Backoff[i], hint), maxBackoff)
}

// outcome is what one attempt came to.
type outcome struct {
	ref string
	err error
}

// RunOnce sends one batch of due deliveries, oldest due first, and returns
// how many were delivered, failed for good, and left to retry. err reports
// database failures; a delivery's own failure is recorded, not returned.
func (x *Dispatcher) RunOnce(ctx context.Context) (delivered, failed, retried int, err error) {
	claimed, exhausted, err := x.claim(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	failed = exhausted
	var (
		mu   sync.Mutex
		errl []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, x.o.Concurrency)
	)
	for _, d := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out := x.attempt(ctx, d)
			status, err := x.record(ctx, d, out)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errl = append(errl, err)
			case status == StatusDelivered:
				delivered++
			case status == StatusFailed:
				failed++
			case status == StatusPending:
				retried++
			}
		})
	}
	wg.Wait()
	return delivered, failed, retried, errors.Join(errl...)
}

// claim picks due deliveries and holds them: attempts+1, next_at pushed
// ClaimFor ahead, so another run does not pick them meanwhile. A delivery
// whose attempts are already used up (a run that stopped mid-attempt) is
// failed here.
func (x *Dispatcher) claim(ctx context.Context) ([]Delivery, int, error) {
	var claimed []Delivery
	exhausted := 0
	err := x.db.InTx(ctx, func(tx *store.Tx) error {
		claimed, exhausted = nil, 0
		now := x.clk.Now()
		q := `SELECT ` + cols + ` FROM outbound_deliveries WHERE status = ? AND next_at <= ? ORDER BY next_at, created_at, id LIMIT ?`
		if tx.Engine() == store.Postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := tx.Query(ctx, q, StatusPending, now.UnixMicro(), x.o.Batch)
		if err != nil {
			return fmt.Errorf("notice: pick due deliveries: %w", err)
		}
		var due []Delivery
		for rows.Next() {
			d, err := scan(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("notice: pick due deliveries: %w", err)
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("notice: pick due deliveries: %w", err)
		}
		for _, d := range due {
			if d.Attempts >= x.o.MaxAttempts {
				if err := x.finish(ctx, tx, d, StatusFailed, d.Attempts, CodeExhausted, now, "", now); err != nil {
					return err
				}
				exhausted++
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE outbound_deliveries SET attempts = ?, next_at = ? WHERE id = ? AND status = ? AND attempts = ?`,
				d.Attempts+1, now.Add(x.o.ClaimFor).UnixMicro(), d.ID, StatusPending, d.Attempts); err != nil {
				return fmt.Errorf("notice: claim %s: %w", d.ID, err)
			}
			d.Attempts++
			claimed = append(claimed, d)
		}
		return nil
	})
	return claimed, exhausted, err
}

// attempt builds d's message and hands it to the Deliverer.
func (x *Dispatcher) attempt(ctx context.Context, d Delivery) outcome {
	m := Message{ID: d.ID, Kind: d.Kind, RequestID: d.RequestID, Recipient: d.Recipient, RecipientKind: d.RecipientKind, Attempt: d.Attempts}
	switch d.Kind {
	case KindDeletionNotice:
		body, err := NewDeletionNotice(d, d.CreatedAt.Add(x.o.NoticeDeadline), x.o.Catalog).Body()
		if err != nil {
			return outcome{err: PermanentCode(CodeBadMessage, err)}
		}
		m.Body, m.ContentType = body, "application/json"
	case KindCopy:
		if x.o.Payload == nil {
			return outcome{err: PermanentCode(CodeNoPayload, errors.New("no Payload function for copies"))}
		}
		body, ct, err := x.o.Payload(ctx, d)
		if err != nil {
			return outcome{err: payloadError(err)}
		}
		m.Body, m.ContentType = body, ct
	default:
		return outcome{err: PermanentCode(CodeBadMessage, fmt.Errorf("unknown kind %q", d.Kind))}
	}
	ref, err := x.d.Deliver(ctx, m)
	return outcome{ref: ref, err: err}
}

// record stores an attempt's outcome and its audit entry in one
// transaction and returns the delivery's new status. It runs even when ctx
// has ended (a shutdown): the attempt happened. When ctx ended before the
// attempt could succeed, the claim is released instead, without counting
// the attempt.
func (x *Dispatcher) record(ctx context.Context, d Delivery, out outcome) (string, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := x.clk.Now()
	if out.err != nil && ctx.Err() != nil && !IsPermanent(out.err) {
		_, err := x.db.Exec(rctx, `UPDATE outbound_deliveries SET attempts = ?, next_at = ? WHERE id = ? AND status = ? AND attempts = ?`,
			d.Attempts-1, now.UnixMicro(), d.ID, StatusPending, d.Attempts)
		if err != nil {
			return "", fmt.Errorf("notice: release %s: %w", d.ID, err)
		}
		return "", nil
	}
	status, code, next := StatusDelivered, "", now
	switch {
	case out.err == nil:
	case IsPermanent(out.err) || d.Attempts >= x.o.MaxAttempts:
		status, code = StatusFailed, ErrorCode(out.err)
	default:
		status, code = StatusPending, ErrorCode(out.err)
		next = now.Add(x.Backoff(d.Attempts, retryHint(out.err)))
	}
	err := x.db.InTx(rctx, func(tx *store.Tx) error {
		return x.finish(rctx, tx, d, status, d.Attempts, code, next, out.ref, now)
	})
	if errors.Is(err, errLostClaim) {
		x.o.Log.WarnContext(ctx, "notice delivery claimed by another run; outcome not recorded", slog.String("delivery", d.ID))
		return "", nil
	}
	if err != nil {
		return "", err
	}
	lvl := slog.LevelInfo
	if status != StatusDelivered {
		lvl = slog.LevelWarn
	}
	x.o.Log.Log(ctx, lvl, "notice delivery", slog.String("delivery", d.ID), slog.String("kind", d.Kind), slog.String("recipient", d.Recipient),
		slog.String("status", status), slog.Int("attempts", d.Attempts), slog.String("code", code))
	return status, nil
}

var errLostClaim = errors.New("notice: delivery no longer held by this run")

// finish writes a delivery's status and the matching audit entry inside tx.
func (x *Dispatcher) finish(ctx context.Context, tx *store.Tx, d Delivery, status string, attempts int, code string, next time.Time, ref string, now time.Time) error {
	var deliveredAt any
	if status == StatusDelivered {
		deliveredAt = now.UnixMicro()
	}
	res, err := tx.Exec(ctx, `UPDATE outbound_deliveries SET status = ?, attempts = ?, last_error = ?, next_at = ?, delivered_at = ?, delivery_ref = ?
		WHERE id = ? AND status = ? AND attempts = ?`, status, attempts, code, next.UnixMicro(), deliveredAt, ref, d.ID, StatusPending, d.Attempts)
	if err != nil {
		return fmt.Errorf("notice: record %s: %w", d.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("notice: record %s: %w", d.ID, err)
	} else if n != 1 {
		return errLostClaim
	}
	action, result := ActionDelivered, "ok"
	switch status {
	case StatusFailed:
		action, result = ActionFailed, "error"
	case StatusPending:
		action, result = ActionRetry, "error"
	}
	detail := map[string]string{"delivery": d.ID, "request": d.RequestID, "kind": d.Kind, "recipient": d.Recipient,
		"attempts": strconv.Itoa(attempts), "ref": ref}
	if code != "" {
		detail["error"] = code
	}
	if status == StatusPending {
		detail["next_at"] = next.UTC().Format(time.RFC3339)
	}
	if err := x.log.Append(ctx, tx, audit.Entry{Actor: Actor, Action: action, Subject: d.SubjectID, Fields: d.Fields,
		Purpose: auditPurpose, Outcome: result, Channel: auditChannel, Detail: detail}); err != nil {
		return fmt.Errorf("notice: audit %s: %w", d.ID, err)
	}
	if x.o.Finished != nil && status != StatusPending {
		d.Status, d.Attempts, d.LastError, d.NextAt, d.DeliveryRef = status, attempts, code, next.UTC(), ref
		if status == StatusDelivered {
			d.DeliveredAt = now.UTC()
		}
		if err := x.o.Finished(ctx, tx, d); err != nil {
			return fmt.Errorf("notice: finished %s: %w", d.ID, err)
		}
	}
	return nil
}

// Loop runs RunOnce every interval until ctx ends, at once again while
// batches come back full, and returns nil then. Errors are logged.
func (x *Dispatcher) Loop(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		d, f, r, err := x.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			x.o.Log.ErrorContext(ctx, "notice dispatch", slog.String("err", err.Error()))
		}
		if err == nil && d+f+r >= x.o.Batch {
			t.Reset(0)
		} else {
			t.Reset(interval)
		}
	}
}
