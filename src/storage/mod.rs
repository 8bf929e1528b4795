//! Durable records: calls and their legs, transcript lines, the per-call
//! event log, the recordings index, agents, queues, campaigns, contacts,
//! dispositions, customers and their tags, quality-inspection results,
//! handoff packages, the webhook outbox and API keys.
//!
//! [`Store`] is what the rest of kefu sees; [`sqlite::SqliteStore`] (one
//! file, WAL, versioned migrations under `migrations/`) is the default, and
//! the trait is what lets PostgreSQL serve when one machine is not enough.
//! Writes about calls arrive as [`Write`] batches, each applied in one
//! transaction: a webhook's outbox row commits together with the change it
//! reports, and an utterance is on disk once its batch returns.
//!
//! Times are milliseconds since the Unix epoch (UTC).

pub mod sqlite;

mod directory;
mod report;

pub use directory::{
    ha1, Agent, AgentLeg, ApiKey, Attempt, Campaign, Contact, Customer, Queue, QueueEntry, Role,
    DEFAULT_RING_SECS, DEFAULT_SKILL_LEVEL, DEFAULT_WRAP_UP_SECS, QUEUE_STRATEGIES,
};
pub use report::{Bucket, Report, ReportKind, ReportQuery};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
pub type Millis = i64;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database itself failed (disk, corruption, lock).
    #[error("storage failed: {0}")]
    Backend(String),
    /// The record asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The record exists already or conflicts with another.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request was malformed (bad filter, bad value).
    #[error("invalid: {0}")]
    Invalid(String),
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which way a call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A caller dialled kefu.
    Inbound,
    /// kefu dialled out (campaigns).
    Outbound,
}

/// Who said a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The person on the phone line.
    Caller,
    /// kefu itself.
    Bot,
    /// A human agent.
    Agent,
}

/// How a call ended, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still going.
    InProgress,
    /// The bot finished the conversation and hung up (contained, resolved).
    Resolved,
    /// The caller hung up while talking to the bot (contained, not resolved).
    Abandoned,
    /// Handed to a human or another number.
    Transferred,
    /// Cancelled before answer.
    Missed,
    /// Media timeout, signalling failure, rejected offer.
    Failed,
    /// kefu stopped (crash, restart) while the call was in progress.
    Interrupted,
}

impl Outcome {
    /// The stable name stored and shown (`resolved`, `in_progress`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InProgress => "in_progress",
            Outcome::Resolved => "resolved",
            Outcome::Abandoned => "abandoned",
            Outcome::Transferred => "transferred",
            Outcome::Missed => "missed",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// The outcome named `s`, if any.
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::InProgress,
            Outcome::Resolved,
            Outcome::Abandoned,
            Outcome::Transferred,
            Outcome::Missed,
            Outcome::Failed,
            Outcome::Interrupted,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A call as it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCall {
    /// kefu's id of the call, unique across restarts (see [`new_call_id`]).
    pub id: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// The SIP Call-ID.
    pub sip_call_id: String,
    /// Caller number (user part of From).
    pub caller: String,
    /// Called number (user part of the Request-URI).
    pub called: String,
    /// The dialplan's name.
    pub dialplan: String,
    /// When the INVITE arrived.
    pub started_at: Millis,
    /// Set for campaign calls.
    pub campaign_id: Option<String>,
    /// Set for campaign calls.
    pub contact_id: Option<i64>,
}

/// One transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// When the speech started.
    pub started_at: Millis,
    /// When it ended.
    pub ended_at: Millis,
    /// Recognition confidence 0..1 (caller lines).
    pub confidence: Option<f32>,
    /// Caller's emotion level after this line (`neutral` … `angry`).
    pub emotion: Option<String>,
    /// The intent understood from it.
    pub intent: Option<String>,
}

/// A stored transcript line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLine {
    /// Row id.
    pub id: i64,
    /// Order within the call, from 0.
    pub seq: i64,
    /// The line.
    #[serde(flatten)]
    pub line: Line,
}

/// One entry of a call's append-only event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub at: Millis,
    /// What kind (`answered`, `digit`, `barge_in`, `emotion`, `understood`,
    /// `request`, `transfer`, `tag`, `error`, `ended`…).
    pub kind: String,
    /// Its details.
    pub data: serde_json::Value,
}

/// Where a call went when it left the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransferInfo {
    /// SIP URI or `queue:NAME`.
    pub target: String,
    /// Why (`asked`, `emotion`, `intent:NAME`, `step:NAME`, `failures`).
    pub reason: String,
    /// When.
    pub at: Millis,
}

