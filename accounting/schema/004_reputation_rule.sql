-- quorated's schema, version 4: the honest-node rule and admin decisions
-- (issue 19).
--
-- A node with no evidence against it is 'unproven' (every job) until it is
-- trusted; 'probation' now means that its own outcomes show misbehaviour.
-- quorated re-evaluates every node's state under the rule at start, and
-- logs each change as a 'reevaluated' event.  An admin may quarantine a
-- node until released, release it, or reset its history: each decision is
-- an event with the admin's uid and reason.

ALTER TABLE nodes DROP CONSTRAINT nodes_state_check;
ALTER TABLE nodes ADD CONSTRAINT nodes_state_check
	CHECK (state IN ('unproven', 'probation', 'trusted', 'quarantined'));
ALTER TABLE nodes ALTER COLUMN state SET DEFAULT 'unproven';
-- Quarantined by an admin: no timed re-admission, only a release.
ALTER TABLE nodes ADD COLUMN admin_hold boolean NOT NULL DEFAULT false;

ALTER TABLE reputation_events DROP CONSTRAINT reputation_events_kind_check;
ALTER TABLE reputation_events ADD CONSTRAINT reputation_events_kind_check
	CHECK (kind IN ('agree', 'disagree', 'missing', 'readmitted', 'reevaluated',
			'admin-quarantine', 'admin-release', 'admin-reset'));
-- Who decided, for the admin-* kinds (NULL for the verifier's own events).
ALTER TABLE reputation_events ADD COLUMN admin_uid bigint;
ALTER TABLE reputation_events ADD CONSTRAINT reputation_events_admin_uid_check
	CHECK ((kind LIKE 'admin-%') = (admin_uid IS NOT NULL));
