package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"gigvault/internal/app"
	"gigvault/internal/catalog"
	"gigvault/internal/demo"
	"gigvault/internal/functions"
	"gigvault/internal/policydoc"
	"gigvault/internal/testenv"
	"gigvault/internal/thirdparty"
	"gigvault/internal/vault"
)

var binPath string

// TestMain builds the real binary once; the tests below run it as an
// operator would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gigvault-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "gigvault")
	// Built without -race even under `go test -race`: the binary is exercised
	// end to end here; the race detector covers the packages' own tests.
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binEnv is one engine's configuration as environment variables for the binary.
type binEnv struct {
	cfg app.Config
	env []string
}

func newBinEnv(t *testing.T, e testenv.Engine) binEnv {
	cfg := e.Config(t)
	cfg.Clock = nil
	env := append(os.Environ(), "GIGVAULT_DATA_DIR="+cfg.DataDir, "GIGVAULT_MASTER_KEY="+testenv.TestKey)
	if cfg.DatabaseURL != "" {
		env = append(env, "GIGVAULT_DATABASE_URL="+cfg.DatabaseURL)
	}
	return binEnv{cfg: cfg, env: env}
}

func (b binEnv) cmd(args ...string) *exec.Cmd {
	c := exec.Command(binPath, args...)
	c.Env = b.env
	return c
}

func readLines(t *testing.T, path string) []demo.Line {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []demo.Line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var l demo.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			break // a line cut by SIGKILL: not acknowledged
		}
		out = append(out, l)
	}
	return out
}

// needles are the sensitive values to hunt for, at least 6 bytes long so a
// chance match in ciphertext is practically impossible.
type needles struct {
	byPrefix map[[6]byte][][]byte
	n        int
}

