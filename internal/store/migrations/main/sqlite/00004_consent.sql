-- +goose Up
-- Consent and transparency (issue 4): privacy-policy versions, consent
-- events with their evidence, personalisation choices, and the platform
-- tables the basic function needs (résumés, jobs, applications). No column
-- holds a PI value: résumé contents live in the vault, people are subject
-- IDs, IP addresses are keyed tags.

-- Privacy-policy versions (CON-1, CON-3). A draft is edited until it is
-- published; publishing freezes the rendered documents and their digest.
CREATE TABLE policy_versions (
    version      TEXT PRIMARY KEY,
    seq          BIGINT UNIQUE,          -- publication order 1, 2, …; NULL while a draft
    status       TEXT NOT NULL,          -- draft | published
    material     INTEGER NOT NULL,       -- 1: a material change that needs fresh consent
    effective_at BIGINT NOT NULL,
    summary_zh   TEXT NOT NULL,
    summary_en   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    published_by TEXT NOT NULL DEFAULT '',
    published_at BIGINT NOT NULL DEFAULT 0,
    document     TEXT NOT NULL DEFAULT '', -- rendered policy (JSON), frozen at publication
    children     TEXT NOT NULL DEFAULT '', -- rendered children's policy (JSON), frozen at publication
    digest       TEXT NOT NULL DEFAULT ''  -- hex digest of document ‖ children
);

-- Every consent act with its evidence (CON-2, CON-4 to CON-9). The ID is
-- the receipt's consentReceiptID.
CREATE TABLE consent_events (
    id             TEXT PRIMARY KEY,
    subject_id     TEXT NOT NULL REFERENCES subjects (id),
    scope          TEXT NOT NULL, -- policy | function:<id> | sensitive:<id> | recipient:<id> | processor:<id>
    event          TEXT NOT NULL, -- agree | refuse | withdraw
    policy_version TEXT NOT NULL,
    channel        TEXT NOT NULL,
    notice_digest  TEXT NOT NULL, -- digest of the notice text shown
    ip_tag         TEXT NOT NULL, -- keyed tag of the client IP (pseudonymised)
    acted_by       TEXT NOT NULL, -- subject | guardian
    guardian_ref   TEXT NOT NULL DEFAULT '', -- the guardian's own subject ID
    relationship   TEXT NOT NULL DEFAULT '', -- parent | legal_guardian
    at             BIGINT NOT NULL
);
CREATE INDEX consent_events_subject ON consent_events (subject_id, at);

-- The current state per subject and scope, the decision point's view.
ALTER TABLE consents ADD COLUMN event_id TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN policy_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consents ADD COLUMN refused_at BIGINT NOT NULL DEFAULT 0; -- last refusal or withdrawal (CON-7)
-- consents is now keyed by scope: a registration's agreement to the policy
-- is the "policy" scope, which covers the basic function's purposes.
UPDATE consents SET purpose = 'policy' WHERE purpose = 'account_registration';
DELETE FROM consents WHERE purpose IN ('job_matching', 'job_search', 'resume_sharing', 'application_management', 'customer_service', 'rights_request');

-- Personalised recommendations (CON-11): on by default only after consent;
-- fields lists the PI types the person lets them use.
CREATE TABLE personalisation (
    subject_id TEXT PRIMARY KEY REFERENCES subjects (id),
    enabled    INTEGER NOT NULL,
    fields     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Résumés: metadata only; the contents are vault values of the worker's
-- subject with the résumé ID as the record.
CREATE TABLE resumes (
    id         TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    visibility TEXT NOT NULL, -- private | public
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX resumes_subject ON resumes (subject_id);

-- Jobs are employers' postings, not personal information (OPS-1 scans
-- their text for stray PI before they are stored).
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    city        TEXT NOT NULL,
    category    TEXT NOT NULL,
    pay_fen     BIGINT NOT NULL,
    pay_unit    TEXT NOT NULL, -- hour | day | piece | month
    status      TEXT NOT NULL, -- open | closed
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX jobs_city ON jobs (city, status, created_at);

-- Applications: a worker applying shares a résumé with the job's employer
-- (a provision, recorded in the sharing ledger).
CREATE TABLE applications (
    id          TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs (id),
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    resume_id   TEXT NOT NULL REFERENCES resumes (id),
    status      TEXT NOT NULL, -- applied | withdrawn | accepted | rejected
    consent_ref TEXT NOT NULL,
    ledger_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (job_id, subject_id)
);
CREATE INDEX applications_org ON applications (org_id, created_at);
CREATE INDEX applications_subject ON applications (subject_id);

-- +goose Down
SELECT 'down migrations are not supported';
