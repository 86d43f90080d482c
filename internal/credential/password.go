package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"gigvault/internal/errs"
)

// Params are the argon2id cost parameters (RFC 9106 section 3.1) and the salt
// and tag lengths. They are recorded in every PHC string, so they can be
// raised at any time: hashes made with weaker parameters still verify and
// VerifyPassword reports needsRehash for them.
type Params struct {
	Memory  uint32 // m, in KiB; at least 8*Threads (RFC 9106)
	Time    uint32 // t, passes over memory; at least 1
	Threads uint8  // p, lanes computed in parallel; at least 1
	SaltLen uint32 // salt bytes, from crypto/rand; 8..64 (16 recommended)
	KeyLen  uint32 // tag bytes; 16..64 (32 recommended)
}

// DefaultParams are the parameters for new staff password hashes: 64 MiB,
// two passes, two lanes, a 128-bit random salt and a 256-bit tag. This is the
// second recommended option of RFC 9106 section 4 with t=2 (the RFC gives
// t=3) and p=2 to match the 2-core server, in line with the OWASP minimums
// (m ≥ 19 MiB, t ≥ 2).
//
// Measured cost on this 2-core machine (AMD EPYC, 2 vCPUs, Go 1.26, amd64;
// go test -bench BenchmarkHashDefault -benchtime 30x -count 3): 68–95 ms
// wall-clock per hash using both cores (about 150 ms of CPU time) and 64 MiB
// allocated per hash. An attacker with a stolen hash therefore needs 64 MiB
// and ~0.15 CPU-seconds per guess. Memory is the binding constraint for the
// server: callers must bound concurrent verifications (ACC-10 rate limits),
// since N simultaneous log-ins need N×64 MiB.
var DefaultParams = Params{Memory: 64 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}

// Limits accepted when parsing or hashing. The upper limits keep a tampered
// or hostile hash string from making the server allocate or compute without
// bound: at most 1 GiB and 100 passes. The lower limits on the salt and tag
// keep a tampered string from degrading verification to guessing a 1-byte
// tag.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 100
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	// maxEncodedLen comfortably exceeds the longest valid string
	// ("$argon2id$v=19$m=1048576,t=100,p=255$" + 86 + "$" + 86 chars).
	maxEncodedLen = 256
)

const phcPrefix = "$argon2id$v=19$"

// limits bound the parameters accepted from a stored hash. The exported API
// always uses publicLimits; the fuzz test uses smaller ones so that one
// input cannot take seconds to hash.
type limits struct {
	memory, time uint32
}

var publicLimits = limits{memory: maxMemory, time: maxTime}

// errInvalidHash is the user-facing error for a stored hash that cannot be
// parsed. The cause says what was wrong, never the string itself.
func errInvalidHash(cause string) error {
	return errs.Wrap(errs.Invalid, "password_hash",
		"密码哈希格式无效", "invalid password hash",
		errors.New("credential: argon2id: "+cause))
}

func (p Params) validate(lim limits) error {
	switch {
	case p.Time < 1 || p.Time > lim.time:
		return errors.New("time out of range")
	case p.Threads < 1:
		return errors.New("parallelism out of range")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > lim.memory:
		return errors.New("memory out of range")
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return errors.New("salt length out of range")
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return errors.New("key length out of range")
	}
	return nil
}

