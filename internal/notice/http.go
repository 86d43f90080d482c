package notice

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
	"gigvault/internal/outbound"
)

// Limits and defaults of the HTTP deliverer.
const (
	maxResponseBytes   = 64 << 10
	minTokenBytes      = 16
	defaultHTTPTimeout = 10 * time.Second
	maxRetryAfter      = 24 * time.Hour
	httpUserAgent      = "gigvault-notice/1"
	// RefHeader is the response header that carries the recipient's
	// reference; a JSON body's "ref" field is read when it is absent.
	RefHeader = "X-Delivery-Ref"
)

// Endpoint is where one recipient receives messages.
type Endpoint struct {
	// URL receives the POST: https, except on a loopback host; no
	// credentials, query or fragment.
	URL string
	// Token is sent as "Authorization: Bearer <Token>": at least 16
	// printable ASCII characters without spaces. Empty means
	// HTTPConfig.Token.
	Token string
}

// HTTPConfig configures an HTTP deliverer.
type HTTPConfig struct {
	// Endpoints maps a recipient ID (as the sharing ledger names it) to its
	// endpoint. A message to a recipient without one fails permanently
	// (CodeNoEndpoint).
	Endpoints map[string]Endpoint
	// Token is the bearer token of endpoints without their own. Prefer one
	// token per recipient: a token shared by several recipients lets each
	// of them pose as gigvault to the others.
	Token string
	// Timeout bounds each attempt, reading the response included; default
	// 10s. The caller's context may end it sooner.
	Timeout time.Duration
	// Client sends the requests. If nil, a client that does not follow
	// redirects is used.
	Client *http.Client
	// Clock reads an HTTP-date Retry-After; clock.Real{} if nil.
	Clock clock.Clock
	// Log receives a Warn line per failed attempt (delivery ID, kind,
	// recipient, attempt, status, code — never a body or a token);
	// discarded if nil.
	Log *slog.Logger
}

// HTTP is a Deliverer that POSTs each message to its recipient's endpoint,
// as docs/notice-http.md describes. It makes one attempt per call; the
// dispatcher retries.
type HTTP struct {
	endpoints map[string]Endpoint
	timeout   time.Duration
	client    *http.Client
	clk       clock.Clock
	log       *slog.Logger
}

