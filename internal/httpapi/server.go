// Package httpapi is gigvault's JSON API. Handlers are thin: decode, call
// one domain function, encode. Every error leaves as one body shape,
// {"error": {"code", "message", "message_zh", "field"}}, with a stable code
// and no stack, internal detail or personal information.
package httpapi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gigvault/api"
	"gigvault/internal/access"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/catalog"
	"gigvault/internal/clock"
	"gigvault/internal/consent"
	"gigvault/internal/errs"
	"gigvault/internal/esign"
	"gigvault/internal/identity"
	"gigvault/internal/idv"
	"gigvault/internal/jobs"
	"gigvault/internal/keys"
	"gigvault/internal/obs"
	"gigvault/internal/payout"
	"gigvault/internal/policydoc"
	"gigvault/internal/ratelimit"
	"gigvault/internal/rights"
	"gigvault/internal/sealkey"
	"gigvault/internal/sharing"
	"gigvault/internal/sms"
	"gigvault/internal/store"
	"gigvault/internal/vault"
	"gigvault/internal/verify"
)

// Pinger is something /readyz checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the API needs.
type Deps struct {
	Log     *slog.Logger
	Metrics *obs.Metrics
	// Ready lists named dependencies that must answer for /readyz.
	Ready   map[string]Pinger
	Version string

	// The /v1 API. Routes are registered without them (the OpenAPI test
	// does that); calls then answer "unavailable".
	Production     bool
	Clock          clock.Clock
	DB             *store.DB
	Catalog        *catalog.Catalog
	Identity       *identity.Service
	Guard          *access.Guard
	Approvals      *approval.Store
	Recorder       *audit.Recorder
	SMS            sms.Gateway // the console gateway enables the development outbox
	Limits         *Limits     // nil: DefaultLimits
	TrustedProxies []string    // peers whose X-Forwarded-For is believed

	// Consent and transparency (issue 4) and the platform.
	Consent    *consent.Service
	Policies   *policydoc.Store
	Sources    policydoc.Sources // catalog, functions and third parties, for the public lists
	Ledger     *sharing.Ledger
	Jobs       *jobs.Store
	ReceiptKey *ReceiptKey

	// The gig platform (issue 5).
	Keys     *keys.Keyring // keyed tags of public-résumé terms; the platform contract signing key
	Verifier verify.Verifier
	IDV      *idv.Store
	ESign    *esign.Service
	Unsealer func(context.Context) (*sealkey.Unsealer, error) // nil, or nil result, until the platform key exists
	// ContractFonts are the TrueType fonts contract PDFs are set in, the
	// first for Chinese; nil: DefaultContractFonts.
	ContractFonts []string

	Vault        *vault.Vault // presence checks only (has a bank card)
	Payouts      *payout.Store
	Rail         payout.Rail
	PayoutLimits payout.Limits

	// Data-subject rights, deadlines and legal holds (issue 6).
	Rights *rights.Service
}

// Route is one registered endpoint; the OpenAPI test compares these with
// the document.
type Route struct {
	Method, Pattern string
	Public          bool   // reachable without authentication
	Access          string // who may call it: "public", "any", or kinds and "role:…" joined by commas
	handler         http.HandlerFunc
}

// Server is the API's handler tree.
type Server struct {
	deps   Deps
	mux    *http.ServeMux
	routes []Route
	lim    limiters
}

// New builds the API.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = obs.NewMetrics()
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Limits == nil {
		d.Limits = &DefaultLimits
	}
	s := &Server{deps: d, mux: http.NewServeMux()}
	s.add("GET", "/healthz", true, s.healthz)
	s.add("GET", "/readyz", true, s.readyz)
	s.add("GET", "/metrics", true, promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}).ServeHTTP)
	s.add("GET", "/v1/version", true, s.version)
	s.add("GET", "/openapi.yaml", true, serveOpenAPI)
	s.routesV1()
	s.routesConsent()
	s.routesPlatform()
	s.routesGig()
	s.routesESign()
	s.routesPayout()
	s.routesRights()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, errs.New(errs.NotFound, "", "接口不存在", "no such endpoint"))
	})
	return s
}

