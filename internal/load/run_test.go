package load

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingServer is a loopback httptest server that counts requests and
// answers with handler (200 "ok" when nil).
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if handler != nil {
			handler(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testConfig(urls ...string) Config {
	c := DefaultConfig()
	c.Targets = urls
	c.Concurrency = 4
	c.Warmup = 0
	c.Timeout = 2 * time.Second
	return c
}

func runOne(t *testing.T, cfg Config) Result {
	t.Helper()
	rep, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Targets) != 1 {
		t.Fatalf("%d results", len(rep.Targets))
	}
	return rep.Targets[0]
}

func TestClosedLoopCountsEveryRequest(t *testing.T) {
	srv, served := countingServer(t, nil)
	cfg := testConfig(srv.URL + "/healthz")
	cfg.Duration = 300 * time.Millisecond
	start := time.Now()
	res := runOne(t, cfg)
	took := time.Since(start)
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Fatalf("client counted %d requests, server %d", res.Requests, served.Load())
	}
	if res.Successes != res.Requests || res.Errors != 0 || int64(res.Latency.Count) != res.Successes {
		t.Fatalf("successes %d errors %d latency count %d of %d", res.Successes, res.Errors, res.Latency.Count, res.Requests)
	}
	if res.BytesRead != 2*res.Requests {
		t.Fatalf("bytes read %d for %d requests", res.BytesRead, res.Requests)
	}
	if res.Elapsed < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("elapsed %v, run took %v", res.Elapsed, took)
	}
	if want := float64(res.Requests) / res.Elapsed.Seconds(); res.RPS != want {
		t.Fatalf("rps %v, want %v", res.RPS, want)
	}
	if res.Latency.P50 <= 0 || res.Latency.P50 > res.Latency.P99 || res.Latency.P99 > res.Latency.Max {
		t.Fatalf("latency %+v", res.Latency)
	}
}

func TestWarmupIsNotRecorded(t *testing.T) {
	srv, served := countingServer(t, nil)
	cfg := testConfig(srv.URL)
	cfg.Warmup = 250 * time.Millisecond
	cfg.Duration = 250 * time.Millisecond
	res := runOne(t, cfg)
	if res.WarmupRequests == 0 || res.Requests == 0 {
		t.Fatalf("warm-up %d, measured %d", res.WarmupRequests, res.Requests)
	}
	if res.Requests+res.WarmupRequests != served.Load() {
		t.Fatalf("measured %d + warm-up %d != served %d", res.Requests, res.WarmupRequests, served.Load())
	}
}

func TestRequestLimit(t *testing.T) {
	for _, rate := range []float64{0, 2000} {
		srv, served := countingServer(t, nil)
		cfg := testConfig(srv.URL)
		cfg.Duration = 0 // bounded by the count alone (and the 5 min cap)
		cfg.Requests = 57
		cfg.Rate = rate
		res := runOne(t, cfg)
		if res.Requests != 57 || served.Load() != 57 || res.Successes != 57 {
			t.Fatalf("rate %v: %d requests, %d served, %d ok; want 57", rate, res.Requests, served.Load(), res.Successes)
		}
		if res.Missed != 0 {
			t.Fatalf("rate %v: %d missed", rate, res.Missed)
		}
	}
}

func TestOpenLoopRate(t *testing.T) {
	srv, served := countingServer(t, nil)
	cfg := testConfig(srv.URL)
	cfg.Rate = 200
	cfg.Concurrency = 64 // headroom: the machine may be busy
	cfg.Duration = time.Second
	res := runOne(t, cfg)
	if res.Requests < 180 || res.Requests > 220 {
		t.Fatalf("sent %d requests at 200/s for 1s, want 180–220", res.Requests)
	}
	if served.Load() != res.Requests {
		t.Fatalf("client %d, server %d", res.Requests, served.Load())
	}
	if res.Elapsed < 900*time.Millisecond || res.Elapsed > 2500*time.Millisecond {
		t.Fatalf("elapsed %v", res.Elapsed)
	}
	if res.RPS < 70 || res.RPS > 230 {
		t.Fatalf("achieved %v req/s", res.RPS)
	}
}