/// Talk statistics of a call, for quality inspection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TalkStats {
    /// Answered duration.
    pub total_ms: i64,
    /// Caller speech.
    pub caller_ms: i64,
    /// kefu's (or the agent's) speech.
    pub agent_ms: i64,
    /// Both speaking at once.
    pub overlap_ms: i64,
    /// Neither speaking.
    pub silence_ms: i64,
    /// Longest stretch with neither speaking.
    pub longest_silence_ms: i64,
    /// Time on hold.
    pub hold_ms: i64,
    /// Longest hold.
    pub longest_hold_ms: i64,
    /// Times the caller interrupted.
    pub barge_ins: i64,
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEnd {
    /// When.
    pub ended_at: Millis,
    /// The engine's end reason (`remote_bye`, `hangup`, `media_timeout`…).
    pub end_reason: String,
    /// For reports.
    pub outcome: Outcome,
    /// Intents understood, in order, duplicates removed.
    pub intents: Vec<String>,
    /// Emotion level at the first caller line.
    pub emotion_start: Option<String>,
    /// Emotion level at the end.
    pub emotion_end: Option<String>,
    /// Highest level reached.
    pub emotion_peak: Option<String>,
    /// Talk statistics.
    pub talk: TalkStats,
}

/// A quality-inspection finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaFlag {
    /// Stable code: `forbidden_phrase`, `missing_required`,
    /// `late_required`, `silence_ratio`, `dead_air`, `talk_over`,
    /// `long_hold`, `emotion_worse`, `emotion_better`, `not_contained`.
    pub code: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// Human-readable detail.
    pub detail: String,
}

/// The automatic quality inspection of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaResult {
    /// 0..=100.
    pub score: f64,
    /// Findings.
    pub flags: Vec<QaFlag>,
    /// Every check with its outcome, for the review page.
    pub checks: serde_json::Value,
    /// When it ran.
    pub at: Millis,
}

/// A supervisor's review of a call's quality inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaReview {
    /// Who (API key name).
    pub reviewer: String,
    /// Replaces the automatic score in reports.
    pub score: Option<f64>,
    /// Free text.
    pub note: String,
    /// When.
    pub at: Millis,
}

/// A call's stored quality inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaRecord {
    /// The call.
    pub call_id: String,
    /// What the inspection found.
    pub auto: QaResult,
    /// The latest review, if any.
    pub review: Option<QaReview>,
    /// The score that counts: the review's when it gives one.
    pub score: f64,
}

/// A recording of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The call.
    pub call_id: String,
    /// File path (absolute or relative to the data folder).
    pub path: String,
    /// `wav`.
    pub format: String,
    /// Size.
    pub bytes: i64,
    /// Length.
    pub duration_ms: i64,
    /// When written.
    pub at: Millis,
}

/// A campaign outcome recorded against a call or contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disposition {
    /// The call, if there was one.
    pub call_id: Option<String>,
    /// The campaign, for campaign calls.
    pub campaign_id: Option<String>,
    /// The contact, for campaign calls.
    pub contact_id: Option<i64>,
    /// Stable code (`interested`, `callback`, `no_answer`, `wrong_number`…).
    pub code: String,
    /// Free text.
    pub note: String,
    /// When.
    pub at: Millis,
}

/// One write about calls; a batch of them is applied atomically.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A call arrived.
    CallStarted(NewCall),
    /// It was answered.
    Answered { call: String, at: Millis },
    /// A transcript line.
    Line { call: String, line: Line },
    /// The emotion level after the latest caller line.
    LineEmotion { call: String, emotion: String },
    /// The intent understood from the latest caller line.
    LineIntent { call: String, intent: String },
    /// An event for the call's log.
    Event { call: String, event: Event },
    /// The call left the bot.
    Transfer {
        call: String,
        transfer: TransferInfo,
    },
    /// A customer tag set during the call (stored on the call and on the
    /// caller's customer record).
    Tag {
        call: String,
        phone: String,
        tag: String,
        at: Millis,
    },
    /// Post-call survey answer, 1..=5.
    Csat { call: String, score: u8, at: Millis },
    /// The call ended.
    Ended { call: String, end: CallEnd },
    /// Its recording was finalized.
    Recording(Recording),
    /// Its quality inspection.
    Qa { call: String, result: QaResult },
    /// A campaign disposition.
    Disposition(Disposition),
    /// A webhook event to deliver (at least once) from the outbox.
    Outbox(NewOutboxEvent),
}

/// A webhook event as queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOutboxEvent {
    /// Idempotency key, unique per event (`call.ended:<call id>`).
    pub key: String,
    /// `call.started`, `call.ended`, `call.transferred`, `disposition`,
    /// `qa.result`.
    pub kind: String,
    /// The body sent.
    pub payload: serde_json::Value,
    /// When queued.
    pub at: Millis,
}

/// A queued webhook event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// Position in the outbox, increasing.
    pub seq: i64,
    /// The event.
    #[serde(flatten)]
    pub event: NewOutboxEvent,
}

