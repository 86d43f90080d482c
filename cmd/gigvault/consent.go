package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
	const name, summary = "consent verify-receipt", "check a signed consent receipt file (FILE)"
	fs := newFlagSet(name, summary, env)
	core := registerCore(fs, env)
	var pubFlag string
	fs.StringVar(&pubFlag, "public-key", "", "verify against this published key instead of the key store: hex, or @FILE holding hex or the JSON of /public/receipt-keys")
	// The file may stand before, between or after the flags.
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
		return fmt.Errorf("consent verify-receipt: name exactly one receipt file (got %d)", len(files))
	}
	if pubFlag != "" {
		lookup, err := publishedKeys(pubFlag)
		if err != nil {
			return err
		}
		return verifyReceiptFile(env, files[0], lookup)
	}
	c, err := openCore(ctx, core)
	if err != nil {
		return err
	}
	defer c.Close()
	return verifyReceiptFile(env, files[0], c.Keys.ReceiptVerifier)
}

func verifyReceiptFile(env *runEnv, file string, lookup func(string) (cryptox.Verifier, bool)) error {
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