// HashPassword hashes pw with argon2id under p and a fresh random salt, and
// returns the PHC string
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, the format of the RFC 9106
// reference implementation (and of Debian's argon2 tool), so hashes stay
// portable.
//
// Safety: the salt comes from crypto/rand, so equal passwords give different
// hashes and precomputed tables are useless. Parameters outside the bounds
// documented on Params are refused, not silently adjusted, so every stored
// hash is one that VerifyPassword will accept. The password is never part
// of the returned error. The password's bytes are hashed as given: callers
// must not trim or re-encode them differently between enrolment and log-in.
func HashPassword(pw string, p Params) (string, error) {
	if err := p.validate(publicLimits); err != nil {
		return "", errs.Wrap(errs.Internal, "", "密码哈希参数无效", "invalid password hashing parameters",
			errors.New("credential: argon2id params: "+err.Error()))
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", errs.Wrap(errs.Internal, "", "无法生成随机数", "random source unavailable", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(maxEncodedLen)
	b.WriteString(phcPrefix)
	b.WriteString("m=")
	b.WriteString(strconv.FormatUint(uint64(p.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// parsePHC parses an argon2id PHC string. It accepts only the canonical
// encoding (the one encodePHC would produce for the same values), so no two
// distinct strings verify the same way, and it checks the parameters against
// lim before anything is allocated or computed.
func parsePHC(encoded string, lim limits) (p Params, salt, key []byte, err error) {
	if len(encoded) > maxEncodedLen {
		return p, nil, nil, errInvalidHash("too long")
	}
	rest, ok := strings.CutPrefix(encoded, phcPrefix)
	if !ok {
		return p, nil, nil, errInvalidHash("not an argon2id v=19 hash")
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return p, nil, nil, errInvalidHash("wrong number of fields")
	}
	m, t, par, ok := parseParams(parts[0])
	if !ok {
		return p, nil, nil, errInvalidHash("bad parameters")
	}
	p = Params{Memory: m, Time: t, Threads: par}
	// Bounds are checked on the text lengths first, so that decoding never
	// allocates more than maxKeyLen bytes.
	if n := len(parts[1]); n < base64.RawStdEncoding.EncodedLen(minSaltLen) || n > base64.RawStdEncoding.EncodedLen(maxSaltLen) {
		return p, nil, nil, errInvalidHash("salt length out of range")
	}
	if n := len(parts[2]); n < base64.RawStdEncoding.EncodedLen(minKeyLen) || n > base64.RawStdEncoding.EncodedLen(maxKeyLen) {
		return p, nil, nil, errInvalidHash("key length out of range")
	}
	salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[1])
	if err != nil {
		return p, nil, nil, errInvalidHash("bad salt encoding")
	}
	key, err = base64.RawStdEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return p, nil, nil, errInvalidHash("bad key encoding")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.validate(lim); err != nil {
		return p, nil, nil, errInvalidHash(err.Error())
	}
	// Canonical form only: this refuses leading zeros, "+" signs, and the
	// CR/LF characters the base64 decoder would otherwise skip.
	if encodePHC(p, salt, key) != encoded {
		return p, nil, nil, errInvalidHash("not in canonical form")
	}
	return p, salt, key, nil
}

// parseParams parses "m=<u32>,t=<u32>,p=<u8>" in that order.
func parseParams(s string) (m, t uint32, p uint8, ok bool) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, false
	}
	var vals [3]uint64
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, found := strings.CutPrefix(fields[i], name)
		if !found || v == "" || len(v) > 10 {
			return 0, 0, 0, false
		}
		for j := 0; j < len(v); j++ {
			if v[j] < '0' || v[j] > '9' {
				return 0, 0, 0, false
			}
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return 0, 0, 0, false
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return 0, 0, 0, false
	}
	return uint32(vals[0]), uint32(vals[1]), uint8(vals[2]), true
}

// VerifyPassword reports whether pw matches encoded, a PHC string from
// HashPassword (or any RFC 9106 implementation using the same format), and
// whether the hash should be replaced by a new HashPassword(pw, current)
// because its parameters are weaker than current: less memory, fewer
// passes, a shorter salt or a shorter tag. (Parallelism is not a strength
// parameter, so a different p alone does not ask for a rehash.)
// needsRehash is only ever true when ok is true.
//
// A wrong password is not an error: it gives ok=false and err=nil. err is
// non-nil (code errs.Invalid, field "password_hash") only when encoded is
// malformed, which means the stored value was damaged or tampered with.
//
// Safety: the tags are compared with crypto/subtle in constant time, so
// response timing reveals nothing about how much of a guess was right.
// Malformed input is refused before any hashing and never panics; only the
// canonical encoding is accepted; and the parameters taken from the string
// are bounded (memory ≤ 1 GiB, t ≤ 100, tag ≥ 16 bytes) so a tampered hash
// can neither exhaust the server nor make a random guess likely to match.
// Neither pw nor encoded appears in the error.
func VerifyPassword(encoded, pw string, current Params) (ok, needsRehash bool, err error) {
	return verifyPassword(encoded, pw, current, publicLimits)
}

func verifyPassword(encoded, pw string, current Params, lim limits) (ok, needsRehash bool, err error) {
	p, salt, key, err := parsePHC(encoded, lim)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	needsRehash = p.Memory < current.Memory || p.Time < current.Time ||
		p.SaltLen < current.SaltLen || p.KeyLen < current.KeyLen
	return true, needsRehash, nil
}
