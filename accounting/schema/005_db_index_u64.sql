-- quorated's schema, version 5: slurmdbd's job db_index as the unsigned
-- 64-bit number it is.
--
-- From Slurm 24.11 a job's db_index is a SLUID: the cluster's id (2..4095,
-- drawn at random when the cluster is added) in its top 12 bits, then the
-- time in milliseconds and a sequence number.  On every cluster whose id is
-- 2048 or more it is above 2^63 - 1, which a bigint cannot hold.  numeric(20)
-- holds every uint64 exactly and orders as the number does; existing rows
-- keep their values.
ALTER TABLE contrib_usage ALTER COLUMN db_index TYPE numeric(20, 0);
ALTER TABLE contrib_usage ADD CONSTRAINT contrib_usage_db_index_u64
	CHECK (db_index >= 0 AND db_index <= 18446744073709551615);
