package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"gigvault/internal/errs"
)

// decodeErrorBody strictly decodes an API error body: exactly one top-level
// "error" object with no fields beyond the documented ones.
func decodeErrorBody(t *testing.T, rec *httptest.ResponseRecorder) ErrorDetail {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body %q is not an error object: %v", rec.Body.String(), err)
	}
	if len(raw) != 1 || raw["error"] == nil {
		t.Fatalf("body %q: want exactly one top-level key \"error\"", rec.Body.String())
	}
	for k := range raw["error"] {
		switch k {
		case "code", "message", "message_zh", "field":
		default:
			t.Errorf("error body has undocumented key %q", k)
		}
	}
	for _, k := range []string{"code", "message", "message_zh"} {
		if s, ok := raw["error"][k].(string); !ok || s == "" {
			t.Errorf("error.%s = %v, want a non-empty string", k, raw["error"][k])
		}
	}
	var b ErrorBody
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	return b.Error
}

func TestUnknownRoute(t *testing.T) {
	h := New(Deps{}).Handler()
	for _, tc := range []struct{ method, target string }{
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/v1/nope/13800138000"},
		{http.MethodGet, "/"},
		{http.MethodPost, "/healthz"}, // registered for GET only
		{http.MethodDelete, "/v1/version"},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status = %d, want 404; body %s", rec.Code, rec.Body)
			}
			got := decodeErrorBody(t, rec)
			want := ErrorDetail{Code: errs.NotFound, Message: "no such endpoint", MessageZh: "接口不存在"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
			if strings.Contains(rec.Body.String(), "13800138000") {
				t.Error("request path echoed into the body")
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	want := map[errs.Code]int{
		errs.Invalid:          400,
		errs.NotFound:         404,
		errs.Conflict:         409,
		errs.Forbidden:        403,
		errs.Unauthenticated:  401,
		errs.ConsentRequired:  403,
		errs.ApprovalRequired: 403,
		errs.RateLimited:      429,
		errs.Erased:           410,
		errs.Integrity:        500,
		errs.Unavailable:      503,
		errs.Internal:         500,
	}
	if diff := cmp.Diff(want, statusOf); diff != "" {
		t.Errorf("statusOf (-want +got):\n%s", diff)
	}
}

func TestWriteErrorStatus(t *testing.T) {
	for code, status := range statusOf {
		t.Run(string(code), func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), errs.New(code, "phone", "中文消息", "english message"))
			if rec.Code != status {
				t.Errorf("status = %d, want %d", rec.Code, status)
			}
			got := decodeErrorBody(t, rec)
			want := ErrorDetail{Code: code, Field: "phone", Message: "english message", MessageZh: "中文消息"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteErrorHidesCauses(t *testing.T) {
	const pi = "13800138000"
	cause := fmt.Errorf("lookup %s failed", pi)
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   ErrorDetail
	}{
		{
			name:   "plain error",
			err:    cause,
			status: http.StatusInternalServerError,
			want:   ErrorDetail{Code: errs.Internal, Message: "internal error", MessageZh: "服务器内部错误"},
		},
		{
			name:   "nil error",
			err:    nil,
			status: http.StatusInternalServerError,
			want:   ErrorDetail{Code: errs.Internal, Message: "internal error", MessageZh: "服务器内部错误"},
		},
		{
			name:   "errs.Error wrapping a cause",
			err:    errs.Wrap(errs.Conflict, "mobile", "手机号已存在", "mobile already registered", cause),
			status: http.StatusConflict,
			want:   ErrorDetail{Code: errs.Conflict, Field: "mobile", Message: "mobile already registered", MessageZh: "手机号已存在"},
		},
		{
			name:   "errs.Error inside fmt wrapping",
			err:    fmt.Errorf("store %s: %w", pi, errs.Wrap(errs.Unavailable, "", "暂不可用", "unavailable", cause)),
			status: http.StatusServiceUnavailable,
			want:   ErrorDetail{Code: errs.Unavailable, Message: "unavailable", MessageZh: "暂不可用"},
		},
		{
			name:   "errs.Error joined",
			err:    errors.Join(cause, errs.New(errs.RateLimited, "", "请求过多", "too many requests")),
			status: http.StatusTooManyRequests,
			want:   ErrorDetail{Code: errs.RateLimited, Message: "too many requests", MessageZh: "请求过多"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if diff := cmp.Diff(tc.want, decodeErrorBody(t, rec)); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
			for _, leak := range []string{pi, "lookup", "failed", "store"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("body %q leaks %q from the cause", rec.Body.String(), leak)
				}
			}
		})
	}
}

func TestWriteErrorUnknownCode(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/", nil), errs.New("no_such_code", "", "中文", "english"))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500 for a code statusOf does not know", rec.Code)
	}
}
