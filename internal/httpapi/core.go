package httpapi

import (
	"encoding/hex"

	"gigvault/internal/app"
	"gigvault/internal/policydoc"
	"gigvault/internal/receipt"
)

// WithCore fills in the consent and platform parts of d from an assembled
// core.
func (d Deps) WithCore(c *app.Core) Deps {
	d.Consent, d.Policies, d.Ledger, d.Jobs, d.Keys = c.ConsentService, c.Policies, c.Ledger, c.Jobs, c.Keys
	d.Verifier, d.IDV, d.ESign, d.Unsealer = c.Verifier, c.IDV, c.ESign, c.PlatformUnsealer
	d.Vault, d.Payouts, d.Rail, d.Rights = c.Vault, c.Payouts, c.Rail, c.Rights
	d.Sources = policydoc.Sources{Catalog: c.Catalog, Functions: c.Functions, ThirdParty: c.ThirdParty}
	if c.Keys != nil {
		kid, pub := c.Keys.ReceiptPublicKey()
		alg, _ := receipt.AlgForSuite(c.Suite)
		d.ReceiptKey = &ReceiptKey{ID: kid, Alg: alg, Public: hex.EncodeToString(pub)}
	}
	return d
}
