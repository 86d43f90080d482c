package access

import (
	"context"
	"slices"
	"time"

	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
	"gigvault/internal/vault"
)

// RequestField is the catalog field the messages of a rights request are
// kept in: in the subject's vault, under their data key, one value per
// message (the record is the message ID), so the catalog's retention and
// the person's erasure apply to them like any other value.
const RequestField = "support_ticket"

// requestHandlers are the staff roles that handle rights requests,
// complaints and appeals.
var requestHandlers = []policy.Role{policy.Support, policy.DataOperator, policy.DPO}

// RequestMessages returns the texts of the given message records of a
// subject's rights request, whole: to the subject themselves (their own
// data, under rights_request), or to a staff member handling the request
// (a decided reveal of support_ticket for customer_service, audited with the
// request ID as its reason, outside the reveal budget: handling the request
// is the assigned work, not a look-up).
func (g *Guard) RequestMessages(ctx context.Context, p *Principal, subject, requestID string, records []string) (map[string]string, error) {
	if len(records) == 0 {
		return map[string]string{}, nil
	}
	fields, err := g.labels([]string{RequestField})
	if err != nil {
		return nil, err
	}
	purpose, rel := "customer_service", g.relation(p, subject)
	req := policy.Request{Relation: rel, Action: policy.Reveal, Fields: fields, Purpose: purpose,
		Reason: "rights request " + requestID, RevealLimit: 1 << 30}
	if rel == policy.Self {
		purpose, req.Purpose, req.Action = policy.PurposeRights, policy.PurposeRights, policy.Read
	} else if !p.Has(requestHandlers...) {
		return nil, errs.New(errs.Forbidden, "", "无权处理个人信息权利请求", "you may not handle rights requests")
	}
	d, err := g.decide(ctx, p, subject, req)
	if err != nil {
		return nil, err
	}
	if d.Effect != policy.Allow {
		return nil, refusal(d, "")
	}
	rev, err := g.issuer.IssueSubject(p.ActorID(), subject, purpose, req.Reason, time.Minute)
	if err != nil {
		return nil, err
	}
	vals, err := g.vault.List(decided(ctx, d), p.Actor(), purpose, subject, vault.ListOptions{Fields: []string{RequestField}, Reveal: rev})
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(records))
	for _, v := range vals {
		if slices.Contains(records, v.Record) {
			out[v.Record] = v.Text
		}
	}
	return out, nil
}

// WriteRequestMessage stores one message of a rights request in the
// subject's vault inside tx: the subject's own words under rights_request,
// or a handler's reply under customer_service.
func (g *Guard) WriteRequestMessage(ctx context.Context, tx *store.Tx, p *Principal, subject, record, text string) error {
	if g.relation(p, subject) == policy.Self {
		return g.WriteOwn(ctx, tx, p, policy.PurposeRights, vault.Item{Field: RequestField, Record: record, Value: text})
	}
	if !p.Has(requestHandlers...) {
		return errs.New(errs.Forbidden, "", "无权处理个人信息权利请求", "you may not handle rights requests")
	}
	// A reply to the person's own request is written for them, not
	// processing of their data by choice: allowed for handlers, audited.
	return g.vault.PutTx(vault.WithDecision(ctx, string(policy.Allow), "request_handler", "contract"), tx, p.Actor(), "customer_service", subject,
		vault.Item{Field: RequestField, Record: record, Value: text})
}

// SystemRead reads fields of subject whole for work the platform does on
// the person's own rights request or a legal duty — building the copy they
// asked to be sent to a third party, keeping the records the law requires
// when their account is cancelled — under purpose (rights_request or
// legal_compliance, both legal-basis purposes), audited with the reason.
func (g *Guard) SystemRead(ctx context.Context, actor vault.Actor, subject, purpose, reason string, fields []string) ([]vault.Value, error) {
	if purpose != policy.PurposeRights && purpose != "legal_compliance" {
		return nil, errs.New(errs.Forbidden, "purpose", "该用途不可用于系统读取", "system reads serve rights requests and legal duties only")
	}
	if fields == nil {
		fields = g.catNames()
	}
	return g.ProcessFor(ctx, actor, subject, purpose, reason, fields)
}
