package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"gigvault/internal/app"
	"gigvault/internal/cryptox"
	"gigvault/internal/keys"
	"gigvault/internal/receipt"
)

// cmdConsentVerifyReceipt checks a consent receipt file: its canonical
// form, its fields and its signature. With --public-key it needs nothing
// but the published key (/public/receipt-keys), so a user or a regulator
// can check a receipt without access to gigvault; without it, the key
// store's receipt key is used.
func cmdConsentVerifyReceipt(ctx context.Context, env *runEnv, args []string) error {
	var pubFlag string
	extra := func(fs *flag.FlagSet) {
		fs.StringVar(&pubFlag, "public-key", "", "verify against this published key instead of the key store: hex, or @FILE holding hex or the JSON of /public/receipt-keys")
	}
	// Split the file from the flags: it may come first or last.
	var file string
	var flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--public-key" || a == "-public-key":
			flags = append(flags, a)
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
		case file == "":
			file = a
		default:
			return fmt.Errorf("consent verify-receipt: one receipt file at a time (got %q and %q)", file, a)
		}
	}
	if pubFlag == "" && !hasFlag(flags, "public-key") {
		return withCore(ctx, env, flags, "consent verify-receipt", "check a signed consent receipt file (FILE)", extra, func(c *app.Core) error {
			return verifyReceiptFile(env, file, c.Keys.ReceiptVerifier)
		})
	}
	fs := newFlagSet("consent verify-receipt", "check a signed consent receipt file (FILE)", env)
	extra(fs)
	if err := fs.Parse(flags); err != nil {
		return err
	}
	lookup, err := publishedKeys(pubFlag)
	if err != nil {
		return err
	}
	return verifyReceiptFile(env, file, lookup)
}

func hasFlag(flags []string, name string) bool {
	for _, f := range flags {
		if strings.TrimLeft(strings.SplitN(f, "=", 2)[0], "-") == name {
			return true
		}
	}
	return false
}

func verifyReceiptFile(env *runEnv, file string, lookup func(string) (cryptox.Verifier, bool)) error {
	if file == "" {
		return errors.New("consent verify-receipt: name the receipt file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("consent verify-receipt: %w", err)
	}
	r, err := receipt.Verify(b, lookup)
	if err != nil {
		fmt.Fprintf(env.stdout, "FAIL: %v\n", err)
		return errReported
	}
	g := ""
	if r.Guardian != nil {
		g = fmt.Sprintf(", by guardian (%s)", r.Guardian.Relationship)
	}
	fmt.Fprintf(env.stdout, "OK: receipt %s — %s of %s under policy %s at %s%s\n", r.ConsentReceiptID, r.Event,
		r.Services[0].Service, r.PolicyVersion, r.Time().Format(time.RFC3339), g)
	return nil
}

// publishedKeys parses --public-key: hex, or @FILE holding hex or the JSON
// served at /public/receipt-keys. Each key's ID is derived from the key
// itself, so a key can only verify receipts that name it.
func publishedKeys(v string) (func(string) (cryptox.Verifier, bool), error) {
	raw := []byte(v)
	if strings.HasPrefix(v, "@") {
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return nil, fmt.Errorf("consent verify-receipt: --public-key: %w", err)
		}
		raw = b
	}
	var hexKeys []string
	var doc struct {
		Keys []struct {
			Public string `json:"public_key"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err == nil && len(doc.Keys) > 0 {
		for _, k := range doc.Keys {
			hexKeys = append(hexKeys, k.Public)
		}
	} else {
		hexKeys = []string{strings.TrimSpace(string(raw))}
	}
	verifiers := map[string]cryptox.Verifier{}
	for _, h := range hexKeys {
		pub, err := hex.DecodeString(h)
		if err != nil {
			return nil, fmt.Errorf("consent verify-receipt: --public-key is not hex")
		}
		for _, suite := range []cryptox.Suite{cryptox.SM{}, cryptox.AES{}} {
			if ver, err := suite.ParseVerifier(pub); err == nil {
				verifiers[keys.ReceiptKeyID(suite, pub)] = ver
			}
		}
	}
	if len(verifiers) == 0 {
		return nil, errors.New("consent verify-receipt: --public-key is not an SM2 or P-256 public key")
	}
	return func(kid string) (cryptox.Verifier, bool) { v, ok := verifiers[kid]; return v, ok }, nil
}
