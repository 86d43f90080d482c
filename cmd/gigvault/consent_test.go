package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gigvault/internal/app"
	"gigvault/internal/consent"
	"gigvault/internal/receipt"
	"gigvault/internal/testenv"
)

// consent verify-receipt checks a receipt file against the key store or a
// published key: a receipt signed by the core verifies; with one byte
// changed, or against another key or another key store, it fails with a
// non-zero exit.
func TestConsentVerifyReceiptCLI(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			b := newBinEnv(t, e)
			c, err := app.Open(ctx, b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			subject := testenv.Subjects(t, c, "worker", 1)[0]
			const scope = "function:marketing"
			n, err := c.ConsentService.NoticeFor(ctx, scope)
			if err != nil {
				t.Fatal(err)
			}
			ev, signed, err := c.ConsentService.Act(ctx, consent.Request{Subject: subject, Scope: scope, Scopes: 1, Event: consent.Agree,
				Explicit: true, PolicyVersion: n.PolicyVersion, NoticeDigest: n.Digest, Channel: "app", Group: consent.Adult,
				By: consent.BySubject, Actor: "test:cli"})
			if err != nil {
				t.Fatal(err)
			}
			file, err := signed.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			kid, pub := c.Keys.ReceiptPublicKey()
			alg, err := receipt.AlgForSuite(c.Suite)
			if err != nil {
				t.Fatal(err)
			}
			other, err := c.Suite.GenerateSigner()
			if err != nil {
				t.Fatal(err)
			}
			c.Close()

			dir := t.TempDir()
			write := func(name string, body []byte) string {
				t.Helper()
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, body, 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			good := write("receipt.json", file)
			// One byte changed inside the notice digest: still a canonical,
			// well-formed file, so only the signature can tell.
			i := bytes.Index(file, []byte(`"notice_digest":"`)) + len(`"notice_digest":"`)
			bad := bytes.Clone(file)
			if bad[i] == 'a' {
				bad[i] = 'b'
			} else {
				bad[i] = 'a'
			}
			badFile := write("receipt-changed.json", bad)
			keysJSON, _ := json.Marshal(map[string]any{"keys": []map[string]string{{"kid": kid, "alg": alg, "public_key": hex.EncodeToString(pub)}}})
			keysFile := write("receipt-keys.json", keysJSON)
			pubHex := hex.EncodeToString(pub)

			run := func(env binEnv, args ...string) (string, int) {
				t.Helper()
				cmd := env.cmd(append([]string{"consent", "verify-receipt"}, args...)...)
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				switch {
				case err == nil:
					return string(out), 0
				case errors.As(err, &exit):
					return string(out), exit.ExitCode()
				}
				t.Fatalf("consent verify-receipt %v: %v\n%s", args, err, out)
				return "", -1
			}
			ok := func(what string, env binEnv, args ...string) {
				t.Helper()
				out, code := run(env, args...)
				want := "OK: receipt " + ev.ID + " — agree of " + scope + " under policy " + n.PolicyVersion
				if code != 0 || !strings.HasPrefix(out, want) {
					t.Errorf("%s: exit %d\n%s\nwant exit 0 and %q", what, code, out, want)
				}
			}
			fails := func(what string, env binEnv, args ...string) {
				t.Helper()
				out, code := run(env, args...)
				if code == 0 || !strings.HasPrefix(out, "FAIL: ") || strings.Contains(out, "OK:") {
					t.Errorf("%s: exit %d\n%s\nwant a non-zero exit and FAIL", what, code, out)
				}
			}

			ok("with the key store", b, good)
			ok("with --public-key HEX", b, "--public-key", pubHex, good)
			ok("with the file before --public-key", b, good, "--public-key", pubHex)
			ok("with the key store and a flag taking a value before the file", b, "--log-level", "error", good)
			ok("with --public-key @FILE of /public/receipt-keys", b, "--public-key", "@"+keysFile, good)
			fails("one byte changed, key store", b, badFile)
			fails("one byte changed, --public-key", b, "--public-key", pubHex, badFile)
			fails("another public key", b, "--public-key", hex.EncodeToString(other.PublicBytes()), good)
			fails("another key store", newBinEnv(t, e), good)
			if out, code := run(b, "--public-key", "not-hex", good); code == 0 || strings.Contains(out, "OK:") {
				t.Errorf("a --public-key that is not hex: exit %d\n%s", code, out)
			}
			if out, code := run(b, filepath.Join(dir, "missing.json")); code == 0 || strings.Contains(out, "OK:") {
				t.Errorf("a missing file: exit %d\n%s", code, out)
			}
		})
	}
}
