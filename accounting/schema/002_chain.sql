-- quorated's schema, version 2: closed epochs and their on-chain commits
-- (doc/chain.md describes every table and the outbox's states).
--
-- Epoch close (issue 11) writes one row into epochs, its frozen leaves into
-- epoch_records and (epoch, 'pending') into chain_outbox, in one
-- transaction.  From then on the chain poster of quorated
-- (accounting/chain.c) alone writes chain_outbox, chain_txs and
-- chain_events.  The leaves are those of contracts/FORMATS.md; 32-byte
-- hashes and 20-byte addresses are bytea of exactly that length, uint128
-- totals numeric(39,0), wei amounts numeric(78,0).

CREATE TABLE epochs (
	epoch bigint PRIMARY KEY CHECK (epoch >= 0),
	state text NOT NULL DEFAULT 'closed' CHECK (state IN ('closed')),
	root bytea NOT NULL CHECK (length(root) = 32),
	cpu_seconds numeric(39,0) NOT NULL
		CHECK (cpu_seconds >= 0 AND cpu_seconds < 340282366920938463463374607431768211456),
	gpu_seconds numeric(39,0) NOT NULL
		CHECK (gpu_seconds >= 0 AND gpu_seconds < 340282366920938463463374607431768211456),
	records integer NOT NULL CHECK (records >= 0),
	data_hash bytea NOT NULL CHECK (length(data_hash) = 32),
	reward_root bytea CHECK (length(reward_root) = 32),
	reward_pool numeric(78,0) CHECK (reward_pool >= 0),
	closed_at timestamptz NOT NULL DEFAULT now()
);

-- The leaves of an epoch's contribution tree, in index order (idx 0..n-1).
CREATE TABLE epoch_records (
	epoch bigint NOT NULL REFERENCES epochs (epoch),
	idx integer NOT NULL CHECK (idx >= 0),
	site text COLLATE "C" NOT NULL,
	site_id bytea NOT NULL CHECK (length(site_id) = 32),
	payee bytea NOT NULL CHECK (length(payee) = 20),
	cpu_seconds numeric(39,0) NOT NULL
		CHECK (cpu_seconds >= 0 AND cpu_seconds < 340282366920938463463374607431768211456),
	gpu_seconds numeric(39,0) NOT NULL
		CHECK (gpu_seconds >= 0 AND gpu_seconds < 340282366920938463463374607431768211456),
	score bigint NOT NULL CHECK (score >= 0),	-- micro-units
	PRIMARY KEY (epoch, idx)
);

-- A closed epoch is frozen: what its root commits to never changes.  Only
-- the reward columns may be set, once, from NULL.
CREATE FUNCTION epochs_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'epoch % is closed: its row is never deleted', OLD.epoch;
	END IF;
	IF (NEW.epoch, NEW.state, NEW.root, NEW.cpu_seconds, NEW.gpu_seconds, NEW.records,
	    NEW.data_hash, NEW.closed_at) IS DISTINCT FROM
	   (OLD.epoch, OLD.state, OLD.root, OLD.cpu_seconds, OLD.gpu_seconds, OLD.records,
	    OLD.data_hash, OLD.closed_at)
	   OR (OLD.reward_root IS NOT NULL AND NEW.reward_root IS DISTINCT FROM OLD.reward_root)
	   OR (OLD.reward_pool IS NOT NULL AND NEW.reward_pool IS DISTINCT FROM OLD.reward_pool) THEN
		RAISE EXCEPTION 'epoch % is closed: its row is never updated', OLD.epoch;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER epochs_frozen BEFORE UPDATE OR DELETE ON epochs
	FOR EACH ROW EXECUTE FUNCTION epochs_frozen();

CREATE FUNCTION epoch_records_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'epoch % is closed: its records are never changed', OLD.epoch;
END $$;
CREATE TRIGGER epoch_records_frozen BEFORE UPDATE OR DELETE ON epoch_records
	FOR EACH ROW EXECUTE FUNCTION epoch_records_frozen();

-- The outbox: one row per epoch to commit, the poster's state machine.
--   pending    queued by epoch close; nothing signed yet (or a nonce was
--              lost to another transaction, or a revert may pass: paused)
--   sent       signed and stored (nonce, tx_hash, raw_tx) before it was
--              broadcast; block_number/block_hash once a receipt is seen
--   confirmed  receipt status 1, Confirmations deep, its block canonical
--              (or the ledger already holds this epoch with our root)
--   failed     will not be committed (reverted for good, or another root
--              on chain); last_error says why
CREATE TABLE chain_outbox (
	epoch bigint PRIMARY KEY REFERENCES epochs (epoch),
	state text NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'sent', 'confirmed', 'failed')),
	chain_id bigint,
	sender bytea CHECK (length(sender) = 20),
	nonce bigint CHECK (nonce >= 0),
	tx_hash bytea CHECK (length(tx_hash) = 32),
	raw_tx bytea,
	max_fee numeric(78,0),
	max_priority_fee numeric(78,0),
	gas_limit bigint,
	sent_at timestamptz,			-- first broadcast of this epoch
	last_sent_at timestamptz,		-- last broadcast of the current transaction
	attempts integer NOT NULL DEFAULT 0,	-- transactions signed for this epoch
	last_error text,
	block_number bigint,
	block_hash bytea CHECK (length(block_hash) = 32),
	gas_used bigint,
	effective_gas_price numeric(78,0),
	confirmed_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK (state <> 'sent' OR (nonce IS NOT NULL AND tx_hash IS NOT NULL AND raw_tx IS NOT NULL
				     AND chain_id IS NOT NULL AND sender IS NOT NULL)),
	CHECK (state <> 'pending' OR (nonce IS NULL AND tx_hash IS NULL))
);
-- A nonce belongs to one epoch (never two commits under one nonce).
CREATE UNIQUE INDEX chain_outbox_nonce ON chain_outbox (chain_id, sender, nonce)
	WHERE nonce IS NOT NULL;
