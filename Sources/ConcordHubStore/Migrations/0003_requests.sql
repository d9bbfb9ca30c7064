-- concord-hub-db/1, migration 0003: analysts' requests and their download links
-- (docs/hub-database.md section 8, docs/requests.md). Never edit it after release.

-- One analyst request under one agreement version, from its decision to its output.
CREATE TABLE requests (
    id                uuid PRIMARY KEY,
    agreement_id      text NOT NULL,
    agreement_version integer NOT NULL,
    requester         text NOT NULL REFERENCES users (id),
    purpose           text NOT NULL,
    datasets          text[] NOT NULL CHECK (cardinality(datasets) > 0),
    -- `dataset.Field`: the fields of a row-level output, the dimensions of an aggregate one.
    fields            text[] NOT NULL,
    level             text NOT NULL CHECK (level IN ('aggregate', 'row_level')),
    as_of             date,
    justification     text,
    state             text NOT NULL CHECK (state IN ('refused', 'pending', 'approved', 'denied', 'cancelled', 'ready', 'failed')),
    -- The decision's reasons as canonical JSON: [{"code": …, "message": …}, …].
    reasons           text NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    -- The IG officer who approved or denied, why, and when.
    decided_by        text REFERENCES users (id),
    decision_reason   text,
    decided_at        timestamptz,
    cancelled_at      timestamptz,
    completed_at      timestamptz,
    output_sha256     bytea CHECK (length(output_sha256) = 32),
    output_rows       bigint CHECK (output_rows >= 0),
    output_bytes      bigint CHECK (output_bytes >= 0),
    -- The linkage report of the run that made the output (JSON, no pseudonyms).
    linkage_report    text,
    error             text,
    FOREIGN KEY (agreement_id, agreement_version) REFERENCES agreements (id, version),
    CHECK (state <> 'refused' OR reasons <> '[]'),
    CHECK ((decided_by IS NULL) = (decision_reason IS NULL) AND (decided_by IS NULL) = (decided_at IS NULL)),
    CHECK (state <> 'denied' OR decided_by IS NOT NULL),
    CHECK (state NOT IN ('pending', 'refused') OR decided_by IS NULL),
    CHECK ((state = 'cancelled') = (cancelled_at IS NOT NULL)),
    CHECK (state NOT IN ('ready', 'failed') OR completed_at IS NOT NULL),
    CHECK (completed_at IS NULL OR state IN ('ready', 'failed', 'cancelled')),
    CHECK ((output_sha256 IS NULL) = (output_rows IS NULL) AND (output_sha256 IS NULL) = (output_bytes IS NULL)),
    CHECK (state <> 'ready' OR output_sha256 IS NOT NULL),
    CHECK (output_sha256 IS NULL OR state IN ('ready', 'cancelled')),
    CHECK ((state = 'failed') = (error IS NOT NULL))
);
CREATE INDEX requests_requester ON requests (requester, created_at);
CREATE INDEX requests_agreement ON requests (agreement_id, state);

-- Short-lived, single-use links to download a ready output; only the token's SHA-256 is kept.
CREATE TABLE request_links (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    request_id   uuid NOT NULL REFERENCES requests (id),
    created_by   text NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    used_by      text REFERENCES users (id),
    CHECK (expires_at > created_at),
    CHECK ((used_at IS NULL) = (used_by IS NULL))
);
CREATE INDEX request_links_request ON request_links (request_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT, INSERT, UPDATE ON requests, request_links TO concord_hub;
    END IF;
END
$$;
