-- concord-hub-db/1, migration 0002: incremental person linkage (docs/linkage.md, docs/hub-database.md section 7).

-- One linkage per agreement id: the plan it was made under and the next person number.
CREATE TABLE linkages (
    agreement_id      text PRIMARY KEY,
    agreement_version integer NOT NULL CHECK (agreement_version > 0),
    signature         text NOT NULL,
    next_person       bigint NOT NULL DEFAULT 1 CHECK (next_person > 0),
    runs              bigint NOT NULL DEFAULT 0 CHECK (runs >= 0),
    last_run          text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Distinct match-key tuples ("nodes") of the agreement's published records, and their person.
-- keys[i] is the value of the agreement's i-th match key (NULL where the record has none).
CREATE TABLE linkage_nodes (
    agreement_id text NOT NULL REFERENCES linkages (agreement_id) ON DELETE CASCADE,
    node         bigint GENERATED ALWAYS AS IDENTITY,
    dataset      text NOT NULL,
    fingerprint  bytea NOT NULL CHECK (length(fingerprint) = 32),
    keys         text[] NOT NULL,
    records      bigint NOT NULL CHECK (records > 0),
    person       bigint,
    evidence     text,
    flagged      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (agreement_id, node),
    UNIQUE (agreement_id, dataset, fingerprint)
);
CREATE INDEX linkage_nodes_person ON linkage_nodes (agreement_id, person);

-- Persons merged or split by a linkage run, with the key that caused it.
CREATE TABLE linkage_events (
    agreement_id text NOT NULL REFERENCES linkages (agreement_id) ON DELETE CASCADE,
    run          bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('merge', 'split')),
    person       bigint NOT NULL,
    other        bigint NOT NULL,
    key          text,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX linkage_events_run ON linkage_events (agreement_id, run);

-- The SHA-256 of a node's key array: one line per key, NULL as an empty line. What a dataset
-- row is joined to its node on.
CREATE FUNCTION concord_key_fingerprint(keys text[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN sha256(convert_to(array_to_string(keys, E'\n', ''), 'UTF8'));

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON linkages, linkage_nodes, linkage_events TO concord_hub;
    END IF;
END
$$;