func sensitiveNeedles(t *testing.T, lines []demo.Line) *needles {
	t.Helper()
	ns := &needles{byPrefix: map[[6]byte][][]byte{}}
	cat := catalog.Default()
	// Words of the published privacy policy (stored in clear, as it is
	// public) are vocabulary, not a person's data: a synthetic job intent
	// of "客服" is not leaked by a policy that names customer service.
	src := policydoc.Sources{Catalog: cat, Functions: functions.Default(cat), ThirdParty: thirdparty.Default(cat)}
	pol, err := policydoc.Render(src, policydoc.Meta{Version: "1", SummaryZh: "-", SummaryEn: "-", EffectiveAt: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	kids, err := policydoc.RenderChildren(src, policydoc.Meta{Version: "1", SummaryZh: "-", SummaryEn: "-", EffectiveAt: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := pol.JSON()
	kj, _ := kids.JSON()
	public := string(pj) + string(kj)
	for _, l := range lines {
		for k, v := range l.Fields {
			name, _, _ := strings.Cut(k, "#")
			f, ok := cat.Field(name)
			if !ok || !f.Sensitive || !distinctive(v) || strings.Contains(public, v) {
				continue
			}
			var p [6]byte
			copy(p[:], v)
			ns.byPrefix[p] = append(ns.byPrefix[p], []byte(v))
			ns.n++
		}
	}
	if ns.n < 1000 {
		t.Fatalf("only %d sensitive values to hunt for", ns.n)
	}
	return ns
}

// distinctive reports whether v is long or unusual enough that finding it
// by chance in ciphertext, UUIDs or timestamps is practically impossible:
// 8 bytes at least, or 6 with something other than hex digits.
func distinctive(v string) bool {
	if len(v) >= 8 {
		return true
	}
	if len(v) < 6 {
		return false
	}
	return strings.Trim(v, "0123456789abcdefABCDEF") != ""
}

// find returns the first needle found in hay, or "".
func (ns *needles) find(hay []byte) string {
	var p [6]byte
	for i := 0; i+6 <= len(hay); i++ {
		copy(p[:], hay[i:i+6])
		for _, nd := range ns.byPrefix[p] {
			if bytes.HasPrefix(hay[i:], nd) {
				return string(nd)
			}
		}
	}
	return ""
}

// Canary: seed 1,000 synthetic workers; no sensitive plaintext appears in
// the raw SQLite files, in a raw dump of every PostgreSQL table, or in the logs.
func TestCanaryNoPlaintextAtRest(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			b := newBinEnv(t, e)
			plain := filepath.Join(t.TempDir(), "plain.jsonl")
			cmd := b.cmd("demo", "seed", "--subjects", "1000", "--seed", "7", "--plaintext-out", plain, "--log-level", "debug")
			var logs bytes.Buffer
			cmd.Stderr = &logs
			if out, err := cmd.Output(); err != nil {
				t.Fatalf("seed: %v\n%s\n%s", err, out, logs.String())
			}
			lines := readLines(t, plain)
			if len(lines) != 1000 {
				t.Fatalf("%d plaintext lines", len(lines))
			}
			ns := sensitiveNeedles(t, lines)
			if leak := ns.find(logs.Bytes()); leak != "" {
				t.Fatalf("logs hold plaintext %q", leak)
			}
			scanned := 0
			if !e.Postgres() {
				for _, f := range []string{"gigvault.db", "gigvault.db-wal", "keys.db", "keys.db-wal"} {
					raw, err := os.ReadFile(filepath.Join(b.cfg.DataDir, f))
					if os.IsNotExist(err) {
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					scanned += len(raw)
					if leak := ns.find(raw); leak != "" {
						t.Fatalf("%s holds plaintext %q", f, leak)
					}
				}
			} else {
				kms, err := b.cfg.KMSConfig()
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range []string{b.cfg.DatabaseURL, kms.URL} {
					dump, _ := testenv.DumpSchema(t, u)
					scanned += len(dump)
					if leak := ns.find(dump); leak != "" {
						t.Fatalf("a PostgreSQL table holds plaintext %q", leak)
					}
				}
			}
			if scanned < 1<<20 {
				t.Fatalf("scanned only %d bytes: the data is not where the test looks", scanned)
			}
			// The canary can bite: the plaintext file itself is full of needles.
			raw, _ := os.ReadFile(plain)
			if ns.find(raw) == "" {
				t.Fatal("needle search finds nothing even in the plaintext file")
			}
		})
	}
}

// SIGKILL during writes: every acknowledged write is readable after a
// restart, and audit verify passes.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			b := newBinEnv(t, e)
			plain := filepath.Join(t.TempDir(), "plain.jsonl")
			cmd := b.cmd("demo", "seed", "--subjects", "100000", "--seed", "9", "--plaintext-out", plain)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for {
				if raw, err := os.ReadFile(plain); err == nil && bytes.Count(raw, []byte("\n")) >= 300 {
					break
				}
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					t.Fatal("seed made no progress")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			lines := readLines(t, plain)
			if len(lines) < 200 {
				t.Fatalf("only %d acknowledged subjects", len(lines))
			}
			// Restart: every acknowledged value reads back exactly.
			c := testenv.Open(t, b.cfg)
			actor := vault.Actor{ID: "test:restart", Channel: "test"}
			checked := 0
			for _, l := range lines {
				for k, want := range l.Fields {
					field, rec, _ := strings.Cut(k, "#")
					rv, err := c.Issuer.Issue(actor.ID, l.Subject, field, rec, "test", "verify acknowledged write", time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					got, err := c.Vault.Get(context.Background(), actor, "test", l.Subject, field, rec, rv)
					if err != nil || got.Text != want {
						t.Fatalf("subject %s %s after SIGKILL: %v (value differs: %v)", l.Subject, k, err, got.Text != want)
					}
					checked++
					if checked > 3000 {
						break
					}
				}
			}
			c.Close()
			out, err := b.cmd("audit", "verify").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK:") {
				t.Fatalf("audit verify after SIGKILL: %v\n%s", err, out)
			}
		})
	}
}

