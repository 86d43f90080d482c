package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"gigvault/internal/outbound"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"gigvault/internal/clock"
	"gigvault/internal/errs"
)

// Limits and defaults of the HTTP gateway.
const (
	maxResponseBytes = 64 << 10 // a larger response body is refused
	minSecretBytes   = 16
	defaultTimeout   = 5 * time.Second
	defaultRetries   = 2
	maxRetries       = 10
	defaultBackoff   = 100 * time.Millisecond // before the first retry; doubles, capped at maxBackoff
	maxBackoff       = 2 * time.Second
)

// HTTPConfig configures an HTTP gateway.
type HTTPConfig struct {
	// URL receives the POST. It must be https, except on a loopback host
	// (localhost, 127.0.0.0/8, ::1) where an adapter may listen in clear.
	URL string
	// KeyID names Secret to the provider (header X-GV-Key-Id).
	KeyID string
	// Secret signs every request with HMAC-SHA256; at least 16 bytes, 32
	// random bytes recommended. NewHTTP copies it.
	Secret []byte
	// Timeout bounds each attempt, response body included. Default 5s.
	Timeout time.Duration
	// Retries is how many times a failed attempt is retried: only after a
	// 5xx or 408 response, a timeout or a connection error, with a short
	// exponential backoff that honours the caller's context. Every attempt
	// carries the same Idempotency-Key. 0 means the default, 2; a negative
	// value turns retries off; at most 10.
	Retries int
	// Client sends the requests. If nil, a client that does not follow
	// redirects is used.
	Client *http.Client
	// Sender is the SMS signature (签名) the provider shows, e.g. "零工宝".
	Sender string
	// Clock dates the X-GV-Timestamp header; clock.Real{} if nil.
	Clock clock.Clock
	// Log receives a Warn line per failed attempt (status, attempt, request
	// ID — never the number or the parameters); discarded if nil.
	Log *slog.Logger
}

// HTTP is a Gateway that posts signed JSON to a provider or an adapter in
// front of one. The wire protocol is documented in docs/sms-gateway.md.
type HTTP struct {
	url     string
	keyID   string
	secret  []byte
	timeout time.Duration
	retries int
	client  *http.Client
	sender  string
	clk     clock.Clock
	log     *slog.Logger
	backoff time.Duration // first retry delay; tests shorten it
}

