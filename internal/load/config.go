package load

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Hard limits. Every run stops by itself: each target's measurement window
// is at most MaxDuration (plus Warmup, plus one Timeout for the requests
// still in flight), and there are at most MaxTargets targets.
const (
	MaxDuration    = 5 * time.Minute
	MaxRequests    = 10_000_000
	MaxWarmup      = 30 * time.Second
	MaxTimeout     = time.Minute
	MaxTargets     = 8
	MaxConcurrency = 4096
	MaxRate        = 1_000_000
	MaxBodyBytes   = 16 << 20
)

// Config is one gvload run.
type Config struct {
	Targets  []string    // measured one after another
	Baseline string      // optional; measured last, with the same settings
	Method   string      // GET when empty
	Header   http.Header // sent with every request
	Host     string      // Host header override ("-header 'Host: x'")
	Body     []byte

	// Rate > 0 is an open loop at Rate requests/s, latency measured from
	// each request's scheduled send time. Rate == 0 is a closed loop:
	// Concurrency workers send back to back. In an open loop Concurrency
	// caps the requests in flight; when all are busy, requests wait and
	// are counted late.
	Rate        float64
	Concurrency int

	Duration  time.Duration // measurement window per target; 0 = MaxDuration (needs Requests)
	Requests  int64         // measured requests per target; 0 = no limit but Duration
	Warmup    time.Duration // per target, before the window, not recorded
	Timeout   time.Duration // per request, including reading the body
	Expect    int           // the status counted as success
	LateAfter time.Duration // open loop: a send this late after its schedule is "late"
	Insecure  bool          // skip TLS certificate verification (loopback only anyway)
}

// DefaultConcurrency is 2 × GOMAXPROCS × 8.
func DefaultConcurrency() int { return 2 * runtime.GOMAXPROCS(0) * 8 }

// DefaultConfig is the configuration the flags start from.
func DefaultConfig() Config {
	return Config{
		Method:      http.MethodGet,
		Header:      http.Header{},
		Concurrency: DefaultConcurrency(),
		Duration:    10 * time.Second,
		Warmup:      time.Second,
		Timeout:     5 * time.Second,
		Expect:      http.StatusOK,
		LateAfter:   time.Millisecond,
	}
}

// window is the effective measurement window.
func (c *Config) window() time.Duration {
	if c.Duration == 0 {
		return MaxDuration
	}
	return c.Duration
}

