package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"gigvault/internal/app"
	"gigvault/internal/credential"
	"gigvault/internal/identity"
	"gigvault/internal/policy"
	"gigvault/internal/vault"
)

// cmdAdminCreate creates a staff account, by default the first security
// administrator, and prints its TOTP enrolment (otpauth URI and a terminal
// QR code). The password is read from GIGVAULT_ADMIN_PASSWORD(_FILE), from
// the terminal, or generated and printed once.
func cmdAdminCreate(ctx context.Context, env *runEnv, args []string) error {
	var login, roles string
	var generate bool
	return withCore(ctx, env, args, "admin create", "create a staff account with TOTP enrolment", func(fs *flag.FlagSet) {
		fs.StringVar(&login, "login", "", "login name (3-32 lower-case letters, digits, . _ -)")
		fs.StringVar(&roles, "roles", "security_admin", "comma-separated staff roles")
		fs.BoolVar(&generate, "generate-password", false, "generate a strong password and print it once")
	}, func(c *app.Core) error {
		if login == "" {
			return errors.New("admin create: --login is required")
		}
		var rs []policy.Role
		for _, r := range strings.Split(roles, ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, policy.Role(r))
			}
		}
		pw := ""
		if !generate {
			var err error
			if pw, err = readAdminPassword(env); err != nil {
				return err
			}
		}
		enr, err := c.Identity.CreateStaff(ctx, vault.Actor{ID: "cli:admin-create", Channel: "cli"}, login, rs, pw)
		if err != nil {
			return err
		}
		printEnrolment(env.stdout, enr)
		return nil
	})
}

// readAdminPassword takes the password from the environment or a file, or
// asks twice on a terminal.
func readAdminPassword(env *runEnv) (string, error) {
	if v := env.getenv("GIGVAULT_ADMIN_PASSWORD"); v != "" {
		return v, nil
	}
	if f := env.getenv("GIGVAULT_ADMIN_PASSWORD_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("GIGVAULT_ADMIN_PASSWORD_FILE: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		if line = strings.TrimRight(line, "\r\n"); line == "" {
			return "", errors.New("admin create: no password: set GIGVAULT_ADMIN_PASSWORD(_FILE), pipe one in, or use --generate-password")
		}
		return line, nil
	}
	fmt.Fprintf(env.stderr, "Password (at least %d characters): ", credential.MinPasswordRunes)
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(env.stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(a) != string(b) {
		return "", errors.New("admin create: the passwords differ")
	}
	return string(a), nil
}

func printEnrolment(w io.Writer, enr identity.StaffEnrolment) {
	fmt.Fprintf(w, "Created staff account %s (%s), roles %v.\n", enr.Account.LoginName, enr.Account.ID, enr.Account.Roles)
	if enr.Password != "" {
		fmt.Fprintf(w, "Password (shown once, change it after the first log-in): %s\n", enr.Password)
	}
	fmt.Fprintf(w, "Enrol the one-time-password app by scanning the code below, or enter this URI (shown once):\n%s\n\n", enr.TOTPURI)
	credential.WriteQR(w, enr.TOTPURI)
}

// demoAdmin gives a development server a security administrator with a
// random password, printed once; production never has a default account
// (ACC-4).
func demoAdmin(ctx context.Context, env *runEnv, c *app.Core) error {
	if c.Cfg.Production() {
		return nil
	}
	has, err := c.Identity.HasStaff(ctx)
	if err != nil || has {
		return err
	}
	enr, err := c.Identity.CreateStaff(ctx, vault.Actor{ID: "cli:demo-admin", Channel: "cli"}, "demo.admin", []policy.Role{policy.SecurityAdmin}, "")
	if err != nil {
		return fmt.Errorf("serve: demo admin: %w", err)
	}
	fmt.Fprintln(env.stderr, "DEVELOPMENT ONLY — a demo security administrator was created (never in production):")
	printEnrolment(env.stderr, enr)
	return nil
}
