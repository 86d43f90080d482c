-- +goose Up
-- Identity and access (issue 3). No column here holds personal
-- information in plaintext: people are subject IDs, numbers are keyed
-- digests ("tags"), credentials are sealed under the person's data key.

-- Employers: company data (name, unified social credit code), not PI.
CREATE TABLE organisations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    uscc       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

-- One account per person: no shared accounts (ACC-4). A staff member's
-- login name is an internal identifier, not a contact detail.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL, -- worker | employer | staff
    subject_id      TEXT NOT NULL UNIQUE REFERENCES subjects (id),
    org_id          TEXT REFERENCES organisations (id),
    login_name      TEXT UNIQUE,
    status          TEXT NOT NULL, -- active | disabled | cancelled
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    last_active_at  BIGINT NOT NULL,
    disabled_at     BIGINT
);
CREATE INDEX accounts_idle ON accounts (kind, status, last_active_at);

CREATE TABLE account_roles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role       TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, role)
);

-- Staff password (argon2id) and TOTP secret, sealed together under the
-- staff member's data key; totp_step is the last accepted time step, so a
-- code is never accepted twice.
CREATE TABLE staff_credentials (
    account_id  TEXT PRIMARY KEY REFERENCES accounts (id),
    dek_version INTEGER NOT NULL,
    sealed      BLOB NOT NULL,
    totp_step   BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- SMS one-time codes. The number is a keyed digest; the code is a keyed
-- digest bound to the challenge ID.
CREATE TABLE sms_codes (
    id         TEXT PRIMARY KEY,
    number_tag BLOB NOT NULL,
    purpose    TEXT NOT NULL,
    code_tag   BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries      INTEGER NOT NULL,
    used_at    BIGINT
);
CREATE INDEX sms_codes_number ON sms_codes (number_tag, created_at);
CREATE INDEX sms_codes_created ON sms_codes (created_at);

-- Consecutive authentication failures and lock-outs, by keyed digest of the
-- account or number.
CREATE TABLE auth_lockouts (
    key_tag          BLOB PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failure_at BIGINT NOT NULL,
    locked_until     BIGINT NOT NULL
);

-- Invitations to join an employer organisation, by keyed digest of the
-- invited number. Nothing is created for the number until its owner signs in
-- by SMS code and agrees to the privacy policy.
CREATE TABLE org_invites (
    number_tag BLOB NOT NULL,
    org_id     TEXT NOT NULL REFERENCES organisations (id),
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (number_tag, org_id)
);
CREATE INDEX org_invites_org ON org_invites (org_id, created_at);

-- Sessions: only the digest of the opaque token is kept.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY,
    token_hash     BLOB NOT NULL UNIQUE,
    account_id     TEXT NOT NULL REFERENCES accounts (id),
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX sessions_account ON sessions (account_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL;

-- Reveals of whole values, counted for the per-staff limit (ACC-6); the
-- audit chain holds who, what and why.
CREATE TABLE reveals (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX reveals_account ON reveals (account_id, at);

-- Records each staff member exported, downloaded or changed in bulk without
-- an approval, for the rolling per-person limit (ACC-5: splitting a large
-- job into small ones does not avoid the approval).
CREATE TABLE bulk_usage (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    records    INTEGER NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX bulk_usage_account ON bulk_usage (account_id, at);

-- Four-eyes approvals (ACC-5). params is JSON naming subjects, fields and
-- purpose: IDs and names, never values.
CREATE TABLE approvals (
    id            TEXT PRIMARY KEY,
    action        TEXT NOT NULL,
    requester     TEXT NOT NULL,
    params        TEXT NOT NULL,
    records       INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL, -- pending | approved | rejected | executed
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    decided_by    TEXT,
    decided_at    BIGINT,
    decision_note TEXT,
    executed_at   BIGINT
);
CREATE INDEX approvals_status ON approvals (status, created_at);

-- Consent state, latest per subject and purpose. The consent issue builds
-- the full record (versions, evidence, receipts) on top.
CREATE TABLE consents (
    subject_id     TEXT NOT NULL REFERENCES subjects (id),
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    policy_version TEXT NOT NULL,
    channel        TEXT NOT NULL,
    at             BIGINT NOT NULL,
    PRIMARY KEY (subject_id, purpose)
);

-- +goose Down
SELECT 'down migrations are not supported';