// Validate checks the limits and that every URL is loopback. It resolves
// "localhost" and nothing else.
func (c *Config) Validate(ctx context.Context) error {
	if len(c.Targets) == 0 {
		return errors.New("no target: give at least one -url")
	}
	if len(c.Targets) > MaxTargets {
		return fmt.Errorf("%d targets: at most %d", len(c.Targets), MaxTargets)
	}
	if c.Method == "" {
		c.Method = http.MethodGet
	}
	if !isToken(c.Method) {
		return fmt.Errorf("invalid method %q", c.Method)
	}
	switch {
	case math.IsNaN(c.Rate) || c.Rate < 0 || c.Rate > MaxRate:
		return fmt.Errorf("-rate %v: must be between 0 (closed loop) and %d", c.Rate, MaxRate)
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return fmt.Errorf("-concurrency %d: must be between 1 and %d", c.Concurrency, MaxConcurrency)
	case c.Duration < 0 || c.Duration > MaxDuration:
		return fmt.Errorf("-duration %v: must be between 0 and %v", c.Duration, MaxDuration)
	case c.Requests < 0 || c.Requests > MaxRequests:
		return fmt.Errorf("-requests %d: must be between 0 and %d", c.Requests, MaxRequests)
	case c.Duration == 0 && c.Requests == 0:
		return errors.New("a run needs a bound: give -duration and/or -requests")
	case c.Warmup < 0 || c.Warmup > MaxWarmup:
		return fmt.Errorf("-warmup %v: must be between 0 and %v", c.Warmup, MaxWarmup)
	case c.Timeout <= 0 || c.Timeout > MaxTimeout:
		return fmt.Errorf("-timeout %v: must be above 0 and at most %v", c.Timeout, MaxTimeout)
	case c.Expect < 100 || c.Expect > 599:
		return fmt.Errorf("-expect %d: not an HTTP status", c.Expect)
	case c.LateAfter <= 0:
		return fmt.Errorf("-late-after %v: must be above 0", c.LateAfter)
	case len(c.Body) > MaxBodyBytes:
		return fmt.Errorf("body of %d bytes: at most %d", len(c.Body), MaxBodyBytes)
	}
	urls := append([]string(nil), c.Targets...)
	if c.Baseline != "" {
		urls = append(urls, c.Baseline)
	}
	for _, u := range urls {
		if err := CheckLoopback(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// Options is a parsed command line.
type Options struct {
	Config
	JSON bool
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ParseFlags parses gvload's command line. Usage and flag errors go to out.
// It does not validate limits or hosts; Run does.
func ParseFlags(args []string, out io.Writer) (*Options, error) {
	o := &Options{Config: DefaultConfig()}
	fs := flag.NewFlagSet("gvload", flag.ContinueOnError)
	fs.SetOutput(out)
	var urls, headers listFlag
	var body, bodyFile string
	fs.Var(&urls, "url", "target URL, loopback only (repeatable: measured one after another)")
	fs.StringVar(&o.Baseline, "baseline", "", "baseline URL measured last with the same settings; adds target/baseline ratios")
	fs.StringVar(&o.Method, "method", o.Method, "HTTP method")
	fs.Var(&headers, "header", `request header "K: V" (repeatable)`)
	fs.StringVar(&body, "body", "", "request body")
	fs.StringVar(&bodyFile, "body-file", "", "file holding the request body")
	fs.Float64Var(&o.Rate, "rate", 0, "open loop at this many requests/s; 0 = closed loop at maximum throughput")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "workers (closed loop) / maximum requests in flight (open loop); default 2×GOMAXPROCS×8")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "measurement window per target, at most 5m; 0 = 5m, needs -requests")
	fs.Int64Var(&o.Requests, "requests", 0, "stop each target after this many measured requests (at most 10000000); 0 = no count limit")
	fs.DurationVar(&o.Warmup, "warmup", o.Warmup, "unrecorded warm-up per target before the window")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "per-request timeout, including the response body")
	fs.IntVar(&o.Expect, "expect", o.Expect, "HTTP status counted as success")
	fs.DurationVar(&o.LateAfter, "late-after", o.LateAfter, "open loop: a request sent this long after its scheduled time counts as late")
	fs.BoolVar(&o.Insecure, "insecure", false, "https: skip certificate verification")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object instead of the table")
	fs.Usage = func() {
		fmt.Fprintln(out, "usage: gvload -url http://127.0.0.1:8080/healthz [-url …] [-baseline URL] [flags]")
		fmt.Fprintln(out, "Only loopback targets (127.0.0.0/8, ::1, localhost) are accepted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (targets go in -url)", fs.Arg(0))
	}
	o.Targets = urls
	for _, h := range headers {
		k, v, ok := strings.Cut(h, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !isToken(k) || !isFieldValue(v) {
			return nil, fmt.Errorf(`-header %q: want "Name: value"`, h)
		}
		if strings.EqualFold(k, "Host") {
			o.Host = v
			continue
		}
		o.Header.Add(k, v)
	}
	switch {
	case body != "" && bodyFile != "":
		return nil, errors.New("-body and -body-file exclude each other")
	case body != "":
		o.Body = []byte(body)
	case bodyFile != "":
		b, err := readLimited(bodyFile)
		if err != nil {
			return nil, err
		}
		o.Body = b
	}
	return o, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("-body-file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("-body-file: %w", err)
	}
	if len(b) > MaxBodyBytes {
		return nil, fmt.Errorf("-body-file: larger than %s bytes", strconv.Itoa(MaxBodyBytes))
	}
	return b, nil
}

// isToken reports whether s is an RFC 9110 token (method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// isFieldValue rejects control characters (CR, LF, NUL…) in a header value.
func isFieldValue(s string) bool {
	for _, r := range s {
		if (r < ' ' && r != '\t') || r == 0x7f {
			return false
		}
	}
	return true
}
