package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Main is gvload's whole command line: it parses args, runs, and prints
// the report to stdout. It returns the process exit code: 0 after a run
// (even one with failed requests: read the report), 1 when the run could
// not start (a refused target, for instance), 2 for a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := ParseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "gvload:", err)
		return 2
	}
	progress := func(u string, baseline bool) {
		role := "target"
		if baseline {
			role = "baseline"
		}
		fmt.Fprintf(stderr, "gvload: %s %s: warm-up %v, window %v\n", role, u, o.Warmup, o.window())
	}
	rep, err := Run(ctx, o.Config, progress)
	if err != nil {
		fmt.Fprintln(stderr, "gvload:", err)
		return 1
	}
	if o.JSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "gvload:", err)
		return 1
	}
	return 0
}

// Mode is "open" or "closed".
func (r *Report) Mode() string {
	if r.Config.Rate > 0 {
		return "open"
	}
	return "closed"
}

// WriteText prints the human-readable table.
func (r *Report) WriteText(w io.Writer) error {
	c := r.Config
	var b strings.Builder
	if c.Rate > 0 {
		fmt.Fprintf(&b, "gvload: open loop at %g req/s (≤ %d in flight)", c.Rate, c.Concurrency)
	} else {
		fmt.Fprintf(&b, "gvload: closed loop, %d workers", c.Concurrency)
	}
	fmt.Fprintf(&b, ", %s, window %v", c.Method, c.window())
	if c.Requests > 0 {
		fmt.Fprintf(&b, " or %d requests", c.Requests)
	}
	fmt.Fprintf(&b, ", warm-up %v, timeout %v, expect %d, GOMAXPROCS %d (%d CPUs)\n",
		c.Warmup, c.Timeout, c.Expect, r.GOMAXPROCS, r.NumCPU)
	if r.Interrupted {
		b.WriteString("INTERRUPTED: partial results\n")
	}
	b.WriteString("latency: successful requests only")
	if c.Rate > 0 {
		b.WriteString(", from each request's scheduled send time")
	}
	b.WriteString("\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := "target\t requests\t ok\t errors\t req/s\t p50\t p90\t p99\t p99.9\t max\t"
	if c.Rate > 0 {
		head += " late\t missed\t"
	}
	fmt.Fprintln(tw, head)
	all := r.all()
	for _, e := range all {
		t := e.res
		name := t.URL
		if e.baseline {
			name += " (baseline)"
		}
		l := t.Latency
		row := fmt.Sprintf("%s\t %d\t %d\t %d\t %.1f\t %s\t %s\t %s\t %s\t %s\t",
			name, t.Requests, t.Successes, t.Errors, t.RPS,
			fmtDur(l.P50, l.Count), fmtDur(l.P90, l.Count), fmtDur(l.P99, l.Count), fmtDur(l.P999, l.Count), fmtDur(l.Max, l.Count))
		if c.Rate > 0 {
			row += fmt.Sprintf(" %d\t %d\t", t.Late, t.Missed)
		}
		fmt.Fprintln(tw, row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, e := range all {
		t := e.res
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(t.ErrorsByStatus)) {
			parts = append(parts, fmt.Sprintf("status %d ×%d", code, t.ErrorsByStatus[code]))
		}
		for _, k := range slices.Sorted(maps.Keys(t.ErrorsByKind)) {
			parts = append(parts, fmt.Sprintf("%s ×%d (%s)", k, t.ErrorsByKind[k], t.ErrorSamples[k]))
		}
		if len(parts) > 0 {
			fmt.Fprintf(&b, "\nerrors %s: %s", t.URL, strings.Join(parts, "; "))
		}
		if t.Late > 0 || t.Missed > 0 {
			fmt.Fprintf(&b, "\nbehind %s: %d of %d requests sent more than %v after their scheduled time:"+
				"\n  %d while a worker was waiting for them (the generator was short of CPU or its timers woke late; it shares the CPUs with the server)"+
				"\n  %d because all %d workers were busy (the server was slower than the rate allows, or raise -concurrency)"+
				"\n  and %d scheduled in the window were never sent",
				t.URL, t.Late, t.Requests, c.LateAfter, t.Late-t.LateNoWorker, t.LateNoWorker, c.Concurrency, t.Missed)
		}
	}
	if r.Baseline != nil {
		fmt.Fprintf(&b, "\n\nratios target/baseline (%s):\n", r.Baseline.URL)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target\t req/s\t p50\t p99\t")
		flagged := false
		for i, x := range r.Ratios {
			name := x.URL
			if r.Targets[i].Errors > 0 || r.Baseline.Errors > 0 {
				name, flagged = "* "+name, true
			}
			fmt.Fprintf(tw, "%s\t %s\t %s\t %s\t\n", name, fmtRatio(x.Throughput), fmtRatio(x.P50), fmtRatio(x.P99))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if flagged {
			b.WriteString("* failed requests on this target or the baseline: req/s counts them, p50/p99 do not\n")
		}
	} else {
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type entry struct {
	res      Result
	baseline bool
}

func (r *Report) all() []entry {
	var out []entry
	for _, t := range r.Targets {
		out = append(out, entry{t, false})
	}
	if r.Baseline != nil {
		out = append(out, entry{*r.Baseline, true})
	}
	return out
}

// fmtDur prints three significant figures: 512µs, 1.23ms, 45.6ms, 1.20s.
func fmtDur(d time.Duration, n uint64) string {
	if n == 0 {
		return "-"
	}
	f := func(v float64, unit string) string {
		switch {
		case v >= 100:
			return fmt.Sprintf("%.0f%s", v, unit)
		case v >= 10:
			return fmt.Sprintf("%.1f%s", v, unit)
		}
		return fmt.Sprintf("%.2f%s", v, unit)
	}
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return f(float64(d)/1e3, "µs")
	case d < time.Second:
		return f(float64(d)/1e6, "ms")
	}
	return f(d.Seconds(), "s")
}

func fmtRatio(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *p)
}

// JSON shapes. Durations are milliseconds (float) so that the numbers read
// the same as the table.
type jsonLatency struct {
	Count uint64  `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

type jsonResult struct {
	URL               string            `json:"url"`
	Requests          int64             `json:"requests"`
	Successes         int64             `json:"successes"`
	Errors            int64             `json:"errors"`
	ErrorsByStatus    map[int]int64     `json:"errors_by_status"`
	ErrorsByKind      map[string]int64  `json:"errors_by_kind"`
	ErrorSamples      map[string]string `json:"error_samples,omitempty"`
	WarmupRequests    int64             `json:"warmup_requests"`
	Late              int64             `json:"late"`
	LateNoWorker      int64             `json:"late_no_worker"`
	Missed            int64             `json:"missed"`
	ElapsedSeconds    float64           `json:"elapsed_seconds"`
	RequestsPerSecond float64           `json:"requests_per_second"`
	BytesRead         int64             `json:"bytes_read"`
	LatencyMS         jsonLatency       `json:"latency_ms"`
}

type jsonRatio struct {
	URL        string   `json:"url"`
	Throughput *float64 `json:"throughput"`
	P50        *float64 `json:"p50"`
	P99        *float64 `json:"p99"`
}

type jsonConfig struct {
	Mode            string   `json:"mode"`
	Method          string   `json:"method"`
	Rate            float64  `json:"rate"`
	Concurrency     int      `json:"concurrency"`
	DurationSeconds float64  `json:"duration_seconds"`
	Requests        int64    `json:"requests_limit"`
	WarmupSeconds   float64  `json:"warmup_seconds"`
	TimeoutSeconds  float64  `json:"timeout_seconds"`
	LateAfterMS     float64  `json:"late_after_ms"`
	Expect          int      `json:"expect"`
	HeaderNames     []string `json:"header_names"` // values may be secrets: never printed
	BodyBytes       int      `json:"body_bytes"`
	GOMAXPROCS      int      `json:"gomaxprocs"`
	NumCPU          int      `json:"num_cpu"`
}

type jsonReport struct {
	Started     time.Time    `json:"started"`
	Config      jsonConfig   `json:"config"`
	Targets     []jsonResult `json:"targets"`
	Baseline    *jsonResult  `json:"baseline"`
	Ratios      []jsonRatio  `json:"ratios"`
	Interrupted bool         `json:"interrupted"`
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func toJSON(t Result) jsonResult {
	l := t.Latency
	return jsonResult{
		URL: t.URL, Requests: t.Requests, Successes: t.Successes, Errors: t.Errors,
		ErrorsByStatus: t.ErrorsByStatus, ErrorsByKind: t.ErrorsByKind, ErrorSamples: t.ErrorSamples,
		WarmupRequests: t.WarmupRequests, Late: t.Late, LateNoWorker: t.LateNoWorker, Missed: t.Missed,
		ElapsedSeconds: t.Elapsed.Seconds(), RequestsPerSecond: t.RPS, BytesRead: t.BytesRead,
		LatencyMS: jsonLatency{Count: l.Count, Min: ms(l.Min), Mean: ms(l.Mean), P50: ms(l.P50), P90: ms(l.P90),
			P99: ms(l.P99), P999: ms(l.P999), Max: ms(l.Max)},
	}
}

// WriteJSON prints the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	c := r.Config
	j := jsonReport{
		Started: r.Started.UTC(),
		Config: jsonConfig{
			Mode: r.Mode(), Method: c.Method, Rate: c.Rate, Concurrency: c.Concurrency,
			DurationSeconds: c.window().Seconds(), Requests: c.Requests, WarmupSeconds: c.Warmup.Seconds(),
			TimeoutSeconds: c.Timeout.Seconds(), LateAfterMS: ms(c.LateAfter), Expect: c.Expect,
			HeaderNames: slices.Sorted(maps.Keys(c.Header)), BodyBytes: len(c.Body),
			GOMAXPROCS: r.GOMAXPROCS, NumCPU: r.NumCPU,
		},
		Targets:     []jsonResult{},
		Ratios:      []jsonRatio{},
		Interrupted: r.Interrupted,
	}
	if j.Config.HeaderNames == nil {
		j.Config.HeaderNames = []string{}
	}
	for _, t := range r.Targets {
		j.Targets = append(j.Targets, toJSON(t))
	}
	if r.Baseline != nil {
		b := toJSON(*r.Baseline)
		j.Baseline = &b
	}
	for _, x := range r.Ratios {
		j.Ratios = append(j.Ratios, jsonRatio(x))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}
