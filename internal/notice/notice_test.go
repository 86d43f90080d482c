package notice_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"gigvault/internal/app"
	"gigvault/internal/audit"
	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/notice"
	"gigvault/internal/store"
	"gigvault/internal/testenv"
)

var ctx = context.Background()

type env struct {
	c       *app.Core
	clk     *clock.Fake
	subject string
}

func open(t *testing.T, e testenv.Engine) env {
	t.Helper()
	cfg := e.Config(t)
	c := testenv.Open(t, cfg)
	return env{c: c, clk: cfg.Clock.(*clock.Fake), subject: testenv.Subjects(t, c, "worker", 1)[0]}
}

// deletion is a deletion notice to recipient.
func (v env) deletion(recipient string) notice.Delivery {
	return notice.Delivery{Kind: notice.KindDeletionNotice, RequestID: "req-1", SubjectID: v.subject, Recipient: recipient,
		RecipientKind: "employer", Fields: []string{"resume_text", "mobile", "mobile"}, LedgerIDs: []string{"ledger-2", "ledger-1"},
		CreatedAt: v.clk.Now()}
}

func (v env) enqueue(t *testing.T, ds ...notice.Delivery) []string {
	t.Helper()
	var ids []string
	err := v.c.DB.InTx(ctx, func(tx *store.Tx) error {
		for _, d := range ds {
			id, err := notice.Enqueue(ctx, tx, d)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (v env) get(t *testing.T, id string) notice.Delivery {
	t.Helper()
	d, err := notice.Get(ctx, v.c.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (v env) dispatcher(d notice.Deliverer, o notice.Options) *notice.Dispatcher {
	return notice.New(v.c.DB, d, v.c.Audit, v.clk, o)
}

// run calls RunOnce and checks its counts.
func run(t *testing.T, x *notice.Dispatcher, delivered, failed, retried int) {
	t.Helper()
	d, f, r, err := x.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d != delivered || f != failed || r != retried {
		t.Fatalf("RunOnce: delivered %d, failed %d, retried %d; want %d, %d, %d", d, f, r, delivered, failed, retried)
	}
}

// audited returns the notice audit entries as "action recipient attempts error".
func (v env) audited(t *testing.T) []string {
	t.Helper()
	es, err := audit.Search(ctx, v.c.DB, audit.Filter{Actor: notice.Actor})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if e.Channel != "system" || e.Subject != v.subject || e.Detail["kind"] == "" || e.Detail["delivery"] == "" {
			t.Errorf("entry %+v", e)
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", e.Action, e.Detail["recipient"], e.Detail["attempts"], e.Detail["error"])))
	}
	return out
}

func (v env) verifyChain(t *testing.T) {
	t.Helper()
	rep, err := v.c.Audit.Verify(ctx, v.c.DB, nil)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain: %v %+v", err, rep)
	}
}

func TestEnqueueAndList(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			cp := notice.Delivery{Kind: notice.KindCopy, RequestID: "req-1", SubjectID: v.subject, Recipient: "porting-platform",
				RecipientKind: "subject_named", Fields: []string{"mobile"}, CreatedAt: v.clk.Now().Add(time.Second)}
			ids := v.enqueue(t, v.deletion("org-a"), cp)
			other := v.deletion("org-b")
			other.RequestID = "req-2"
			v.enqueue(t, other)
			got, err := notice.List(ctx, v.c.DB, "req-1")
			if err != nil {
				t.Fatal(err)
			}
			now := v.clk.Now()
			want := []notice.Delivery{
				{ID: ids[0], Kind: notice.KindDeletionNotice, RequestID: "req-1", SubjectID: v.subject, Recipient: "org-a", RecipientKind: "employer",
					Fields: []string{"mobile", "resume_text"}, LedgerIDs: []string{"ledger-1", "ledger-2"}, Status: notice.StatusPending,
					NextAt: now, CreatedAt: now},
				{ID: ids[1], Kind: notice.KindCopy, RequestID: "req-1", SubjectID: v.subject, Recipient: "porting-platform", RecipientKind: "subject_named",
					Fields: []string{"mobile"}, LedgerIDs: []string{}, Status: notice.StatusPending, NextAt: now.Add(time.Second), CreatedAt: now.Add(time.Second)},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("List (-want +got):\n%s", diff)
			}
			if uuid.MustParse(ids[0]).Version() != 7 {
				t.Errorf("id %s is not a UUIDv7", ids[0])
			}
			if l, err := notice.List(ctx, v.c.DB, "none"); err != nil || len(l) != 0 {
				t.Errorf("List of another request: %v %v", l, err)
			}
			if _, err := notice.Get(ctx, v.c.DB, "none"); !errs.Is(err, errs.NotFound) {
				t.Errorf("Get of nothing: %v", err)
			}

			// Refusals, and nothing is left behind by a rolled-back transaction.
			for name, edit := range map[string]func(*notice.Delivery){
				"kind":           func(d *notice.Delivery) { d.Kind = "letter" },
				"recipient":      func(d *notice.Delivery) { d.Recipient = "org a" },
				"recipient kind": func(d *notice.Delivery) { d.RecipientKind = "friend" },
				"no request":     func(d *notice.Delivery) { d.RequestID = "" },
				"no fields":      func(d *notice.Delivery) { d.Fields = nil },
				"field comma":    func(d *notice.Delivery) { d.Fields = []string{"a,b"} },
				"no ledger rows": func(d *notice.Delivery) { d.LedgerIDs = nil },
				"no time":        func(d *notice.Delivery) { d.CreatedAt = time.Time{} },
			} {
				d := v.deletion("org-c")
				d.RequestID = "req-bad"
				edit(&d)
				err := v.c.DB.InTx(ctx, func(tx *store.Tx) error {
					_, err := notice.Enqueue(ctx, tx, d)
					return err
				})
				if !errs.Is(err, errs.Invalid) {
					t.Errorf("%s: %v", name, err)
				}
			}
			if l, _ := notice.List(ctx, v.c.DB, "req-bad"); len(l) != 0 {
				t.Errorf("refused deliveries stored: %v", l)
			}
		})
	}
}

// TestDispatchSchedule: deliveries go out, temporary failures retry on the
// backoff schedule, permanent failures stop, delivered rows are never sent
// again, and each outcome has its audit entry in a chain that verifies.
func TestDispatchSchedule(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			var slept atomic.Int64
			sb := notice.NewSandbox(notice.SandboxOptions{Unreachable: []string{"org-gone"}, FailFirstFor: map[string]int{"org-flaky": 2},
				Latency: 300 * time.Millisecond, Sleep: func(d time.Duration) { slept.Add(int64(d)) }})
			x := v.dispatcher(sb, notice.Options{})
			ids := v.enqueue(t, v.deletion("org-ok"), v.deletion("org-flaky"), v.deletion("org-gone"))
			t0 := v.clk.Now()

			run(t, x, 1, 1, 1)
			ok, flaky, gone := v.get(t, ids[0]), v.get(t, ids[1]), v.get(t, ids[2])
			if ok.Status != notice.StatusDelivered || ok.Attempts != 1 || !ok.DeliveredAt.Equal(t0) || !strings.HasPrefix(ok.DeliveryRef, "sbx-") || ok.LastError != "" {
				t.Errorf("delivered: %+v", ok)
			}
			if flaky.Status != notice.StatusPending || flaky.Attempts != 1 || !flaky.NextAt.Equal(t0.Add(time.Minute)) || flaky.LastError != notice.CodeUnavailable {
				t.Errorf("retried: %+v", flaky)
			}
			if gone.Status != notice.StatusFailed || gone.Attempts != 1 || gone.LastError != notice.CodeUnreachable || !gone.DeliveredAt.IsZero() {
				t.Errorf("failed: %+v", gone)
			}

			v.clk.Advance(59 * time.Second)
			run(t, x, 0, 0, 0) // not yet due
			v.clk.Advance(time.Second)
			run(t, x, 0, 0, 1) // second attempt fails too: 5 minutes
			if f := v.get(t, ids[1]); f.Attempts != 2 || !f.NextAt.Equal(v.clk.Now().Add(5*time.Minute)) {
				t.Errorf("after the second attempt: %+v", f)
			}
			v.clk.Advance(5*time.Minute - time.Microsecond)
			run(t, x, 0, 0, 0)
			v.clk.Advance(time.Microsecond)
			run(t, x, 1, 0, 0)
			v.clk.Advance(48 * time.Hour)
			run(t, x, 0, 0, 0) // nothing is sent twice
			if f := v.get(t, ids[1]); f.Status != notice.StatusDelivered || f.Attempts != 3 || f.LastError != "" || !f.DeliveredAt.Equal(t0.Add(6*time.Minute)) {
				t.Errorf("delivered at last: %+v", f)
			}

			var got []string
			bodies := map[string]string{}
			for _, s := range sb.Sent() {
				got = append(got, strings.TrimSpace(fmt.Sprintf("%s#%d %s", s.Recipient, s.Attempt, s.Code)))
				if prev, ok := bodies[s.ID]; ok && prev != s.BodySHA256 {
					t.Errorf("%s: the notice changed between attempts", s.Recipient)
				}
				bodies[s.ID] = s.BodySHA256
				if s.Kind != notice.KindDeletionNotice || s.ContentType != "application/json" || s.Size == 0 {
					t.Errorf("sent %+v", s)
				}
			}
			slices.Sort(got[:3]) // the first batch goes out concurrently
			want := []string{"org-flaky#1 unavailable", "org-gone#1 unreachable", "org-ok#1", "org-flaky#2 unavailable", "org-flaky#3"}
			if !slices.Equal(got, want) {
				t.Errorf("sent %q, want %q", got, want)
			}
			if slept.Load() != int64(5*300*time.Millisecond) {
				t.Errorf("slept %v", time.Duration(slept.Load()))
			}

			audited := v.audited(t)
			slices.Sort(audited[:3])
			wantAudit := []string{"notice.delivered org-ok 1", "notice.failed org-gone 1 unreachable", "notice.retry org-flaky 1 unavailable",
				"notice.retry org-flaky 2 unavailable", "notice.delivered org-flaky 3"}
			if !slices.Equal(audited, wantAudit) {
				t.Errorf("audit %q, want %q", audited, wantAudit)
			}
			es, _ := audit.Search(ctx, v.c.DB, audit.Filter{Actor: notice.Actor, Action: notice.ActionDelivered})
			for _, e := range es {
				if !strings.HasPrefix(e.Detail["ref"], "sbx-") || !slices.Equal(e.Fields, []string{"mobile", "resume_text"}) || e.Outcome != "ok" {
					t.Errorf("delivered entry %+v", e)
				}
			}
			v.verifyChain(t)
		})
	}
}

