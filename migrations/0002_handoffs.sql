-- Handoff packages and the routing settings of agents and queues.
--
-- New columns have defaults, so rows written before this migration stay
-- valid: an agent without levels has every skill at level 5, wraps up for
-- 15 s and has no password; a queue picks the longest-idle agent, rings
-- each offer 20 s and sends callers back to the bot when nobody is logged in.

-- What an agent was shown of a call handed to them. The call is not a
-- foreign key: the package may be made while the call's rows are still
-- being written, and it outlives nothing it depends on.
CREATE TABLE handoffs (
    id         TEXT PRIMARY KEY,
    call_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    queue      TEXT,
    agent_id   TEXT,
    package    TEXT NOT NULL
);
CREATE INDEX handoffs_call ON handoffs (call_id, created_at);

-- levels: JSON object skill -> 1..=10.
ALTER TABLE agents ADD COLUMN levels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN region TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN wrap_up_secs INTEGER NOT NULL DEFAULT 15;
-- Hex MD5(id:realm:password) (RFC 2617 HA1), never the password.
ALTER TABLE agents ADD COLUMN password_ha1 TEXT;

ALTER TABLE queues ADD COLUMN strategy TEXT NOT NULL DEFAULT 'longest_idle';
-- levels: JSON object skill -> minimum level.
ALTER TABLE queues ADD COLUMN levels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE queues ADD COLUMN language_required INTEGER NOT NULL DEFAULT 0;
-- 'bot', 'queue:NAME' or NULL.
ALTER TABLE queues ADD COLUMN overflow TEXT;
ALTER TABLE queues ADD COLUMN announce_secs INTEGER;
ALTER TABLE queues ADD COLUMN ring_secs INTEGER NOT NULL DEFAULT 20;
ALTER TABLE queues ADD COLUMN empty_to_bot INTEGER NOT NULL DEFAULT 1;
