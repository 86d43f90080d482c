-- +goose Up
-- The gig platform (issue 5). As before, no column holds a PI value in
-- plaintext: people are subject IDs, PI lives in the vault.

-- Jobs (GIG-3, GIG-4): where the work is (the workplace's address and
-- coordinates: a business location, not personal information), when
-- (time slots; starts_at/ends_at bound them for the time filter), how
-- many people, and the 0.1° grid cell the nearby search looks up.
ALTER TABLE jobs ADD COLUMN place TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN lat_e6 BIGINT;
ALTER TABLE jobs ADD COLUMN lng_e6 BIGINT;
ALTER TABLE jobs ADD COLUMN cell BIGINT;
ALTER TABLE jobs ADD COLUMN head_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN slots TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN starts_at BIGINT;
ALTER TABLE jobs ADD COLUMN ends_at BIGINT;
ALTER TABLE jobs ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;


-- Employer organisations: profile and verification (an employer's
-- company data, not PI; the contact person's details are vault values of
-- the member's subject).
ALTER TABLE organisations ADD COLUMN city TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN industry TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE organisations ADD COLUMN verified_at BIGINT;
ALTER TABLE organisations ADD COLUMN verified_by TEXT;
ALTER TABLE organisations ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

-- Applications (item 5): the interview, check-in and completion, and the
-- worker's acceptance of contact, after which the employer may reveal the
-- mobile number once (GIG-2).
ALTER TABLE applications ADD COLUMN interview_at BIGINT;
ALTER TABLE applications ADD COLUMN checked_in_at BIGINT;
ALTER TABLE applications ADD COLUMN completed_at BIGINT;
ALTER TABLE applications ADD COLUMN contact_accepted_at BIGINT;
ALTER TABLE applications ADD COLUMN contact_revealed_at BIGINT;
ALTER TABLE applications ADD COLUMN contact_revealed_by TEXT;

-- Public résumés are found by employers through keyed tags of their
-- skills, city and intent: the terms themselves are not stored here.
CREATE TABLE resume_terms (
    tag       BYTEA NOT NULL,
    resume_id TEXT NOT NULL REFERENCES resumes (id),
    PRIMARY KEY (tag, resume_id)
);
CREATE INDEX resume_terms_resume ON resume_terms (resume_id);

-- Calendar subscriptions (item 5): only the digest of the feed token.
CREATE TABLE calendar_feeds (
    token_hash BYTEA PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX calendar_feeds_subject ON calendar_feeds (subject_id);

-- Identity verification results (GIG-5): level, outcome, provider and its
-- reference; the factors themselves are vault values.
CREATE TABLE verifications (
    id           TEXT PRIMARY KEY,
    subject_id   TEXT NOT NULL REFERENCES subjects (id),
    level        INTEGER NOT NULL, -- 2 | 3 | 4 factors
    outcome      TEXT NOT NULL,    -- passed | failed
    reason       TEXT NOT NULL DEFAULT '',
    provider     TEXT NOT NULL,
    provider_ref TEXT NOT NULL DEFAULT '',
    factors      TEXT NOT NULL,    -- factor names, comma-separated
    created_at   BIGINT NOT NULL
);
CREATE INDEX verifications_subject ON verifications (subject_id, created_at);

-- Electronic contracts (GIG-6). The rendered document is a vault value
-- (contract_record) of the worker; here are its digest, the parties'
-- signatures and the public keys that check them, which survive the
-- worker's erasure.
CREATE TABLE contract_templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    variables  TEXT NOT NULL, -- JSON list of variable names
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE contracts (
    id             TEXT PRIMARY KEY,
    template_id    TEXT NOT NULL REFERENCES contract_templates (id),
    application_id TEXT REFERENCES applications (id),
    org_id         TEXT NOT NULL REFERENCES organisations (id),
    subject_id     TEXT NOT NULL REFERENCES subjects (id),
    status         TEXT NOT NULL, -- offered | signed | void
    variables      TEXT NOT NULL, -- JSON: the employer's template values (job, pay, dates); no worker PI
    digest         TEXT NOT NULL DEFAULT '', -- hex digest of the canonical document, once signed
    valid_from     BIGINT NOT NULL,
    valid_until    BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX contracts_subject ON contracts (subject_id, created_at);
CREATE INDEX contracts_org ON contracts (org_id, created_at);

CREATE TABLE signing_keys (
    key_id     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL, -- "platform" or a subject ID
    algorithm  TEXT NOT NULL,
    public_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX signing_keys_owner ON signing_keys (owner);

-- A worker's signing key, sealed under their data key: erasing them makes
-- it noise, while its public half stays in signing_keys.
CREATE TABLE worker_signing_keys (
    subject_id  TEXT PRIMARY KEY REFERENCES subjects (id),
    key_id      TEXT NOT NULL REFERENCES signing_keys (key_id),
    dek_version INTEGER NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE contract_signatures (
    contract_id TEXT NOT NULL REFERENCES contracts (id),
    party       TEXT NOT NULL, -- worker | platform
    signer      TEXT NOT NULL,
    key_id      TEXT NOT NULL REFERENCES signing_keys (key_id),
    signed_at   BIGINT NOT NULL,
    signature   BYTEA NOT NULL,
    PRIMARY KEY (contract_id, party)
);

-- Payout batches (GIG-7): validated whole, approved by a second member,
-- paid through the rail; each row's status is tracked.
CREATE TABLE payout_batches (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organisations (id),
    status          TEXT NOT NULL, -- pending_approval | approved | rejected | submitted | completed
    row_count       INTEGER NOT NULL,
    total_fen       BIGINT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    decided_by      TEXT,
    decided_at      BIGINT,
    file_digest     TEXT NOT NULL DEFAULT '',
    file_created_at BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX payout_batches_org ON payout_batches (org_id, created_at);

CREATE TABLE payout_rows (
    batch_id   TEXT NOT NULL REFERENCES payout_batches (id),
    line       INTEGER NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    amount_fen BIGINT NOT NULL,
    memo       TEXT NOT NULL,
    status     TEXT NOT NULL, -- pending | paid | failed
    rail_ref   TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (batch_id, line)
);
CREATE INDEX payout_rows_subject ON payout_rows (subject_id);

-- Full-text search over job titles and descriptions (GIG-3): the terms
-- (CJK character bigrams plus lowercased words, jobs.Terms) in a GIN
-- index; seq gives the insertion order the search pages by, as SQLite's
-- rowid does.
ALTER TABLE jobs ADD COLUMN terms TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN seq BIGINT GENERATED BY DEFAULT AS IDENTITY;
CREATE INDEX jobs_terms ON jobs USING gin (terms);
-- Finer statistics on the terms, so a rare term is estimated as rare and
-- served from the GIN index rather than by walking seq backwards.
ALTER TABLE jobs ALTER COLUMN terms SET STATISTICS 1000;
-- Newest first is seq order: (status, seq) and (city, status, seq) serve
-- a filtered page from the end of the index; the nearby search reads only
-- the covering (cell, status) index before it fetches the page's jobs.
DROP INDEX jobs_city;
CREATE INDEX jobs_city ON jobs (city, status, seq);
CREATE INDEX jobs_status ON jobs (status, seq);
CREATE INDEX jobs_cell ON jobs (cell, status) INCLUDE (lat_e6, lng_e6, category, seq);
CREATE INDEX jobs_seq ON jobs (seq);

-- +goose Down
SELECT 'down migrations are not supported';