func TestMaxAttempts(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			sb := notice.NewSandbox(notice.SandboxOptions{FailFirst: 1000})
			x := v.dispatcher(sb, notice.Options{MaxAttempts: 3, Backoff: []time.Duration{time.Minute, time.Hour}})
			id := v.enqueue(t, v.deletion("org-a"))[0]
			run(t, x, 0, 0, 1)
			if d := v.get(t, id); !d.NextAt.Equal(v.clk.Now().Add(time.Minute)) {
				t.Errorf("first retry at %v", d.NextAt)
			}
			v.clk.Advance(time.Minute)
			run(t, x, 0, 0, 1)
			if d := v.get(t, id); !d.NextAt.Equal(v.clk.Now().Add(time.Hour)) {
				t.Errorf("second retry at %v", d.NextAt)
			}
			v.clk.Advance(time.Hour)
			run(t, x, 0, 1, 0)
			for range 3 {
				v.clk.Advance(24 * time.Hour)
				run(t, x, 0, 0, 0)
			}
			if d := v.get(t, id); d.Status != notice.StatusFailed || d.Attempts != 3 || d.LastError != notice.CodeUnavailable {
				t.Errorf("after max attempts: %+v", d)
			}
			if len(sb.Sent()) != 3 {
				t.Errorf("%d attempts, want 3", len(sb.Sent()))
			}
			want := []string{"notice.retry org-a 1 unavailable", "notice.retry org-a 2 unavailable", "notice.failed org-a 3 unavailable"}
			if got := v.audited(t); !slices.Equal(got, want) {
				t.Errorf("audit %q, want %q", got, want)
			}
			v.verifyChain(t)
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	x := notice.New(nil, nil, nil, nil, notice.Options{})
	var got []time.Duration
	for n := 1; n <= 9; n++ {
		got = append(got, x.Backoff(n, 0))
	}
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	if !slices.Equal(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
	if d := x.Backoff(1, 10*time.Minute); d != 10*time.Minute {
		t.Errorf("with a 10m hint: %v", d)
	}
	if d := x.Backoff(1, 100*time.Hour); d != 24*time.Hour {
		t.Errorf("with a 100h hint: %v", d)
	}
}

func TestRetryAfterHint(t *testing.T) {
	v := open(t, testenv.Engines(t)[0])
	x := v.dispatcher(notice.NewSandbox(notice.SandboxOptions{FailFirst: 1, RetryAfter: 10 * time.Minute}), notice.Options{})
	id := v.enqueue(t, v.deletion("org-a"))[0]
	run(t, x, 0, 0, 1)
	if d := v.get(t, id); !d.NextAt.Equal(v.clk.Now().Add(10 * time.Minute)) {
		t.Errorf("retry at %v, want the hint", d.NextAt)
	}
}

// deliverFunc is a Deliverer made of a function.
type deliverFunc func(context.Context, notice.Message) (string, error)

func (f deliverFunc) Deliver(ctx context.Context, m notice.Message) (string, error) { return f(ctx, m) }

func TestDeletionNoticeBody(t *testing.T) {
	v := open(t, testenv.Engines(t)[0])
	var got []notice.Message
	x := v.dispatcher(deliverFunc(func(_ context.Context, m notice.Message) (string, error) {
		got = append(got, m)
		return "ref-1", nil
	}), notice.Options{Catalog: v.c.Catalog, NoticeDeadline: 10 * 24 * time.Hour})
	id := v.enqueue(t, v.deletion("org-a"))[0]
	created := v.clk.Now()
	v.clk.Advance(time.Hour)
	run(t, x, 1, 0, 0)
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	m := got[0]
	if m.ID != id || m.Kind != notice.KindDeletionNotice || m.Recipient != "org-a" || m.RecipientKind != "employer" || m.RequestID != "req-1" ||
		m.Attempt != 1 || m.ContentType != "application/json" {
		t.Errorf("message %v", m)
	}
	var n notice.DeletionNotice
	dec := json.NewDecoder(strings.NewReader(string(m.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		t.Fatal(err)
	}
	mobile, _ := v.c.Catalog.Field("mobile")
	resume, _ := v.c.Catalog.Field("resume_text")
	want := notice.DeletionNotice{Type: notice.NoticeType, NoticeID: id, RequestID: "req-1", Subject: v.subject, Recipient: "org-a",
		Provisions: []string{"ledger-1", "ledger-2"},
		Fields:     []notice.NoticeField{{Field: "mobile", Zh: mobile.Zh, En: mobile.En}, {Field: "resume_text", Zh: resume.Zh, En: resume.En}},
		IssuedAt:   created, Deadline: created.Add(10 * 24 * time.Hour), InstructionZh: n.InstructionZh, Instruction: n.Instruction}
	if diff := cmp.Diff(want, n); diff != "" {
		t.Errorf("notice (-want +got):\n%s", diff)
	}
	if !strings.Contains(n.InstructionZh, "删除") || !strings.Contains(n.InstructionZh, "确认") || !strings.Contains(n.Instruction, "delete") ||
		!strings.Contains(n.Instruction, "confirm") {
		t.Errorf("instructions %q / %q", n.InstructionZh, n.Instruction)
	}
	if d := v.get(t, id); d.DeliveryRef != "ref-1" || !d.DeliveredAt.Equal(v.clk.Now()) {
		t.Errorf("delivered %+v", d)
	}
	// Without a catalog: names only.
	n2 := notice.NewDeletionNotice(v.get(t, id), created, nil)
	if n2.Fields[0] != (notice.NoticeField{Field: "mobile"}) {
		t.Errorf("without catalog: %+v", n2.Fields)
	}
}

func TestCopies(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			body := []byte("PK\x03\x04 a zip with 13812345678 in it")
			var calls atomic.Int32
			payload := func(_ context.Context, d notice.Delivery) ([]byte, string, error) {
				calls.Add(1)
				switch d.Recipient {
				case "erased":
					return nil, "", errs.New(errs.Erased, "subject", "已删除", "erased")
				case "gone":
					return nil, "", fmt.Errorf("reading: %w", notice.ErrSubjectGone)
				case "flaky":
					return nil, "", errors.New("vault busy reading 13812345678")
				case "refused":
					return nil, "", notice.Permanent(notice.Temporary("too_large", nil))
				}
				return body, "application/zip", nil
			}
			sb := notice.NewSandbox(notice.SandboxOptions{})
			x := v.dispatcher(sb, notice.Options{Payload: payload})
			cp := func(r string) notice.Delivery {
				return notice.Delivery{Kind: notice.KindCopy, RequestID: "req-1", SubjectID: v.subject, Recipient: r,
					RecipientKind: "subject_named", Fields: []string{"mobile"}, CreatedAt: v.clk.Now()}
			}
			ids := v.enqueue(t, cp("porting"), cp("erased"), cp("gone"), cp("flaky"), cp("refused"))
			run(t, x, 1, 3, 1)
			codes := map[string]string{}
			for _, id := range ids {
				d := v.get(t, id)
				codes[d.Recipient] = d.Status + " " + d.LastError
			}
			want := map[string]string{"porting": "delivered ", "erased": "failed subject_gone", "gone": "failed subject_gone",
				"flaky": "pending payload_error", "refused": "failed too_large"}
			if diff := cmp.Diff(want, codes); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			sum := sha256.Sum256(body)
			if s := sb.Sent(); len(s) != 1 || s[0].BodySHA256 != hex.EncodeToString(sum[:]) || s[0].ContentType != "application/zip" ||
				s[0].Kind != notice.KindCopy || s[0].Size != len(body) {
				t.Errorf("sent %+v", s)
			}
			// Without a Payload function, a copy fails.
			id := v.enqueue(t, cp("porting-2"))[0]
			run(t, v.dispatcher(sb, notice.Options{}), 0, 1, 0)
			if d := v.get(t, id); d.Status != notice.StatusFailed || d.LastError != notice.CodeNoPayload {
				t.Errorf("without Payload: %+v", d)
			}
			// No personal information in the table or the audit log.
			es, _ := audit.Search(ctx, v.c.DB, audit.Filter{Actor: notice.Actor})
			for _, e := range es {
				if strings.Contains(fmt.Sprint(e.Detail), "13812345678") {
					t.Errorf("audit entry holds PI: %+v", e)
				}
			}
			l, _ := notice.List(ctx, v.c.DB, "req-1")
			if strings.Contains(fmt.Sprint(l), "13812345678") {
				t.Error("a delivery row holds PI")
			}
			v.verifyChain(t)
		})
	}
}

