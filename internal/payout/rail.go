package payout

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/format"
)

// Rail is a payout channel: a bank's batch-payment interface or a
// payment service. Submit hands it a sealed transfer file; Status returns
// the outcome of each row it has settled.
type Rail interface {
	Submit(ctx context.Context, batchID string, sealed []byte) (RailReceipt, error)
	Status(ctx context.Context, batchID string) ([]RowResult, error)
}

// RailReceipt is a rail's acknowledgement of a transfer file.
type RailReceipt struct {
	BatchID    string    `json:"batch_id"`
	Ref        string    `json:"ref"`    // the rail's reference of the batch
	Digest     string    `json:"digest"` // FileDigest of the file received
	Rows       int       `json:"rows"`
	TotalFen   int64     `json:"total_fen"` // the sum of the file's well-formed amounts
	ReceivedAt time.Time `json:"received_at"`
}

// RowResult is a rail's outcome for one row: Status paid with the rail's
// reference, or failed with a code.
type RowResult struct {
	Line   int    `json:"line"`
	Status string `json:"status"` // paid | failed
	Ref    string `json:"ref,omitempty"`
	Code   string `json:"code,omitempty"`
}

// The codes with which SandboxRail fails a row.
const (
	FailCardFrozen    = "card_frozen"    // the card number ends in 0000
	FailInvalidCard   = "invalid_card"   // not 12–19 digits with a valid Luhn check digit
	FailInvalidAmount = "invalid_amount" // not a positive whole number of fen
	FailInvalidName   = "invalid_name"   // no account name
	FailBadReference  = "bad_reference"  // not Reference(batch, line)
)

// SandboxConfig configures a SandboxRail.
type SandboxConfig struct {
	Suite cryptox.Suite // default SM
	Key   []byte        // the transfer key; copied
	// Latency is how long each Submit and Status call takes, slept through
	// Sleep (default: a timer that gives up when ctx ends). Tests use 0.
	Latency time.Duration
	Sleep   func(ctx context.Context, d time.Duration) error
	Clock   clock.Clock // default the wall clock
}

// SandboxRecord is what the sandbox keeps of a file it was handed: digests
// and counts, never a card number or a name.
type SandboxRecord struct {
	BatchID    string
	Digest     string
	Accepted   bool
	Reason     string // why it was refused (integrity, malformed_file, duplicate_batch), or "repeat" for a file accepted before
	Rows       int
	TotalFen   int64
	ReceivedAt time.Time
}

// SandboxRail is a Rail that behaves as a bank channel would, for
// development and tests. It holds the transfer key; Submit opens the file
// (refusing one that was altered or sealed for another batch: errs.Integrity),
// refuses a malformed one whole (errs.Invalid, reason malformed_file: not
// CSV, another header, a line number that is not positive or repeats) and
// settles every line at once, deterministically:
//
//   - a card that is not 12–19 digits with a valid Luhn digit fails with
//     invalid_card; an amount that is not a positive whole number of fen
//     with invalid_amount; an empty account name with invalid_name; a
//     reference other than Reference(batch, line) with bad_reference;
//   - a card whose number ends in 0000 fails with card_frozen;
//   - every other line is paid, its reference "SBX-" and 16 hex digits of
//     the suite's hash of "<batch>/<line>".
//
// Whether the name matches the card's holder is not modelled. A second
// Submit of a batch returns the first receipt when the file is the same
// (same digest), and errs.Conflict (reason duplicate_batch) otherwise, as a
// bank refuses a batch number it has seen. The plaintext is wiped once
// settled; Received lists what was handed over.
type SandboxRail struct {
	suite   cryptox.Suite
	key     []byte
	latency time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	clk     clock.Clock

	mu       sync.Mutex
	batches  map[string]*sandboxBatch
	received []SandboxRecord
}

type sandboxBatch struct {
	receipt RailReceipt
	results []RowResult
}

