-- +goose Up
-- Data-subject rights, deadlines and retention (issue 6). As before, no
-- column holds a PI value in plaintext: what a person wrote (a complaint, a
-- corrected value, the address of a recipient they named) is sealed under
-- their data key or kept in the vault, so erasure takes it with them.

-- Rights requests (DSR-1..7, CON-12). created_at is when the request was
-- received (the regulator report counts it); due_at the statutory deadline
-- (received + N PRC working days), target_at the internal target.
CREATE TABLE rights_requests (
    id               TEXT PRIMARY KEY,
    subject_id       TEXT NOT NULL REFERENCES subjects (id),
    kind             TEXT NOT NULL,  -- access | copy | correction | deletion | complaint | appeal | cancellation
    status           TEXT NOT NULL,  -- confirming | open | in_progress | completed | rejected | withdrawn
    category         TEXT NOT NULL DEFAULT '',
    params           TEXT NOT NULL DEFAULT '{}', -- non-PI parameters (fields, format), JSON
    sealed           BYTEA,                   -- PI parameters sealed under the subject's data key
    sealed_version   INTEGER,
    verified_with    TEXT NOT NULL DEFAULT '',   -- sms | sms+2f
    created_at       BIGINT NOT NULL,
    due_at           BIGINT NOT NULL,
    target_at        BIGINT NOT NULL,
    reminded_at      BIGINT,
    extended_at      BIGINT,
    extension_reason TEXT NOT NULL DEFAULT '',
    handler          TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL DEFAULT '',
    completed_at     BIGINT,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX rights_requests_open ON rights_requests (status, due_at);
CREATE INDEX rights_requests_subject ON rights_requests (subject_id, created_at);

-- Messages both ways on a request. The text is a support_ticket value in
-- the subject's vault (record = message id): retained per the catalog,
-- shredded with the subject.
CREATE TABLE rights_messages (
    id         TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES rights_requests (id),
    author     TEXT NOT NULL, -- subject | staff | system
    actor      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rights_messages_request ON rights_messages (request_id, created_at);

-- Outbound deliveries: deletion notices to every recipient of a person's
-- data (DSR-4, SHR-1) and copies sent to a third party the person named
-- (DSR-3), each with its delivery status.
CREATE TABLE outbound_deliveries (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL, -- deletion_notice | copy
    request_id     TEXT NOT NULL,
    subject_id     TEXT NOT NULL,
    recipient      TEXT NOT NULL,
    recipient_kind TEXT NOT NULL,
    fields         TEXT NOT NULL DEFAULT '',  -- comma-separated catalog field names
    ledger_ids     TEXT NOT NULL DEFAULT '',  -- the provisions the notice concerns
    status         TEXT NOT NULL,             -- pending | delivered | failed
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT NOT NULL DEFAULT '',
    next_at        BIGINT NOT NULL,
    delivered_at   BIGINT,
    delivery_ref   TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL
);
CREATE INDEX outbound_deliveries_due ON outbound_deliveries (status, next_at);
CREATE INDEX outbound_deliveries_request ON outbound_deliveries (request_id);

-- Legal holds: a subject under hold keeps their data past retention (the
-- sweeper skips them) until the hold is released.
CREATE TABLE legal_holds (
    id          TEXT PRIMARY KEY,
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    reason      TEXT NOT NULL,
    placed_by   TEXT NOT NULL,
    placed_at   BIGINT NOT NULL,
    released_by TEXT NOT NULL DEFAULT '',
    released_at BIGINT
);
CREATE INDEX legal_holds_subject ON legal_holds (subject_id, released_at);

-- Leases: background work one node at a time (retention sweeps, deadline
-- clocks, delivery). A holder renews before expires_at; another node takes
-- an expired lease.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Retention sweeps run (RET-1, AUD-4): what each run did, for operators.
CREATE TABLE retention_runs (
    id          TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    status      TEXT NOT NULL, -- running | finished | failed
    deleted     BIGINT NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '{}'
);

-- Records the law requires after an account is cancelled (RET-3):
-- transactions (3 years) and financial identity (5 years), sealed under the
-- retention key, with no column naming the subject or the account. IDs are
-- random (not time-ordered) and times are whole days, so neither lines a
-- record up with the cancellation's audit entry.
CREATE TABLE retained_records (
    id          TEXT PRIMARY KEY,
    class       TEXT NOT NULL, -- transactions | financial_identity
    bundle      TEXT NOT NULL, -- shared by the records of one cancellation
    sealed      BYTEA NOT NULL,
    created_day BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX retained_records_expiry ON retained_records (expires_at);

-- A cancelled account's payout rows stay (the employer's transaction
-- record) without the worker: subject_id becomes NULL.
ALTER TABLE payout_rows ALTER COLUMN subject_id DROP NOT NULL;

-- +goose Down
SELECT 'down migrations are not supported';
