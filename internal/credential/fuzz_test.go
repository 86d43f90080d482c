package credential

import (
	"strings"
	"testing"
	"time"

	"gigvault/internal/errs"
)

// fuzzParams are tiny so that the fuzzer runs many inputs a second.
var fuzzParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// fuzzLimits bound what the fuzzer may make VerifyPassword compute: the
// public limits (1 GiB, t=100) are checked by parsing every input with them,
// but hashing is only done under these.
var fuzzLimits = limits{memory: 1024, time: 2}

// fuzzKnownHash was produced once by HashPassword(fuzzKnownPassword,
// fuzzParams) and is also in testdata/fuzz/FuzzVerifyPassword.
const (
	fuzzKnownPassword = "correct horse battery staple"
	fuzzKnownHash     = "$argon2id$v=19$m=64,t=1,p=1$M6o1L7v7S7rSiKbIqByGeg$9JmSmkN6wnXKdXYUa9F1peYv1cgOB1n/hVaUEnHOxUs"
)

func TestFuzzKnownHash(t *testing.T) {
	if ok, _, err := VerifyPassword(fuzzKnownHash, fuzzKnownPassword, fuzzParams); !ok || err != nil {
		t.Fatalf("fuzzKnownHash does not verify: %v, %v", ok, err)
	}
}

// FuzzVerifyPassword: arbitrary strings never panic, malformed ones give an
// invalid *errs.Error, and nothing verifies except a (hash, password) pair
// that HashPassword produced.
func FuzzVerifyPassword(f *testing.F) {
	// Only a fixed hash can be a seed: the fuzzer re-runs this setup in
	// each worker process, so a hash made here would differ between the
	// process that records an input and the one that replays it.
	f.Add(fuzzKnownHash, fuzzKnownPassword)
	f.Add(fuzzKnownHash, "wrong")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		// Every input goes through the real parser and limits...
		_, _, _, perr := parsePHC(encoded, publicLimits)
		// ...but is only hashed if it is cheap.
		ok, rehash, err := verifyPassword(encoded, pw, fuzzParams, fuzzLimits)
		if err != nil {
			if ok || rehash {
				t.Fatalf("error with ok=%v needsRehash=%v", ok, rehash)
			}
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v: want code invalid", err)
			}
			// The password cannot reach the error: the error is the same
			// for any other password.
			if _, _, err2 := verifyPassword(encoded, pw+"\x00other", fuzzParams, fuzzLimits); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("error depends on the password: %q vs %v", err, err2)
			}
		} else if perr != nil {
			t.Fatalf("accepted under the fuzz limits but refused by the public ones: %v", perr)
		}
		if ok {
			if encoded != fuzzKnownHash || pw != fuzzKnownPassword {
				t.Fatalf("verified a hash HashPassword did not produce for this password: %q", encoded)
			}
		}
	})
}

// FuzzVerifyTOTP: arbitrary secrets, codes and clocks never panic, and an
// accepted code is six ASCII digits for a step within one of now and after
// lastStep.
func FuzzVerifyTOTP(f *testing.F) {
	f.Add(rfcSecret, "287082", int64(59), int64(-1))
	f.Add(rfcSecret, "081804", int64(1111111109), int64(0))
	f.Add("", "", int64(0), int64(0))
	f.Fuzz(func(t *testing.T, secret, code string, unix, lastStep int64) {
		step, ok := VerifyTOTP(secret, code, time.Unix(unix, 0), lastStep)
		if !ok {
			if step != 0 {
				t.Fatalf("refused with step %d", step)
			}
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("accepted code %q", code)
		}
		if cur := unix / 30; step < cur-1 || step > cur+1 || step <= lastStep {
			t.Fatalf("step %d: now's step %d, lastStep %d", step, unix/30, lastStep)
		}
	})
}
