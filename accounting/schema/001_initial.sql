-- quorated's schema, version 1: verification and reputation.
-- Applied once, in a transaction, by quorated at start (schema_migrations).
--
-- One quorated writes, group-committing many reports per statement.  The
-- high-volume tables (replica_results, replica_outcomes, verdicts,
-- reputation_events) carry no foreign keys: their parents (steps, nodes)
-- are written in the same statement, before them, and a per-row check
-- would cost more than the rest of the insert.  Names in keys compare
-- bytewise (COLLATE "C"): they are ASCII identifiers, and a locale-aware
-- comparison in every index probe is not free.  Keys start with their
-- integer columns, whose offsets in an index tuple are fixed.

CREATE TABLE sites (
	name text COLLATE "C" PRIMARY KEY,
	created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per node and cluster; the reputation columns are the state as of
-- updated_at (counts decayed to that moment).
CREATE TABLE nodes (
	cluster text COLLATE "C" NOT NULL,
	name text COLLATE "C" NOT NULL,
	site text COLLATE "C" REFERENCES sites (name),
	agree double precision NOT NULL DEFAULT 0,
	disagree double precision NOT NULL DEFAULT 0,
	missing double precision NOT NULL DEFAULT 0,
	verdicts bigint NOT NULL DEFAULT 0,
	score double precision NOT NULL DEFAULT 0,
	state text NOT NULL DEFAULT 'probation'
		CHECK (state IN ('probation', 'trusted', 'quarantined')),
	quarantined_until timestamptz,
	updated_at timestamptz,
	last_verdict text,
	last_verdict_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster, name)
);

-- A verified job step: its shape comes with its first report.  The row is
-- written when the step appears and when it settles (last_report_at is
-- then exact; meanwhile each part's reported_at tells).
CREATE TABLE steps (
	cluster text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	step_id bigint NOT NULL,
	replicas integer NOT NULL CHECK (replicas BETWEEN 1 AND 64),
	quorum integer NOT NULL CHECK (quorum BETWEEN 1 AND replicas),
	parts integer NOT NULL CHECK (parts >= 1),
	mode text NOT NULL CHECK (mode IN ('exact', 'numeric')),
	tolerance double precision NOT NULL DEFAULT 0,
	owner_uid bigint NOT NULL,
	layout text[],
	first_report_at timestamptz NOT NULL,
	last_report_at timestamptz NOT NULL,
	settled boolean NOT NULL DEFAULT false,
	PRIMARY KEY (job_id, step_id, cluster)
);

-- One row per part of a replica, as the node reported it.
CREATE TABLE replica_results (
	cluster text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	step_id bigint NOT NULL,
	replica integer NOT NULL,
	part integer NOT NULL,
	node text COLLATE "C" NOT NULL,
	sha256 bytea NOT NULL CHECK (length(sha256) = 32),
	exit_status integer NOT NULL,
	runtime double precision NOT NULL DEFAULT 0,
	output bytea,
	output_size bigint,
	reporter_uid bigint NOT NULL,
	reported_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, step_id, cluster, replica, part)
);

-- A replica's outcome, once decided: agree / disagree with the canonical
-- result, or missing.
CREATE TABLE replica_outcomes (
	cluster text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	step_id bigint NOT NULL,
	replica integer NOT NULL,
	outcome text NOT NULL CHECK (outcome IN ('agree', 'disagree', 'missing')),
	nodes text[] NOT NULL,
	decided_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, step_id, cluster, replica)
);

CREATE TABLE verdicts (
	cluster text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	step_id bigint NOT NULL,
	verdict text NOT NULL CHECK (verdict IN ('ACCEPTED', 'REJECTED')),
	canonical_replica integer,
	canonical_digest bytea,
	agree integer NOT NULL,
	disagree integer NOT NULL,
	missing integer NOT NULL,
	reason text NOT NULL,
	decided_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, step_id, cluster)
);

-- Every change of a node's reputation, with its reason.
CREATE TABLE reputation_events (
	id bigserial NOT NULL,
	cluster text COLLATE "C" NOT NULL,
	node text COLLATE "C" NOT NULL,
	at timestamptz NOT NULL,
	kind text NOT NULL CHECK (kind IN ('agree', 'disagree', 'missing', 'readmitted')),
	reason text NOT NULL,
	job_id bigint,
	step_id bigint,
	replica integer,
	score_before double precision NOT NULL,
	score_after double precision NOT NULL,
	state_before text NOT NULL,
	state_after text NOT NULL,
	agree double precision NOT NULL,
	disagree double precision NOT NULL,
	missing double precision NOT NULL,
	PRIMARY KEY (cluster, node, id)		-- one index: a node's events in order
);

-- The trainer's per-rank contributions.
CREATE TABLE contributions (
	cluster text COLLATE "C" NOT NULL,
	job_id bigint NOT NULL,
	step_id bigint NOT NULL,
	rank integer NOT NULL,
	node text COLLATE "C" NOT NULL,
	compute_seconds double precision NOT NULL,
	samples bigint NOT NULL,
	gradients_accepted bigint NOT NULL,
	gradients_rejected bigint NOT NULL,
	reporter_uid bigint NOT NULL,
	reported_at timestamptz NOT NULL,
	PRIMARY KEY (job_id, step_id, cluster, rank)
);
