-- concord-hub-db/1, migration 0001: the foundation (docs/hub-database.md describes every table).
-- Applied once, inside a transaction, by HubStore.migrate(); never edit it after release: the hub
-- refuses to start when an applied migration's SHA-256 differs from the file it carries.

-- Agencies that may upload: their Ed25519 signing key as the pasteable public key line.
CREATE TABLE agencies (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    public_key  text NOT NULL,
    key_id      text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz,
    CHECK (enabled = (disabled_at IS NULL))
);

-- People (analysts, IG officers, admins) and the SHA-256 of their bearer token; never the token.
CREATE TABLE users (
    id           text PRIMARY KEY,
    role         text NOT NULL CHECK (role IN ('analyst', 'ig-officer', 'admin')),
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    enabled      boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    disabled_at  timestamptz,
    CHECK (enabled = (disabled_at IS NULL))
);

-- Every version of every data sharing agreement ever applied, as the YAML that was applied.
CREATE TABLE agreements (
    id         text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    sha256     bytea NOT NULL CHECK (length(sha256) = 32),
    document   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    PRIMARY KEY (id, version)
);

-- Nonces of signed agency requests, kept for the replay window.
CREATE TABLE request_nonces (
    agency_id text NOT NULL REFERENCES agencies (id),
    nonce     text NOT NULL,
    seen_at   timestamptz NOT NULL,
    PRIMARY KEY (agency_id, nonce)
);
CREATE INDEX request_nonces_seen_at ON request_nonces (seen_at);

-- Envelope uploads, named by their header digest (docs/envelope.md, section 1).
CREATE TABLE uploads (
    id              uuid PRIMARY KEY,
    agency_id       text NOT NULL REFERENCES agencies (id),
    header_digest   bytea NOT NULL UNIQUE CHECK (length(header_digest) = 32),
    manifest        text NOT NULL,
    dataset         text NOT NULL,
    envelope_length bigint NOT NULL CHECK (envelope_length >= 0),
    received        bigint NOT NULL CHECK (received >= 0 AND received <= envelope_length),
    state           text NOT NULL DEFAULT 'receiving' CHECK (state IN ('receiving', 'complete', 'refused')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    receipt         text,
    problem         text,
    CHECK ((state = 'complete') = (receipt IS NOT NULL)),
    CHECK ((state = 'refused') = (problem IS NOT NULL)),
    CHECK ((state = 'receiving') = (completed_at IS NULL))
);

-- One loaded extract of one upload; its rows live in the dataset's ds_<dataset> table.
CREATE TABLE extracts (
    id           bigserial PRIMARY KEY,
    upload_id    uuid NOT NULL REFERENCES uploads (id),
    agency_id    text NOT NULL REFERENCES agencies (id),
    dataset      text NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('snapshot', 'append')),
    state        text NOT NULL DEFAULT 'staged' CHECK (state IN ('staged', 'published', 'superseded', 'discarded')),
    rows         bigint NOT NULL DEFAULT 0 CHECK (rows >= 0),
    retain_until date,
    staged_at    timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    ended_at     timestamptz,
    CHECK ((state IN ('superseded', 'discarded')) = (ended_at IS NOT NULL))
);
-- What the current_<dataset> views join on, and what a snapshot supersedes.
CREATE INDEX extracts_published ON extracts (agency_id, dataset) WHERE state = 'published';
CREATE INDEX extracts_staged ON extracts (staged_at) WHERE state = 'staged';
-- An upload is published at most once.
CREATE UNIQUE INDEX extracts_upload_published ON extracts (upload_id) WHERE state IN ('published', 'superseded');

-- The hash-chained, append-only audit log (docs/hub-database.md, "Audit log").
CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    at        timestamptz NOT NULL,
    actor     text NOT NULL,
    action    text NOT NULL,
    subject   text NOT NULL,
    outcome   text NOT NULL,
    content   text NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash      bytea NOT NULL UNIQUE CHECK (length(hash) = 32)
);

-- Even the table's owner cannot change or remove an entry without first dropping this trigger,
-- which is itself a visible act; the hash chain shows any edit made around it.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- The runtime role. Created when the migrating role may create roles (the embedded cluster's
-- superuser, or a DBA's); otherwise whoever manages the database creates it and re-runs
-- migrations. Roles are cluster-wide, so two databases migrating at once may race to create it:
-- the loser finds it there.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub')
       AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        BEGIN
            CREATE ROLE concord_hub NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT ON schema_migrations TO concord_hub;
        GRANT SELECT, INSERT, UPDATE ON agencies, users, uploads, extracts TO concord_hub;
        GRANT SELECT, INSERT ON agreements TO concord_hub;
        GRANT SELECT, INSERT, DELETE ON request_nonces TO concord_hub;
        GRANT USAGE ON SEQUENCE extracts_id_seq TO concord_hub;
        -- INSERT and SELECT only: the hub can append to the audit log, never change it.
        GRANT SELECT, INSERT ON audit_log TO concord_hub;
    END IF;
END
$$;
