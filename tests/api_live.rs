//! The agents' desk over real HTTP and a real websocket: the router on a
//! 127.0.0.1 socket with a SQLite store in a temporary folder, a live hub
//! and a routing stand-in. Console sign-in (good and bad), session tokens
//! and role limits, `/api/desk`, handoff packages, and the live feed: the
//! snapshot first, then published events, an agent seeing only their own
//! offers and calls.

#[path = "console/desk.rs"]
mod desk;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use desk::FakeDesk;
use futures_util::{SinkExt, StreamExt};
use kefu::api::{self, auth::secret_hash, ApiState};
use kefu::live::{Live, LiveEvent};
use kefu::runtime::metrics::Metrics;
use kefu::storage::sqlite::SqliteStore;
use kefu::storage::{now_millis, Handoff, Role, Store};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const SUPERVISOR: &str = "kefu_live_supervisor_0123456789";
const READER: &str = "kefu_live_reader_0123456789";

struct Server {
    addr: SocketAddr,
    live: Live,
    desk: Arc<FakeDesk>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(routing: bool) -> Server {
        let dir = tempfile::tempdir().expect("test setup or request");
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("kefu.db")).expect("test setup or request"),
        );
        let now = now_millis();
        for (name, role, secret) in [
            ("sup", Role::Supervisor, SUPERVISOR),
            ("reader", Role::ReadOnly, READER),
        ] {
            store
                .create_api_key(name, role, &secret_hash(secret), now)
                .expect("test setup or request");
        }
        store
            .put_handoff(&Handoff {
                id: "h-parcel-01".into(),
                call_id: "call-1".into(),
                created_at: now,
                queue: Some("after-sales".into()),
                agent_id: Some("alice".into()),
                package: json!({
                    "summary": "Wang Fang (VIP 2) asks where parcel 4417 is; upset since 0:42.",
                    "transcript": [{"at_ms": 1200, "speaker": "caller", "text": "我的快递三天了还没到"}],
                }),
            })
            .expect("test setup or request");
        let live = Live::new();
        let desk = FakeDesk::new(
            live.clone(),
            &[("alice", "Alice", "alice-pw"), ("bob", "Bob", "bob-pw")],
        );
        let mut state = ApiState::new(store, Metrics::new(1), dir.path().to_path_buf());
        if routing {
            state = state.with_desk(desk.clone(), live.clone());
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("test setup or request");
        let addr = listener.local_addr().expect("test setup or request");
        tokio::spawn(async move { axum::serve(listener, api::app(state)).await });
        Server {
            addr,
            live,
            desk,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    async fn call(&self, method: &str, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("test setup or request");
        let mut req = self
            .http
            .request(method, format!("http://{}{path}", self.addr));
        if !key.is_empty() {
            req = req.bearer_auth(key);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let res = req.send().await.expect("test setup or request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("test setup or request");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn login(&self, agent: &str, password: &str) -> (u16, Value) {
        let body = json!({"agent": agent, "password": password});
        self.call("POST", "/api/agent/login", "", Some(body)).await
    }

    async fn token(&self, agent: &str, password: &str) -> String {
        let (status, body) = self.login(agent, password).await;
        assert_eq!(status, 200, "{body}");
        body["token"]
            .as_str()
            .expect("test setup or request")
            .to_string()
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, token: &str) -> Socket {
    let url = format!("ws://{addr}/api/live?token={token}");
    tokio_tungstenite::connect_async(url)
        .await
        .expect("test setup or request")
        .0
}

/// The next JSON text frame (pings skipped); fails after 10 s.
async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no frame within 10 s")
            .expect("socket closed")
            .expect("test setup or request");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).expect("test setup or request");
        }
    }
}

