-- quorated's schema, version 6: Slurm's evidence of node failures.
--
-- With NodeFailMissing=yes, `quorate ingest` finds the jobs that ended
-- NODE_FAIL and the nodes slurmdbd recorded going DOWN while they ran, and
-- quorated counts each such node once as a missing outcome: a 'node-fail'
-- event with the job's id, at the job's end.  The unique index is what
-- makes "once" hold when a later ingest reads the same job again.
ALTER TABLE reputation_events DROP CONSTRAINT reputation_events_kind_check;
ALTER TABLE reputation_events ADD CONSTRAINT reputation_events_kind_check
	CHECK (kind IN ('agree', 'disagree', 'missing', 'readmitted', 'reevaluated',
			'admin-quarantine', 'admin-release', 'admin-reset', 'node-fail'));
CREATE UNIQUE INDEX reputation_events_node_fail ON reputation_events (job_id, cluster, node, at)
	WHERE kind = 'node-fail';
ALTER TABLE reputation_events ADD CONSTRAINT reputation_events_node_fail_job
	CHECK (kind <> 'node-fail' OR job_id IS NOT NULL);
