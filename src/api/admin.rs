//! Agents, queues, campaigns and customers: listing, reading one, and the
//! supervisor's writes, with every field checked before the store sees it.
//!
//! Ids (agent ids, queue names, campaign ids, skills) are 1 to 64 of
//! `A-Z a-z 0-9 _ . -`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ApiResult, Body, PathParams};
use super::state::ApiState;
use crate::storage::{now_millis, Agent, Campaign, Queue, QUEUE_STRATEGIES};

/// Campaign states.
pub const CAMPAIGN_STATUSES: [&str; 4] = ["draft", "running", "paused", "done"];

/// Checks that `value` is an id: 1 to 64 of `[A-Za-z0-9_.-]`.
pub fn check_id(what: &str, value: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{what}: expected 1 to 64 of A-Z a-z 0-9 _ . -, got {value:?}"
        )))
    }
}

/// Checks a display text: at most `max` characters, no control characters.
pub fn check_text(what: &str, value: &str, max: usize, required: bool) -> ApiResult<()> {
    if required && value.trim().is_empty() {
        return Err(ApiError::bad_request(format!("{what}: must not be empty")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{what}: at most {max} characters, no control characters"
        )));
    }
    Ok(())
}

fn check_list(what: &str, items: &[String]) -> ApiResult<()> {
    if items.len() > 64 {
        return Err(ApiError::bad_request(format!("{what}: at most 64 entries")));
    }
    items.iter().try_for_each(|i| check_id(what, i))
}

/// `GET /api/agents`.
pub async fn agents(State(state): State<ApiState>) -> ApiResult<Json<Vec<Agent>>> {
    Ok(Json(state.db(|s| s.agents()).await?))
}

