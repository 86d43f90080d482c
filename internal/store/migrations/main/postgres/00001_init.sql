-- +goose Up
CREATE TABLE gigvault_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO gigvault_meta (key, value) VALUES ('schema', 'gigvault');

-- Data subjects: people whose PI the vault holds. No PI here, only an ID.
CREATE TABLE subjects (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    erased_at  BIGINT
);
CREATE INDEX subjects_erased ON subjects (erased_at) WHERE erased_at IS NOT NULL;

-- Every stored PI value, as ciphertext under the subject's data key. Blind
-- indexes for exact look-ups live in the key store (kms_blind), so a copy of
-- this database holds nothing that can be matched against guesses.
CREATE TABLE pi_values (
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    field       TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    dek_version INTEGER NOT NULL,
    ciphertext  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    PRIMARY KEY (subject_id, field, record_id)
);
CREATE INDEX pi_values_expiry ON pi_values (expires_at) WHERE expires_at IS NOT NULL;

-- The audit chain: hash = digest(prev hash || canonical entry). seq is the
-- entry's ID; the search columns and the body are all covered by the hash.
CREATE TABLE audit_entries (
    seq        BIGINT PRIMARY KEY,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    body       BYTEA NOT NULL, -- fields, purpose, outcome, channel, detail; never values
    hash       BYTEA NOT NULL
);
-- Search indexes (AUD-5), each in chain order.
CREATE INDEX audit_entries_actor ON audit_entries (actor, seq);
CREATE INDEX audit_entries_subject ON audit_entries (subject_id, seq);
CREATE INDEX audit_entries_at ON audit_entries (at);

CREATE TABLE audit_checkpoints (
    seq       BIGINT PRIMARY KEY,
    hash      BYTEA NOT NULL,
    at        BIGINT NOT NULL,
    key_id    TEXT NOT NULL,
    signature BYTEA NOT NULL
);

CREATE TABLE audit_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    seq            BIGINT NOT NULL,
    hash           BYTEA NOT NULL,
    checkpoint_seq BIGINT NOT NULL,
    checkpoint_at  BIGINT NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION gigvault_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION gigvault_append_only();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION gigvault_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION gigvault_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION gigvault_append_only();

-- +goose Down
SELECT 'down migrations are not supported';