// TestErrorTextNeverStored: last_error and the audit entry hold a code,
// never what a Deliverer said.
func TestErrorTextNeverStored(t *testing.T) {
	v := open(t, testenv.Engines(t)[0])
	x := v.dispatcher(deliverFunc(func(context.Context, notice.Message) (string, error) {
		return "", errors.New("recipient says: no user 13812345678")
	}), notice.Options{})
	id := v.enqueue(t, v.deletion("org-a"))[0]
	run(t, x, 0, 0, 1)
	if d := v.get(t, id); d.LastError != notice.CodeError {
		t.Errorf("last_error %q", d.LastError)
	}
	if got := v.audited(t); !slices.Equal(got, []string{"notice.retry org-a 1 error"}) {
		t.Errorf("audit %q", got)
	}
}

// TestClaimHoldsAgainstOtherRuns: while one run is delivering, another
// (another node) does not pick the same delivery; after ClaimFor it may.
func TestClaimHoldsAgainstOtherRuns(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			other := v.dispatcher(notice.NewSandbox(notice.SandboxOptions{}), notice.Options{})
			var inner [3]int
			x := v.dispatcher(deliverFunc(func(context.Context, notice.Message) (string, error) {
				d, f, r, err := other.RunOnce(ctx)
				if err != nil {
					return "", err
				}
				inner = [3]int{d, f, r}
				return "r", nil
			}), notice.Options{ClaimFor: time.Minute})
			id := v.enqueue(t, v.deletion("org-a"))[0]
			run(t, x, 1, 0, 0)
			if inner != [3]int{} {
				t.Errorf("the other run handled %v while the delivery was claimed", inner)
			}
			if d := v.get(t, id); d.Attempts != 1 || d.Status != notice.StatusDelivered {
				t.Errorf("delivered %+v", d)
			}
			// A run that stopped mid-attempt: the claim expires and the
			// delivery is attempted again.
			id2 := v.enqueue(t, v.deletion("org-b"))[0]
			if _, err := v.c.DB.Exec(ctx, `UPDATE outbound_deliveries SET attempts = 1, next_at = ? WHERE id = ?`,
				v.clk.Now().Add(time.Minute).UnixMicro(), id2); err != nil {
				t.Fatal(err)
			}
			run(t, other, 0, 0, 0)
			v.clk.Advance(time.Minute)
			run(t, other, 1, 0, 0)
			if d := v.get(t, id2); d.Attempts != 2 {
				t.Errorf("after an expired claim: %+v", d)
			}
			// Attempts used up by runs that stopped: failed without a send.
			id3 := v.enqueue(t, v.deletion("org-c"))[0]
			if _, err := v.c.DB.Exec(ctx, `UPDATE outbound_deliveries SET attempts = 8 WHERE id = ?`, id3); err != nil {
				t.Fatal(err)
			}
			run(t, other, 0, 1, 0)
			if d := v.get(t, id3); d.Status != notice.StatusFailed || d.LastError != notice.CodeExhausted {
				t.Errorf("exhausted: %+v", d)
			}
			v.verifyChain(t)
		})
	}
}