/// `GET /api/agents/{id}`.
pub async fn agent(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Agent>> {
    let all = state.db(|s| s.agents()).await?;
    all.into_iter()
        .find(|a| a.id == id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no agent {id:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentBody {
    id: Option<String>,
    name: String,
    uri: String,
    #[serde(default)]
    skills: Vec<String>,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default = "one")]
    max_calls: u32,
    #[serde(default)]
    levels: BTreeMap<String, u8>,
    #[serde(default)]
    region: String,
    wrap_up_secs: Option<u32>,
}

/// Checks skill levels (1 to 10) and that each names a listed skill.
fn check_levels(levels: &BTreeMap<String, u8>, skills: &[String]) -> ApiResult<()> {
    for (skill, level) in levels {
        if !skills.contains(skill) {
            return Err(ApiError::bad_request(format!(
                "levels: {skill:?} is not among the skills"
            )));
        }
        if !(1..=10).contains(level) {
            return Err(ApiError::bad_request(format!(
                "levels: {skill:?} must be 1 to 10, got {level}"
            )));
        }
    }
    Ok(())
}

fn one() -> u32 {
    1
}

/// `PUT /api/agents/{id}`: creates or replaces an agent.
pub async fn put_agent(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
    body: Body,
) -> ApiResult<Json<Agent>> {
    check_id("id", &id)?;
    let b: AgentBody = body.json()?;
    if b.id.as_ref().is_some_and(|i| *i != id) {
        return Err(ApiError::bad_request("id: differs from the id in the path"));
    }
    check_text("name", &b.name, 200, true)?;
    let scheme = b.uri.split(':').next().unwrap_or("");
    if !matches!(scheme, "sip" | "sips" | "tel") || b.uri.len() > 256 || b.uri.contains(' ') {
        return Err(ApiError::bad_request(format!(
            "uri: expected a sip:, sips: or tel: URI, got {:?}",
            b.uri
        )));
    }
    check_list("skills", &b.skills)?;
    check_list("languages", &b.languages)?;
    if !(1..=100).contains(&b.max_calls) {
        return Err(ApiError::bad_request(format!(
            "max_calls: expected 1 to 100, got {}",
            b.max_calls
        )));
    }
    check_levels(&b.levels, &b.skills)?;
    check_text("region", &b.region, 64, false)?;
    let defaults = Agent::default();
    let wrap_up_secs = b.wrap_up_secs.unwrap_or(defaults.wrap_up_secs);
    if wrap_up_secs > 3600 {
        return Err(ApiError::bad_request(format!(
            "wrap_up_secs: expected 0 to 3600, got {wrap_up_secs}"
        )));
    }
    let agent = Agent {
        id,
        name: b.name,
        uri: b.uri,
        skills: b.skills,
        languages: b.languages,
        max_calls: b.max_calls,
        levels: b.levels,
        region: b.region,
        wrap_up_secs,
        ..defaults
    };
    let a = agent.clone();
    state.db(move |s| s.put_agent(&a)).await?;
    Ok(Json(agent))
}

/// `DELETE /api/agents/{id}`.
pub async fn delete_agent(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<StatusCode> {
    state.db(move |s| s.delete_agent(&id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/queues`.
pub async fn queues(State(state): State<ApiState>) -> ApiResult<Json<Vec<Queue>>> {
    Ok(Json(state.db(|s| s.queues()).await?))
}

/// `GET /api/queues/{name}`.
pub async fn queue(
    State(state): State<ApiState>,
    PathParams(name): PathParams<String>,
) -> ApiResult<Json<Queue>> {
    let all = state.db(|s| s.queues()).await?;
    all.into_iter()
        .find(|q| q.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no queue {name:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueBody {
    name: Option<String>,
    #[serde(default)]
    skills: Vec<String>,
    max_wait_secs: u32,
    strategy: Option<String>,
    #[serde(default)]
    levels: BTreeMap<String, u8>,
    #[serde(default)]
    language_required: bool,
    overflow: Option<String>,
    announce_secs: Option<u32>,
    ring_secs: Option<u32>,
    empty_to_bot: Option<bool>,
}

/// `PUT /api/queues/{name}`: creates or replaces a queue.
pub async fn put_queue(
    State(state): State<ApiState>,
    PathParams(name): PathParams<String>,
    body: Body,
) -> ApiResult<Json<Queue>> {
    check_id("name", &name)?;
    let b: QueueBody = body.json()?;
    if b.name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::bad_request(
            "name: differs from the name in the path",
        ));
    }
    check_list("skills", &b.skills)?;
    if !(1..=86_400).contains(&b.max_wait_secs) {
        return Err(ApiError::bad_request(format!(
            "max_wait_secs: expected 1 to 86400, got {}",
            b.max_wait_secs
        )));
    }
    check_levels(&b.levels, &b.skills)?;
    let defaults = Queue::default();
    let strategy = b.strategy.unwrap_or(defaults.strategy.clone());
    if !QUEUE_STRATEGIES.contains(&strategy.as_str()) {
        return Err(ApiError::bad_request(format!(
            "strategy: expected one of {}, got {strategy:?}",
            QUEUE_STRATEGIES.join(", ")
        )));
    }
    if let Some(o) = &b.overflow {
        let ok = o == "bot"
            || o.strip_prefix("queue:")
                .is_some_and(|q| check_id("overflow", q).is_ok());
        if !ok {
            return Err(ApiError::bad_request(format!(
                "overflow: expected \"bot\" or \"queue:NAME\", got {o:?}"
            )));
        }
    }
    let ring_secs = b.ring_secs.unwrap_or(defaults.ring_secs);
    if !(5..=300).contains(&ring_secs) {
        return Err(ApiError::bad_request(format!(
            "ring_secs: expected 5 to 300, got {ring_secs}"
        )));
    }
    if b.announce_secs.is_some_and(|a| !(10..=3600).contains(&a)) {
        return Err(ApiError::bad_request("announce_secs: expected 10 to 3600"));
    }
    let queue = Queue {
        name,
        skills: b.skills,
        max_wait_secs: b.max_wait_secs,
        strategy,
        levels: b.levels,
        language_required: b.language_required,
        overflow: b.overflow,
        announce_secs: b.announce_secs,
        ring_secs,
        empty_to_bot: b.empty_to_bot.unwrap_or(defaults.empty_to_bot),
    };
    let q = queue.clone();
    state.db(move |s| s.put_queue(&q)).await?;
    Ok(Json(queue))
}

/// `DELETE /api/queues/{name}`.
pub async fn delete_queue(
    State(state): State<ApiState>,
    PathParams(name): PathParams<String>,
) -> ApiResult<StatusCode> {
    state.db(move |s| s.delete_queue(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/campaigns`.
pub async fn campaigns(State(state): State<ApiState>) -> ApiResult<Json<Vec<Campaign>>> {
    Ok(Json(state.db(|s| s.campaigns()).await?))
}

/// `GET /api/campaigns/{id}`.
pub async fn campaign(
    State(state): State<ApiState>,
    PathParams(id): PathParams<String>,
) -> ApiResult<Json<Campaign>> {
    find_campaign(&state, id).await.map(Json)
}

/// The campaign `id`, or 404.
pub async fn find_campaign(state: &ApiState, id: String) -> ApiResult<Campaign> {
    let all = state.db(|s| s.campaigns()).await?;
    all.into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no campaign {id:?}")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    id: Option<String>,
    name: String,
    dialplan: String,
    status: Option<String>,
}

/// `POST /api/campaigns`: creates a campaign (an id is made when none is
/// given; an existing id is 409).
pub async fn create_campaign(State(state): State<ApiState>, body: Body) -> ApiResult<Response> {
    let b: CampaignBody = body.json()?;
    let now = now_millis();
    let id =
        b.id.unwrap_or_else(|| format!("c{:011x}{:04x}", now.max(0), rand::random::<u16>()));
    check_id("id", &id)?;
    check_text("name", &b.name, 200, true)?;
    check_text("dialplan", &b.dialplan, 200, true)?;
    let status = b.status.unwrap_or_else(|| "draft".into());
    if !CAMPAIGN_STATUSES.contains(&status.as_str()) {
        return Err(ApiError::bad_request(format!(
            "status: expected one of {}, got {status:?}",
            CAMPAIGN_STATUSES.join(", ")
        )));
    }
    let campaign = Campaign {
        id,
        name: b.name,
        dialplan: b.dialplan,
        status,
        created_at: now,
    };
    let c = campaign.clone();
    state
        .db(move |s| {
            if s.campaigns()?.iter().any(|x| x.id == c.id) {
                return Err(crate::storage::StoreError::Conflict(format!(
                    "campaign {:?} exists",
                    c.id
                )));
            }
            s.put_campaign(&c)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(campaign)).into_response())
}

/// `GET /api/customers/{phone}`.
pub async fn customer(
    State(state): State<ApiState>,
    PathParams(phone): PathParams<String>,
) -> ApiResult<Response> {
    let c = state.db(move |s| s.customer(&phone)).await?;
    Ok(Json(c).into_response())
}
