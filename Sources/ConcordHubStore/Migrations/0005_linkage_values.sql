-- concord-hub-db/2, migration 0005 (the first of /2: it changes what a column means): linkage nodes keep the match-key values themselves
-- (docs/linkage.md, section 2; docs/hub-database.md section 7).
--
-- Nodes stored md5(value)::uuid per key; computing six md5 digests per row made grouping rows into
-- tuples, and joining rows to their nodes, four to five times slower than comparing the values,
-- which are already fixed-length keyed MACs. A digest cannot be turned back into its value, so the
-- nodes are dropped and the next run of each agreement links afresh: person numbers go on from
-- `linkages.next_person` (they are never reused), so persons found afterwards have new numbers.
DELETE FROM linkage_nodes;
DELETE FROM linkage_datasets;
ALTER TABLE linkage_nodes ALTER COLUMN keys TYPE text[] USING keys::text[];