// TestShutdownReleasesClaim: an attempt cut short by the caller's context
// is not counted and the delivery is due again at once.
func TestShutdownReleasesClaim(t *testing.T) {
	v := open(t, testenv.Engines(t)[0])
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	x := v.dispatcher(deliverFunc(func(ctx context.Context, _ notice.Message) (string, error) {
		cancel()
		return "", notice.Temporary(notice.CodeNetwork, ctx.Err())
	}), notice.Options{})
	id := v.enqueue(t, v.deletion("org-a"))[0]
	if d, f, r, err := x.RunOnce(cctx); err != nil || d+f+r != 0 {
		t.Fatalf("RunOnce: %d %d %d %v", d, f, r, err)
	}
	if d := v.get(t, id); d.Attempts != 0 || d.Status != notice.StatusPending || !d.NextAt.Equal(v.clk.Now()) {
		t.Errorf("after shutdown: %+v", d)
	}
	if got := v.audited(t); len(got) != 0 {
		t.Errorf("audit %q", got)
	}
}

func TestLoop(t *testing.T) {
	v := open(t, testenv.Engines(t)[0])
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var n atomic.Int32
	x := v.dispatcher(deliverFunc(func(context.Context, notice.Message) (string, error) {
		if n.Add(1) == 3 {
			cancel() // the third delivery ends the loop
		}
		return "r", nil
	}), notice.Options{Batch: 1, Concurrency: 1})
	ids := v.enqueue(t, v.deletion("org-a"), v.deletion("org-b"), v.deletion("org-c"), v.deletion("org-d"))
	// Full batches run back to back: three runs without waiting for the hour.
	if err := x.Loop(lctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for _, id := range ids {
		statuses = append(statuses, v.get(t, id).Status)
	}
	if want := []string{"delivered", "delivered", "delivered", "pending"}; !slices.Equal(statuses, want) {
		t.Errorf("statuses %v, want %v", statuses, want)
	}
}

// TestConcurrentRunsDeliverOnce: runs on several nodes at once send each
// delivery exactly once.
func TestConcurrentRunsDeliverOnce(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			var ds []notice.Delivery
			for i := range 40 {
				ds = append(ds, v.deletion(fmt.Sprintf("org-%d", i)))
			}
			ids := v.enqueue(t, ds...)
			sb := notice.NewSandbox(notice.SandboxOptions{})
			var wg sync.WaitGroup
			var total atomic.Int32
			for range 4 {
				x := v.dispatcher(sb, notice.Options{Batch: 7})
				wg.Go(func() {
					for range 10 {
						d, _, _, err := x.RunOnce(ctx)
						if err != nil {
							t.Error(err)
							return
						}
						total.Add(int32(d))
					}
				})
			}
			wg.Wait()
			seen := map[string]int{}
			for _, s := range sb.Sent() {
				seen[s.ID]++
			}
			if total.Load() != 40 || len(seen) != 40 {
				t.Errorf("delivered %d, distinct %d", total.Load(), len(seen))
			}
			for _, id := range ids {
				if seen[id] != 1 {
					t.Errorf("delivery %s sent %d times", id, seen[id])
				}
			}
			v.verifyChain(t)
		})
	}
}

