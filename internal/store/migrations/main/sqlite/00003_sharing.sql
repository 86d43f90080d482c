-- +goose Up
-- The sharing ledger (SHR-1, SHR-5): every provision of PI outside gigvault.
-- Rows name recipients, purposes and catalog field names, never values.
CREATE TABLE sharing_ledger (
    id             TEXT PRIMARY KEY,
    at             BIGINT NOT NULL,
    recipient      TEXT NOT NULL, -- third-party registry ID, or an employer organisation ID
    recipient_kind TEXT NOT NULL, -- sdk | recipient | processor | employer | subject_named
    purpose        TEXT NOT NULL,
    fields         TEXT NOT NULL, -- comma-separated catalog field names
    subjects       INTEGER NOT NULL,
    records        INTEGER NOT NULL,
    legal_basis    TEXT NOT NULL, -- consent | contract | legal_obligation | …
    consent_ref    TEXT NOT NULL, -- the consent record or receipt relied on; '' when not consent
    actor          TEXT NOT NULL,
    channel        TEXT NOT NULL
);
CREATE INDEX sharing_ledger_recipient ON sharing_ledger (recipient, at);

-- Which subjects each provision concerned, so the access right can show a
-- person every recipient of their data.
CREATE TABLE sharing_subjects (
    ledger_id  TEXT NOT NULL REFERENCES sharing_ledger (id),
    subject_id TEXT NOT NULL,
    PRIMARY KEY (ledger_id, subject_id)
);
CREATE INDEX sharing_subjects_subject ON sharing_subjects (subject_id);

-- +goose Down
SELECT 'down migrations are not supported';
