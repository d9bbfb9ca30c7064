-- concord-hub-db/1, migration 0008: agency key rotation (docs/hub-database.md, docs/api-auth.md).
-- An agency may hold several signing keys at once, so that a new key can be registered before the
-- agency's agent switches to it; a revoked key stays listed (with when and why) so that what it
-- signed can still be attributed, but nothing signed with it is accepted any more.
CREATE TABLE agency_keys (
    agency_id     text NOT NULL REFERENCES agencies (id),
    key_id        text NOT NULL,
    public_key    text NOT NULL,
    added_at      timestamptz NOT NULL DEFAULT now(),
    added_by      text NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text,
    revoke_reason text CHECK (revoke_reason <> ''),
    PRIMARY KEY (agency_id, key_id),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL) AND (revoked_at IS NULL) = (revoke_reason IS NULL))
);

-- Every agency's one key so far becomes its first key; the columns that held it go, so there is
-- one place a key lives.
INSERT INTO agency_keys (agency_id, key_id, public_key, added_at, added_by)
    SELECT id, key_id, public_key, created_at, 'migration 0008' FROM agencies;
ALTER TABLE agencies DROP COLUMN public_key, DROP COLUMN key_id;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'concord_hub') THEN
        -- No DELETE: a key is revoked, never forgotten.
        GRANT SELECT, INSERT, UPDATE ON agency_keys TO concord_hub;
    END IF;
END
$$;
