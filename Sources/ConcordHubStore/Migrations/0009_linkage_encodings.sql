-- concord-hub-db/2, migration 0009: linkage nodes keep a privacy-preserving encoding for the
-- fuzzy pass (docs/pprl.md, docs/linkage.md section 3, docs/hub-database.md section 7).
-- Never edit it after release. (0008 is taken by another branch; migrations apply in order.)
--
-- encoding is NULL for a node of a dataset without encodings, else its representative row's
-- `clk` cell followed by that row's blocking tokens, in the order of the encoding's blocks
-- (ARRAY[clk, clk_b1, clk_b2]); a token is NULL where the row has none. Additive: existing
-- nodes keep NULL until their agreement's plan changes (a plan with the fuzzy pass has another
-- signature, so its linkage is rebuilt and every node read again).
ALTER TABLE linkage_nodes ADD COLUMN encoding text[];