// serve: health, readiness, metrics and security headers, then SIGTERM
// drains and exits cleanly.
func TestServeAndGracefulStop(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("signals")
	}
	b := newBinEnv(t, testenv.Engines(t)[0])
	cmd := b.cmd("serve", "--addr", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var logs syncBuffer
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteLine(line)
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "gigvault serving" {
				urlc <- m["url"].(string)
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", logs.String())
	}
	checkServe(t, base)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if !strings.Contains(logs.String(), "in-flight requests drained") {
		t.Fatalf("no drain message:\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) WriteLine(l string) {
	s.mu.Lock()
	s.b.WriteString(l + "\n")
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Production refuses what development allows.
func TestProductionRefusals(t *testing.T) {
	dir := t.TempDir()
	run := func(env []string, args ...string) (string, error) {
		c := exec.Command(binPath, args...)
		c.Env = append(os.Environ(), env...)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := run(nil, "migrate", "--data-dir", dir, "--env", "production"); err == nil || !strings.Contains(out, "no master key") {
		t.Fatalf("production without a key: %v\n%s", err, out)
	}
	if out, err := run(nil, "migrate", "--data-dir", dir); err != nil {
		t.Fatalf("dev migrate: %v\n%s", err, out)
	}
	if out, err := run([]string{"GIGVAULT_MASTER_KEY_FILE=" + filepath.Join(dir, "master.key")}, "migrate", "--data-dir", dir, "--env", "production"); err == nil || !strings.Contains(out, "development key") {
		t.Fatalf("production with the generated key: %v\n%s", err, out)
	}
	if out, err := run([]string{"GIGVAULT_MASTER_KEY=" + testenv.TestKey}, "demo", "seed", "--data-dir", t.TempDir(), "--env", "production"); err == nil || !strings.Contains(out, "GIG-8") {
		t.Fatalf("demo seed in production: %v\n%s", err, out)
	}
	// A bad catalog stops start-up naming file and line.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nfields:\n  - name: Mobile\n"), 0o600)
	if out, err := run(nil, "migrate", "--data-dir", dir, "--catalog", bad); err == nil || !strings.Contains(out, bad+":") {
		t.Fatalf("bad catalog: %v\n%s", err, out)
	}
	// A file that is not a gigvault database.
	junkDir := t.TempDir()
	os.WriteFile(filepath.Join(junkDir, "keys.db"), []byte("not a database at all, just text"), 0o600)
	if out, err := run(nil, "migrate", "--data-dir", junkDir); err == nil || !strings.Contains(out, "not a gigvault database") {
		t.Fatalf("junk database: %v\n%s", err, out)
	}
	if out, err := run(nil, "frobnicate"); err == nil || !strings.Contains(out, "unknown command") {
		t.Fatalf("unknown command: %v\n%s", err, out)
	}
	for _, c := range commands() {
		out, err := run(nil, append(strings.Fields(c.name), "--help")...)
		if err != nil || !strings.Contains(out, "gigvault "+c.name) {
			t.Errorf("%s --help: %v\n%s", c.name, err, out)
		}
	}
}

// audit verify exits non-zero and names the entry when the chain was changed.
func TestAuditVerifyCommandNamesTampering(t *testing.T) {
	b := newBinEnv(t, testenv.Engines(t)[0])
	if out, err := b.cmd("demo", "seed", "--subjects", "30", "--seed", "3").CombinedOutput(); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	if out, err := b.cmd("audit", "verify").CombinedOutput(); err != nil || !strings.Contains(string(out), "OK: 30 entries") {
		t.Fatalf("clean verify: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(b.cfg.DataDir, "gigvault.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DROP TRIGGER audit_entries_no_update`, `UPDATE audit_entries SET actor = 'staff:someone' WHERE seq = 17`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	out, err := b.cmd("audit", "verify").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "audit entry 17: modified") {
		t.Fatalf("tampered verify: %v\n%s", err, out)
	}
}
