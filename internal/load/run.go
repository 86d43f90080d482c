package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Result is what one target measured. Only requests in the measurement
// window are counted; warm-up requests are in WarmupRequests alone.
type Result struct {
	URL            string
	Requests       int64            // completed measured requests (success or not)
	Successes      int64            // status == Expect and body read in full
	Errors         int64            // Requests − Successes
	ErrorsByStatus map[int]int64    // responses with another status
	ErrorsByKind   map[string]int64 // transport errors: timeout, connection_refused…
	ErrorSamples   map[string]string
	WarmupRequests int64
	Late           int64         // open loop: sent more than LateAfter after schedule…
	LateNoWorker   int64         // …of which: already due before any worker was free
	Missed         int64         // open loop: scheduled in the window, never sent (window closed first)
	Elapsed        time.Duration // window start → last measured completion
	RPS            float64       // Requests / Elapsed
	BytesRead      int64
	Latency        Latency // successful requests only
}

// Latency summarises successful requests. In an open loop each latency is
// measured from the request's scheduled send time, so time spent waiting
// for a free worker (the generator or server falling behind) is included.
type Latency struct {
	Count                               uint64
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

func summarize(h *Histogram) Latency {
	return Latency{
		Count: h.Count(), Min: h.Min(), Mean: h.Mean(), Max: h.Max(),
		P50: h.Percentile(50), P90: h.Percentile(90), P99: h.Percentile(99), P999: h.Percentile(99.9),
	}
}

// Ratio compares a target with the baseline: target ÷ baseline. Throughput
// is achieved req/s (failed requests included: check Errors); p50 and p99
// are over successful requests. A field is nil when it is undefined: a
// zero baseline figure, or no successful request on either side.
type Ratio struct {
	URL        string
	Throughput *float64 // req/s
	P50, P99   *float64
}

// ComputeRatio divides the target's throughput, p50 and p99 by the baseline's.
func ComputeRatio(target, baseline Result) Ratio {
	div := func(a, b float64) *float64 {
		if b == 0 {
			return nil
		}
		r := a / b
		return &r
	}
	r := Ratio{URL: target.URL, Throughput: div(target.RPS, baseline.RPS)}
	if target.Latency.Count > 0 && baseline.Latency.Count > 0 {
		r.P50 = div(float64(target.Latency.P50), float64(baseline.Latency.P50))
		r.P99 = div(float64(target.Latency.P99), float64(baseline.Latency.P99))
	}
	return r
}

// Report is a whole run.
type Report struct {
	Config      Config
	GOMAXPROCS  int
	NumCPU      int
	Started     time.Time
	Targets     []Result
	Baseline    *Result
	Ratios      []Ratio
	Interrupted bool
}

// Progress, when set, is told about each target as its measurement starts.
type Progress func(url string, baseline bool)

// Run validates cfg (limits and loopback-only targets), then measures each
// target in turn and the baseline last, sharing one client. Cancelling ctx
// stops the run early; the report then holds what was measured and
// Interrupted is set.
func Run(ctx context.Context, cfg Config, progress Progress) (*Report, error) {
	if err := cfg.Validate(ctx); err != nil {
		return nil, err
	}
	client := NewClient(cfg.Concurrency, cfg.Timeout, cfg.Insecure)
	defer client.CloseIdleConnections()
	rep := &Report{Config: cfg, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), Started: time.Now()}
	for _, u := range cfg.Targets {
		if progress != nil {
			progress(u, false)
		}
		res, err := runTarget(ctx, client, &cfg, u)
		if err != nil {
			return nil, err
		}
		rep.Targets = append(rep.Targets, res)
		if ctx.Err() != nil {
			rep.Interrupted = true
			return rep, nil
		}
	}
	if cfg.Baseline != "" {
		if progress != nil {
			progress(cfg.Baseline, true)
		}
		b, err := runTarget(ctx, client, &cfg, cfg.Baseline)
		if err != nil {
			return nil, err
		}
		rep.Baseline = &b
		for _, t := range rep.Targets {
			rep.Ratios = append(rep.Ratios, ComputeRatio(t, b))
		}
		rep.Interrupted = ctx.Err() != nil
	}
	return rep, nil
}

// recorder collects one target's outcomes. A single mutex is enough: it is
// held for well under a microsecond per request, against tens of
// microseconds of HTTP work.
type recorder struct {
	mu       sync.Mutex
	hist     *Histogram
	res      Result
	lastDone time.Time
}

type outcome struct {
	status int
	err    error
	bytes  int64
	done   time.Time
}

// lateness classifies an open-loop send.
type lateness int

const (
	onTime   lateness = iota
	lateWake          // a worker was waiting for the slot but woke/ran late (CPU, timers)
	lateBusy          // the slot came due while every worker was busy
)

func (r *recorder) add(o outcome, measured bool, latency time.Duration, late lateness, expect int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !measured {
		r.res.WarmupRequests++
		return
	}
	r.res.Requests++
	r.res.BytesRead += o.bytes
	if o.done.After(r.lastDone) {
		r.lastDone = o.done
	}
	if late != onTime {
		r.res.Late++
	}
	if late == lateBusy {
		r.res.LateNoWorker++
	}
	switch {
	case o.err != nil:
		k := errorKind(o.err)
		r.res.ErrorsByKind[k]++
		if _, ok := r.res.ErrorSamples[k]; !ok {
			r.res.ErrorSamples[k] = o.err.Error()
		}
	case o.status != expect:
		r.res.ErrorsByStatus[o.status]++
	default:
		r.res.Successes++
		r.hist.Record(latency)
	}
}

