// Package sealkey puts gigvault's most critical private keys under dual
// control (requirement ENC-7): the key-encryption key that wraps such a key
// is split with Shamir's secret sharing into n shares, threshold of which
// (at least two) are needed to rebuild it, so no single person can unseal
// the key alone.
//
// Split produces the shares; each is handed to one key officer as a text
// line (see Share.String):
//
//	gvshare1-<set ID, 8 hex>-<index>-<threshold>-<payload, base32>-<checksum, 8 hex>
//
// The set ID ties the shares of one split together; the checksum (the first
// four bytes of SM3 over a domain string and the rest of the line) catches
// a mistyped share before it is combined. The checksum is not a MAC: it
// detects mistakes, not forgeries. A forged or wrong share only yields a
// wrong secret, which the AEAD of the wrapped key (see Wrap and Unwrap)
// then refuses.
//
// An Unsealer collects shares from distinct officers, and once threshold of
// them are in, combines them and hands the secret to a callback that
// unwraps the key. The Shamir arithmetic is github.com/hashicorp/vault/shamir
// (GF(2^8), one random polynomial per secret byte; that directory is under
// MPL-2.0, unlike the BUSL-licensed rest of the Vault module).
//
// Formatting a Share with fmt prints it redacted; only Share.String gives
// the full line, to be shown to its officer alone.
package sealkey

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/vault/shamir"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
)

// Limits of a split.
const (
	// MinThreshold is the smallest threshold: never one person alone.
	MinThreshold = 2
	// MaxShares is the largest number of shares of one split.
	MaxShares = 16
	// MaxSecretSize is the longest secret Split accepts, in bytes.
	MaxSecretSize = 64
)

// Stable reason codes carried by the *errs.Error values of this package.
const (
	ReasonShareFormat       = "share_format"       // not a gvshare1 line, or a field out of range
	ReasonShareChecksum     = "share_checksum"     // the checksum does not match: a typo
	ReasonWrongSet          = "wrong_set"          // the share belongs to another split
	ReasonThresholdMismatch = "threshold_mismatch" // shares disagree on the threshold
	ReasonLengthMismatch    = "length_mismatch"    // shares of different secret lengths
	ReasonOfficerRepeated   = "officer_repeated"   // this officer already submitted a share
	ReasonShareRepeated     = "share_repeated"     // this share was already submitted
	ReasonNotEnoughShares   = "not_enough_shares"  // fewer shares than the threshold
	ReasonAlreadyUnsealed   = "already_unsealed"   // the key is already unsealed
	ReasonInvalidOfficer    = "invalid_officer"    // the officer ID is empty or malformed
	ReasonOpenFailed        = "open_failed"        // the combined secret did not open the key
	ReasonUnwrapFailed      = "unwrap_failed"      // a wrapped key failed authentication
)

const (
	sharePrefix    = "gvshare1"
	checksumDomain = "gigvault-sealkey-share-v1\n"
	setIDDomain    = "gigvault-sealkey-set-v1\n"
)

// b32 is the payload encoding: RFC 4648 base32, lower case, no padding.
// Its alphabet has no 0, 1, 8 or 9, so none is confused with O, I, B or g.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// SetID identifies the shares of one split.
type SetID [4]byte

// NewSetID returns a random set ID.
func NewSetID() SetID {
	var id SetID
	if _, err := rand.Read(id[:]); err != nil {
		panic("sealkey: system randomness failed: " + err.Error())
	}
	return id
}

// SetIDFor derives a set ID from the public key whose private key the
// shares protect, so an officer can tell which key a share belongs to.
func SetIDFor(suite cryptox.Suite, publicKey []byte) SetID {
	var id SetID
	copy(id[:], cryptox.Digest(suite, []byte(setIDDomain), publicKey))
	return id
}

// ParseSetID parses the 8 hex digits of String.
func ParseSetID(s string) (SetID, error) {
	var id SetID
	if len(s) != 8 {
		return id, errShareFormat
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return id, errShareFormat
	}
	return id, nil
}

// String returns the set ID as 8 lower-case hex digits.
func (id SetID) String() string { return hex.EncodeToString(id[:]) }