#[tokio::test]
async fn sign_in_tokens_and_roles() {
    let s = Server::start(true).await;
    let (status, body) = s.login("alice", "wrong").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong agent id or password"))
    );
    let (status, body) = s.login("nobody", "alice-pw").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("wrong agent id or password"))
    );
    let (status, body) = s.login("alice", "alice-pw").await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 32 && body["agent"] == "alice");
    assert!(body["expires_at"].as_i64().unwrap() > now_millis() + 11 * 3600 * 1000);

    // The token acts as the agent: own presence yes, another's no.
    let ready = json!({"presence": "ready"});
    let (status, _) = s
        .call(
            "POST",
            "/api/agents/alice/presence",
            &token,
            Some(ready.clone()),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(s.desk.state_of("alice").as_deref(), Some("ready"));
    let (status, body) = s
        .call(
            "POST",
            "/api/agents/bob/presence",
            &token,
            Some(ready.clone()),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(s.desk.state_of("bob").as_deref(), Some("offline"));
    let (status, _) = s
        .call(
            "POST",
            "/api/agents/alice/presence",
            &token,
            Some(json!({"presence": "asleep"})),
        )
        .await;
    assert_eq!(status, 400);
    // Supervisors act for anyone; routing's refusal is 409.
    let (status, _) = s
        .call(
            "POST",
            "/api/agents/bob/presence",
            SUPERVISOR,
            Some(json!({"presence": "away"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(s.desk.state_of("bob").as_deref(), Some("away"));
    let (status, body) = s
        .call("POST", "/api/agents/alice/ready", &token, None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("alice is not in wrap-up"))
    );
    // An agent session is not a supervisor.
    let (status, _) = s.call("GET", "/api/keys", &token, None).await;
    assert_eq!(status, 403);

    // Signed out, the token is refused.
    let (status, _) = s.call("POST", "/api/agent/logout", &token, None).await;
    assert_eq!(status, 204);
    let (status, _) = s.call("GET", "/api/desk", &token, None).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn desk_shows_each_role_its_part() {
    let s = Server::start(true).await;
    s.desk.enqueue("after-sales", "call-q", "+8613800000001");
    s.desk.assign("call-a", "+8613800000002", "alice");
    s.desk.assign("call-b", "+8613800000003", "bob");
    let (status, all) = s.call("GET", "/api/desk", SUPERVISOR, None).await;
    assert_eq!(status, 200);
    assert_eq!(all["agents"].as_array().unwrap().len(), 2);
    assert_eq!(all["calls"].as_array().unwrap().len(), 3);
    assert_eq!(all["queues"][0]["waiting"][0]["caller"], "+8613800000001");

    let token = s.token("alice", "alice-pw").await;
    let (status, mine) = s.call("GET", "/api/desk", &token, None).await;
    assert_eq!(status, 200);
    assert_eq!(mine["agents"].as_array().unwrap().len(), 1);
    assert_eq!(mine["agents"][0]["id"], "alice");
    let calls: Vec<&str> = mine["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(calls, ["call-a"]);
    assert_eq!(mine["queues"], all["queues"]);
    let (status, _) = s.call("GET", "/api/desk", READER, None).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn handoff_packages() {
    let s = Server::start(true).await;
    let token = s.token("alice", "alice-pw").await;
    let (status, h) = s
        .call("GET", "/api/handoffs/h-parcel-01", &token, None)
        .await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["call_id"], "call-1");
    assert_eq!(
        h["package"]["transcript"][0]["text"],
        "我的快递三天了还没到"
    );
    let (status, _) = s.call("GET", "/api/handoffs/h-unknown", &token, None).await;
    assert_eq!(status, 404);
    let (status, _) = s
        .call("GET", "/api/handoffs/h-parcel-01", READER, None)
        .await;
    assert_eq!(status, 403);
    let (status, list) = s
        .call("GET", "/api/calls/call-1/handoffs", SUPERVISOR, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], "h-parcel-01");
    let (status, list) = s
        .call("GET", "/api/calls/call-x/handoffs", SUPERVISOR, None)
        .await;
    assert_eq!((status, list), (200, json!([])));
}

#[tokio::test]
async fn without_routing_the_desk_is_503() {
    let s = Server::start(false).await;
    let (status, body) = s.login("alice", "alice-pw").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("routing is not running"))
    );
    let (status, _) = s.call("GET", "/api/desk", SUPERVISOR, None).await;
    assert_eq!(status, 503);
    let url = format!("ws://{}/api/live?key={SUPERVISOR}", s.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn live_feed_sends_snapshot_then_events() {
    let s = Server::start(true).await;
    s.desk.enqueue("after-sales", "call-q", "+8613800000001");
    // No token, or a websocket query token on a plain request: refused.
    let url = format!("ws://{}/api/live", s.addr);
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
    let (status, _) = s
        .call("GET", &format!("/api/desk?key={SUPERVISOR}"), "", None)
        .await;
    assert_eq!(status, 401);

    let mut ws = connect(s.addr, SUPERVISOR).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["queues"][0]["waiting"][0]["call_id"], "call-q");
    s.live.publish(LiveEvent::Line {
        call_id: "call-q".into(),
        speaker: "caller".into(),
        text: "我要退款".into(),
        at: 7,
    });
    let line = next(&mut ws).await;
    assert_eq!(
        line,
        json!({"type": "line", "call_id": "call-q", "speaker": "caller", "text": "我要退款", "at": 7})
    );
    // A client ping is answered.
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    ws.close(None).await.unwrap();
}

#[tokio::test]
async fn an_agent_sees_only_their_own_offers_and_calls() {
    let s = Server::start(true).await;
    let token = s.token("alice", "alice-pw").await;
    let mut ws = connect(s.addr, &token).await;
    let snap = next(&mut ws).await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["agents"].as_array().map(Vec::len), Some(1));
    let line = |call: &str, text: &str| LiveEvent::Line {
        call_id: call.into(),
        speaker: "caller".into(),
        text: text.into(),
        at: 1,
    };
    let offer = |agent: &str, call: &str| LiveEvent::Offer {
        agent: agent.into(),
        call_id: call.into(),
        handoff_id: format!("h-{call}"),
    };
    // Bob's offer, bob's call and bob's state are not for alice.
    s.live.publish(offer("bob", "call-b"));
    s.live.publish(line("call-b", "for bob"));
    s.live.publish(LiveEvent::AgentState {
        agent: "bob".into(),
        state: "ringing".into(),
        calls: 0,
    });
    s.live.publish(offer("alice", "call-a"));
    s.live.publish(line("call-a", "for alice"));
    s.live.publish(LiveEvent::CallEnded {
        call_id: "call-a".into(),
        outcome: "transferred".into(),
    });
    s.live.publish(line("call-a", "after the end"));
    s.live.publish(LiveEvent::AgentState {
        agent: "alice".into(),
        state: "wrap_up".into(),
        calls: 0,
    });
    let got = [
        next(&mut ws).await,
        next(&mut ws).await,
        next(&mut ws).await,
        next(&mut ws).await,
    ];
    assert_eq!(
        got[0],
        json!({"type": "offer", "agent": "alice", "call_id": "call-a", "handoff_id": "h-call-a"})
    );
    assert_eq!(
        (&got[1]["type"], &got[1]["text"]),
        (&json!("line"), &json!("for alice"))
    );
    assert_eq!(got[2]["type"], "call_ended");
    assert_eq!(
        (&got[3]["type"], &got[3]["agent"]),
        (&json!("agent_state"), &json!("alice"))
    );

    // A supervisor's socket gets all of it.
    let mut sup = connect(s.addr, SUPERVISOR).await;
    assert_eq!(next(&mut sup).await["type"], "snapshot");
    s.live.publish(offer("bob", "call-b2"));
    assert_eq!(next(&mut sup).await["agent"], "bob");
}