// With one worker and a 50 ms server at 100 req/s the generator must fall
// behind, and the queueing must show in the latency (measured from the
// schedule), not vanish as it would in a closed loop.
func TestOpenLoopCountsQueueing(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(50 * time.Millisecond) })
	cfg := testConfig(srv.URL)
	cfg.Rate = 100
	cfg.Concurrency = 1
	cfg.Duration = 500 * time.Millisecond
	start := time.Now()
	res := runOne(t, cfg)
	if took := time.Since(start); took > 1800*time.Millisecond { // draining the backlog would take ≥ 2.5s
		t.Fatalf("a generator that fell behind ran %v past a 500ms window", took)
	}
	if res.Late < 2 || res.LateNoWorker != res.Late || res.Missed < 25 || res.Requests+res.Missed != 50 {
		t.Fatalf("sent %d (late %d, %d for want of a worker), missed %d: want about 10 sent, 9 late, 40 missed",
			res.Requests, res.Late, res.LateNoWorker, res.Missed)
	}
	if res.Latency.P99 < 250*time.Millisecond || res.Latency.P50 < 120*time.Millisecond {
		t.Fatalf("latency hides the queueing: %+v", res.Latency)
	}
}

func TestSlowServerLatency(t *testing.T) {
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(50 * time.Millisecond) })
	for _, rate := range []float64{0, 40} {
		cfg := testConfig(srv.URL)
		cfg.Rate = rate
		cfg.Duration = 300 * time.Millisecond
		res := runOne(t, cfg)
		if res.Successes == 0 || res.Latency.P50 < 50*time.Millisecond || res.Latency.Min < 50*time.Millisecond {
			t.Fatalf("rate %v: %d ok, p50 %v min %v; want ≥ 50ms", rate, res.Successes, res.Latency.P50, res.Latency.Min)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	srv, served := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	cfg := testConfig(srv.URL)
	cfg.Duration = 200 * time.Millisecond
	res := runOne(t, cfg)
	if res.Requests == 0 || res.Requests != served.Load() {
		t.Fatalf("%d requests, %d served", res.Requests, served.Load())
	}
	want := Result{Requests: res.Requests, Errors: res.Requests, ErrorsByStatus: map[int]int64{500: res.Requests}, ErrorsByKind: map[string]int64{}}
	got := Result{Requests: res.Requests, Successes: res.Successes, Errors: res.Errors, ErrorsByStatus: res.ErrorsByStatus, ErrorsByKind: res.ErrorsByKind}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	if res.Latency.Count != 0 {
		t.Fatalf("failed requests in the latency figures: %+v", res.Latency)
	}

	// -expect 500 turns the same responses into successes.
	cfg.Expect = 500
	res = runOne(t, cfg)
	if res.Successes == 0 || res.Errors != 0 {
		t.Fatalf("expect 500: %d ok, %d errors", res.Successes, res.Errors)
	}
}

func TestTransportErrorKinds(t *testing.T) {
	// A port nobody listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	cfg := testConfig(closed)
	cfg.Concurrency, cfg.Requests, cfg.Duration = 1, 5, 0
	res := runOne(t, cfg)
	if res.Requests != 5 || res.ErrorsByKind["connection_refused"] != 5 || res.Errors != 5 {
		t.Fatalf("refused: %+v", res)
	}

	// A server slower than -timeout: timeout.
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	cfg = testConfig(srv.URL)
	cfg.Concurrency, cfg.Requests, cfg.Duration, cfg.Timeout = 2, 4, 0, 50*time.Millisecond
	res = runOne(t, cfg)
	if res.Requests != 4 || res.ErrorsByKind["timeout"] != 4 {
		t.Fatalf("timeout: %+v", res)
	}
}

func TestMethodHeaderBody(t *testing.T) {
	var bad atomic.Int64
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(b) != `{"a":1}` || r.Header.Get("Authorization") != "Bearer t0k" ||
			r.Host != "gigvault.test" || r.Header.Get("Accept-Encoding") != "" {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	o, err := ParseFlags([]string{"-url", srv.URL, "-method", "POST", "-header", "Authorization: Bearer t0k",
		"-header", "Host: gigvault.test", "-body", `{"a":1}`, "-expect", "201", "-requests", "20", "-warmup", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res := runOne(t, o.Config)
	if res.Successes != 20 || bad.Load() != 0 {
		t.Fatalf("%d ok, %d malformed requests: %+v", res.Successes, bad.Load(), res)
	}
}

func TestComputeRatio(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	target := Result{URL: "t", RPS: 1000, Latency: Latency{Count: 100, P50: 2 * time.Millisecond, P99: 9 * time.Millisecond}}
	base := Result{URL: "b", RPS: 4000, Latency: Latency{Count: 400, P50: time.Millisecond, P99: 3 * time.Millisecond}}
	want := Ratio{URL: "t", Throughput: f(0.25), P50: f(2), P99: f(3)}
	if d := cmp.Diff(want, ComputeRatio(target, base)); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	base.Latency.P99 = 0
	if r := ComputeRatio(target, base); r.P99 != nil || r.P50 == nil {
		t.Fatalf("division by a zero baseline: %+v", r)
	}
	// A target without a single success has no latency to compare.
	failed := Result{URL: "t", RPS: 500, Errors: 10, Requests: 10}
	base.Latency = Latency{Count: 5, P50: time.Millisecond, P99: time.Millisecond}
	if d := cmp.Diff(Ratio{URL: "t", Throughput: f(0.125)}, ComputeRatio(failed, base)); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
}

func TestBaselineRatiosInOneRun(t *testing.T) {
	slow, slowN := countingServer(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) })
	fast, fastN := countingServer(t, nil)
	cfg := testConfig(slow.URL + "/v1/me")
	cfg.Baseline = fast.URL + "/healthz"
	cfg.Concurrency = 2
	cfg.Duration = 400 * time.Millisecond
	var order []string
	rep, err := Run(context.Background(), cfg, func(u string, b bool) { order = append(order, u) })
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{cfg.Targets[0], cfg.Baseline}, order); d != "" {
		t.Fatalf("order (-want +got)\n%s", d)
	}
	if rep.Baseline == nil || len(rep.Ratios) != 1 {
		t.Fatalf("baseline %v, ratios %v", rep.Baseline, rep.Ratios)
	}
	if rep.Targets[0].Requests != slowN.Load() || rep.Baseline.Requests != fastN.Load() {
		t.Fatalf("counts mixed up: %d/%d vs %d/%d", rep.Targets[0].Requests, slowN.Load(), rep.Baseline.Requests, fastN.Load())
	}
	if d := cmp.Diff(ComputeRatio(rep.Targets[0], *rep.Baseline), rep.Ratios[0]); d != "" {
		t.Fatalf("(-want +got)\n%s", d)
	}
	r := rep.Ratios[0]
	// (p99 is left out: one scheduler stall on a busy machine can swing it.)
	if *r.Throughput >= 1 || *r.P50 <= 1 {
		t.Fatalf("a 20ms endpoint against a bare one: throughput %.3f p50 %.3f", *r.Throughput, *r.P50)
	}
}

func TestInterruptStopsTheRun(t *testing.T) {
	srv, _ := countingServer(t, nil)
	cfg := testConfig(srv.URL, srv.URL+"/second")
	cfg.Duration = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err := Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second || !rep.Interrupted || len(rep.Targets) != 1 || rep.Targets[0].Requests == 0 {
		t.Fatalf("interrupted %v after %v, %d targets", rep.Interrupted, time.Since(start), len(rep.Targets))
	}
}
