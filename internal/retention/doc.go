// Package retention is the retention sweeper: it deletes what gigvault may
// no longer keep (RET-1, RET-2, RET-4) and records every deletion in the
// audit chain without revealing what was deleted (AUD-4).
//
// # What it deletes
//
// Every rule names a table (the Group's Rule), a reason, and for vault
// values the catalog field. A rule's cut-offs are computed once per run
// from the injected clock ("now").
//
// pi_values — values in the vault (RET-1, RET-2):
//
//   - expired: the value's expires_at is at or before now. The vault sets
//     expires_at on every put of a field with fixed retention (ExpiresAt:
//     the catalog's span after the write; search_keyword, device ids,
//     ip_address, login_record 180d; location_area 30d; browse_record,
//     job_application, chat_message, support_ticket, feedback 1y; …) and
//     resets it on every re-write, so it counts from the last write. It is
//     NULL for account-long retention ("account", "account+3y"): those
//     values live as long as the account, and cancelling an account is the
//     rights package's work, not the sweeper's.
//   - online_records_cap: RET-2 says records collected in browse-only mode
//     are kept at most one year, whatever the catalog says. gigvault has no
//     browse-only (guest) mode — every job search and job page needs a
//     session, and nothing records a visitor — so the records the rule
//     protects are the online-activity records that mode would collect:
//     browse_record and every field of the catalog's online_records
//     category (login_record, search_keyword, risk_url_record,
//     interest_tags). A value of those fields whose row was created more
//     than one year before now is deleted even if its stored expiry is
//     later or NULL (a catalog that claims 2y, or "account", cannot keep it).
//     The cap counts from created_at, the first write of the record, not
//     from the last: a re-written record may still carry what was collected
//     when it was created.
//   - catalog_retention: a value of a field whose current catalog retention
//     is fixed, last written at or before now minus that span, whose stored
//     expiry is NULL or later than now. This catches values stored under an
//     older catalog with a longer retention (or with account retention):
//     shortening a retention in the catalog shortens it for what is already
//     stored. Lengthening it does not lengthen it: the stored expiry, which
//     is what people were told when the value was collected, still applies.
//
// The three are disjoint and applied in that order; a value matching more
// than one is counted once, under the first. Values of subjects that are
// erased are skipped: an erasure deletes them itself and audits them. A
// value whose field the catalog no longer declares is deleted at its stored
// expiry and otherwise kept (no rule can say how long). Every write to
// pi_values goes through the vault: the sweeper selects candidate rows and
// hands them to vault.SweepTx, which deletes each only if it is still the
// version examined.
//
// Other tables that hold data about people:
//
//   - sms_codes (expired): one-time codes once they have expired and left
//     the 24-hour window the per-number send limits count ("verification
//     data deleted after use"; identity also drops day-old codes when it
//     sends one). The code itself was only ever a keyed digest.
//   - sessions (ended): sessions revoked, or past their absolute expiry,
//     more than Options.Grace (30 days) ago. The grace lets a security
//     administrator look at an account's recent sessions after an incident;
//     the log-ins themselves stay in the audit chain.
//   - auth_lockouts (over): failure counters whose lock has ended and whose
//     first failure is more than 24 hours old (identity's own hourly prune
//     uses its shorter window; this is the backstop with a margin wider
//     than any lock-out window).
//   - org_invites (expired): invitations past their expiry and out of the
//     24-hour window of the per-organisation invitation limit. The invited
//     number is a keyed tag.
//   - calendar_feeds (revoked): feed tokens revoked more than Options.Grace
//     ago (a revoked token is never accepted; only its digest was kept).
//   - applications (closed): applications withdrawn, rejected or completed,
//     last changed at or before now minus the catalog's job_application
//     retention (1y; the rule is off when the catalog gives job_application
//     no fixed retention). An application that a contract refers to
//     (contracts.application_id) is kept: the contract is kept for its
//     statutory period and its reference must resolve. Nothing else refers
//     to an application; its sharing-ledger row and consent event are the
//     record of the provision (SHR-1, CON-2) and stay.
//   - outbound_deliveries (delivered): deletion notices and copies
//     delivered more than one year ago. Pending and failed deliveries stay:
//     they are still work.
//   - retained_records (statutory_period_over): records kept under the law
//     after a cancellation (RET-3) once their statutory period has ended.
//
// Rules whose rows name a subject (pi_values, sessions through their
// account, calendar_feeds, applications, outbound_deliveries) skip every
// subject under an active legal hold (a legal_holds row with released_at
// NULL); once the hold is released the next run deletes what is due.
// sms_codes, auth_lockouts, org_invites and retained_records name nobody
// (keyed tags, or nothing at all by design, RET-3), so no hold can reach
// them. A hold takes effect for batches that start after it commits.
//
// Not swept, on purpose: consent_events, sharing_ledger and
// sharing_subjects (the evidence of consent and of every provision, kept
// while the account lives), the audit chain (append-only), contracts and
// payouts (statutory retention, through retained_records at cancellation),
// verifications, rights_requests and rights_messages (the rights package
// owns their life), reveals and bulk_usage (counters of staff activity in
// rolling windows, not about data subjects), approvals.
//
// # How a run works
//
// Run takes the lease "retention" (package lease), so one node sweeps at a
// time; when another node holds it, Run returns a Report with Skipped set
// and no error. It records a retention_runs row (running → finished or
// failed), then works through the rules in batches of Options.BatchSize
// rows. A batch's candidates are read outside any transaction, in key
// order after the previous batch (so rows skipped for a hold are read once
// per run, not once per batch); then ONE transaction re-checks holds and
// erasures for the batch's subjects, deletes the rows that are still due
// and unchanged, appends the batch's audit entries and updates the run's
// row with its running totals. A crash anywhere leaves every batch either
// wholly deleted, audited and counted, or untouched: running the sweeper
// again deletes only what remains, so it is idempotent and resumable. A run
// left "running" by a crash is marked failed by the next run (its totals
// are exact up to its last batch; finished_at stays empty). The lease is
// renewed between batches once a third of its TTL has passed; a run that
// finds it lost stops (ErrLeaseLost).
// Two sweepers that did overlap would still delete and count each row once:
// every deletion re-checks the row inside its transaction and reports only
// what it removed.
//
// # Audit
//
// Each batch appends one retention.delete entry per (rule, field, reason)
// it deleted rows of — actor "system:retention", channel "system", purpose
// "retention", Fields the catalog field (none for other tables) — with
// detail tool, method (e.g. "rows deleted (secure_delete) after catalog
// retention 180d"), rule, reason, retention, rows, subjects (the number of
// distinct people, for rules that name them), run (the retention_runs ID)
// and batch. No values, and no subject IDs: the entries have no subject.
//
// One entry per batch and field rather than one per subject, because
// appends serialise on the chain head and a sweep of 1,000,000 rows over
// 10,000 people would otherwise write up to a million entries (a subject's
// rows spread over many batches) — as much work as the deletion itself —
// and because the chain can never be erased: per-subject entries would
// keep, forever, a record of who once had which kind of data. A batch of
// 1,000 rows costs a handful of entries. The price is that a person's
// audit trail does not name the sweep that removed their values; the
// retention_runs row and the batch's entry say when and how many.
//
// # Observing it
//
// Loop runs Run every interval and logs each outcome with log/slog (run
// ID, rows, batches, rule names; never values or subject IDs).
// RegisterMetrics exposes gigvault_retention_deleted_total{rule} and
// gigvault_retention_last_success_timestamp_seconds. Plan is the dry run:
// what a run at this moment would delete, grouped by rule, field and
// reason, with counts and the oldest moment a row became due; it changes
// nothing. `gigvault retention run [--dry-run]` runs either from the
// command line. See docs/retention.md.
package retention
