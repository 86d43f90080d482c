package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/contract"
	"gigvault/internal/receipt"
	"gigvault/internal/report"
	"gigvault/internal/thirdparty"
)

// cmdKeysInitPlatform creates the platform contract signing key and writes
// one Shamir share per key officer (ENC-7). Each file is given to one
// officer and then deleted from this machine.
func cmdKeysInitPlatform(ctx context.Context, env *runEnv, args []string) error {
	var officers, threshold int
	var out string
	return withCore(ctx, env, args, "keys init-platform", "create the platform contract signing key and split its unlock key among key officers",
		func(fs *flag.FlagSet) {
			fs.IntVar(&officers, "officers", 3, "number of key officers (shares), 2–16")
			fs.IntVar(&threshold, "threshold", 2, "shares needed to unseal, at least 2")
			fs.StringVar(&out, "out", "", "directory for the share files (created, mode 0700); required")
		}, func(c *app.Core) error {
			if out == "" {
				return errors.New("keys init-platform: --out DIR is required")
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			shares, pk, err := c.Keys.InitPlatform(ctx, officers, threshold)
			if err != nil {
				return err
			}
			keyID, err := c.ESign.RegisterPlatformKey(ctx, pk.Public)
			if err != nil {
				return err
			}
			for i, sh := range shares {
				f := filepath.Join(out, fmt.Sprintf("officer-%d.share", i+1))
				if err := os.WriteFile(f, []byte(sh.String()+"\n"), 0o600); err != nil {
					return err
				}
				sh.Wipe()
				fmt.Fprintf(env.stdout, "share %d of %d: %s\n", i+1, len(shares), f)
			}
			fmt.Fprintf(env.stdout, "platform key %s (share set %s): %d of %d officers unseal it with gigvault keys unseal\n",
				keyID, pk.Set, threshold, officers)
			fmt.Fprintln(env.stdout, "hand each file to a different key officer, then delete it here")
			return nil
		})
}

// cmdKeysUnseal presents one key officer's share to a running server. The
// officer signs in first; their session token comes from GIGVAULT_TOKEN,
// the share from --share-file or standard input.
func cmdKeysUnseal(ctx context.Context, env *runEnv, args []string) error {
	fs := newFlagSet("keys unseal", "present this key officer's share of the platform key to a running server", env)
	server := fs.String("server", envOr(env, "GIGVAULT_SERVER", "http://127.0.0.1:8080"), "the server's base URL (env GIGVAULT_SERVER)")
	shareFile := fs.String("share-file", "", "file holding the share; default: read one line from standard input")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := env.getenv("GIGVAULT_TOKEN")
	if token == "" {
		return errors.New("keys unseal: sign in as a key officer and set GIGVAULT_TOKEN to the session token")
	}
	var line string
	if *shareFile != "" {
		b, err := os.ReadFile(*shareFile)
		if err != nil {
			return err
		}
		line = string(b)
	} else {
		s, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && s == "" {
			return fmt.Errorf("keys unseal: read the share: %w", err)
		}
		line = s
	}
	body, _ := json.Marshal(map[string]string{"share": strings.TrimSpace(line)})
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(*server, "/")+"/v1/staff/keys/platform/unseal", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("keys unseal: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(env.stderr, "keys unseal: %s: %s\n", resp.Status, strings.TrimSpace(string(rb)))
		return errReported
	}
	var st struct {
		Sealed    bool `json:"sealed"`
		Shares    int  `json:"shares"`
		Threshold int  `json:"threshold"`
	}
	_ = json.Unmarshal(rb, &st)
	if st.Sealed {
		fmt.Fprintf(env.stdout, "share accepted: %d of %d; still sealed\n", st.Shares, st.Threshold)
	} else {
		fmt.Fprintln(env.stdout, "share accepted: the platform key is unsealed")
	}
	return nil
}

// cmdContractVerify checks a downloaded contract file (GIG-6): the
// digest, both parties' signatures and, unless --offline, that the keys are
// the ones gigvault registered. Exit 1 on any failure.
func cmdContractVerify(ctx context.Context, env *runEnv, args []string) error {
	const name, summary = "contract verify", "check a downloaded electronic contract file (FILE)"
	fs := newFlagSet(name, summary, env)
	core := registerCore(fs, env)
	offline := fs.Bool("offline", false, "check only against the public keys inside the file (integrity, not whose keys)")
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		return fmt.Errorf("contract verify: name exactly one contract file (got %d)", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	f, err := contract.ParseFile(b)
	if err != nil {
		fmt.Fprintf(env.stdout, "FAIL %s: %v\n", files[0], err)
		return errReported
	}
	var trusted func(string) ([]byte, bool)
	if !*offline {
		c, err := openCore(ctx, core)
		if err != nil {
			return err
		}
		defer c.Close()
		trusted = c.ESign.Trusted(ctx)
	}
	rep := contract.VerifyFile(f, trusted, time.Now())
	for _, sc := range rep.Signatures {
		state := "ok"
		if !sc.OK {
			state = "FAIL " + sc.Reason
		}
		fmt.Fprintf(env.stdout, "  %s signature by %s (key %s): %s\n", sc.Party, sc.Signer, sc.KeyID, state)
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(env.stdout, "  problem: %s\n", p)
	}
	if !rep.OK {
		fmt.Fprintf(env.stdout, "FAIL %s: contract %s\n", files[0], f.ContractID)
		return errReported
	}
	fmt.Fprintf(env.stdout, "OK %s: contract %s, digest %s, validity %s\n", files[0], f.ContractID, f.Digest, rep.Window)
	return nil
}

// cmdReportRegulator writes the signed package for a regulator's platform
// (GIG-9): counts of subjects, consents, provisions, requests and
// incidents over the period, the current policy and the two lists, signed
// with the published receipt key.
func cmdReportRegulator(ctx context.Context, env *runEnv, args []string) error {
	var from, to, out string
	return withCore(ctx, env, args, "report regulator", "write the signed compliance package for a regulator",
		func(fs *flag.FlagSet) {
			fs.StringVar(&from, "from", "", "first day of the period, YYYY-MM-DD (China time); required")
			fs.StringVar(&to, "to", "", "last day of the period, YYYY-MM-DD, inclusive; default today")
			fs.StringVar(&out, "out", "", "output file; default stdout")
		}, func(c *app.Core) error {
			cst := time.FixedZone("CST", 8*3600)
			f, err := time.ParseInLocation("2006-01-02", from, cst)
			if err != nil {
				return fmt.Errorf("report regulator: --from must be YYYY-MM-DD: %w", err)
			}
			now := c.Clock.Now()
			t := now
			if to != "" {
				d, err := time.ParseInLocation("2006-01-02", to, cst)
				if err != nil {
					return fmt.Errorf("report regulator: --to must be YYYY-MM-DD: %w", err)
				}
				if t = d.AddDate(0, 0, 1); t.After(now) {
					t = now
				}
			}
			if !t.After(f) {
				return errors.New("report regulator: --to must not be before --from")
			}
			cur, err := c.Policies.Current(ctx)
			if err != nil {
				return err
			}
			pol, _, err := c.Policies.Documents(ctx, cur.Version)
			if err != nil {
				return err
			}
			collected, err := thirdparty.CollectedList(c.Catalog, c.Functions).JSON()
			if err != nil {
				return err
			}
			sharingList, err := thirdparty.SharingList(c.ThirdParty, c.Catalog).JSON()
			if err != nil {
				return err
			}
			ctl := app.DefaultController
			if c.Cfg.Controller != nil {
				ctl = *c.Cfg.Controller
			}
			p, err := report.Build(ctx, c.DB, f.UTC(), t.UTC(), report.Documents{
				Controller:    report.Controller{Name: ctl.PIIController, Contact: controllerContact(ctl)},
				GeneratedAt:   now,
				PolicyVersion: cur.Version, PolicyDigest: cur.Digest, PolicyJSON: pol,
				PICollected: collected, ThirdPartySharing: sharingList,
			})
			if err != nil {
				return err
			}
			signer, kid := c.Keys.ReceiptSigner()
			if err := report.Sign(&p, signer, kid, c.Suite.Name()); err != nil {
				return err
			}
			b, err := p.Marshal()
			if err != nil {
				return err
			}
			if out == "" {
				_, err = env.stdout.Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(env.stderr, "wrote %s (%d bytes), signed with %s\n", out, len(b), kid)
			return nil
		})
}

func controllerContact(c receipt.Controller) string {
	parts := []string{c.Contact, c.Email, c.Phone}
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// cmdReportVerify checks a regulator package's signature, with the key
// store's receipt key or a published one.
func cmdReportVerify(ctx context.Context, env *runEnv, args []string) error {
	const name, summary = "report verify", "check a signed regulator package (FILE)"
	fs := newFlagSet(name, summary, env)
	core := registerCore(fs, env)
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 {
		return fmt.Errorf("report verify: name exactly one package file (got %d)", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	c, err := openCore(ctx, core)
	if err != nil {
		return err
	}
	defer c.Close()
	_, pub := c.Keys.ReceiptPublicKey()
	p, err := report.Verify(b, pub)
	if err != nil {
		fmt.Fprintf(env.stdout, "FAIL %s: %v\n", files[0], err)
		return errReported
	}
	fmt.Fprintf(env.stdout, "OK %s: period %s to %s, signed by %s\n", files[0], p.Period.From, p.Period.To, p.Signature.KeyID)
	return nil
}
