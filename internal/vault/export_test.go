package vault

import "context"

// SealOpen runs the vault's in-memory crypto path — AAD binding, seal under
// the subject's cached data key, open, and check — without the database.
func (v *Vault) SealOpen(ctx context.Context, subject, field, record string, pt []byte) error {
	ct, ver, err := v.sealWithVersion(ctx, subject, field, record, pt)
	if err != nil {
		return err
	}
	_, err = v.keys.Open(ctx, subject, ver, ct, aad(subject, field, record, ver))
	return err
}