/// Delivery state of one webhook endpoint, kept in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointState {
    /// The endpoint's name in the configuration.
    pub endpoint: String,
    /// Every outbox event up to this seq is delivered (or given up).
    pub delivered_seq: i64,
    /// Failed attempts at the next event.
    pub attempts: i64,
    /// Not before this time for the next attempt.
    pub next_attempt_at: Millis,
    /// The last failure, if the next event has failed.
    pub last_error: Option<String>,
}

/// A call in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    /// kefu's id.
    pub id: String,
    /// Inbound or outbound.
    pub direction: Direction,
    /// SIP Call-ID.
    pub sip_call_id: String,
    /// Caller number.
    pub caller: String,
    /// Called number.
    pub called: String,
    /// Dialplan name.
    pub dialplan: String,
    /// INVITE time.
    pub started_at: Millis,
    /// Answer time.
    pub answered_at: Option<Millis>,
    /// End time.
    pub ended_at: Option<Millis>,
    /// End reason.
    pub end_reason: Option<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Intents understood.
    pub intents: Vec<String>,
    /// Emotion at the start, end and peak.
    pub emotion_start: Option<String>,
    /// Emotion at the end.
    pub emotion_end: Option<String>,
    /// Highest emotion.
    pub emotion_peak: Option<String>,
    /// Transfer, if any.
    pub transfer: Option<TransferInfo>,
    /// Survey answer.
    pub csat: Option<u8>,
    /// The QA score that counts.
    pub qa_score: Option<f64>,
    /// Tags set during the call.
    pub tags: Vec<String>,
    /// Campaign, for campaign calls.
    pub campaign_id: Option<String>,
    /// Whether a recording exists.
    pub recorded: bool,
}

/// Everything about one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: CallSummary,
    /// Talk statistics (after the end).
    pub talk: Option<TalkStats>,
    /// Transcript in order.
    pub lines: Vec<StoredLine>,
    /// Event log in order.
    pub events: Vec<Event>,
    /// Recording, if any.
    pub recording: Option<Recording>,
    /// Quality inspection, if done.
    pub qa: Option<QaRecord>,
    /// Dispositions recorded for the call.
    pub dispositions: Vec<Disposition>,
}

/// A handoff package as stored: what an agent was shown of a call handed
/// to them (see `kefu_core::handoff::Package` for the package's fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    /// Short, URL-safe, unguessable id (carried in the REFER to the agent).
    pub id: String,
    /// The call handed over.
    pub call_id: String,
    /// When the package was made.
    pub created_at: Millis,
    /// The queue the caller was sent to, if any.
    pub queue: Option<String>,
    /// The agent offered the call, if one was chosen.
    pub agent_id: Option<String>,
    /// The package itself, as JSON.
    pub package: serde_json::Value,
}

/// Filters of a call search; every given filter must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallQuery {
    /// Caller or called number contains this.
    pub number: Option<String>,
    /// Started at or after.
    pub from: Option<Millis>,
    /// Started before.
    pub to: Option<Millis>,
    /// One of the call's intents.
    pub intent: Option<String>,
    /// The call's peak emotion is this level or higher.
    pub emotion: Option<String>,
    /// A transcript line contains this text (case-insensitive for Latin).
    pub text: Option<String>,
    /// Outcome.
    pub outcome: Option<Outcome>,
    /// Dialplan name.
    pub dialplan: Option<String>,
    /// Carries this tag.
    pub tag: Option<String>,
    /// Newest first; at most this many (default 50, at most 500).
    pub limit: Option<u32>,
    /// Skip this many.
    pub offset: Option<u32>,
}

