package notice_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/notice"
)

func msg(id, recipient string) notice.Message {
	return notice.Message{ID: id, Kind: notice.KindDeletionNotice, RequestID: "req-1", Recipient: recipient, RecipientKind: "employer",
		Attempt: 1, ContentType: "application/json", Body: []byte(`{"secret":"13812345678"}`)}
}

func TestSandbox(t *testing.T) {
	var slept []time.Duration
	sb := notice.NewSandbox(notice.SandboxOptions{Unreachable: []string{"org-gone"}, FailFirst: 1, FailFirstFor: map[string]int{"org-ok": 0},
		Latency: 250 * time.Millisecond, Sleep: func(d time.Duration) { slept = append(slept, d) }})
	for _, tc := range []struct {
		m         notice.Message
		code      string
		permanent bool
	}{
		{msg("d1", "org-ok"), "", false},
		{msg("d2", "org-a"), notice.CodeUnavailable, false},
		{msg("d2", "org-a"), "", false},
		{msg("d3", "org-gone"), notice.CodeUnreachable, true},
		{msg("d4", "org a"), notice.CodeBadRecipient, true},
		{msg("d5", ""), notice.CodeBadRecipient, true},
		{notice.Message{ID: "d6", Kind: notice.KindCopy, Recipient: "org-ok", ContentType: "application/zip"}, notice.CodeBadMessage, true},
		{notice.Message{ID: "d7", Kind: "letter", Recipient: "org-ok", ContentType: "text/plain", Body: []byte("x")}, notice.CodeBadMessage, true},
	} {
		ref, err := sb.Deliver(context.Background(), tc.m)
		if notice.ErrorCode(err) != tc.code && (err != nil || tc.code != "") || notice.IsPermanent(err) != tc.permanent {
			t.Errorf("%s to %q: %q %v, want %q (permanent %v)", tc.m.ID, tc.m.Recipient, ref, err, tc.code, tc.permanent)
		}
		if err == nil && (!strings.HasPrefix(ref, "sbx-") || len(ref) != 20) {
			t.Errorf("%s: ref %q", tc.m.ID, ref)
		}
	}
	// Refs are stable per delivery.
	r1, _ := sb.Deliver(context.Background(), msg("d1", "org-ok"))
	r2, _ := sb.Deliver(context.Background(), msg("d1", "org-ok"))
	if r1 != r2 {
		t.Errorf("refs %q %q", r1, r2)
	}
	sent := sb.Sent()
	if len(sent) != 10 {
		t.Fatalf("%d recorded", len(sent))
	}
	sum := sha256.Sum256(msg("", "").Body)
	if s := sent[0]; s.ID != "d1" || s.Kind != notice.KindDeletionNotice || s.Recipient != "org-ok" || s.RequestID != "req-1" ||
		s.BodySHA256 != hex.EncodeToString(sum[:]) || s.Code != "" || s.Ref == "" || s.Attempt != 1 {
		t.Errorf("recorded %+v", s)
	}
	if strings.Contains(fmt.Sprintf("%+v", sent), "13812345678") {
		t.Error("the sandbox kept a body")
	}
	// Malformed messages are refused before the simulated round trip.
	if len(slept) != 6 {
		t.Errorf("slept %d times: %v", len(slept), slept)
	}
}

func TestSandboxLatencyHonoursContext(t *testing.T) {
	sb := notice.NewSandbox(notice.SandboxOptions{Latency: time.Hour})
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sb.Deliver(cctx, msg("d1", "org-a"))
	if notice.IsPermanent(err) || notice.ErrorCode(err) != notice.CodeTimeout || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestSandboxConcurrent is for the race detector; FailFirst counts
// attempts per recipient across goroutines.
func TestSandboxConcurrent(t *testing.T) {
	sb := notice.NewSandbox(notice.SandboxOptions{FailFirst: 5, Latency: time.Millisecond, Sleep: func(time.Duration) {}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				_, err := sb.Deliver(context.Background(), msg(fmt.Sprintf("d%d-%d", g, i), "org-a"))
				if err != nil {
					mu.Lock()
					fails++
					mu.Unlock()
				}
				_ = sb.Sent()
			}
		})
	}
	wg.Wait()
	if fails != 5 || len(sb.Sent()) != 200 {
		t.Errorf("%d failures, %d recorded", fails, len(sb.Sent()))
	}
}

func TestErrors(t *testing.T) {
	plain := errors.New("said 13812345678")
	for _, tc := range []struct {
		err       error
		code      string
		permanent bool
	}{
		{nil, notice.CodeError, false},
		{plain, notice.CodeError, false},
		{notice.Permanent(plain), notice.CodeRejected, true},
		{notice.Temporary("http_503", plain), "http_503", false},
		{notice.Permanent(notice.Temporary("http_503", plain)), "http_503", true},
		{notice.Permanent(fmt.Errorf("wrapped: %w", notice.Temporary("x_y", nil))), "x_y", true},
		{notice.PermanentCode("Bad Code!", plain), notice.CodeError, true},
		{notice.Temporary(strings.Repeat("a", 41), nil), notice.CodeError, false},
	} {
		if got := notice.ErrorCode(tc.err); tc.err != nil && got != tc.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tc.err, got, tc.code)
		}
		if notice.IsPermanent(tc.err) != tc.permanent {
			t.Errorf("IsPermanent(%v) = %v", tc.err, !tc.permanent)
		}
	}
	if notice.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
	if !errors.Is(notice.Permanent(fmt.Errorf("w: %w", plain)), plain) {
		t.Error("Permanent hides its cause")
	}
	m := msg("d1", "org-a")
	for _, s := range []string{m.String(), fmt.Sprintf("%#v", m), fmt.Sprintf("%v", m)} {
		if strings.Contains(s, "13812345678") {
			t.Errorf("message prints its body: %s", s)
		}
	}
}
