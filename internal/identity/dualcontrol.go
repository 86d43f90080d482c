package identity

import (
	"context"
	"errors"
	"fmt"

	"gigvault/internal/access"
	"gigvault/internal/approval"
	"gigvault/internal/audit"
	"gigvault/internal/errs"
	"gigvault/internal/policy"
	"gigvault/internal/store"
)

// Dual control of privileged staff management (ACC-1, ACC-5): through the
// API, creating a staff account, changing roles and resetting credentials
// each need the approval of another security administrator, so that one
// administrator alone cannot mint the accounts that would approve their own
// work. The first security administrators come from "gigvault admin
// create" (CreateStaff), which needs host access and the master key.
// Disabling, enabling and unlocking stay single-person: they reduce access,
// or restore it without new credentials.

// PurposeStaffManagement is the purpose of staff-management approvals.
const PurposeStaffManagement = "staff_management"

// ReasonStaffNeedsApproval: the staff-management change waits for another
// security administrator's approval; a request has been filed.
const ReasonStaffNeedsApproval = "staff_needs_approval"

var errNoApprovals = errors.New("identity: no approval store configured")

// staffGate files an approval request when approvalID is empty and answers
// approval_required with its ID; with an approvalID it checks, without
// consuming, that the approval can be used for exactly these parameters
// (auditing the refused attempt when not) and returns nil. The caller
// consumes it in the transaction of the change (consumeStaff).
func (s *Service) staffGate(ctx context.Context, by *Principal, action policy.Action, p approval.Params, approvalID, auditAction, subject, reason string) error {
	if s.appr == nil {
		return errNoApprovals
	}
	if approvalID == "" {
		var id string
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			r, err := s.appr.Create(ctx, tx, by.ApprovalActor(), action, p, 1, reason)
			id = r.ID
			return err
		})
		if err != nil {
			return err
		}
		return errs.New(errs.ApprovalRequired, "", "此操作需要另一名安全管理员批准，已提交审批申请",
			"this needs another security administrator's approval: a request has been filed").With(ReasonStaffNeedsApproval, nil, id)
	}
	if s.appr.Usable(ctx, approvalID, by.AccountID, action, p) {
		return nil
	}
	if err := s.record(ctx, audit.Entry{Actor: by.ActorID(), Action: auditAction, Subject: subject, Purpose: p.Purpose,
		Outcome: string(errs.ApprovalRequired), Detail: map[string]string{"reason": access.ReasonApprovalUnusable, "approval": approvalID}}); err != nil {
		return err
	}
	return approval.ErrUnusable.With(access.ReasonApprovalUnusable, nil, "")
}

// consumeStaff uses the approval inside tx, the transaction of the change:
// an approval runs one change, once.
func (s *Service) consumeStaff(ctx context.Context, tx *store.Tx, by *Principal, action policy.Action, p approval.Params, approvalID string) error {
	if err := s.appr.Consume(ctx, tx, approvalID, by.AccountID, action, p); err != nil {
		if errors.Is(err, approval.ErrUnusable) {
			return approval.ErrUnusable.With(access.ReasonApprovalUnusable, nil, "")
		}
		return fmt.Errorf("identity: use approval: %w", err)
	}
	return nil
}

func roleNames(rs []policy.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}
