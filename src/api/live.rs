//! `GET /api/live`: the live feed as a websocket, for the agent and
//! supervisor consoles.
//!
//! On connect the client gets `{"type":"snapshot",...}` (the desk as the
//! caller may see it), then each [`LiveEvent`] as a JSON text frame.
//! Supervisors get everything. An agent gets their own state, the queues,
//! the calls offered to them or that they are on (their `offer`, state
//! changes, lines and end) and nothing of other agents' calls.
//!
//! A client that falls behind the hub gets a fresh snapshot in place of
//! what it missed; one that does not take a frame within [`SEND_TIMEOUT`]
//! is dropped, so nothing is buffered for it. kefu pings every
//! [`PING_EVERY`]; a close frame or a broken connection ends the feed.

use std::collections::HashSet;
use std::time::Duration;

use axum::extract::ws::{rejection::WebSocketUpgradeRejection, Message, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use tokio::sync::broadcast::error::RecvError;

use super::auth::Caller;
use super::desk::visible;
use super::error::{ApiError, ApiResult};
use super::state::{ApiState, Desk};
use crate::live::LiveEvent;
use crate::storage::Role;
use std::sync::Arc;

/// Longest a frame may wait to be taken before the client is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How often kefu pings an idle client.
pub const PING_EVERY: Duration = Duration::from_secs(25);
/// Largest frame a client may send (it has nothing to say but pings).
const MAX_INCOMING: usize = 4096;

/// `GET /api/live`: upgrades to the websocket feed; 503 without routing.
pub async fn socket(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let live = state.live()?;
    let desk = state.desk()?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            format!("this is a websocket: {e}"),
        )
    })?;
    Ok(upgrade
        .max_message_size(MAX_INCOMING)
        .on_upgrade(move |socket| async move {
            // Subscribe before the snapshot so nothing falls between them.
            let rx = live.subscribe();
            feed(socket, rx, desk, Filter::new(&caller)).await;
        }))
}

/// Which events one client sees.
#[derive(Debug)]
struct Filter {
    /// Supervisors and admins see everything.
    all: bool,
    /// The signed-in agent, for an agent's session.
    agent: Option<String>,
    /// The calls offered to the agent or that they are on.
    calls: HashSet<String>,
    /// The caller, for filtering snapshots.
    caller: Caller,
}

impl Filter {
    fn new(caller: &Caller) -> Filter {
        Filter {
            all: caller.role >= Role::Supervisor,
            agent: caller.agent.clone(),
            calls: HashSet::new(),
            caller: caller.clone(),
        }
    }

    fn is_me(&self, agent: Option<&str>) -> bool {
        agent.is_some() && agent == self.agent.as_deref()
    }

    /// Whether the client sees `ev`, learning the agent's calls on the way.
    fn pass(&mut self, ev: &LiveEvent) -> bool {
        if self.all {
            return true;
        }
        match ev {
            LiveEvent::Offer { agent, call_id, .. } => {
                let mine = self.is_me(Some(agent));
                if mine {
                    self.calls.insert(call_id.clone());
                }
                mine
            }
            LiveEvent::CallState {
                call_id,
                agent,
                state,
                ..
            } => {
                if self.is_me(agent.as_deref()) {
                    self.calls.insert(call_id.clone());
                }
                let mine = self.calls.contains(call_id);
                // Taken by someone else or over: the last event of it.
                if (agent.is_some() && !self.is_me(agent.as_deref())) || state == "ended" {
                    self.calls.remove(call_id);
                }
                mine
            }
            LiveEvent::CallEnded { call_id, .. } => self.calls.remove(call_id),
            LiveEvent::AgentState { agent, .. } => self.is_me(Some(agent)),
            LiveEvent::QueueState { .. } => true,
            LiveEvent::Snapshot(_) => true,
            other => other.call_id().is_some_and(|c| self.calls.contains(c)),
        }
    }

    /// The snapshot as this client may see it, learning the agent's calls.
    fn snapshot(&mut self, desk: &Arc<dyn Desk>) -> LiveEvent {
        let snap = visible(desk.snapshot(), &self.caller);
        if !self.all {
            self.calls = snap.calls.iter().map(|c| c.call_id.clone()).collect();
        }
        LiveEvent::Snapshot(snap)
    }
}

/// Sends one event; false when the client is gone or too slow.
async fn send(socket: &mut WebSocket, ev: &LiveEvent) -> bool {
    let text = match serde_json::to_string(ev) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "live event not serializable");
            return true;
        }
    };
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

/// A fresh snapshot for the client, read off the async threads.
async fn snapshot(filter: Filter, desk: &Arc<dyn Desk>) -> Option<(Filter, LiveEvent)> {
    let desk = desk.clone();
    tokio::task::spawn_blocking(move || {
        let mut filter = filter;
        let ev = filter.snapshot(&desk);
        (filter, ev)
    })
    .await
    .ok()
}

/// Runs one client's feed until it closes, breaks or falls too far behind.
async fn feed(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<LiveEvent>,
    desk: Arc<dyn Desk>,
    filter: Filter,
) {
    let Some((mut filter, first)) = snapshot(filter, &desk).await else {
        return;
    };
    if !send(&mut socket, &first).await {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if filter.pass(&ev) && !send(&mut socket, &ev).await {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "live client fell behind; sending a snapshot");
                    let Some((f, snap)) = snapshot(filter, &desk).await else {
                        break;
                    };
                    filter = f;
                    if !send(&mut socket, &snap).await {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                // Pings are answered by the websocket layer; text is ignored.
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                let ping = socket.send(Message::Ping(Vec::new().into()));
                if !matches!(tokio::time::timeout(SEND_TIMEOUT, ping).await, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}
