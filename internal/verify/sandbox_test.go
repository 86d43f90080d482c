package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/format"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// newTestSandbox returns a sandbox on a fake clock that does not wait and
// records the durations it was asked to wait.
func newTestSandbox(t *testing.T) (*Sandbox, *clock.Fake, *[]time.Duration) {
	t.Helper()
	clk := clock.NewFake(t0)
	s := NewSandbox(nil)
	s.Clock = clk
	var mu sync.Mutex
	slept := &[]time.Duration{}
	s.Sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*slept = append(*slept, d)
		mu.Unlock()
		return ctx.Err()
	}
	return s, clk, slept
}

// fixtureRequest is id.Request(level), with another identity's card and
// number standing in for those the entry lacks.
func fixtureRequest(id Identity, level Level) Request {
	r := id.Request(level)
	if level >= Level3 && r.BankCard == "" {
		r.BankCard = tCard
	}
	if level >= Level4 && r.Mobile == "" {
		r.Mobile = tMobile
	}
	return r
}

// TestDefaultFixtureIsValid recomputes every check character and Luhn
// digit of the embedded fixture and checks each identity's requests.
func TestDefaultFixtureIsValid(t *testing.T) {
	f := DefaultFixture()
	ids := f.Identities()
	if len(ids) < 8 {
		t.Fatalf("%d identities", len(ids))
	}
	for _, id := range ids {
		if c, ok := format.IDCheckChar(id.IDNumber[:17]); !ok || c != id.IDNumber[17] {
			t.Errorf("%s: ID check character", id.Label)
		}
		if id.BankCard != "" {
			if c, ok := format.LuhnCheckDigit(id.BankCard[:len(id.BankCard)-1]); !ok || c != id.BankCard[len(id.BankCard)-1] {
				t.Errorf("%s: Luhn digit", id.Label)
			}
		}
		for l := Level2; l <= Level4; l++ {
			r := fixtureRequest(id, l)
			if got, err := r.Check(); err != nil || got != r {
				t.Errorf("%s level %d: request not valid and normal: %v", id.Label, l, err)
			}
		}
	}
}

// fixtureWant is the documented outcome of each fixture identity at levels
// 2, 3 and 4 (docs for end-to-end tests rely on it).
var fixtureWant = map[string][3]string{
	"pass":                {"pass", "pass", "pass"},
	"mismatch":            {"mismatch", "mismatch", "mismatch"},
	"id-not-found":        {"id_not_found", "id_not_found", "id_not_found"},
	"card-not-matching":   {"pass", "card_not_matching", "card_not_matching"},
	"mobile-not-matching": {"pass", "pass", "mobile_not_matching"},
	"provider-error":      {"provider_error", "provider_error", "provider_error"},
	"check-x":             {"pass", "pass", "pass"},
	"no-card":             {"pass", "card_not_matching", "card_not_matching"},
	"dot-name":            {"pass", "pass", "pass"},
}

func TestFixtureOutcomes(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	ids := s.Fixture().Identities()
	if len(ids) != len(fixtureWant) {
		t.Errorf("fixture has %d identities, the table %d", len(ids), len(fixtureWant))
	}
	for _, id := range ids {
		want, ok := fixtureWant[id.Label]
		if !ok {
			t.Errorf("identity %s not in the table", id.Label)
			continue
		}
		for l := Level2; l <= Level4; l++ {
			w := want[l-2]
			if got := id.Expect(l); got != w {
				t.Errorf("%s level %d: Expect = %s, want %s", id.Label, l, got, w)
			}
			res, err := s.Verify(context.Background(), fixtureRequest(id, l))
			if got := outcomeOf(res, err); got != w {
				t.Errorf("%s level %d: outcome %s (%v), want %s", id.Label, l, got, err, w)
			}
		}
	}
}

// outcomeOf reads a Verify answer as a fixture outcome.
func outcomeOf(res Result, err error) string {
	switch {
	case errs.Is(err, errs.Unavailable):
		return OutcomeProviderError
	case err != nil:
		return "error " + string(errs.CodeOf(err))
	case res.Passed:
		return OutcomePass
	}
	return res.Reason
}

