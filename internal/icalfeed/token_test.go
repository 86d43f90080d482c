package icalfeed_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"gigvault/internal/icalfeed"
)

func TestNewToken(t *testing.T) {
	if icalfeed.TokenLen != 43 {
		t.Fatalf("TokenLen = %d, want 43", icalfeed.TokenLen)
	}
	seen := map[string]bool{}
	for range 100 {
		tok, hash := icalfeed.NewToken()
		if len(tok) != icalfeed.TokenLen {
			t.Fatalf("token %q has length %d", tok, len(tok))
		}
		if seen[tok] {
			t.Fatal("repeated token")
		}
		seen[tok] = true
		want := sha256.Sum256([]byte(tok))
		if !bytes.Equal(hash, want[:]) {
			t.Fatal("hash is not SHA-256 of the token")
		}
		got, ok := icalfeed.HashToken(tok)
		if !ok || !bytes.Equal(got, hash) {
			t.Fatalf("HashToken(%q) = %x, %v; want %x", tok, got, ok, hash)
		}
		if ok := strings.ContainsAny(tok, "+/="); ok {
			t.Fatalf("token %q is not unpadded base64url", tok)
		}
	}
}

func TestHashTokenRejects(t *testing.T) {
	good, _ := icalfeed.NewToken()
	for name, tok := range map[string]string{
		"empty":          "",
		"short":          good[:42],
		"long":           good + "A",
		"padded":         good + "=",
		"std alphabet +": "+" + good[1:],
		"std alphabet /": "/" + good[1:],
		"space":          " " + good[1:],
		"dot":            "." + good[1:],
		"non-ASCII":      "é" + good[2:],
		"NUL":            "\x00" + good[1:],
		"padding bits":   good[:42] + "B", // the last character's low 4 bits must be 0
		"path":           "../../../../../../../../../../etc/passwd.ics",
	} {
		if h, ok := icalfeed.HashToken(tok); ok || h != nil {
			t.Errorf("%s: %q accepted", name, tok)
		}
	}
}

// FuzzHashToken: HashToken never panics, and accepts exactly the strings
// NewToken can produce: 43 base64url characters that decode strictly to 32
// bytes and re-encode to themselves; the hash is SHA-256 of the token.
func FuzzHashToken(f *testing.F) {
	tok, _ := icalfeed.NewToken()
	for _, s := range []string{tok, "", "A", strings.Repeat("A", 43), strings.Repeat("_", 43), strings.Repeat("-", 42) + "B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := icalfeed.HashToken(s)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
		want := err == nil && len(raw) == 32 && base64.RawURLEncoding.EncodeToString(raw) == s
		if ok != want {
			t.Fatalf("HashToken(%q) ok = %v, want %v", s, ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("hash returned for a rejected token")
			}
			return
		}
		sum := sha256.Sum256([]byte(s))
		if !bytes.Equal(h, sum[:]) {
			t.Fatal("hash is not SHA-256 of the token")
		}
	})
}
