package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"gigvault/internal/app"
	"gigvault/internal/identity"
	"gigvault/internal/testenv"
)

// admin create bootstraps a security administrator with TOTP enrolment;
// weak passwords and forbidden role combinations are refused, and the new
// account signs in with password and TOTP.
func TestAdminCreate(t *testing.T) {
	for _, e := range testenv.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			b := newBinEnv(t, e)
			run := func(pw string, args ...string) (string, error) {
				c := b.cmd(append([]string{"admin", "create"}, args...)...)
				c.Env = append(c.Env, "GIGVAULT_ADMIN_PASSWORD="+pw)
				out, err := c.CombinedOutput()
				return string(out), err
			}
			if out, err := run("password123", "--login", "sec.one"); err == nil || !strings.Contains(out, "password") {
				t.Fatalf("weak password accepted: %v\n%s", err, out)
			}
			if out, err := run("correct horse battery staple 42", "--login", "sec.two", "--roles", "audit_admin,system_admin"); err == nil || !strings.Contains(out, "role_conflict") && !strings.Contains(out, "audit and security administrators") {
				t.Fatalf("role conflict accepted: %v\n%s", err, out)
			}
			const pw = "correct horse battery staple 42"
			out, err := run(pw, "--login", "sec.one")
			if err != nil {
				t.Fatalf("admin create: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`otpauth://totp/\S+`).FindString(out)
			if m == "" || !strings.Contains(out, "█") {
				t.Fatalf("no otpauth URI or QR code:\n%s", out)
			}
			if strings.Contains(out, pw) {
				t.Fatal("the chosen password was echoed")
			}
			u, _ := url.Parse(m)
			c, err := app.Open(context.Background(), b.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			code, _ := totp.GenerateCode(u.Query().Get("secret"), time.Now())
			res, err := c.Identity.LoginStaff(context.Background(), identity.StaffLogin{LoginName: "sec.one", Password: pw, TOTP: code})
			if err != nil {
				t.Fatalf("log-in of the created admin: %v", err)
			}
			if len(res.Account.Roles) != 1 || res.Account.Roles[0] != "security_admin" {
				t.Fatalf("roles %v", res.Account.Roles)
			}
		})
	}
}

// serveOnce starts serve with args, waits until it serves, stops it and
// returns its stderr.
func serveOnce(t *testing.T, b binEnv, args ...string) string {
	t.Helper()
	cmd := b.cmd(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var logs syncBuffer
	up := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteLine(sc.Text())
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "gigvault serving" {
				up <- struct{}{}
			}
		}
	}()
	select {
	case <-up:
	case <-done:
		t.Fatalf("serve exited:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-done
	_ = cmd.Wait()
	return logs.String()
}

// Development creates one demo administrator, printed once; production
// never has a default account and refuses the console SMS gateway (ACC-4).
func TestDefaultAccounts(t *testing.T) {
	e := testenv.Engines(t)[0]
	dev := newBinEnv(t, e)
	first := serveOnce(t, dev)
	if !strings.Contains(first, "demo security administrator") || !strings.Contains(first, "otpauth://") {
		t.Fatalf("dev: no demo admin announced:\n%s", first)
	}
	if second := serveOnce(t, dev); strings.Contains(second, "demo security administrator") {
		t.Fatalf("dev: demo admin created twice:\n%s", second)
	}

	prod := newBinEnv(t, e)
	c := prod.cmd("serve", "--addr", "127.0.0.1:0", "--env", "production", "--sms-gateway", "console")
	if out, err := c.CombinedOutput(); err == nil || !strings.Contains(string(out), "console SMS gateway") {
		t.Fatalf("production with the console gateway: %v\n%s", err, out)
	}
	logs := serveOnce(t, prod, "--env", "production")
	if strings.Contains(logs, "demo security administrator") || strings.Contains(logs, "otpauth://") {
		t.Fatalf("production announced a default account:\n%s", logs)
	}
	if !strings.Contains(logs, "no SMS gateway configured") {
		t.Fatalf("production without a gateway did not say so:\n%s", logs)
	}
	cfg := prod.cfg
	cfg.Env = "production"
	core, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	if has, err := core.Identity.HasStaff(context.Background()); err != nil || has {
		t.Fatalf("production has a staff account: %v %v", has, err)
	}
}