CREATE INDEX chain_outbox_active ON chain_outbox (epoch) WHERE state IN ('pending', 'sent');

-- Every transaction signed for an epoch, replaced ones included.
--   reason   first (the epoch's first), fee_bump (same nonce, higher fees),
--            new_nonce (the previous nonce went to another transaction, or
--            a revert that may pass was retried), gap_fill (a transfer of 0
--            to the sender itself at a nonce below the epoch's, which the
--            node had nothing at: a nonce gap filled)
--   outcome  in_flight, mined (the epoch's commit), reverted, replaced (a
--            sibling of the same nonce was mined), dropped (its nonce was
--            used by a transaction not of this epoch); a gap_fill is mined
--            or dropped
CREATE TABLE chain_txs (
	tx_hash bytea PRIMARY KEY CHECK (length(tx_hash) = 32),
	epoch bigint NOT NULL REFERENCES chain_outbox (epoch),
	chain_id bigint NOT NULL,
	sender bytea NOT NULL CHECK (length(sender) = 20),
	nonce bigint NOT NULL CHECK (nonce >= 0),
	raw_tx bytea NOT NULL,
	max_fee numeric(78,0) NOT NULL,
	max_priority_fee numeric(78,0) NOT NULL,
	gas_limit bigint NOT NULL,
	reason text NOT NULL CHECK (reason IN ('first', 'fee_bump', 'new_nonce', 'gap_fill')),
	outcome text NOT NULL DEFAULT 'in_flight'
		CHECK (outcome IN ('in_flight', 'mined', 'reverted', 'replaced', 'dropped')),
	broadcasts integer NOT NULL DEFAULT 0,
	first_sent_at timestamptz,
	last_sent_at timestamptz,
	block_number bigint,
	block_hash bytea CHECK (length(block_hash) = 32),
	gas_used bigint,
	effective_gas_price numeric(78,0),
	signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX chain_txs_epoch ON chain_txs (epoch, nonce);

-- What the poster did and saw, one row per step: signed, broadcast,
-- rebroadcast, fee_bump, gap_fill, mined, reorg, confirmed,
-- already_committed, reverted, retry, nonce_taken, failed, error.
CREATE TABLE chain_events (
	id bigserial PRIMARY KEY,
	epoch bigint NOT NULL REFERENCES chain_outbox (epoch),
	at timestamptz NOT NULL DEFAULT now(),
	event text NOT NULL,
	tx_hash bytea CHECK (length(tx_hash) = 32),
	nonce bigint,
	block_number bigint,
	detail text
);
CREATE INDEX chain_events_epoch ON chain_events (epoch, id);
