package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"gigvault/internal/outbound"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

// Limits and defaults of the HTTP verifier.
const (
	maxResponseBytes      = 64 << 10 // a larger response body is refused
	minAPIKeyBytes        = 16
	defaultHTTPTimeout    = 10 * time.Second
	defaultRetryAfter     = time.Minute // a 429 without a usable Retry-After
	maxRetryAfter         = 24 * time.Hour
	verifyPath            = "/v1/verify"
	httpUserAgent         = "gigvault-verify/1"
	defaultHTTPVerifierID = "http"
)

// HTTPConfig configures an HTTP verifier.
type HTTPConfig struct {
	// BaseURL is the provider's (or adapter's) base; requests go to
	// BaseURL + "/v1/verify". It must be https, except on a loopback host
	// (localhost, 127.0.0.0/8, ::1) where an adapter may listen in clear,
	// and carry no credentials, query or fragment.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>": at least 16
	// printable ASCII characters without spaces.
	APIKey string
	// Name identifies the provider in results (Result.Provider, stored as
	// verifications.provider), logs and metrics, e.g. "aliyun-idv";
	// default "http". Printable ASCII without spaces, at most 64.
	Name string
	// Timeout bounds the whole call, reading the response included;
	// default 10s. The caller's context may end it sooner.
	Timeout time.Duration
	// Client sends the requests. If nil, a client that does not follow
	// redirects is used.
	Client *http.Client
	// Clock dates results and reads an HTTP-date Retry-After; clock.Real{} if nil.
	Clock clock.Clock
	// Log receives a Warn line per failed call (provider, request ID,
	// status — never a body or a factor); discarded if nil.
	Log *slog.Logger
}

// HTTP is a Verifier that posts JSON to a provider or to an adapter in
// front of one. The protocol is documented in docs/verifier-http.md.
//
// It does not retry: a provider usually bills every query, and a request
// that timed out may have been answered. The caller decides whether to try
// again after errs.Unavailable or errs.RateLimited.
type HTTP struct {
	endpoint string
	apiKey   string
	name     string
	timeout  time.Duration
	client   *http.Client
	clk      clock.Clock
	log      *slog.Logger
}