// NewHTTP checks c and returns an HTTP deliverer. A bad configuration is an
// *errs.Error with code errs.Invalid naming the field at fault (and the
// recipient, never a token).
func NewHTTP(c HTTPConfig) (*HTTP, error) {
	if len(c.Endpoints) == 0 {
		return nil, errs.New(errs.Invalid, "Endpoints", "未配置任何接收方地址", "no recipient endpoints configured")
	}
	eps := maps.Clone(c.Endpoints)
	for _, r := range slices.Sorted(maps.Keys(eps)) {
		ep := eps[r]
		if !ValidRecipient(r) {
			return nil, errs.New(errs.Invalid, "Endpoints", "接收方标识格式不正确", "malformed recipient ID").With("", []string{r}, "")
		}
		if err := outbound.CheckBaseURL(ep.URL); err != nil {
			return nil, errs.Wrap(errs.Invalid, "Endpoints", "接收方地址无效：须为 https 地址（本机回环地址除外），不含用户名、密码、查询参数",
				"invalid recipient endpoint: https required except on a loopback host; no credentials, query or fragment", fmt.Errorf("recipient %s: %w", r, err)).
				With("", []string{r}, "")
		}
		if ep.Token == "" {
			ep.Token = c.Token
		}
		if len(ep.Token) < minTokenBytes || !outbound.HeaderSafe(ep.Token) {
			return nil, errs.New(errs.Invalid, "Token", "接收方令牌缺失、过短（至少 16 个字符）或含非法字符",
				"recipient token missing, too short (at least 16 characters) or not printable ASCII").With("", []string{r}, "")
		}
		eps[r] = ep
	}
	if c.Timeout < 0 {
		return nil, errs.New(errs.Invalid, "Timeout", "超时不能为负", "timeout must not be negative")
	}
	h := &HTTP{endpoints: eps, timeout: c.Timeout, client: c.Client, clk: c.Clock, log: c.Log}
	if h.timeout == 0 {
		h.timeout = defaultHTTPTimeout
	}
	if h.client == nil {
		h.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if h.clk == nil {
		h.clk = clock.Real{}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Deliver posts m to its recipient's endpoint.
func (h *HTTP) Deliver(ctx context.Context, m Message) (string, error) {
	ref, status, err := h.call(ctx, m)
	if err != nil {
		h.log.WarnContext(ctx, "notice delivery failed", slog.String("delivery", m.ID), slog.String("kind", m.Kind),
			slog.String("recipient", m.Recipient), slog.Int("attempt", m.Attempt), slog.Int("status", status),
			slog.String("code", ErrorCode(err)), slog.Bool("permanent", IsPermanent(err)))
	}
	return ref, err
}

func (h *HTTP) call(ctx context.Context, m Message) (string, int, error) {
	if !ValidRecipient(m.Recipient) {
		return "", 0, PermanentCode(CodeBadRecipient, errors.New("malformed recipient ID"))
	}
	if _, _, err := mime.ParseMediaType(m.ContentType); err != nil || m.ID == "" || len(m.Body) == 0 || !outbound.HeaderSafe(m.ID) {
		return "", 0, PermanentCode(CodeBadMessage, errors.New("message without ID, content type or body"))
	}
	ep, ok := h.endpoints[m.Recipient]
	if !ok {
		return "", 0, PermanentCode(CodeNoEndpoint, fmt.Errorf("no endpoint for recipient %s", m.Recipient))
	}
	cctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodPost, ep.URL, bytes.NewReader(m.Body))
	if err != nil {
		return "", 0, PermanentCode(CodeNoEndpoint, fmt.Errorf("delivery %s: building request: %w", m.ID, err))
	}
	sum := sha256.Sum256(m.Body)
	req.Header.Set("Content-Type", m.ContentType)
	req.Header.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", httpUserAgent)
	req.Header.Set("Authorization", "Bearer "+ep.Token)
	req.Header.Set("Idempotency-Key", m.ID)
	req.Header.Set("X-GV-Delivery-Id", m.ID)
	req.Header.Set("X-GV-Kind", m.Kind)
	req.Header.Set("X-GV-Attempt", strconv.Itoa(m.Attempt))
	resp, err := h.client.Do(req)
	if err != nil {
		return "", 0, transportError(ctx, m.ID, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	st := resp.StatusCode
	if err != nil && st/100 != 2 {
		return "", st, transportError(ctx, m.ID, err)
	}
	cause := fmt.Errorf("delivery %s: status %d", m.ID, st)
	code := "http_" + strconv.Itoa(st)
	switch {
	case st >= 200 && st <= 299:
		// The recipient took the message; a body we cannot read does not
		// change that, it only loses the reference.
		return responseRef(resp.Header, data), st, nil
	case st == http.StatusRequestTimeout || st == http.StatusTooEarly || st == http.StatusTooManyRequests || st >= 500:
		e := Temporary(code, cause)
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), h.clk.Now())
		return "", st, e
	default: // other 4xx: refused; 1xx, 3xx: misconfigured (redirects are not followed)
		return "", st, PermanentCode(code, cause)
	}
}

// transportError names a failure to get an answer: temporary.
func transportError(parent context.Context, id string, err error) *Error {
	if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return Temporary(CodeTimeout, fmt.Errorf("delivery %s: timed out: %w", id, err))
	}
	return Temporary(CodeNetwork, fmt.Errorf("delivery %s: %w", id, err))
}

// responseRef reads the recipient's reference from RefHeader or a JSON
// body's "ref"; a reference that is not 1 to 128 printable ASCII
// characters without spaces is dropped.
func responseRef(h http.Header, body []byte) string {
	ref := strings.TrimSpace(h.Get(RefHeader))
	if ref == "" && len(body) <= maxResponseBytes {
		var r struct {
			Ref string `json:"ref"`
		}
		if json.Unmarshal(body, &r) == nil {
			ref = r.Ref
		}
	}
	if len(ref) > 128 || !outbound.HeaderSafe(ref) {
		return ""
	}
	return ref
}

// retryAfter reads a Retry-After value — delay seconds or an HTTP-date —
// capped at 24 hours; 0 when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseUint(h, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter).Round(time.Second)
	}
	return 0
}

var _ Deliverer = (*HTTP)(nil)