func TestSandboxComparesFactors(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	ctx := context.Background()
	pass, _ := s.Fixture().Identity("pass")
	other, _ := s.Fixture().Identity("dot-name")
	tests := []struct {
		name string
		edit func(*Request)
		l    Level
		want string
	}{
		{"as on record", func(*Request) {}, Level4, "pass"},
		{"name differs", func(r *Request) { r.Name = "张叁" }, Level2, "mismatch"},
		{"name differs, level 4", func(r *Request) { r.Name = "张叁"; r.BankCard = other.BankCard }, Level4, "mismatch"},
		{"card differs", func(r *Request) { r.BankCard = other.BankCard }, Level3, "card_not_matching"},
		{"card differs, level 4", func(r *Request) { r.BankCard = other.BankCard; r.Mobile = other.Mobile }, Level4, "card_not_matching"},
		{"mobile differs", func(r *Request) { r.Mobile = other.Mobile }, Level4, "mobile_not_matching"},
		{"written differently", func(r *Request) {
			r.Name = " 张三 "
			r.BankCard = "6222 0000 0000 0000 012"
			r.Mobile = "+86 138 0000 0001"
		}, Level4, "pass"},
	}
	for _, tt := range tests {
		r := pass.Request(tt.l)
		tt.edit(&r)
		res, err := s.Verify(ctx, r)
		if got := outcomeOf(res, err); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	x, _ := s.Fixture().Identity("check-x")
	r := x.Request(Level2)
	r.IDNumber = strings.ToLower(r.IDNumber)
	if res, err := s.Verify(ctx, r); err != nil || !res.Passed {
		t.Errorf("lower-case x: %v %+v", err, res)
	}
}

// validID returns a valid ID number with body's check character.
func validID(body string) string {
	c, _ := format.IDCheckChar(body)
	return body + string(c)
}

func TestSandboxUnknownIDs(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	s.PerMinute = 0
	ctx := context.Background()
	counts := map[string]int{}
	for i := range 200 {
		id := validID(fmt.Sprintf("4401061985061%04d", i))
		want := "pass"
		if sha256.Sum256([]byte(id))[0] < 26 {
			want = "mismatch"
		}
		counts[want]++
		for l := Level2; l <= Level4; l++ {
			r := Request{Level: l, Name: "测试", IDNumber: id}
			if l >= Level3 {
				r.BankCard = tCard
			}
			if l >= Level4 {
				r.Mobile = tMobile
			}
			res, err := s.Verify(ctx, r)
			if got := outcomeOf(res, err); got != want {
				t.Fatalf("unknown ID level %d: %s, want %s", l, got, want)
			}
		}
	}
	if counts["pass"] < 150 || counts["mismatch"] < 5 {
		t.Errorf("outcome split %v", counts)
	}
}

// TestSandboxUnknownExamples pins the examples the documentation gives of
// ID numbers outside the fixture.
func TestSandboxUnknownExamples(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	for id, want := range map[string]string{"440106198506100001": "pass", "440106198506100087": "mismatch"} {
		res, err := s.Verify(context.Background(), Request{Level: Level2, Name: "任意", IDNumber: id})
		if got := outcomeOf(res, err); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
}

func TestSandboxDeterministic(t *testing.T) {
	a, _, _ := newTestSandbox(t)
	b, _, _ := newTestSandbox(t)
	ctx := context.Background()
	reqs := []Request{
		{Level: Level2, Name: tName, IDNumber: tID},
		{Level: Level3, Name: "赵六", IDNumber: "510107198806150048", BankCard: "6222000000000000046"},
		{Level: Level2, Name: "某人", IDNumber: validID("37020219990101010")},
		{Level: Level2, Name: "某人", IDNumber: validID("44010619850613000")},
	}
	for _, r := range reqs {
		r1, err1 := a.Verify(ctx, r)
		r2, err2 := a.Verify(ctx, r)
		r3, err3 := b.Verify(ctx, r)
		o1, o2, o3 := outcomeOf(r1, err1), outcomeOf(r2, err2), outcomeOf(r3, err3)
		if o1 != o2 || o1 != o3 {
			t.Errorf("%v: outcomes %s, %s, %s", r, o1, o2, o3)
		}
		if r1.ProviderRef == r2.ProviderRef {
			t.Errorf("%v: one ref for two checks", r)
		}
	}
	calls := a.Calls()
	for i := 0; i+1 < len(calls); i += 2 {
		if calls[i].Digest != calls[i+1].Digest || calls[i].Digest == "" {
			t.Errorf("calls %d and %d: digests differ for one request", i, i+1)
		}
	}
	if calls[0].Digest == calls[2].Digest {
		t.Error("two requests, one digest")
	}
	if bc := b.Calls(); bc[0].Digest == calls[0].Digest {
		t.Error("digests are not keyed per sandbox")
	}
}

func TestSandboxResultAndCalls(t *testing.T) {
	s, clk, slept := newTestSandbox(t)
	ctx := context.Background()
	r := Request{Level: Level4, Name: tName, IDNumber: tID, BankCard: tCard, Mobile: tMobile}
	res, err := s.Verify(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed || res.Reason != "" || res.Level != Level4 || res.Provider != "sandbox" || !res.At.Equal(clk.Now()) {
		t.Errorf("result %+v", res)
	}
	if !regexp.MustCompile(`^sbx-[0-9a-f]{16}$`).MatchString(res.ProviderRef) {
		t.Errorf("ref %q", res.ProviderRef)
	}
	mm, _ := s.Fixture().Identity("mismatch")
	res2, err := s.Verify(ctx, mm.Request(Level2))
	if err != nil || res2.Passed || res2.Reason != ReasonMismatch || res2.Level != Level2 {
		t.Errorf("mismatch: %+v %v", res2, err)
	}
	_, err = s.Verify(ctx, Request{Level: Level2, Name: tName, IDNumber: tID, Mobile: tMobile})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("invalid request: %v", err)
	}
	calls := s.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.Level != Level4 || c.Label != "pass" || c.Outcome != "pass" || c.ProviderRef != res.ProviderRef ||
		!c.At.Equal(t0) || c.Latency != (*slept)[0] || len(c.Digest) != 64 {
		t.Errorf("call %+v", c)
	}
	if calls[1].Outcome != ReasonMismatch || calls[1].Label != "mismatch" {
		t.Errorf("call %+v", calls[1])
	}
	if calls[2].Outcome != OutcomeInvalid || calls[2].Digest != "" || calls[2].Latency != 0 {
		t.Errorf("invalid call %+v", calls[2])
	}
	printed := fmt.Sprintf("%+v %#v", calls, calls)
	for _, v := range []string{tName, tID, tCard, tMobile, mm.Name, mm.IDNumber} {
		if strings.Contains(printed, v) {
			t.Errorf("calls contain a factor: %s", printed)
		}
	}
}

func TestSandboxRateLimit(t *testing.T) {
	s, clk, _ := newTestSandbox(t)
	s.PerMinute = 5
	ctx := context.Background()
	r := Request{Level: Level2, Name: tName, IDNumber: tID}
	for i := range 5 {
		if _, err := s.Verify(ctx, r); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		clk.Advance(2 * time.Second) // calls at 0, 2, 4, 6, 8 s
	}
	// At 10 s the oldest call (0 s) leaves the window at 60 s.
	_, err := s.Verify(ctx, r)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.RateLimited || e.RetryAfter != 50*time.Second {
		t.Fatalf("call 6: %#v", err)
	}
	if e.Message == "" || e.MessageZh == "" {
		t.Error("no message")
	}
	clk.Advance(49 * time.Second) // 59 s: still limited
	_, err = s.Verify(ctx, r)
	if !errors.As(err, &e) || e.Code != errs.RateLimited || e.RetryAfter != time.Second {
		t.Fatalf("at 59 s: %#v", err)
	}
	clk.Advance(time.Second) // 60 s: one slot free
	if _, err := s.Verify(ctx, r); err != nil {
		t.Fatalf("at 60 s: %v", err)
	}
	if _, err := s.Verify(ctx, r); !errs.Is(err, errs.RateLimited) {
		t.Fatalf("at 60 s, second call: %v", err)
	}
	clk.Advance(time.Minute) // a minute later: all free
	for i := range 5 {
		if _, err := s.Verify(ctx, r); err != nil {
			t.Fatalf("after a minute, call %d: %v", i+1, err)
		}
	}
	limited := 0
	for _, c := range s.Calls() {
		if c.Outcome == OutcomeRateLimited {
			limited++
			if c.Latency != 0 {
				t.Error("a refused call waited")
			}
		}
	}
	if limited != 3 {
		t.Errorf("%d rate-limited calls recorded", limited)
	}
}

func TestSandboxRateLimitDefault(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	r := Request{Level: Level2, Name: tName, IDNumber: tID}
	for i := range DefaultPerMinute {
		if _, err := s.Verify(context.Background(), r); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if _, err := s.Verify(context.Background(), r); errs.As(err).RetryAfter != time.Minute {
		t.Fatalf("call 61: %v", err)
	}
}

func TestSandboxProviderErrors(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	ctx := context.Background()
	pe, _ := s.Fixture().Identity("provider-error")
	_, err := s.Verify(ctx, pe.Request(Level3))
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.Unavailable || e.MessageZh == "" {
		t.Fatalf("provider-error: %#v", err)
	}
	if strings.Contains(err.Error(), pe.IDNumber) || strings.Contains(err.Error(), pe.BankCard) {
		t.Error("error contains a factor")
	}

	s, _, _ = newTestSandbox(t)
	s.FailEvery = 3
	r := Request{Level: Level2, Name: tName, IDNumber: tID}
	var got []bool
	for range 7 {
		_, err := s.Verify(ctx, r)
		if err != nil && !errs.Is(err, errs.Unavailable) {
			t.Fatal(err)
		}
		got = append(got, err != nil)
	}
	if want := []bool{false, false, true, false, false, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("FailEvery 3: failures %v", got)
	}
	if c := s.Calls()[2]; c.Outcome != OutcomeProviderError || c.ProviderRef != "" {
		t.Errorf("call %+v", c)
	}
}

func TestSandboxLatency(t *testing.T) {
	s, _, slept := newTestSandbox(t)
	s.PerMinute = 0
	ctx := context.Background()
	r := Request{Level: Level2, Name: tName, IDNumber: tID}
	for range 20 {
		if _, err := s.Verify(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	calls := s.Calls()
	if len(*slept) != 20 {
		t.Fatalf("Sleep called %d times", len(*slept))
	}
	distinct := map[time.Duration]bool{}
	for i, d := range *slept {
		if d < DefaultLatency/2 || d >= DefaultLatency*3/2 {
			t.Errorf("latency %v out of range", d)
		}
		if calls[i].Latency != d {
			t.Errorf("call %d recorded %v, slept %v", i, calls[i].Latency, d)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("latency barely jitters: %v", *slept)
	}
	// The same sequence of calls waits the same in another sandbox.
	s2, _, slept2 := newTestSandbox(t)
	s2.PerMinute = 0
	for range 20 {
		_, _ = s2.Verify(ctx, Request{Level: Level2, Name: "李四", IDNumber: "310104198511120021"})
	}
	if fmt.Sprint(*slept2) != fmt.Sprint(*slept) {
		t.Error("latency differs from run to run")
	}

	s3, _, slept3 := newTestSandbox(t)
	s3.Latency = 0
	if _, err := s3.Verify(ctx, r); err != nil || len(*slept3) != 0 || s3.Calls()[0].Latency != 0 {
		t.Errorf("Latency 0 still waits: %v %v", err, *slept3)
	}
}

func TestSandboxContextCancel(t *testing.T) {
	s := NewSandbox(nil) // the real Sleep
	s.Latency = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := s.Verify(ctx, Request{Level: Level2, Name: tName, IDNumber: tID})
	if time.Since(start) > 10*time.Second {
		t.Fatal("cancel did not end the latency")
	}
	if !errors.Is(err, context.Canceled) || !errs.Is(err, errs.Unavailable) {
		t.Fatalf("err = %v", err)
	}
	if c := s.Calls()[0]; c.Outcome != OutcomeCanceled || c.Latency < 30*time.Minute {
		t.Errorf("call %+v", c)
	}

	// Already cancelled: no wait, no admission.
	s2, _, slept := newTestSandbox(t)
	_, err = s2.Verify(ctx, Request{Level: Level2, Name: tName, IDNumber: tID})
	if !errors.Is(err, context.Canceled) || len(*slept) != 0 {
		t.Fatalf("cancelled context: %v, slept %v", err, *slept)
	}

	// A deadline during the latency.
	s3 := NewSandbox(nil)
	s3.Latency = time.Hour
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	if _, err := s3.Verify(dctx, Request{Level: Level2, Name: tName, IDNumber: tID}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
}

func TestSandboxConcurrent(t *testing.T) {
	s, _, _ := newTestSandbox(t)
	s.PerMinute = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for range 8 {
		wg.Go(func() {
			for range 10 {
				_, err := s.Verify(context.Background(), Request{Level: Level2, Name: tName, IDNumber: tID})
				mu.Lock()
				switch {
				case err == nil:
					ok++
				case errs.Is(err, errs.RateLimited):
					limited++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok != 50 || limited != 30 || len(s.Calls()) != 80 {
		t.Errorf("ok %d limited %d calls %d", ok, limited, len(s.Calls()))
	}
}

func TestLoadFixture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	doc := `identities:
  - label: only
    name: 测试
    id_number: "` + validID("11010119900101001") + `"
    outcomes: {2: mismatch}
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Source != path || len(f.Identities()) != 1 {
		t.Fatalf("%+v", f)
	}
	s := NewSandbox(f)
	s.Latency = 0
	id, _ := f.Identity("only")
	res, err := s.Verify(context.Background(), id.Request(Level2))
	if err != nil || res.Reason != ReasonMismatch {
		t.Errorf("%+v %v", res, err)
	}
	if _, ok := f.Identity("pass"); ok {
		t.Error("default identity in a loaded fixture")
	}
	if _, err := LoadFixture(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file loaded")
	}
	// Identities is a deep copy.
	ids := f.Identities()
	ids[0].Outcomes[Level2] = "pass"
	if again, _ := f.Identity("only"); again.Outcomes[Level2] != ReasonMismatch {
		t.Error("Identities shares its maps")
	}
}

func TestParseFixtureRefuses(t *testing.T) {
	good := validID("11010119900101001")
	badID := good[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", good[17])+1)%11])
	entry := func(extra string) string {
		return "identities:\n  - label: a\n    name: 测试\n    id_number: \"" + good + "\"\n" + extra
	}
	tests := map[string]string{
		"empty":               "",
		"no identities":       "identities: []\n",
		"unknown key":         entry("    face: x\n"),
		"bad label":           "identities:\n  - label: A B\n    name: 测试\n    id_number: \"" + good + "\"\n",
		"no name":             "identities:\n  - label: a\n    id_number: \"" + good + "\"\n",
		"bad check char":      "identities:\n  - label: a\n    name: 测试\n    id_number: \"" + badID + "\"\n",
		"bad luhn":            entry("    bank_card: \"6222000000000000013\"\n"),
		"bad mobile":          entry("    mobile: \"12800000001\"\n"),
		"bad outcome":         entry("    outcome: maybe\n"),
		"card outcome at all": entry("    outcome: card_not_matching\n"),
		"card at level 2":     entry("    outcomes: {2: card_not_matching}\n"),
		"mobile at level 3":   entry("    outcomes: {3: mobile_not_matching}\n"),
		"level 5":             entry("    outcomes: {5: pass}\n"),
		"duplicate label":     entry("") + "  - label: a\n    name: 测试\n    id_number: \"" + validID("11010119900101002") + "\"\n",
		"duplicate id":        entry("") + "  - label: b\n    name: 测试\n    id_number: \"" + strings.ToLower(good) + "\"\n",
		"not yaml":            "identities: [",
	}
	for name, doc := range tests {
		_, err := ParseFixture([]byte(doc))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, v := range []string{good, badID, "6222000000000000013", "12800000001"} {
			if strings.Contains(err.Error(), v) {
				t.Errorf("%s: error %q contains a value", name, err)
			}
		}
	}
}
