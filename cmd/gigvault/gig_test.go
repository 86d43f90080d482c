package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/contract"
	"gigvault/internal/esign"
	"gigvault/internal/sealkey"
	"gigvault/internal/testenv"
)

// runBin runs the binary and returns its combined output and exit code.
func runBin(t *testing.T, b binEnv, args ...string) (string, int) {
	t.Helper()
	out, err := b.cmd(args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("gigvault %v: %v\n%s", args, err, out)
	return "", -1
}

// keys init-platform writes one share file per officer (mode 0600); any
// two of them unseal the key and one does not; a second init is refused.
// A contract signed with it verifies with contract verify, against the
// registry and offline, and fails with one byte changed.
func TestPlatformKeyAndContractVerifyCLI(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			b := newBinEnv(t, e)
			dir := t.TempDir()
			out, code := runBin(t, b, "keys", "init-platform", "--officers", "3", "--threshold", "2", "--out", dir)
			if code != 0 || !strings.Contains(out, "2 of 3 officers") {
				t.Fatalf("init-platform: exit %d\n%s", code, out)
			}
			var shares []sealkey.Share
			for i := 1; i <= 3; i++ {
				p := filepath.Join(dir, "officer-"+string(rune('0'+i))+".share")
				st, err := os.Stat(p)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Fatalf("share file %s: %v %v", p, st, err)
				}
				raw, _ := os.ReadFile(p)
				sh, err := sealkey.ParseShare(strings.TrimSpace(string(raw)))
				if err != nil {
					t.Fatalf("share %d: %v", i, err)
				}
				shares = append(shares, sh)
			}
			if out, code := runBin(t, b, "keys", "init-platform", "--out", t.TempDir()); code == 0 {
				t.Errorf("a second init-platform: exit 0\n%s", out)
			}

			c, err := app.Open(ctx, b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			u, err := c.PlatformUnsealer(ctx)
			if err != nil || u == nil {
				t.Fatalf("unsealer: %v", err)
			}
			if _, err := u.Submit("officer-a", shares[0]); err != nil {
				t.Fatal(err)
			}
			if _, ok := c.Keys.PlatformSigner(); ok {
				t.Fatal("one share unsealed the platform key")
			}
			if st, err := u.Submit("officer-b", shares[2]); err != nil || st.Sealed {
				t.Fatalf("two shares: %+v %v", st, err)
			}
			platform, ok := c.Keys.PlatformSigner()
			if !ok {
				t.Fatal("two shares did not unseal the platform key")
			}
			// A contract signed by a worker key and the platform key.
			subject := testenv.Subjects(t, c, "worker", 1)[0]
			tpl := contract.Template{ID: "tpl-1", Name: "劳务协议", Version: 1, Body: "<p>甲方：{{.worker_name}}</p><p>报酬：{{.pay}}</p>"}
			now := time.Now().UTC().Truncate(time.Second)
			doc, err := contract.Render(tpl, map[string]string{"worker_name": "张三", "pay": "每小时25元"},
				contract.Meta{ContractID: "c-1", OrgName: "示例公司", ValidFrom: now, ValidUntil: now.Add(24 * time.Hour), CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			worker, err := c.Suite.GenerateSigner()
			if err != nil {
				t.Fatal(err)
			}
			var sigs []contract.Signature
			for _, s := range []struct {
				party, signer string
				key           interface {
					Sign([]byte) ([]byte, error)
					Verify([]byte, []byte) bool
					PublicBytes() []byte
					PrivateBytes() []byte
				}
			}{{contract.PartyWorker, subject, worker}, {contract.PartyPlatform, esign.PlatformSigner, platform}} {
				sg, err := contract.Sign(s.key, contract.SignedPayload{ContractID: "c-1", DocumentDigest: doc.Digest(c.Suite), Party: s.party,
					Signer: s.signer, KeyID: contract.KeyID(c.Suite, s.key.PublicBytes()), SignedAt: now})
				if err != nil {
					t.Fatal(err)
				}
				sigs = append(sigs, sg)
			}
			f, err := contract.NewFile(c.Suite, doc, sigs...)
			if err != nil {
				t.Fatal(err)
			}
			file, err := f.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			good := filepath.Join(dir, "contract.json")
			if err := os.WriteFile(good, file, 0o600); err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(file, []byte("每小时25元"))
			bad := bytes.Clone(file)
			bad[i+len("每小时")] = '3'
			badFile := filepath.Join(dir, "contract-changed.json")
			if err := os.WriteFile(badFile, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			c.Close()

			// The worker key is not in the registry yet: against the
			// registry the file fails, offline it passes.
			if out, code := runBin(t, b, "contract", "verify", good); code == 0 || !strings.Contains(out, "FAIL") {
				t.Errorf("an unregistered worker key passed against the registry: exit %d\n%s", code, out)
			}
			if out, code := runBin(t, b, "contract", "verify", "--offline", good); code != 0 || !strings.HasPrefix(out, "  worker signature") || !strings.Contains(out, "OK "+good) {
				t.Errorf("offline: exit %d\n%s", code, out)
			}
			c2, err := app.Open(ctx, b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c2.DB.Exec(ctx, `INSERT INTO signing_keys (key_id, owner, algorithm, public_key, created_at) VALUES (?, ?, ?, ?, ?)`,
				contract.KeyID(c2.Suite, worker.PublicBytes()), subject, c2.Suite.Name(), worker.PublicBytes(), now.UnixMicro()); err != nil {
				t.Fatal(err)
			}
			c2.Close()
			if out, code := runBin(t, b, "contract", "verify", good); code != 0 || !strings.Contains(out, "OK "+good) {
				t.Errorf("against the registry: exit %d\n%s", code, out)
			}
			for _, args := range [][]string{{"contract", "verify", badFile}, {"contract", "verify", "--offline", badFile}} {
				if out, code := runBin(t, b, args...); code == 0 || !strings.Contains(out, "FAIL") || strings.Contains(out, "\nOK ") {
					t.Errorf("%v: one byte changed passed: exit %d\n%s", args, code, out)
				}
			}
		})
	}
}

// report regulator writes a signed package that report verify accepts,
// and refuses with one byte changed.
func TestReportRegulatorCLI(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			b := newBinEnv(t, e)
			c, err := app.Open(context.Background(), b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			subjects := testenv.Subjects(t, c, "worker", 3)
			c.Close()
			dir := t.TempDir()
			pkg := filepath.Join(dir, "report.json")
			from := time.Now().AddDate(0, 0, -7).Format("2006-01-02")
			if out, code := runBin(t, b, "report", "regulator", "--from", from, "--out", pkg); code != 0 {
				t.Fatalf("report regulator: exit %d\n%s", code, out)
			}
			raw, err := os.ReadFile(pkg)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"format":"gigvault-regulator-report/1"`, `"pi_collected"`, `"third_party_sharing"`, `"signature"`} {
				if !bytes.Contains(raw, []byte(want)) {
					t.Errorf("the package lacks %s", want)
				}
			}
			for _, s := range subjects {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("the package names subject %s", s)
				}
			}
			if out, code := runBin(t, b, "report", "verify", pkg); code != 0 || !strings.HasPrefix(out, "OK ") {
				t.Errorf("report verify: exit %d\n%s", code, out)
			}
			i := bytes.Index(raw, []byte(`"total":`)) + len(`"total":`)
			bad := bytes.Clone(raw)
			if bad[i] == '9' {
				bad[i] = '8'
			} else {
				bad[i]++
			}
			badFile := filepath.Join(dir, "report-changed.json")
			if err := os.WriteFile(badFile, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, code := runBin(t, b, "report", "verify", badFile); code == 0 || !strings.HasPrefix(out, "FAIL ") {
				t.Errorf("one byte changed: exit %d\n%s", code, out)
			}
			if out, code := runBin(t, b, "report", "regulator", "--from", "2026-13-01"); code == 0 {
				t.Errorf("a bad date: exit 0\n%s", out)
			}
		})
	}
}