// NewHTTP checks c and returns an HTTP gateway. A bad configuration is an
// *errs.Error with code errs.Invalid naming the HTTPConfig field at fault.
func NewHTTP(c HTTPConfig) (*HTTP, error) {
	if err := checkURL(c.URL); err != nil {
		return nil, errs.Wrap(errs.Invalid, "URL", "短信网关地址无效：须为 https 地址（本机回环地址除外）",
			"invalid SMS gateway URL: https required except on a loopback host", err)
	}
	if c.KeyID == "" || !headerSafe(c.KeyID) {
		return nil, errs.New(errs.Invalid, "KeyID", "短信网关密钥 ID 缺失或含非法字符",
			"SMS gateway key ID missing or not printable ASCII")
	}
	if len(c.Secret) < minSecretBytes {
		return nil, errs.New(errs.Invalid, "Secret", "短信网关签名密钥过短（至少 16 字节）",
			"SMS gateway secret too short (at least 16 bytes)")
	}
	if c.Timeout < 0 {
		return nil, errs.New(errs.Invalid, "Timeout", "短信网关超时不能为负", "SMS gateway timeout must not be negative")
	}
	g := &HTTP{
		url:     c.URL,
		keyID:   c.KeyID,
		secret:  bytes.Clone(c.Secret),
		timeout: c.Timeout,
		retries: c.Retries,
		client:  c.Client,
		sender:  c.Sender,
		clk:     c.Clock,
		log:     c.Log,
		backoff: defaultBackoff,
	}
	if g.timeout == 0 {
		g.timeout = defaultTimeout
	}
	switch {
	case g.retries == 0:
		g.retries = defaultRetries
	case g.retries < 0:
		g.retries = 0
	case g.retries > maxRetries:
		g.retries = maxRetries
	}
	if g.client == nil {
		g.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if g.clk == nil {
		g.clk = clock.Real{}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// checkURL requires an absolute http(s) URL without credentials, https
// unless the host is loopback.
func checkURL(s string) error { return outbound.CheckURL(s) }

// headerSafe reports whether s is printable ASCII without spaces.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// Name returns "http".
func (g *HTTP) Name() string { return "http" }

// request is the JSON body of a send request.
type request struct {
	To        string            `json:"to"`
	Template  string            `json:"template"`
	Params    map[string]string `json:"params"`
	Sender    string            `json:"sender"`
	RequestID string            `json:"request_id"`
}

// Send posts m to the provider, retrying as configured, and returns the
// provider's message ID. Before anything is sent, m.To must be 11 digits
// starting with 1 and m.Template a plain identifier; the provider judges
// the rest.
func (g *HTTP) Send(ctx context.Context, m Message) (string, error) {
	if !validMobile(m.To) {
		return "", errMobile()
	}
	if !validTemplateID(m.Template) {
		return "", errTemplate()
	}
	params := m.Params
	if params == nil {
		params = map[string]string{}
	}
	reqID := newRef("")
	body, err := json.Marshal(request{To: m.To, Template: m.Template, Params: params, Sender: g.sender, RequestID: reqID})
	if err != nil { // cannot happen: strings only
		return "", errUnavailable(errors.New("encoding request"))
	}
	var last *errs.Error
	for attempt := 0; attempt <= g.retries; attempt++ {
		if attempt > 0 {
			if err := g.sleep(ctx, attempt); err != nil {
				return "", errUnavailable(fmt.Errorf("sms request %s: %w", reqID, err))
			}
		}
		ref, e, retry := g.attempt(ctx, body, reqID)
		if e == nil {
			return ref, nil
		}
		last = e
		if !retry {
			break
		}
		if attempt < g.retries {
			g.log.WarnContext(ctx, "sms provider attempt failed, retrying",
				slog.String("gateway", g.Name()),
				slog.String("request_id", reqID),
				slog.Int("attempt", attempt+1),
				slog.String("err", e.Err.Error()))
		}
	}
	g.log.WarnContext(ctx, "sms provider send failed",
		slog.String("gateway", g.Name()),
		slog.String("request_id", reqID),
		slog.String("code", string(last.Code)),
		slog.String("err", causeText(last)))
	return "", last
}

func causeText(e *errs.Error) string {
	if e.Err == nil {
		return e.Message
	}
	return e.Err.Error()
}

// sleep waits before retry number attempt (1-based): backoff doubling each
// time, capped, with up to 50% random jitter added.
func (g *HTTP) sleep(ctx context.Context, attempt int) error {
	d := g.backoff << (attempt - 1)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	if d > 1 {
		d += rand.N(d / 2)
	}
	return sleep(ctx, d)
}

// attempt makes one request. retry reports whether a failure may be retried.
func (g *HTTP) attempt(ctx context.Context, body []byte, reqID string) (ref string, e *errs.Error, retry bool) {
	if err := ctx.Err(); err != nil {
		return "", errUnavailable(fmt.Errorf("sms request %s: %w", reqID, err)), false
	}
	actx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return "", errUnavailable(fmt.Errorf("sms request %s: building request: %w", reqID, err)), false
	}
	ts := strconv.FormatInt(g.clk.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gigvault-sms/1")
	req.Header.Set("X-GV-Key-Id", g.keyID)
	req.Header.Set("X-GV-Timestamp", ts)
	req.Header.Set("X-GV-Signature", Sign(g.secret, ts, body))
	req.Header.Set("Idempotency-Key", reqID)

	resp, err := g.client.Do(req)
	if err != nil {
		// The caller's context ending is final; a timeout of this attempt
		// or a connection error is worth another try.
		return "", errUnavailable(fmt.Errorf("sms request %s: %w", reqID, transportCause(ctx, err))), ctx.Err() == nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return "", errUnavailable(fmt.Errorf("sms request %s: status %d: reading response: %w",
			reqID, resp.StatusCode, transportCause(ctx, err))), ctx.Err() == nil
	}
	tooLarge := len(data) > maxResponseBytes
	st := resp.StatusCode
	switch {
	case st >= 200 && st <= 299:
		if tooLarge {
			return "", errUnavailable(fmt.Errorf("sms request %s: status %d: response body over %d bytes refused",
				reqID, st, maxResponseBytes)), false
		}
		var r struct {
			MessageID string `json:"message_id"`
		}
		if err := json.Unmarshal(data, &r); err != nil || !validRef(r.MessageID) {
			return "", errUnavailable(fmt.Errorf("sms request %s: status %d: malformed response", reqID, st)), false
		}
		return r.MessageID, nil, false
	case st == http.StatusBadRequest || st == http.StatusUnprocessableEntity:
		var r struct {
			Error string `json:"error"`
		}
		if !tooLarge {
			_ = json.Unmarshal(data, &r) // optional; the status decides
		}
		var e *errs.Error
		switch r.Error {
		case "invalid_mobile":
			e = errMobile()
		case "invalid_template":
			e = errTemplate()
		default:
			e = errParams()
		}
		// Only the status and our fixed reading of it: a provider's own
		// text may echo the number or the code.
		e.Err = fmt.Errorf("sms request %s: status %d", reqID, st)
		return "", e, false
	case st == http.StatusTooManyRequests:
		e := errThrottled()
		e.Err = fmt.Errorf("sms request %s: status %d", reqID, st)
		return "", e, false
	case st >= 500 || st == http.StatusRequestTimeout:
		return "", errUnavailable(fmt.Errorf("sms request %s: status %d", reqID, st)), true
	default: // 1xx, 3xx, 401, 403, 404…: misconfiguration, not worth retrying
		return "", errUnavailable(fmt.Errorf("sms request %s: unexpected status %d", reqID, st)), false
	}
}

// transportCause names a transport failure without the request itself:
// the *url.Error text is kept (it holds the configured URL, no PI).
func transportCause(parent context.Context, err error) error {
	if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("attempt timed out: %w", err)
	}
	return err
}

// validRef accepts a provider message ID: 1 to 128 printable ASCII
// characters without spaces, so it is safe to log and store.
func validRef(s string) bool {
	return s != "" && len(s) <= 128 && headerSafe(s)
}

// Sign returns the X-GV-Signature of a request: the lowercase hex
// HMAC-SHA256 under secret of the X-GV-Timestamp value, a newline and the
// exact request body. A provider adapter verifies requests with it.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'\n'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

var _ Gateway = (*HTTP)(nil)
