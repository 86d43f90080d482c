package app

import (
	"context"
	"errors"
	"fmt"

	"gigvault/internal/cryptox"
	"gigvault/internal/errs"
	"gigvault/internal/esign"
	"gigvault/internal/idv"
	"gigvault/internal/keys"
	"gigvault/internal/payout"
	"gigvault/internal/sealkey"
	"gigvault/internal/verify"
)

// ErrSandboxVerifierInProduction: the sandbox verifier passes synthetic
// identities; production needs a real provider.
var ErrSandboxVerifierInProduction = errors.New("production refuses the sandbox identity verifier: configure --verifier http")

// unconfiguredVerifier answers every verification "unavailable": the
// production default until a provider is configured.
type unconfiguredVerifier struct{}

func (unconfiguredVerifier) Name() string { return "unconfigured" }
func (unconfiguredVerifier) Verify(context.Context, verify.Request) (verify.Result, error) {
	return verify.Result{}, errs.New(errs.Unavailable, "", "实名认证服务尚未配置", "no identity verification provider is configured")
}

// openGig wires identity verification, electronic contracts and the
// platform key's unsealer (issue 5).
func (c *Core) openGig(ctx context.Context) error {
	cfg := c.Cfg
	c.Verifier = cfg.Verifier
	if _, sandbox := c.Verifier.(*verify.Sandbox); sandbox && cfg.Production() {
		return ErrSandboxVerifierInProduction
	}
	if c.Verifier == nil {
		if cfg.Production() {
			c.Verifier = unconfiguredVerifier{}
		} else {
			c.Verifier = verify.NewSandbox(nil)
		}
	}
	c.IDV = idv.New(c.DB, cfg.Clock)
	c.ESign = esign.New(c.DB, c.Keys, cfg.Clock)
	c.Payouts = payout.New(c.DB, cfg.Clock)
	c.Rail = cfg.Rail
	if c.Rail == nil {
		if cfg.Production() {
			c.Rail = unconfiguredRail{}
		} else {
			key, err := c.Keys.TransferKey(ctx)
			if err != nil {
				return err
			}
			rail, err := payout.NewSandboxRail(payout.SandboxConfig{Suite: c.Suite, Key: key, Clock: cfg.Clock})
			cryptox.Wipe(key)
			if err != nil {
				return err
			}
			c.Rail = rail
		}
	}
	if err := c.openRights(); err != nil {
		return err
	}
	return c.openUnsealer(ctx)
}

// unconfiguredRail answers "unavailable": the production default until a
// bank channel is configured.
type unconfiguredRail struct{}

var errNoRail = errs.New(errs.Unavailable, "", "代发薪资通道尚未配置", "no payout rail is configured")

func (unconfiguredRail) Submit(context.Context, string, []byte) (payout.RailReceipt, error) {
	return payout.RailReceipt{}, errNoRail
}
func (unconfiguredRail) Status(context.Context, string) ([]payout.RowResult, error) {
	return nil, errNoRail
}

// openUnsealer prepares the platform key's unsealer when the key exists,
// and registers its public key so contracts it signs can be checked.
func (c *Core) openUnsealer(ctx context.Context) error {
	pk, err := c.Keys.PlatformKey(ctx)
	if errors.Is(err, keys.ErrNoPlatformKey) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := c.ESign.RegisterPlatformKey(ctx, pk.Public); err != nil {
		return fmt.Errorf("app: platform key: %w", err)
	}
	c.Unsealer = sealkey.NewUnsealer(pk.Set, c.Cfg.Clock, 0, func(secret []byte) error {
		return c.Keys.UnsealPlatform(context.Background(), secret)
	})
	return nil
}

// PlatformUnsealer returns the platform key's unsealer, picking up a key
// created after start (gigvault keys init-platform on a running
// deployment); nil when there is no key yet.
func (c *Core) PlatformUnsealer(ctx context.Context) (*sealkey.Unsealer, error) {
	c.unsealMu.Lock()
	defer c.unsealMu.Unlock()
	if c.Unsealer == nil {
		if err := c.openUnsealer(ctx); err != nil {
			return nil, err
		}
	}
	return c.Unsealer, nil
}