// errorKind names a transport error for the report.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrNotLoopback):
		return "not_loopback"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "no_local_port"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too_many_open_files"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
}

// sender issues requests to one URL.
type sender struct {
	client *http.Client
	tmpl   *http.Request
	body   []byte
	to     time.Duration
}

func (s *sender) do(ctx context.Context) outcome {
	rctx, cancel := context.WithTimeout(ctx, s.to)
	defer cancel()
	req := s.tmpl.Clone(rctx)
	if s.body != nil {
		req.Body = io.NopCloser(bytes.NewReader(s.body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(s.body)), nil }
		req.ContentLength = int64(len(s.body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return outcome{err: err, done: time.Now()}
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return outcome{status: resp.StatusCode, err: err, bytes: n, done: time.Now()}
}

func runTarget(ctx context.Context, client *http.Client, cfg *Config, url string) (Result, error) {
	tmpl, err := http.NewRequest(cfg.Method, url, nil)
	if err != nil {
		return Result{}, fmt.Errorf("target %q: %w", url, err)
	}
	for k, v := range cfg.Header {
		tmpl.Header[k] = v
	}
	if cfg.Host != "" {
		tmpl.Host = cfg.Host
	}
	s := &sender{client: client, tmpl: tmpl, body: cfg.Body, to: cfg.Timeout}
	rec := &recorder{hist: NewHistogram(), res: Result{
		URL: url, ErrorsByStatus: map[int]int64{}, ErrorsByKind: map[string]int64{}, ErrorSamples: map[string]string{},
	}}
	start := time.Now()
	mStart := start.Add(cfg.Warmup)
	mEnd := mStart.Add(cfg.window())
	var scheduled int64
	if cfg.Rate > 0 {
		scheduled = openLoop(ctx, s, cfg, rec, start, mStart, mEnd)
	} else {
		closedLoop(ctx, s, cfg, rec, mStart, mEnd)
	}
	res := rec.res
	if cfg.Rate > 0 {
		res.Missed = max(scheduled-res.Requests, 0)
	}
	res.Errors = res.Requests - res.Successes
	if res.Requests > 0 {
		res.Elapsed = rec.lastDone.Sub(mStart)
		if res.Elapsed > 0 {
			res.RPS = float64(res.Requests) / res.Elapsed.Seconds()
		}
	}
	res.Latency = summarize(rec.hist)
	return res, nil
}

// closedLoop runs cfg.Concurrency workers that each send the next request
// as soon as the previous one completes. Latency is from the actual send.
func closedLoop(ctx context.Context, s *sender, cfg *Config, rec *recorder, mStart, mEnd time.Time) {
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(mEnd) {
					return
				}
				measured := !now.Before(mStart)
				if measured && cfg.Requests > 0 && claimed.Add(1) > cfg.Requests {
					return
				}
				o := s.do(ctx)
				rec.add(o, measured, o.done.Sub(now), onTime, cfg.Expect)
			}
		})
	}
	wg.Wait()
}

// openLoop sends request i at start + i/Rate, whatever happened to earlier
// requests. Workers claim slots in order and sleep until the slot's time;
// when every worker is busy the next slot waits, is sent late, and its
// latency still counts from the scheduled time (no coordinated omission).
// Nothing is sent after the window closes, so a generator that fell behind
// stops on time too; it returns how many measured slots the window held
// (the caller reports those never sent as missed).
func openLoop(ctx context.Context, s *sender, cfg *Config, rec *recorder, start, mStart, mEnd time.Time) int64 {
	var next, claimed atomic.Int64
	sched := func(i int64) time.Time {
		return start.Add(time.Duration(float64(i) * float64(time.Second) / cfg.Rate))
	}
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			for ctx.Err() == nil {
				at := sched(next.Add(1) - 1)
				// A free worker claims the next slot ahead of time and sleeps;
				// a slot already due when claimed found every worker busy.
				dueAtClaim := !time.Now().Before(at)
				if !at.Before(mEnd) {
					return
				}
				measured := !at.Before(mStart)
				if measured && cfg.Requests > 0 && claimed.Add(1) > cfg.Requests {
					return
				}
				if d := time.Until(at); d > 0 {
					timer.Reset(d)
					select {
					case <-ctx.Done():
						return
					case <-timer.C:
					}
				} else if !time.Now().Before(mEnd) {
					return // the window closed while this slot waited for a worker
				}
				late := onTime
				if time.Since(at) > cfg.LateAfter {
					late = lateWake
					if dueAtClaim {
						late = lateBusy
					}
				}
				o := s.do(ctx)
				rec.add(o, measured, o.done.Sub(at), late, cfg.Expect)
			}
		})
	}
	wg.Wait()
	end := mEnd
	if now := time.Now(); ctx.Err() != nil && now.Before(end) {
		end = now // interrupted: only the slots due before now
	}
	// slotsBefore(t) = number of slots scheduled before t (sched is monotonic).
	slotsBefore := func(t time.Time) int64 {
		hi := int64(cfg.Rate*t.Sub(start).Seconds()) + 2
		return int64(sort.Search(int(hi), func(i int) bool { return !sched(int64(i)).Before(t) }))
	}
	n := slotsBefore(end) - slotsBefore(mStart)
	if cfg.Requests > 0 {
		n = min(n, cfg.Requests)
	}
	return max(n, 0)
}