/// Durable storage of everything kefu records. Implementations are
/// shared between threads; every method is a short blocking call.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Applies writes about calls in one transaction, in order.
    fn apply(&self, batch: &[Write]) -> StoreResult<()>;
    /// Closes calls left in progress by a stopped process: outcome
    /// `interrupted`, end reason `interrupted`, ended at `at`; returns their
    /// ids.
    fn close_interrupted(&self, at: Millis) -> StoreResult<Vec<String>>;

    /// Searches calls, newest first.
    fn search_calls(&self, q: &CallQuery) -> StoreResult<Vec<CallSummary>>;
    /// Everything about one call.
    fn call(&self, id: &str) -> StoreResult<CallDetail>;
    /// A call's recording.
    fn recording(&self, call: &str) -> StoreResult<Recording>;
    /// Records a supervisor's review of a call's QA.
    fn review_qa(&self, call: &str, review: &QaReview) -> StoreResult<QaRecord>;

    /// Every agent.
    fn agents(&self) -> StoreResult<Vec<Agent>>;
    /// Creates or replaces an agent.
    fn put_agent(&self, agent: &Agent) -> StoreResult<()>;
    /// Removes an agent.
    fn delete_agent(&self, id: &str) -> StoreResult<()>;
    /// Every queue.
    fn queues(&self) -> StoreResult<Vec<Queue>>;
    /// Creates or replaces a queue.
    fn put_queue(&self, queue: &Queue) -> StoreResult<()>;
    /// Removes a queue.
    fn delete_queue(&self, name: &str) -> StoreResult<()>;
    /// Records a caller's time in a queue (insert, or update by call+queue).
    fn put_queue_entry(&self, entry: &QueueEntry) -> StoreResult<()>;
    /// Records an agent's leg of a call (insert, or update by call+agent).
    fn put_agent_leg(&self, leg: &AgentLeg) -> StoreResult<()>;
    /// An agent's SIP digest HA1 (see [`ha1`]), if a password is set;
    /// [`StoreError::NotFound`] for an unknown agent.
    fn agent_ha1(&self, id: &str) -> StoreResult<Option<String>> {
        Err(not_kept(&format!("agent {id}'s password")))
    }
    /// Sets an agent's password as its HA1 (32 hex digits);
    /// [`StoreError::NotFound`] for an unknown agent.
    fn set_agent_password(&self, id: &str, ha1: &str) -> StoreResult<()> {
        let _ = ha1;
        Err(not_kept(&format!("agent {id}'s password")))
    }

    /// Stores a handoff package (a second package with the same id is a
    /// conflict).
    fn put_handoff(&self, h: &Handoff) -> StoreResult<()> {
        Err(not_kept(&format!("handoff {}", h.id)))
    }
    /// A handoff package by id.
    fn handoff(&self, id: &str) -> StoreResult<Option<Handoff>> {
        Err(not_kept(&format!("handoff {id}")))
    }
    /// A call's handoff packages, oldest first.
    fn handoffs_of_call(&self, call_id: &str) -> StoreResult<Vec<Handoff>> {
        Err(not_kept(&format!("handoffs of call {call_id}")))
    }

    /// Every campaign.
    fn campaigns(&self) -> StoreResult<Vec<Campaign>>;
    /// Creates or replaces a campaign.
    fn put_campaign(&self, campaign: &Campaign) -> StoreResult<()>;
    /// Adds contacts to a campaign; returns their ids.
    fn add_contacts(&self, contacts: &[Contact]) -> StoreResult<Vec<i64>>;
    /// A campaign's contacts.
    fn contacts(&self, campaign: &str) -> StoreResult<Vec<Contact>>;
    /// Records a dialling attempt (insert, or update by campaign+contact+started_at).
    fn put_attempt(&self, attempt: &Attempt) -> StoreResult<()>;

    /// A customer by phone number.
    fn customer(&self, phone: &str) -> StoreResult<Customer>;
    /// Creates or updates a customer (tags are merged, never dropped).
    fn put_customer(&self, customer: &Customer) -> StoreResult<()>;

    /// A report.
    fn report(&self, kind: ReportKind, q: &ReportQuery) -> StoreResult<Report>;

    /// Outbox events after `seq`, oldest first, at most `limit`.
    fn outbox_after(&self, seq: i64, limit: u32) -> StoreResult<Vec<OutboxEvent>>;
    /// The highest outbox seq (0 when empty).
    fn outbox_head(&self) -> StoreResult<i64>;
    /// A webhook endpoint's delivery state, if it has one.
    fn endpoint_state(&self, endpoint: &str) -> StoreResult<Option<EndpointState>>;
    /// Saves a webhook endpoint's delivery state.
    fn put_endpoint_state(&self, state: &EndpointState) -> StoreResult<()>;
    /// Records an event given up on (kept for the API to show).
    fn webhook_dead(&self, endpoint: &str, seq: i64, error: &str, at: Millis) -> StoreResult<()>;

    /// Creates an API key from its secret's SHA-256 (hex).
    fn create_api_key(
        &self,
        name: &str,
        role: Role,
        secret_sha256: &str,
        at: Millis,
    ) -> StoreResult<ApiKey>;
    /// The key whose secret hashes to this, if not revoked; marks it used.
    fn api_key_by_hash(&self, secret_sha256: &str, at: Millis) -> StoreResult<Option<ApiKey>>;
    /// Every key.
    fn api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key.
    fn revoke_api_key(&self, id: i64) -> StoreResult<()>;
}

/// The answer of a store that does not keep a kind of record: the methods
/// for handoffs and agents' passwords have it as their default, so a store
/// kept for calls and webhooks alone (a test double) need not implement
/// them.
fn not_kept(what: &str) -> StoreError {
    StoreError::Invalid(format!("{what}: not kept by this store"))
}

/// A new call id: the start time in hex then random bits, so ids sort by
/// time and never repeat across restarts.
pub fn new_call_id(now: Millis) -> String {
    format!("{:011x}{:08x}", now.max(0), rand::random::<u32>())
}

/// Milliseconds since the Unix epoch now.
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}
