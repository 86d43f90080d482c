package notice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// SandboxOptions configures a Sandbox. The zero value delivers everything
// at once.
type SandboxOptions struct {
	// Unreachable recipients fail every message permanently (CodeUnreachable).
	Unreachable []string
	// FailFirst is how many first attempts to each recipient fail
	// temporarily (CodeUnavailable) before messages go through;
	// FailFirstFor overrides it per recipient.
	FailFirst    int
	FailFirstFor map[string]int
	// RetryAfter is the hint a temporary failure carries; 0 for none.
	RetryAfter time.Duration
	// Latency is the simulated round trip of each message, spent through
	// Sleep; Sleep defaults to a timer that the context can end.
	Latency time.Duration
	Sleep   func(time.Duration)
}

// Sent is one message the Sandbox received, as recorded: never its body.
type Sent struct {
	ID            string
	Kind          string
	RequestID     string
	Recipient     string
	RecipientKind string
	Attempt       int
	ContentType   string
	BodySHA256    string // hex
	Size          int
	Ref           string // the reference returned; "" when the attempt failed
	Code          string // the failure code; "" when delivered
}

// Sandbox is a Deliverer for development and tests that contacts nobody
// and behaves like a set of recipients: it refuses malformed recipient IDs
// and messages, fails recipients listed as unreachable permanently and
// each recipient's first attempts temporarily, takes its time, and records
// every message without its body. Safe for concurrent use.
type Sandbox struct {
	o SandboxOptions

	mu    sync.Mutex
	tries map[string]int // attempts per recipient
	sent  []Sent
}

// NewSandbox returns a Sandbox.
func NewSandbox(o SandboxOptions) *Sandbox {
	o.Unreachable = slices.Clone(o.Unreachable)
	o.FailFirstFor = maps.Clone(o.FailFirstFor)
	return &Sandbox{o: o, tries: map[string]int{}}
}

// Deliver accepts m or fails as configured. References look like
// "sbx-" and 16 hex digits, derived from the delivery ID.
func (s *Sandbox) Deliver(ctx context.Context, m Message) (string, error) {
	rec := Sent{ID: m.ID, Kind: m.Kind, RequestID: m.RequestID, Recipient: m.Recipient, RecipientKind: m.RecipientKind,
		Attempt: m.Attempt, ContentType: m.ContentType, Size: len(m.Body)}
	sum := sha256.Sum256(m.Body)
	rec.BodySHA256 = hex.EncodeToString(sum[:])
	ref, err := s.deliver(ctx, m)
	if err != nil {
		rec.Code = ErrorCode(err)
	} else {
		rec.Ref = ref
	}
	s.mu.Lock()
	s.sent = append(s.sent, rec)
	s.mu.Unlock()
	return ref, err
}

func (s *Sandbox) deliver(ctx context.Context, m Message) (string, error) {
	if !ValidRecipient(m.Recipient) {
		return "", PermanentCode(CodeBadRecipient, errors.New("sandbox: malformed recipient ID"))
	}
	if m.ID == "" || len(m.Body) == 0 || m.ContentType == "" || (m.Kind != KindDeletionNotice && m.Kind != KindCopy) {
		return "", PermanentCode(CodeBadMessage, errors.New("sandbox: message without ID, kind, content type or body"))
	}
	if err := s.sleep(ctx); err != nil {
		return "", Temporary(CodeTimeout, fmt.Errorf("sandbox: %w", err))
	}
	if slices.Contains(s.o.Unreachable, m.Recipient) {
		return "", PermanentCode(CodeUnreachable, fmt.Errorf("sandbox: recipient %s is unreachable", m.Recipient))
	}
	s.mu.Lock()
	s.tries[m.Recipient]++
	n := s.tries[m.Recipient]
	s.mu.Unlock()
	failFirst, ok := s.o.FailFirstFor[m.Recipient]
	if !ok {
		failFirst = s.o.FailFirst
	}
	if n <= failFirst {
		e := Temporary(CodeUnavailable, fmt.Errorf("sandbox: recipient %s attempt %d fails", m.Recipient, n))
		e.RetryAfter = s.o.RetryAfter
		return "", e
	}
	ref := sha256.Sum256([]byte("gigvault-notice-sandbox\x00" + m.ID))
	return "sbx-" + hex.EncodeToString(ref[:8]), nil
}

func (s *Sandbox) sleep(ctx context.Context) error {
	if s.o.Latency <= 0 {
		return ctx.Err()
	}
	if s.o.Sleep != nil {
		s.o.Sleep(s.o.Latency)
		return ctx.Err()
	}
	t := time.NewTimer(s.o.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sent returns every message received so far, failed attempts included,
// in the order they were received.
func (s *Sandbox) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

var _ Deliverer = (*Sandbox)(nil)
