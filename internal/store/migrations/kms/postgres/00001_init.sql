-- +goose Up
CREATE TABLE gigvault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO gigvault_meta (key, value) VALUES ('schema', 'gigvault-kms');

-- One row: the suite and a check value that only the right root key opens.
CREATE TABLE kms_root (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    suite       TEXT NOT NULL,
    check_value BYTEA NOT NULL,
    origin      TEXT NOT NULL, -- generated (development key) or configured
    created_at  BIGINT NOT NULL
);

-- Key-encryption keys, wrapped by the root key. state: active | retiring | destroyed.
CREATE TABLE kms_keks (
    version      INTEGER PRIMARY KEY,
    wrapped      BYTEA,
    state        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    destroyed_at BIGINT
);

-- One data key per subject, wrapped by a KEK version. Destroyed keys keep a
-- tombstone (wrapped NULL) so the subject reads as erased, never as new.
CREATE TABLE kms_deks (
    subject_id   TEXT PRIMARY KEY,
    dek_version  INTEGER NOT NULL,
    kek_version  INTEGER NOT NULL,
    wrapped      BYTEA,
    created_at   BIGINT NOT NULL,
    destroyed_at BIGINT
);
CREATE INDEX kms_deks_kek ON kms_deks (kek_version) WHERE wrapped IS NOT NULL;

-- Named keys wrapped by the root: the blind-index key, signing keys.
CREATE TABLE kms_keys (
    name       TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    public_key BYTEA,
    created_at BIGINT NOT NULL
);

-- Blind indexes (keyed HMAC of a normalised value) for exact look-ups: log-in
-- by mobile number, duplicate ID numbers. Kept here, not beside the
-- ciphertext, so erasing a subject removes them with the data key and a copy
-- of the business database cannot be searched by brute force. A value may
-- leave a stale row after an update that rolled back; look-ups confirm every
-- candidate by decrypting, so stale rows find nothing.
CREATE TABLE kms_blind (
    subject_id TEXT NOT NULL,
    field      TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    bidx       BYTEA NOT NULL,
    PRIMARY KEY (subject_id, field, record_id, bidx)
);
CREATE INDEX kms_blind_lookup ON kms_blind (field, bidx);

-- +goose Down
SELECT 'down migrations are not supported';
