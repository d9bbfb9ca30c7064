-- concord-hub-db/1, migration 0004: the audit log as a transparency log (docs/transparency-log.md,
-- docs/hub-database.md section 9). Never edit it after release.

-- Hashes of the complete subtrees of the audit log's Merkle tree (leaf i is the entry with seq i+1):
-- a cache, so that roots and proofs take a few lookups instead of a pass over the log. Only the
-- checkpointer adds to it, under the advisory lock (1131310691, 4).
CREATE TABLE audit_tree_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 0 AND 62),
    idx   bigint NOT NULL CHECK (idx >= 0),
    hash  bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

-- Every checkpoint the hub signed: the C2SP signed note verbatim, and what it commits to.
CREATE TABLE audit_checkpoints (
    tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
    root_hash bytea NOT NULL CHECK (length(root_hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id    text NOT NULL,
    note      text NOT NULL
);

-- Like audit_log, both only grow: a change needs the trigger dropped first, a visible act.
CREATE FUNCTION refuse_change_to_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_tree_nodes_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_tree_nodes
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only();
CREATE TRIGGER audit_tree_nodes_no_truncate BEFORE TRUNCATE ON audit_tree_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only();
CREATE TRIGGER audit_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_tree_nodes, audit_checkpoints FROM PUBLIC;

-- What `concord audit log` and GET /v1/audit filter on.
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        GRANT SELECT, INSERT ON audit_tree_nodes, audit_checkpoints TO concord_hub;
    END IF;
END
$$;
