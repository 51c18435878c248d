-- quorated's schema, version 3: contributions (issue 11).
--
-- `quorate ingest` copies finished jobs from slurmdbd into contrib_usage
-- (one row per job and node) and moves the watermark, in one transaction;
-- `quorate epoch close` reads an epoch's rows, joined with the verifier's
-- outcomes, the trainer's reports and the nodes' reputation, and writes
-- epochs, epoch_records, chain_outbox (schema 002) and the ledger below, in
-- one transaction.  doc/contributions.md explains the formula and units.
-- Amounts are micro-units (1 credit = 10^6), as in common/contrib.h.

-- Finished jobs as slurmdbd accounted them, one row per job and node.  The
-- key is slurmdbd's job_db_inx per cluster and the node: ingesting the same
-- period again inserts nothing.  The epoch is not stored: a row belongs to
-- the epoch that contains end_time (EpochLength).  A row is never updated;
-- one whose epoch is already closed is not inserted (counted as late).
CREATE TABLE contrib_usage (
	db_index bigint NOT NULL,
	cluster text COLLATE "C" NOT NULL,
	node text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	site text COLLATE "C",			-- NULL: no site known at ingest
	account text COLLATE "C",
	user_name text COLLATE "C",
	partition text COLLATE "C",
	qos text COLLATE "C",
	start_time bigint NOT NULL,		-- Unix seconds
	end_time bigint NOT NULL,
	cpu_seconds bigint NOT NULL CHECK (cpu_seconds >= 0),
	gpu_seconds bigint NOT NULL CHECK (gpu_seconds >= 0),
	node_seconds bigint NOT NULL CHECK (node_seconds >= 0),
	ingested_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (db_index, cluster, node)
);
CREATE INDEX contrib_usage_end ON contrib_usage (end_time);

-- How far ingestion got: every job that ended before `watermark` (Unix
-- seconds) and was in slurmdbd IngestOverlap seconds after it is stored.
-- One row.
CREATE TABLE contrib_watermark (
	id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
	watermark bigint NOT NULL CHECK (watermark >= 0),
	runs bigint NOT NULL DEFAULT 0,
	last_jobs bigint NOT NULL DEFAULT 0,
	last_inserted bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- The double-entry ledger of pooled allocations, per closed epoch: the
-- credits of an account of site H run on site N's nodes appear twice,
-- (N, H, 'earned', +amount) and (H, N, 'spent', -amount); the rows of an
-- epoch sum to zero.  Written with the epoch's row, never changed.
CREATE TABLE contrib_ledger (
	epoch bigint NOT NULL REFERENCES epochs (epoch),
	site text COLLATE "C" NOT NULL,
	counterparty text COLLATE "C" NOT NULL,
	kind text NOT NULL CHECK (kind IN ('earned', 'spent')),
	amount bigint NOT NULL,			-- micro-credits
	records bigint NOT NULL CHECK (records >= 0),
	PRIMARY KEY (epoch, site, counterparty, kind),
	CHECK (site <> counterparty),
	CHECK ((kind = 'earned' AND amount > 0) OR (kind = 'spent' AND amount < 0))
);

-- Balances per site over every closed epoch: the sums of contrib_ledger,
-- kept in the same transaction (the balance hook reads them).
CREATE TABLE contrib_balances (
	site text COLLATE "C" PRIMARY KEY,
	earned bigint NOT NULL DEFAULT 0 CHECK (earned >= 0),
	spent bigint NOT NULL DEFAULT 0 CHECK (spent >= 0),
	balance bigint NOT NULL DEFAULT 0,
	last_epoch bigint,
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (balance = earned - spent)
);

-- An epoch's figures that the chain does not carry: per record, the
-- cluster and node behind the leaf, node-seconds, credits and usage rows
-- (epoch_records has the leaf's fields).
CREATE TABLE contrib_epoch_nodes (
	epoch bigint NOT NULL,
	idx integer NOT NULL,
	cluster text COLLATE "C" NOT NULL,
	node text COLLATE "C" NOT NULL,
	node_seconds bigint NOT NULL,
	credits bigint NOT NULL,
	usage_records bigint NOT NULL,
	PRIMARY KEY (epoch, idx),
	FOREIGN KEY (epoch, idx) REFERENCES epoch_records (epoch, idx)
);