// TestFinished: the hook sees each final outcome inside its transaction;
// its error rolls the outcome back and the delivery is attempted again.
func TestFinished(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			v := open(t, e)
			var seen []string
			fail := true
			hook := func(ctx context.Context, tx *store.Tx, d notice.Delivery) error {
				if d.Recipient == "org-b" && fail {
					fail = false
					return errors.New("ledger unavailable")
				}
				// Inside the transaction: the row already says so.
				var status string
				if err := tx.QueryRow(ctx, `SELECT status FROM outbound_deliveries WHERE id = ?`, d.ID).Scan(&status); err != nil {
					return err
				}
				seen = append(seen, fmt.Sprintf("%s %s %s %d %v %v", d.Recipient, d.Status, status, d.Attempts, d.DeliveryRef != "", d.DeliveredAt.IsZero()))
				return nil
			}
			sb := notice.NewSandbox(notice.SandboxOptions{Unreachable: []string{"org-gone"}, FailFirstFor: map[string]int{"org-c": 1}})
			x := v.dispatcher(sb, notice.Options{Finished: hook, Concurrency: 1, ClaimFor: time.Minute})
			ids := v.enqueue(t, v.deletion("org-a"), v.deletion("org-b"), v.deletion("org-gone"), v.deletion("org-c"))
			if d, f, r, err := x.RunOnce(ctx); err == nil || !strings.Contains(err.Error(), "ledger unavailable") || d != 1 || f != 1 || r != 1 {
				t.Fatalf("RunOnce: %d %d %d %v", d, f, r, err)
			}
			if d := v.get(t, ids[1]); d.Status != notice.StatusPending || d.Attempts != 1 || !d.NextAt.Equal(v.clk.Now().Add(time.Minute)) {
				t.Errorf("after the hook failed: %+v", d)
			}
			v.clk.Advance(time.Minute)
			run(t, x, 2, 0, 0) // org-b again, org-c's retry
			want := []string{"org-a delivered delivered 1 true false", "org-gone failed failed 1 false true",
				"org-b delivered delivered 2 true false", "org-c delivered delivered 2 true false"}
			if !slices.Equal(seen, want) {
				t.Errorf("hook saw %q, want %q", seen, want)
			}
			v.verifyChain(t)
		})
	}
}
