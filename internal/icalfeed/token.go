package icalfeed

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// TokenBytes is how many random bytes a feed token carries.
const TokenBytes = 32

// TokenLen is the length of a feed token: TokenBytes in unpadded base64url.
const TokenLen = (TokenBytes*8 + 5) / 6

var tokenEncoding = base64.RawURLEncoding.Strict()

// NewToken returns a fresh feed token for a subscription URL and the
// SHA-256 of it, which is all the server stores. The token is shown to the
// worker once.
func NewToken() (token string, hash []byte) {
	b := make([]byte, TokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand crashes the program instead)
	token = tokenEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(token))
	return token, h[:]
}

// HashToken returns the SHA-256 of a feed token to look its subscription
// up by, or false when token cannot be one NewToken made: the wrong length,
// a character outside the base64url alphabet, or non-zero padding bits.
// The checks are cheap and run before any database work; they need not be
// constant-time, as they reveal nothing about any stored token.
func HashToken(token string) ([]byte, bool) {
	if len(token) != TokenLen {
		return nil, false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	// The last character holds 4 bits of data and 2 padding bits: the
	// strict decoder refuses a set padding bit, so each token has one
	// spelling.
	if _, err := tokenEncoding.DecodeString(token); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(token))
	return h[:], true
}