// Share is one key officer's share of a split secret.
type Share struct {
	SetID     SetID
	Index     int // 1…n: which share of the set this is
	Threshold int // how many shares rebuild the secret
	payload   []byte
}

var (
	errShareFormat = errs.New(errs.Invalid, "share",
		"密钥分片格式不正确", "the key share is not a valid gvshare1 line").With(ReasonShareFormat, nil, "")
	errShareChecksum = errs.New(errs.Invalid, "share",
		"密钥分片校验码不符，请检查是否输错", "the key share's checksum does not match: check it for typing mistakes").With(ReasonShareChecksum, nil, "")
	errWrongSet = errs.New(errs.Invalid, "share",
		"该密钥分片属于另一组分片", "the key share belongs to another set of shares").With(ReasonWrongSet, nil, "")
	errThresholdMismatch = errs.New(errs.Invalid, "share",
		"密钥分片的门限值不一致", "the key shares disagree on the threshold").With(ReasonThresholdMismatch, nil, "")
	errLengthMismatch = errs.New(errs.Invalid, "share",
		"密钥分片长度不一致", "the key shares have different lengths").With(ReasonLengthMismatch, nil, "")
	errShareRepeated = errs.New(errs.Conflict, "share",
		"该密钥分片已提交过", "this key share was already submitted").With(ReasonShareRepeated, nil, "")
	errNotEnough = errs.New(errs.Invalid, "share",
		"密钥分片数量不足门限值", "fewer key shares than the threshold").With(ReasonNotEnoughShares, nil, "")
)

// Split splits secret into n shares under a fresh random set ID, threshold
// of which rebuild it; 2 ≤ threshold ≤ n ≤ 16 and 1 ≤ len(secret) ≤ 64.
func Split(secret []byte, n, threshold int) ([]Share, error) {
	return SplitSet(NewSetID(), secret, n, threshold)
}

// SplitSet is Split under a set ID the caller chooses, e.g. SetIDFor the
// public key the secret protects.
func SplitSet(id SetID, secret []byte, n, threshold int) ([]Share, error) {
	if threshold < MinThreshold || threshold > n || n > MaxShares {
		return nil, errs.New(errs.Invalid, "threshold",
			fmt.Sprintf("门限值须满足 %d ≤ 门限值 ≤ 分片数 ≤ %d", MinThreshold, MaxShares),
			fmt.Sprintf("need %d ≤ threshold ≤ shares ≤ %d", MinThreshold, MaxShares))
	}
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return nil, errs.New(errs.Invalid, "secret",
			fmt.Sprintf("秘密长度须为 1 到 %d 字节", MaxSecretSize),
			fmt.Sprintf("the secret must be 1 to %d bytes", MaxSecretSize))
	}
	parts, err := shamir.Split(secret, n, threshold)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, "", "密钥分片失败", "splitting the secret failed", err)
	}
	out := make([]Share, n)
	for i, p := range parts {
		out[i] = Share{SetID: id, Index: i + 1, Threshold: threshold, payload: p}
	}
	return out, nil
}

// Combine rebuilds the secret from at least Threshold shares of one set.
// It cannot tell a wrong share from a right one: wrong shares give a wrong
// secret, which the caller detects when the secret fails to open what it
// protects.
func Combine(shares []Share) ([]byte, error) {
	if len(shares) == 0 {
		return nil, errNotEnough
	}
	first := shares[0]
	parts := make([][]byte, len(shares))
	for i, s := range shares {
		if err := s.check(); err != nil {
			return nil, err
		}
		switch {
		case s.SetID != first.SetID:
			return nil, errWrongSet
		case s.Threshold != first.Threshold:
			return nil, errThresholdMismatch
		case len(s.payload) != len(first.payload):
			return nil, errLengthMismatch
		}
		for _, t := range shares[:i] {
			if s.sameAs(t) {
				return nil, errShareRepeated
			}
		}
		parts[i] = s.payload
	}
	if len(shares) < first.Threshold {
		return nil, errNotEnough
	}
	secret, err := shamir.Combine(parts)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, "share", "密钥分片无法合并", "the key shares cannot be combined", err)
	}
	return secret, nil
}