func (s *Server) add(method, pattern string, public bool, h http.HandlerFunc) {
	access := AccessPublic
	if !public {
		access = AccessAny
	}
	s.addRule(method, pattern, access, h)
}

func (s *Server) addRule(method, pattern, access string, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Pattern: pattern, Public: access == AccessPublic, Access: access, handler: h})
	s.mux.Handle(method+" "+pattern, s.instrument(pattern, h))
}

// Routes lists the registered endpoints.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Handler returns the full handler: recovery, security headers, metrics.
func (s *Server) Handler() http.Handler {
	return s.recoverer(securityHeaders(s.mux))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		record := func() {
			s.deps.Metrics.Requests.WithLabelValues(r.Method, route, fmt.Sprint(sw.code)).Inc()
			s.deps.Metrics.Latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
		defer func() {
			if p := recover(); p != nil {
				sw.code = http.StatusInternalServerError // what the recoverer will answer
				record()
				panic(p)
			}
		}()
		h.ServeHTTP(sw, r)
		record()
	})
}

// recoverer turns a panic into a plain internal error: the stack goes to
// the (redacting) log, never to the client.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.deps.Log.Error("panic in handler", "route", r.Pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				WriteError(w, r, errs.New(errs.Internal, "", "服务器内部错误", "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// statusOf maps error codes to HTTP statuses; the one place that does.
var statusOf = map[errs.Code]int{
	errs.Invalid:          http.StatusBadRequest,
	errs.NotFound:         http.StatusNotFound,
	errs.Conflict:         http.StatusConflict,
	errs.Forbidden:        http.StatusForbidden,
	errs.Unauthenticated:  http.StatusUnauthorized,
	errs.ConsentRequired:  http.StatusForbidden,
	errs.ApprovalRequired: http.StatusForbidden,
	errs.RateLimited:      http.StatusTooManyRequests,
	errs.Erased:           http.StatusGone,
	errs.Integrity:        http.StatusInternalServerError,
	errs.Unavailable:      http.StatusServiceUnavailable,
	errs.Internal:         http.StatusInternalServerError,
}

// ErrorBody is the one error shape of the API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable code, the field at fault and messages.
type ErrorDetail struct {
	Code      errs.Code `json:"code"`
	MessageZh string    `json:"message_zh"` // zh-CN first
	Message   string    `json:"message"`
	Field     string    `json:"field,omitempty"`
	Reason    string    `json:"reason,omitempty"`  // the decision's reason code
	Missing   []string  `json:"missing,omitempty"` // what would make the request succeed
	Ref       string    `json:"ref,omitempty"`     // e.g. the approval request created
}

// WriteError writes err as the API's error body.
func WriteError(w http.ResponseWriter, _ *http.Request, err error) {
	e := errs.As(err)
	status, ok := statusOf[e.Code]
	if !ok {
		// An undocumented code never reaches the client.
		e = &errs.Error{Code: errs.Internal, Message: "internal error", MessageZh: "服务器内部错误"}
		status = http.StatusInternalServerError
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(e.RetryAfter)))
	}
	if e.Code == errs.Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gigvault"`)
	}
	writeJSON(w, status, ErrorBody{ErrorDetail{Code: e.Code, Message: e.Message, MessageZh: e.MessageZh, Field: e.Field,
		Reason: e.Reason, Missing: e.Missing, Ref: e.Ref}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	for name, p := range s.deps.Ready {
		if err := p.Ping(ctx); err != nil {
			checks[name] = "unavailable"
			ok = false
			s.deps.Log.Warn("readiness check failed", "check", name, "err", err)
		} else {
			checks[name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.deps.Version})
}

// Run serves on ln until ctx is cancelled, then stops accepting, lets
// in-flight requests finish for up to drain, closes any connection still
// open after that, and returns. With tlsCfg set it serves TLS (1.2 at
// least, ENC-8).
func Run(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, tlsCfg *tls.Config) error {
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.Serve(tls.NewListener(ln, tlsCfg))
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		// The drain timed out: cut the stragglers' connections rather than
		// leave them running after Run (and the caller's cleanup) returned.
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// TLSConfig is the server TLS configuration: TLS 1.2 or later with AEAD
// cipher suites and SHA-256 or better (ENC-8).
func TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("httpapi: load TLS certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}, nil
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(api.OpenAPI)
}
