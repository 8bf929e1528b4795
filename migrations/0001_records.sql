-- kefu's records: calls and everything attached to them, routing and
-- campaign tables, customers, the webhook outbox and API keys.
-- Times are milliseconds since the Unix epoch (UTC); lists and objects are
-- JSON text.

CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    direction       TEXT NOT NULL,
    sip_call_id     TEXT NOT NULL,
    caller          TEXT NOT NULL,
    called          TEXT NOT NULL,
    dialplan        TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER,
    end_reason      TEXT,
    outcome         TEXT NOT NULL DEFAULT 'in_progress',
    intents         TEXT NOT NULL DEFAULT '[]',
    emotion_start   TEXT,
    emotion_end     TEXT,
    emotion_peak    TEXT,
    transfer_target TEXT,
    transfer_reason TEXT,
    transfer_at     INTEGER,
    csat            INTEGER,
    csat_at         INTEGER,
    talk            TEXT,
    campaign_id     TEXT,
    contact_id      INTEGER
);
CREATE INDEX calls_started_at ON calls (started_at);
CREATE INDEX calls_caller ON calls (caller);
CREATE INDEX calls_called ON calls (called);
CREATE INDEX calls_outcome ON calls (outcome);
CREATE INDEX calls_campaign ON calls (campaign_id);

CREATE TABLE call_tags (
    id      INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL REFERENCES calls (id),
    tag     TEXT NOT NULL,
    at      INTEGER NOT NULL,
    UNIQUE (call_id, tag)
);
CREATE INDEX call_tags_tag ON call_tags (tag);

CREATE TABLE transcript_lines (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL REFERENCES calls (id),
    seq        INTEGER NOT NULL,
    speaker    TEXT NOT NULL,
    text       TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER NOT NULL,
    confidence REAL,
    emotion    TEXT,
    intent     TEXT,
    UNIQUE (call_id, seq)
);

-- Append-only: the triggers refuse any change to a written event.
CREATE TABLE call_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL REFERENCES calls (id),
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, at, id);
CREATE TRIGGER call_events_no_update BEFORE UPDATE ON call_events
BEGIN
    SELECT RAISE(ABORT, 'call_events is append-only');
END;
CREATE TRIGGER call_events_no_delete BEFORE DELETE ON call_events
BEGIN
    SELECT RAISE(ABORT, 'call_events is append-only');
END;

CREATE TABLE recordings (
    call_id     TEXT PRIMARY KEY REFERENCES calls (id),
    path        TEXT NOT NULL,
    format      TEXT NOT NULL,
    bytes       INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    at          INTEGER NOT NULL
);

CREATE TABLE qa_results (
    call_id      TEXT PRIMARY KEY REFERENCES calls (id),
    score        REAL NOT NULL,
    flags        TEXT NOT NULL,
    checks       TEXT NOT NULL,
    at           INTEGER NOT NULL,
    reviewer     TEXT,
    review_score REAL,
    review_note  TEXT,
    reviewed_at  INTEGER
);

CREATE TABLE dispositions (
    id          INTEGER PRIMARY KEY,
    call_id     TEXT REFERENCES calls (id),
    campaign_id TEXT,
    contact_id  INTEGER,
    code        TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX dispositions_call ON dispositions (call_id);
CREATE INDEX dispositions_campaign ON dispositions (campaign_id, contact_id);

CREATE TABLE agents (
    id        TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    uri       TEXT NOT NULL,
    skills    TEXT NOT NULL,
    languages TEXT NOT NULL,
    max_calls INTEGER NOT NULL
);

CREATE TABLE queues (
    name          TEXT PRIMARY KEY,
    skills        TEXT NOT NULL,
    max_wait_secs INTEGER NOT NULL
);

-- Routing writes these as callers wait; calls may be recorded after them,
-- so call and agent ids are not foreign keys.
CREATE TABLE queue_entries (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL,
    queue      TEXT NOT NULL,
    entered_at INTEGER NOT NULL,
    left_at    INTEGER,
    result     TEXT,
    agent_id   TEXT,
    UNIQUE (call_id, queue)
);
CREATE INDEX queue_entries_entered ON queue_entries (entered_at);

CREATE TABLE agent_legs (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at   INTEGER,
    UNIQUE (call_id, agent_id)
);
CREATE INDEX agent_legs_started ON agent_legs (started_at);

CREATE TABLE campaigns (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    dialplan   TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    phone       TEXT NOT NULL,
    name        TEXT NOT NULL,
    data        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX contacts_campaign ON contacts (campaign_id);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL REFERENCES campaigns (id),
    contact_id  INTEGER NOT NULL REFERENCES contacts (id),
    call_id     TEXT,
    started_at  INTEGER NOT NULL,
    ended_at    INTEGER,
    result      TEXT,
    UNIQUE (campaign_id, contact_id, started_at)
);
CREATE INDEX attempts_contact ON attempts (contact_id);

CREATE TABLE customers (
    phone      TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    vip_level  INTEGER NOT NULL DEFAULT 0,
    region     TEXT NOT NULL DEFAULT '',
    calls      INTEGER NOT NULL DEFAULT 0,
    first_seen INTEGER,
    last_seen  INTEGER
);

CREATE TABLE customer_tags (
    id    INTEGER PRIMARY KEY,
    phone TEXT NOT NULL REFERENCES customers (phone),
    tag   TEXT NOT NULL,
    UNIQUE (phone, tag)
);

CREATE TABLE outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    at      INTEGER NOT NULL
);

CREATE TABLE webhook_endpoints (
    endpoint        TEXT PRIMARY KEY,
    delivered_seq   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);

CREATE TABLE webhook_dead (
    id       INTEGER PRIMARY KEY,
    endpoint TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    error    TEXT NOT NULL,
    at       INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked       INTEGER NOT NULL DEFAULT 0
);
