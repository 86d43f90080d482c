package rights

import (
	"bytes"
	"context"

	"gigvault/internal/dsrexport"
	"gigvault/internal/errs"
	"gigvault/internal/sharing"
	"gigvault/internal/vault"
)

// CopyWindowDays is how long, in days, a copy request's copy can be
// downloaded after the request.
const CopyWindowDays = 7

// BuildCopy writes the machine-readable copy (DSR-3) of vals and the
// person's provisions to third parties as a zip.
func (s *Service) BuildCopy(ctx context.Context, subject string, vals []vault.Value) ([]byte, error) {
	rows, err := s.Ledger.BySubject(ctx, subject)
	if err != nil {
		return nil, err
	}
	c := dsrexport.Copy{SubjectID: subject, GeneratedAt: s.clk.Now().UTC()}
	for _, v := range vals {
		c.Values = append(c.Values, dsrexport.Value{Field: v.Field, Record: v.Record, Text: v.Text, UpdatedAt: v.UpdatedAt})
	}
	c.Recipients = recipients(rows)
	var buf bytes.Buffer
	if err := dsrexport.Write(&buf, s.Cat, c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func recipients(rows []sharing.Row) []dsrexport.Recipient {
	out := make([]dsrexport.Recipient, 0, len(rows))
	for _, r := range rows {
		out = append(out, dsrexport.Recipient{LedgerID: r.ID, At: r.At, Recipient: r.Recipient, RecipientKind: r.RecipientKind,
			Purpose: r.Purpose, Fields: r.Fields, LegalBasis: r.LegalBasis})
	}
	return out
}

// CopyFor builds the copy of a copy request for delivery to the recipient
// the person named, reading their data at send time (nothing is kept in
// clear meanwhile). A person since erased yields errs.Erased.
func (s *Service) CopyFor(ctx context.Context, requestID string) ([]byte, error) {
	r, err := s.Get(ctx, s.db, requestID)
	if err != nil {
		return nil, err
	}
	if r.Kind != Copy {
		return nil, errs.New(errs.Invalid, "id", "不是副本请求", "not a copy request")
	}
	vals, err := s.Guard.SystemRead(ctx, vault.Actor{ID: "system:rights", Channel: "system"}, r.SubjectID, "rights_request",
		"copy sent where the person asked ("+r.ID+")", nil)
	if err != nil {
		return nil, err
	}
	if len(vals) == 0 {
		if gone, err := s.Vault.Erased(ctx, r.SubjectID); err == nil && gone {
			return nil, errs.New(errs.Erased, "subject", "该用户已注销", "the person's data is gone")
		}
	}
	if !r.Params.IncludeIdentity {
		vals = s.WithoutIdentity(vals)
	}
	return s.BuildCopy(ctx, r.SubjectID, vals)
}
