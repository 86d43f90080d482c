package keys

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// devMarker heads a development root key file; production refuses it.
const devMarker = "# gigvault DEVELOPMENT master key: generated on first start, NOT for production"

// RootConfig says where the root (master) key comes from.
type RootConfig struct {
	// Value is the key itself (GIGVAULT_MASTER_KEY): 64 hex digits or base64 of 32 bytes.
	Value string
	// File holds the key (GIGVAULT_MASTER_KEY_FILE).
	File string
	// DataDir is where a development key is generated when neither is set.
	DataDir string
	// Production refuses a missing or generated key.
	Production bool
}

// Root is the master key. It never leaves this package.
type Root struct {
	key       []byte
	Generated bool   // true when the key is a development key from the data directory
	Origin    string // "env", a file path: for messages only
}

// ErrRootMissing means no root key was configured in production.
var ErrRootMissing = errors.New("no master key: set GIGVAULT_MASTER_KEY or GIGVAULT_MASTER_KEY_FILE")

// LoadRoot finds the root key. Without Value or File it reads, or on first
// start generates, <DataDir>/master.key — a development convenience that
// Production refuses.
func LoadRoot(cfg RootConfig) (*Root, error) {
	switch {
	case cfg.Value != "" && cfg.File != "":
		return nil, errors.New("keys: set only one of GIGVAULT_MASTER_KEY and GIGVAULT_MASTER_KEY_FILE")
	case cfg.Value != "":
		k, err := parseRoot(cfg.Value)
		if err != nil {
			return nil, fmt.Errorf("keys: GIGVAULT_MASTER_KEY: %w", err)
		}
		return &Root{key: k, Origin: "GIGVAULT_MASTER_KEY"}, nil
	case cfg.File != "":
		return loadRootFile(cfg.File, cfg.Production)
	}
	if cfg.Production {
		return nil, fmt.Errorf("keys: %w (production refuses a generated development key)", ErrRootMissing)
	}
	path := filepath.Join(cfg.DataDir, "master.key")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("keys: create data directory: %w", err)
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("keys: generate master key: %w", err)
		}
		content := devMarker + "\n" + hex.EncodeToString(k) + "\n"
		// Written to a temporary file and linked into place, so a second
		// process starting at the same moment reads a whole key, never half
		// of one, and both end up with the same key.
		tmp, err := os.CreateTemp(cfg.DataDir, ".master.key-*")
		if err != nil {
			return nil, fmt.Errorf("keys: write development master key: %w", err)
		}
		_, werr := tmp.WriteString(content)
		if cerr := tmp.Close(); werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o600)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			return nil, fmt.Errorf("keys: write development master key: %w", werr)
		}
		err = os.Link(tmp.Name(), path) // fails if another process won the race
		os.Remove(tmp.Name())
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("keys: write development master key: %w", err)
		}
	}
	r, err := loadRootFile(path, false)
	if err != nil {
		return nil, err
	}
	r.Generated = true
	return r, nil
}

func loadRootFile(path string, production bool) (*Root, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys: read master key file: %w", err)
	}
	text := string(b)
	dev := strings.Contains(text, devMarker)
	if dev && production {
		return nil, fmt.Errorf("keys: %s is a generated development key; production needs a real master key", path)
	}
	var value string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		value = line
		break
	}
	k, err := parseRoot(value)
	if err != nil {
		return nil, fmt.Errorf("keys: master key file %s: %w", path, err)
	}
	return &Root{key: k, Generated: dev, Origin: path}, nil
}

func parseRoot(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil {
		if len(k) < 32 {
			return nil, fmt.Errorf("key is %d bytes; at least 32 are required", len(k))
		}
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		if len(k) < 32 {
			return nil, fmt.Errorf("key is %d bytes; at least 32 are required", len(k))
		}
		return k, nil
	}
	return nil, errors.New("key must be hex (64 digits) or base64 of at least 32 bytes")
}

// NewRootForTest returns a root key from raw bytes; tests only.
func NewRootForTest(key []byte) *Root { return &Root{key: key, Origin: "test"} }