// NewHTTP checks c and returns an HTTP verifier. A bad configuration is an
// *errs.Error with code errs.Invalid naming the HTTPConfig field at fault;
// it never contains the API key.
func NewHTTP(c HTTPConfig) (*HTTP, error) {
	if err := outbound.CheckBaseURL(c.BaseURL); err != nil {
		return nil, errs.Wrap(errs.Invalid, "BaseURL", "实名核验服务地址无效：须为 https 地址（本机回环地址除外），不含用户名、密码、查询参数",
			"invalid identity verification base URL: https required except on a loopback host; no credentials, query or fragment", err)
	}
	if len(c.APIKey) < minAPIKeyBytes || !outbound.HeaderSafe(c.APIKey) {
		return nil, errs.New(errs.Invalid, "APIKey", "实名核验 API 密钥缺失、过短（至少 16 个字符）或含非法字符",
			"identity verification API key missing, too short (at least 16 characters) or not printable ASCII")
	}
	if c.Name != "" && (len(c.Name) > 64 || !outbound.HeaderSafe(c.Name)) {
		return nil, errs.New(errs.Invalid, "Name", "实名核验服务名称含非法字符或过长",
			"identity verification provider name not printable ASCII or longer than 64")
	}
	if c.Timeout < 0 {
		return nil, errs.New(errs.Invalid, "Timeout", "实名核验超时不能为负", "identity verification timeout must not be negative")
	}
	v := &HTTP{
		endpoint: strings.TrimRight(c.BaseURL, "/") + verifyPath,
		apiKey:   c.APIKey,
		name:     c.Name,
		timeout:  c.Timeout,
		client:   c.Client,
		clk:      c.Clock,
		log:      c.Log,
	}
	if v.name == "" {
		v.name = defaultHTTPVerifierID
	}
	if v.timeout == 0 {
		v.timeout = defaultHTTPTimeout
	}
	if v.client == nil {
		v.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if v.clk == nil {
		v.clk = clock.Real{}
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	return v, nil
}

// Name returns HTTPConfig.Name, "http" by default.
func (v *HTTP) Name() string { return v.name }

// httpRequest is the JSON body of a verification request: exactly the
// level's factors (Check empties the others, omitempty drops them).
type httpRequest struct {
	Level     Level  `json:"level"`
	Name      string `json:"name"`
	IDNumber  string `json:"id_number"`
	BankCard  string `json:"bank_card,omitempty"`
	Mobile    string `json:"mobile,omitempty"`
	RequestID string `json:"request_id"`
}

// httpResponse is the JSON body of a 2xx answer.
type httpResponse struct {
	Result string `json:"result"`
	Ref    string `json:"ref"`
}

// Verify checks r, posts its normalised factors and maps the answer as
// docs/verifier-http.md describes.
func (v *HTTP) Verify(ctx context.Context, r Request) (Result, error) {
	req, err := r.Check()
	if err != nil {
		return Result{}, err
	}
	reqID := newRequestID()
	body, err := json.Marshal(httpRequest{Level: req.Level, Name: req.Name, IDNumber: req.IDNumber,
		BankCard: req.BankCard, Mobile: req.Mobile, RequestID: reqID})
	if err != nil { // cannot happen: strings and an int
		return Result{}, errUnavailable(errors.New("encoding request"))
	}
	res, e := v.call(ctx, req, body, reqID)
	if e != nil {
		v.log.WarnContext(ctx, "identity verification failed",
			slog.String("provider", v.name),
			slog.String("request_id", reqID),
			slog.Int("level", int(req.Level)),
			slog.String("code", string(e.Code)),
			slog.String("err", causeText(e)))
		return Result{}, e
	}
	return res, nil
}

func causeText(e *errs.Error) string {
	if e.Err == nil {
		return e.Message
	}
	return e.Err.Error()
}

// call makes the one request. Causes name the request ID and the status,
// never the body sent or received.
func (v *HTTP) call(ctx context.Context, req Request, body []byte, reqID string) (Result, *errs.Error) {
	level := req.Level
	if err := ctx.Err(); err != nil {
		return Result{}, errUnavailable(fmt.Errorf("verify request %s: %w", reqID, err))
	}
	cctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(cctx, http.MethodPost, v.endpoint, bytes.NewReader(body))
	if err != nil {
		return Result{}, errUnavailable(fmt.Errorf("verify request %s: building request: %w", reqID, err))
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", httpUserAgent)
	hreq.Header.Set("Authorization", "Bearer "+v.apiKey)
	hreq.Header.Set("X-Request-Id", reqID)

	resp, err := v.client.Do(hreq)
	if err != nil {
		return Result{}, errUnavailable(fmt.Errorf("verify request %s: %w", reqID, transportCause(ctx, err)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return Result{}, errUnavailable(fmt.Errorf("verify request %s: status %d: reading response: %w",
			reqID, resp.StatusCode, transportCause(ctx, err)))
	}
	tooLarge := len(data) > maxResponseBytes
	st := resp.StatusCode
	switch {
	case st >= 200 && st <= 299:
		if tooLarge {
			return Result{}, errUnavailable(fmt.Errorf("verify request %s: status %d: response body over %d bytes refused",
				reqID, st, maxResponseBytes))
		}
		var r httpResponse
		if err := json.Unmarshal(data, &r); err != nil {
			return Result{}, errUnavailable(fmt.Errorf("verify request %s: status %d: malformed response", reqID, st))
		}
		if r.Result != OutcomePass && !validReason(level, r.Result) {
			return Result{}, errUnavailable(fmt.Errorf("verify request %s: status %d: result missing or not one level %d can have",
				reqID, st, level))
		}
		if !validRef(r.Ref) || echoesFactor(r.Ref, req) {
			return Result{}, errUnavailable(fmt.Errorf("verify request %s: status %d: ref missing or unsafe", reqID, st))
		}
		res := Result{Level: level, Passed: r.Result == OutcomePass, Provider: v.name, ProviderRef: r.Ref, At: v.clk.Now()}
		if !res.Passed {
			res.Reason = r.Result
		}
		return res, nil
	case st == http.StatusBadRequest || st == http.StatusUnprocessableEntity:
		var r struct {
			Error string `json:"error"`
		}
		if !tooLarge {
			_ = json.Unmarshal(data, &r) // optional; the status decides
		}
		// Only the status and our fixed reading of the code: a provider's
		// own text may echo a factor.
		cause := fmt.Errorf("verify request %s: status %d", reqID, st)
		if f, ok := strings.CutPrefix(r.Error, "invalid_"); ok && fieldLabel[f][0] != "" {
			l := fieldLabel[f]
			e := errs.Wrap(errs.Invalid, f, "实名核验服务认为"+l[0]+"无效", "the identity verification provider refused the "+l[1], cause)
			return Result{}, e.With(ReasonProviderRefused, nil, "")
		}
		e := errs.Wrap(errs.Invalid, "", "实名核验服务拒绝了该请求", "the identity verification provider refused the request", cause)
		return Result{}, e.With(ReasonProviderRefused, nil, "")
	case st == http.StatusTooManyRequests:
		return Result{}, errRateLimited(fmt.Errorf("verify request %s: status %d", reqID, st)).
			After(retryAfter(resp.Header.Get("Retry-After"), v.clk.Now(), defaultRetryAfter))
	case st >= 500 || st == http.StatusRequestTimeout:
		e := errUnavailable(fmt.Errorf("verify request %s: status %d", reqID, st))
		if d := retryAfter(resp.Header.Get("Retry-After"), v.clk.Now(), 0); d > 0 {
			e = e.After(d)
		}
		return Result{}, e
	default: // 1xx, 3xx, 401, 403, 404…: misconfiguration
		return Result{}, errUnavailable(fmt.Errorf("verify request %s: unexpected status %d", reqID, st))
	}
}

// retryAfter reads a Retry-After value — delay seconds or an HTTP-date —
// capped at 24 hours; def when absent or unreadable.
func retryAfter(h string, now time.Time, def time.Duration) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return def
	}
	if n, err := strconv.ParseUint(h, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		d := t.Sub(now)
		switch {
		case d < 0:
			return 0
		case d > maxRetryAfter:
			return maxRetryAfter
		}
		return d.Round(time.Second)
	}
	return def
}

// transportCause names a transport failure: the *url.Error text is kept (it
// holds the configured URL, no personal information).
func transportCause(parent context.Context, err error) error {
	if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("timed out: %w", err)
	}
	return err
}

// validRef accepts a provider reference: 1 to 128 printable ASCII
// characters without spaces, so it is safe to log and store.
func validRef(s string) bool {
	return len(s) <= 128 && outbound.HeaderSafe(s)
}

// echoesFactor reports whether a provider's reference contains one of the
// request's numbers, which would put them in logs and storage.
func echoesFactor(ref string, r Request) bool {
	for _, f := range []string{r.IDNumber, r.BankCard, r.Mobile} {
		if f != "" && strings.Contains(ref, f) {
			return true
		}
	}
	return false
}

// newRequestID returns 16 random lowercase hex digits.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

var _ Verifier = (*HTTP)(nil)