// NewSandboxRail returns a sandbox rail holding cfg.Key.
func NewSandboxRail(cfg SandboxConfig) (*SandboxRail, error) {
	if cfg.Suite == nil {
		cfg.Suite = cryptox.SM{}
	}
	if len(cfg.Key) != cfg.Suite.KeySize() {
		return nil, fmt.Errorf("payout: sandbox transfer key must be %d bytes", cfg.Suite.KeySize())
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	return &SandboxRail{suite: cfg.Suite, key: bytes.Clone(cfg.Key), latency: cfg.Latency, sleep: cfg.Sleep, clk: cfg.Clock,
		batches: map[string]*sandboxBatch{}}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *SandboxRail) wait(ctx context.Context) error {
	if s.latency <= 0 {
		return ctx.Err()
	}
	return s.sleep(ctx, s.latency)
}

// Submit takes a sealed transfer file of batchID and settles it.
func (s *SandboxRail) Submit(ctx context.Context, batchID string, sealed []byte) (RailReceipt, error) {
	if err := s.wait(ctx); err != nil {
		return RailReceipt{}, err
	}
	digest := FileDigest(s.suite, sealed)
	now := s.clk.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(reason string, err error) (RailReceipt, error) {
		s.received = append(s.received, SandboxRecord{BatchID: batchID, Digest: digest, Reason: reason, ReceivedAt: now})
		return RailReceipt{}, err
	}
	if prev, ok := s.batches[batchID]; ok {
		if prev.receipt.Digest == digest {
			s.received = append(s.received, SandboxRecord{BatchID: batchID, Digest: digest, Accepted: true, Reason: "repeat",
				Rows: prev.receipt.Rows, TotalFen: prev.receipt.TotalFen, ReceivedAt: now})
			return prev.receipt, nil
		}
		return refuse("duplicate_batch", errs.New(errs.Conflict, "batch_id", "付款通道已收到该批次的另一份文件", "the rail already has another file for this batch").
			With("duplicate_batch", nil, batchID))
	}
	plain, err := OpenFile(s.suite, s.key, sealed, batchID)
	if err != nil {
		return refuse("integrity", err)
	}
	results, total, err := s.settle(batchID, plain)
	clear(plain)
	if err != nil {
		return refuse("malformed_file", err)
	}
	rc := RailReceipt{BatchID: batchID, Ref: "SBXB-" + s.ref(batchID), Digest: digest, Rows: len(results), TotalFen: total, ReceivedAt: now}
	s.batches[batchID] = &sandboxBatch{receipt: rc, results: results}
	s.received = append(s.received, SandboxRecord{BatchID: batchID, Digest: digest, Accepted: true, Rows: len(results), TotalFen: total, ReceivedAt: now})
	return rc, nil
}

func (s *SandboxRail) ref(parts ...string) string {
	return hex.EncodeToString(cryptox.Digest(s.suite, []byte(strings.Join(parts, "/"))))[:16]
}

// settle reads the plain bank file and pays or fails each line.
func (s *SandboxRail) settle(batchID string, plain []byte) ([]RowResult, int64, error) {
	malformed := func(zh, en string) error {
		return errs.New(errs.Invalid, "file", "付款文件格式错误:"+zh, "the payment file is malformed: "+en).With("malformed_file", nil, batchID)
	}
	cr := csv.NewReader(bytes.NewReader(plain))
	cr.FieldsPerRecord = 7
	cr.ReuseRecord = true
	h, err := cr.Read()
	if err != nil || strings.Join(h, ",") != BankFileHeader {
		return nil, 0, malformed("表头不符", "the header is not "+BankFileHeader)
	}
	var out []RowResult
	var total int64
	seen := map[int]bool{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, malformed("不是有效的CSV", "not valid CSV")
		}
		line, err := strconv.Atoi(rec[0])
		if err != nil || line <= 0 || seen[line] {
			return nil, 0, malformed("行号无效或重复", "a line number is not valid or repeats")
		}
		seen[line] = true
		name, card, amount, ref := rec[1], rec[2], rec[4], rec[6]
		res := RowResult{Line: line}
		n, amountErr := strconv.ParseInt(amount, 10, 64)
		if amountErr == nil && n > 0 {
			total = addSat(total, n)
		}
		switch {
		case strings.TrimSpace(name) == "":
			res.Code = FailInvalidName
		case len(card) < 12 || len(card) > 19 || !format.LuhnValid(card):
			res.Code = FailInvalidCard
		case amountErr != nil || n <= 0 || !digitsOnly(amount):
			res.Code = FailInvalidAmount
		case ref != Reference(batchID, line):
			res.Code = FailBadReference
		case strings.HasSuffix(card, "0000"):
			res.Code = FailCardFrozen
		}
		if res.Code != "" {
			res.Status = RowFailed
		} else {
			res.Status, res.Ref = RowPaid, "SBX-"+s.ref(batchID, strconv.Itoa(line))
		}
		out = append(out, res)
	}
	slices.SortFunc(out, func(a, b RowResult) int { return a.Line - b.Line })
	return out, total, nil
}

// Status returns the outcome of every line of a batch the sandbox
// accepted, in line order; an unknown batch is errs.NotFound.
func (s *SandboxRail) Status(ctx context.Context, batchID string) ([]RowResult, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.batches[batchID]
	if !ok {
		return nil, errs.New(errs.NotFound, "batch_id", "付款通道没有该批次", "the rail has no such batch")
	}
	return slices.Clone(b.results), nil
}

// Received lists every file handed to Submit, accepted or refused, in
// order.
func (s *SandboxRail) Received() []SandboxRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

var _ Rail = (*SandboxRail)(nil)
