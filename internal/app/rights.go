package app

import (
	"fmt"

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
	store := rights.NewStore(c.DB, c.Audit, c.Cfg.Clock, rights.Deadlines{Cal: cal, DueDays: cfg.DueDays, TargetDays: cfg.TargetDays, RemindDays: cfg.RemindDays})
	c.Rights = &rights.Service{Store: store, DB: c.DB, Cat: c.Catalog, Guard: c.Guard, Vault: c.Vault, Keys: c.Keys, Ledger: c.Ledger,
		IDV: c.IDV, Log: c.Audit, Logger: c.Cfg.Logger, Retain: spans}
	return nil
}
