// Package obs is gigvault's observability: a log/slog handler that redacts
// anything that looks like personal information before it is written, and
// the Prometheus metrics registry.
package obs

import (
	"context"
	"log/slog"
	"regexp"
	"strings"

	"gigvault/internal/format"
)

// Redaction patterns. They err on the side of redacting: a log line loses a
// number it did not need rather than leak a mobile number. Matches must stand
// alone — not inside a longer word, hex string or UUID — so IDs survive.
var (
	// Mobile numbers, optionally with +86 and separators.
	mobileRE = regexp.MustCompile(`(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}`)
	// Resident ID numbers: 17 digits and a check character.
	idRE = regexp.MustCompile(`\d{17}[\dXx]`)
	// Long digit runs (bank cards, IMEIs, account numbers), optionally spaced.
	cardRE  = regexp.MustCompile(`\d(?: ?\d){11,18}`)
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// Unified social credit codes (organisation IDs that may name a sole trader).
	usccRE = regexp.MustCompile(`[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}`)
)

// Redact replaces PI-looking substrings of s with a marker naming their kind.
func Redact(s string) string {
	if !mayHavePI(s) {
		return s
	}
	s = emailRE.ReplaceAllString(s, "[redacted:email]")
	s = replaceAlone(s, idRE, "[redacted:id_number]", func(m string) bool {
		c, ok := format.IDCheckChar(m[:17])
		return ok && strings.EqualFold(string(c), m[17:])
	})
	s = replaceAlone(s, mobileRE, "[redacted:mobile]", nil)
	s = replaceAlone(s, cardRE, "[redacted:number]", nil)
	s = replaceAlone(s, usccRE, "[redacted:uscc]", func(m string) bool {
		c, ok := format.USCCCheckChar(m[:17])
		return ok && c == m[17]
	})
	return s
}

// replaceAlone replaces matches of re that pass check and are not part of a
// longer number or hyphenated ID: a digit or '-' on either side keeps
// the match (UUIDs, longer numbers caught by another pattern); letters do
// not, so "mobile13800138000" is still redacted.
func replaceAlone(s string, re *regexp.Regexp, repl string, check func(string) bool) string {
	locs := re.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		if (l[0] > 0 && wordByte(s[l[0]-1])) || (l[1] < len(s) && wordByte(s[l[1]])) {
			continue
		}
		if check != nil && !check(s[l[0]:l[1]]) {
			continue
		}
		b.WriteString(s[last:l[0]])
		b.WriteString(repl)
		last = l[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func wordByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-'
}

// mayHavePI is a cheap pre-check: no '@' and no run of 11 digits or
// capital letters means nothing to redact.
func mayHavePI(s string) bool {
	if strings.IndexByte(s, '@') >= 0 {
		return true
	}
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			run++
			if run >= 11 {
				return true
			}
		case c == ' ' || c == '-' || c == '+':
		default:
			run = 0
		}
	}
	return false
}

// RedactingHandler wraps a slog.Handler and redacts the message and every
// string attribute (errors included) before they reach it.
type RedactingHandler struct {
	inner slog.Handler
}

// NewRedactingHandler wraps inner.
func NewRedactingHandler(inner slog.Handler) *RedactingHandler {
	return &RedactingHandler{inner: inner}
}

// Enabled defers to the wrapped handler.
func (h *RedactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle redacts the record, then passes it on.
func (h *RedactingHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs redacts the attributes once, up front.
func (h *RedactingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return &RedactingHandler{inner: h.inner.WithAttrs(red)}
}

// WithGroup defers to the wrapped handler.
func (h *RedactingHandler) WithGroup(name string) slog.Handler {
	return &RedactingHandler{inner: h.inner.WithGroup(name)}
}

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Redact(v.String()))
	case slog.KindInt64, slog.KindUint64:
		// A mobile or card number logged as a number is still PI.
		if s := v.String(); Redact(s) != s {
			return slog.String(a.Key, Redact(s))
		}
		return slog.Attr{Key: a.Key, Value: v}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = redactAttr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Redact(err.Error()))
		}
		if b, ok := v.Any().([]byte); ok {
			return slog.String(a.Key, Redact(string(b)))
		}
		return slog.String(a.Key, Redact(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

var _ slog.Handler = (*RedactingHandler)(nil)
