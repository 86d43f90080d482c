// Command gigvault runs the gigvault server and its operator tools.
//
//	gigvault serve            run the API server
//	gigvault migrate          bring the databases' schemas up to date
//	gigvault audit verify     recompute the audit chain and check its signatures
//	gigvault keys status      show key versions and counts (never key bytes)
//	gigvault keys rotate      add a KEK version and re-wrap every data key, online
//	gigvault keys init-platform  create the platform contract key, split among key officers
//	gigvault keys unseal      present a key officer's share to a running server
//	gigvault contract verify  check a downloaded electronic contract
//	gigvault report regulator write the signed compliance package for a regulator
//	gigvault retention run    delete what retention no longer allows (--dry-run: show it)
//	gigvault demo seed        write synthetic workers through the vault (GIG-8)
//	gigvault version          print the version
//
// Every command takes --help. Configuration comes from flags, then
// GIGVAULT_* environment variables, then safe defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

type command struct {
	name, summary string
	run           func(ctx context.Context, env *runEnv, args []string) error
}

// runEnv is what a command writes to; tests replace it.
type runEnv struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"serve", "run the API server", cmdServe},
		{"migrate", "bring the database schemas up to date", cmdMigrate},
		{"audit verify", "recompute the audit chain and check checkpoint signatures", cmdAuditVerify},
		{"keys status", "show key versions, data-key counts and cache figures", cmdKeysStatus},
		{"keys rotate", "add a KEK version and re-wrap every data key while serving", cmdKeysRotate},
		{"demo seed", "write synthetic workers through the vault (GIG-8)", cmdDemoSeed},
		{"admin create", "create a staff account with TOTP enrolment (the first security admin)", cmdAdminCreate},
		{"consent verify-receipt", "check a signed consent receipt file", cmdConsentVerifyReceipt},
		{"keys init-platform", "create the platform contract signing key, split among key officers (ENC-7)", cmdKeysInitPlatform},
		{"keys unseal", "present a key officer's share of the platform key to a running server", cmdKeysUnseal},
		{"contract verify", "check a downloaded electronic contract file", cmdContractVerify},
		{"report regulator", "write the signed compliance package for a regulator (GIG-9)", cmdReportRegulator},
		{"report verify", "check a signed regulator package", cmdReportVerify},
		{"retention run", "delete what retention no longer allows, audited; --dry-run shows it", cmdRetentionRun},
		{"version", "print the version", cmdVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &runEnv{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "gigvault:", err)
		}
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

// errReported means the command already told the user what went wrong.
var errReported = errors.New("reported")

func run(ctx context.Context, env *runEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stdout)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c.run(ctx, env, args[len(words):])
		}
	}
	usage(env.stderr)
	return fmt.Errorf("unknown command %q", strings.Join(args, " "))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "gigvault — a gig-work platform backend whose personal information lives in a vault")
	fmt.Fprintln(w, "\nUsage: gigvault <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'gigvault <command> --help' for a command's flags.")
}

func cmdVersion(_ context.Context, env *runEnv, args []string) error {
	fs := newFlagSet("version", "print the version", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "gigvault", version)
	return nil
}

func newFlagSet(name, summary string, env *runEnv) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "gigvault %s — %s\n\nFlags (each also read from the GIGVAULT_* variable named in brackets):\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	return slog.New(obsHandler(w, l)), nil
}
