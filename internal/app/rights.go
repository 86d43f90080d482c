package app

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"gigvault/internal/clock"
	"gigvault/internal/dsrexport"
	"gigvault/internal/notice"
	"gigvault/internal/store"

	"gigvault/internal/calendar"
	"gigvault/internal/catalog"
	"gigvault/internal/rights"
)

// RightsConfig tunes data-subject requests and their deadlines (issue 6).
type RightsConfig struct {
	// DueDays is the statutory period in PRC working days (default 15);
	// TargetDays an optional shorter internal target (e.g. 10).
	DueDays, TargetDays int
	// RemindDays: reminders go out this many working days before due (3).
	RemindDays int
	// CalendarFile extends or corrects the embedded PRC holiday calendar
	// (later years' State Council notices).
	CalendarFile string
	// RetainTransactions and RetainFinancialIdentity override how long the
	// records the law requires are kept after cancellation ("3y", "5y";
	// empty: the catalog's statutory periods).
	RetainTransactions, RetainFinancialIdentity string
	// CopyRecipients are the recipient IDs a person may have their copy
	// sent to (DSR-3, "where feasible": those gigvault can deliver to). In
	// development the sandbox recipient "portability_sandbox" is added.
	CopyRecipients []string
	// Deliverer delivers deletion notices and copies. Nil: the sandbox in
	// development; in production deliveries wait (retried) until one is
	// configured. The sandbox is refused in production.
	Deliverer notice.Deliverer
}

// SandboxCopyRecipient is the development recipient of portability copies.
const SandboxCopyRecipient = "portability_sandbox"

// ErrSandboxDelivererInProduction: the sandbox delivers nothing.
var ErrSandboxDelivererInProduction = errors.New("production refuses the sandbox deliverer: configure notice endpoints")

// unconfiguredDeliverer keeps deliveries pending (a temporary failure,
// retried with backoff) until a deliverer is configured: a notice is never
// dropped.
type unconfiguredDeliverer struct{}

func (unconfiguredDeliverer) Deliver(context.Context, notice.Message) (string, error) {
	return "", notice.Temporary("not_configured", errors.New("no deliverer is configured"))
}

// outbox queues rights deliveries in outbound_deliveries.
type outbox struct{ clk clock.Clock }

func (o outbox) Enqueue(ctx context.Context, tx *store.Tx, n rights.Notice) (string, error) {
	return notice.Enqueue(ctx, tx, notice.Delivery{Kind: n.Kind, RequestID: n.RequestID, SubjectID: n.SubjectID, Recipient: n.Recipient,
		RecipientKind: n.RecipientKind, Fields: n.Fields, LedgerIDs: n.LedgerIDs, CreatedAt: o.clk.Now()})
}

// openRights assembles the rights service.
func (c *Core) openRights() error {
	cfg := c.Cfg.Rights
	cal := calendar.Default()
	if cfg.CalendarFile != "" {
		var err error
		if cal, err = calendar.LoadFile(cfg.CalendarFile, calendar.Merge); err != nil {
			return fmt.Errorf("app: calendar: %w", err)
		}
	}
	spans := rights.RetentionSpans{}
	for _, s := range []struct {
		name, v string
		out     *catalog.Span
	}{{"transactions", cfg.RetainTransactions, &spans.Transactions}, {"financial identity", cfg.RetainFinancialIdentity, &spans.FinancialIdentity}} {
		if s.v == "" {
			continue
		}
		sp, err := catalog.ParseSpan(s.v)
		if err != nil {
			return fmt.Errorf("app: retention of %s: %w", s.name, err)
		}
		*s.out = sp
	}
	st := rights.NewStore(c.DB, c.Audit, c.Cfg.Clock, rights.Deadlines{Cal: cal, DueDays: cfg.DueDays, TargetDays: cfg.TargetDays, RemindDays: cfg.RemindDays})
	copyTo := slices.Clone(cfg.CopyRecipients)
	deliverer := cfg.Deliverer
	if _, sandbox := deliverer.(*notice.Sandbox); sandbox && c.Cfg.Production() {
		return ErrSandboxDelivererInProduction
	}
	if deliverer == nil {
		if c.Cfg.Production() {
			deliverer = unconfiguredDeliverer{}
		} else {
			deliverer = notice.NewSandbox(notice.SandboxOptions{})
		}
	}
	if !c.Cfg.Production() {
		copyTo = append(copyTo, SandboxCopyRecipient)
	}
	c.Deliverer = deliverer
	c.Rights = &rights.Service{Store: st, Cat: c.Catalog, Guard: c.Guard, Vault: c.Vault, Keys: c.Keys, Ledger: c.Ledger,
		IDV: c.IDV, Outbox: outbox{clk: c.Cfg.Clock}, Retain: spans,
		Deliverable: func(r string) bool { return slices.Contains(copyTo, r) }}
	c.Notices = notice.New(c.DB, deliverer, c.Audit, c.Cfg.Clock, notice.Options{Catalog: c.Catalog, Log: c.Cfg.Logger,
		Payload: func(ctx context.Context, d notice.Delivery) ([]byte, string, error) {
			b, err := c.Rights.CopyFor(ctx, d.RequestID)
			return b, dsrexport.ContentType, err
		}})
	return nil
}