// sameAs reports whether s and t are the same share: same index, same x
// coordinate or same bytes.
func (s Share) sameAs(t Share) bool {
	return s.Index == t.Index || s.x() == t.x() || bytes.Equal(s.payload, t.payload)
}

// x is the share's Shamir x coordinate, the last payload byte.
func (s Share) x() byte { return s.payload[len(s.payload)-1] }

// check reports whether s is well formed.
func (s Share) check() error {
	switch {
	case s.Index < 1 || s.Index > MaxShares,
		s.Threshold < MinThreshold || s.Threshold > MaxShares,
		len(s.payload) < 1+shamir.ShareOverhead || len(s.payload) > MaxSecretSize+shamir.ShareOverhead,
		s.payload[len(s.payload)-1] == 0: // x = 0 would be the secret itself
		return errShareFormat
	}
	return nil
}

// String returns the share as the line a key officer keeps:
// gvshare1-<set ID>-<index>-<threshold>-<payload>-<checksum>, all lower
// case. It is the secret share itself: print it for its officer only.
// Formatting a Share with fmt (%v, %s, …) prints a redacted form instead,
// so a share that ends up in a log message does not leak.
func (s Share) String() string {
	body := s.body()
	return body + "-" + checksum(body)
}

// Format implements fmt.Formatter: it prints the share with its payload
// and checksum redacted. Call String for the full line.
func (s Share) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "%s-%s-%d-%d-[redacted]", sharePrefix, s.SetID, s.Index, s.Threshold)
}

// Wipe overwrites the share's secret bytes with zeros.
func (s Share) Wipe() { cryptox.Wipe(s.payload) }

func (s Share) body() string {
	return sharePrefix + "-" + s.SetID.String() + "-" + strconv.Itoa(s.Index) + "-" +
		strconv.Itoa(s.Threshold) + "-" + b32.EncodeToString(s.payload)
}

func checksum(body string) string {
	return hex.EncodeToString(cryptox.Digest(cryptox.SM{}, []byte(checksumDomain), []byte(body))[:4])
}

// ParseShare parses a line made by Share.String. Surrounding white space
// and upper case are accepted; anything else that differs is refused. An
// *errs.Error with reason ReasonShareChecksum means the line is well formed
// but mistyped.
func ParseShare(line string) (Share, error) {
	line = strings.ToLower(strings.TrimSpace(line))
	f := strings.Split(line, "-")
	if len(f) != 6 || f[0] != sharePrefix {
		return Share{}, errShareFormat
	}
	id, err := ParseSetID(f[1])
	if err != nil {
		return Share{}, errShareFormat
	}
	index, ok := smallInt(f[2])
	if !ok {
		return Share{}, errShareFormat
	}
	threshold, ok := smallInt(f[3])
	if !ok {
		return Share{}, errShareFormat
	}
	if len(f[4]) > b32.EncodedLen(MaxSecretSize+shamir.ShareOverhead) || len(f[5]) != 8 {
		return Share{}, errShareFormat
	}
	payload, err := b32.DecodeString(f[4])
	// Base32 leaves unused low bits in the last character; re-encoding
	// rules out a second spelling of the same payload.
	if err != nil || b32.EncodeToString(payload) != f[4] {
		return Share{}, errShareFormat
	}
	s := Share{SetID: id, Index: index, Threshold: threshold, payload: payload}
	if err := s.check(); err != nil {
		return Share{}, err
	}
	if _, err := hex.DecodeString(f[5]); err != nil {
		return Share{}, errShareFormat
	}
	if checksum(s.body()) != f[5] {
		return Share{}, errShareChecksum
	}
	return s, nil
}

// smallInt parses a decimal 1…99 without sign or leading zeros.
func smallInt(s string) (int, bool) {
	if len(s) == 0 || len(s) > 2 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// clone returns a copy of s that does not share its payload.
func (s Share) clone() Share {
	s.payload = bytes.Clone(s.payload)
	return s
}
