//! Dialplan test cases (`NAME.cases.toml` beside `NAME.toml`): scripted
//! conversations with the replies, steps, variables, emotions and transfers
//! expected after each caller turn. `kefu dialplan test FILE` and
//! `make test` run them.
//!
//! A case file may describe a CRM (`[[http]]` routes with a status, a JSON
//! body, garbage text or a delay); the runner serves it from a real HTTP
//! server on 127.0.0.1 for the run, and `{server}` in variables becomes its
//! address, so the plan's requests go over a real socket.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kefu_core::dialogue::emotion::Level;
use kefu_core::dialogue::flow::Surroundings;
use serde::Deserialize;

use super::session::{Input, Reply, Session};
use crate::crm::BlockingCrm;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    dialplan: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    http: Vec<Route>,
    #[serde(default)]
    case: Vec<Case>,
}

/// One route of the test CRM.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Route {
    path: String,
    method: Option<String>,
    status: Option<u16>,
    body: Option<toml::Value>,
    body_text: Option<String>,
    delay_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    caller: Option<String>,
    agents: Option<String>,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    #[serde(default)]
    turn: Vec<Turn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Turn {
    say: Option<String>,
    dtmf: Option<String>,
    silence: Option<bool>,
    emotion: Option<String>,
    agents: Option<String>,
    expect_intent: Option<String>,
    expect_step: Option<String>,
    expect_reply: Option<String>,
    expect_no_reply: Option<String>,
    expect_transfer: Option<String>,
    expect_hangup: Option<bool>,
    expect_vars: Option<BTreeMap<String, String>>,
    expect_emotion: Option<String>,
    expect_faq: Option<String>,
}

/// The result of a case file.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases run.
    pub cases: usize,
    /// Failures: "case name, turn N: what differed".
    pub failures: Vec<String>,
}

/// Runs the cases in `path` against their dialplan.
pub fn run_file(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: CaseFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        format!("{}:{line}: {}", path.display(), e.message().trim())
    })?;
    let plan_path = plan_path(path, file.dialplan.as_deref());
    let loaded = super::flow::load(&plan_path).map_err(|d| {
        d.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let server = crm_server(file.http.clone())?;
    let mut report = Report::default();
    for case in &file.case {
        report.cases += 1;
        if let Err(e) = run_case(&loaded.flow, &file.vars, case, &server.base) {
            report.failures.push(format!("{}: {e}", case.name));
        }
    }
    Ok(report)
}

fn plan_path(cases: &Path, named: Option<&str>) -> PathBuf {
    let dir = cases.parent().unwrap_or(Path::new("."));
    match named {
        Some(n) => dir.join(n),
        None => {
            let name = cases
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            dir.join(name.replace(".cases.toml", ".toml"))
        }
    }
}

fn run_case(
    flow: &Arc<kefu_core::dialogue::flow::Flow>,
    file_vars: &BTreeMap<String, String>,
    case: &Case,
    server: &str,
) -> Result<(), String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (k, v) in file_vars.iter().chain(case.vars.iter()) {
        vars.retain(|(name, _)| name != k);
        vars.push((k.clone(), v.replace("{server}", server)));
    }
    let caller = case.caller.as_deref().unwrap_or("+10000000000");
    let mut world = Surroundings::new(caller, "kefu", super::flow::local_now());
    if let Some(a) = &case.agents {
        world.all_queues = Some(agents(a)?);
    }
    let crm = BlockingCrm::new().map_err(|e| e.to_string())?;
    let (mut session, greeting) = Session::start(Arc::clone(flow), world, &vars, crm);
    let mut pending_greeting = Some(greeting);
    for (i, t) in case.turn.iter().enumerate() {
        let n = i + 1;
        if let Some(e) = &t.emotion {
            let level =
                Level::from_name(e).ok_or(format!("turn {n}: emotion `{e}` is not a level"))?;
            session.force_emotion(level);
        }
        if let Some(a) = &t.agents {
            session.set_agents(agents(a)?.idle > 0);
        }
        let input = match (&t.say, &t.dtmf, t.silence) {
            (Some(s), None, None) => Some(Input::Say(s.clone())),
            (None, Some(d), None) => Some(Input::Keys(d.clone())),
            (None, None, Some(true)) => Some(Input::Silence),
            (None, None, None | Some(false)) => None,
            _ => return Err(format!("turn {n}: give one of say, dtmf, silence")),
        };
        let mut reply = match &input {
            Some(i) => session.input(i),
            None => Reply::default(),
        };
        if let Some(g) = pending_greeting.take() {
            if input.is_none() {
                reply = g;
            }
        }
        check(&session, t, &reply)
            .map_err(|e| format!("turn {n}: {e} (kefu said: \"{}\")", reply.text()))?;
    }
    Ok(())
}

fn agents(a: &str) -> Result<kefu_core::dialogue::flow::QueueLoad, String> {
    match a {
        "idle" => Ok(kefu_core::dialogue::flow::QueueLoad {
            idle: 1,
            waiting: 0,
        }),
        "busy" => Ok(kefu_core::dialogue::flow::QueueLoad {
            idle: 0,
            waiting: 3,
        }),
        other => Err(format!("agents = `{other}`: use idle or busy")),
    }
}

fn check(session: &Session, t: &Turn, reply: &Reply) -> Result<(), String> {
    let c = session.conversation();
    if !reply.errors.is_empty() {
        return Err(format!("plan error: {}", reply.errors.join("; ")));
    }
    if let Some(want) = &t.expect_intent {
        let got = c.turn().intent.clone().unwrap_or_else(|| "none".into());
        if &got != want {
            return Err(format!(
                "intent {got} ({:.2}), expected {want}",
                c.turn().confidence
            ));
        }
    }
    if let Some(want) = &t.expect_step {
        let got = c.step_name().unwrap_or("-");
        if got != want {
            return Err(format!("step {got}, expected {want}"));
        }
    }
    let said = reply.text().to_lowercase();
    if let Some(want) = &t.expect_reply {
        if !said.contains(&want.to_lowercase()) {
            return Err(format!("reply lacks \"{want}\""));
        }
    }
    if let Some(bad) = &t.expect_no_reply {
        if said.contains(&bad.to_lowercase()) {
            return Err(format!("reply has \"{bad}\""));
        }
    }
    if let Some(want) = &t.expect_transfer {
        let got = reply.transfer.clone().unwrap_or_else(|| "none".into());
        if &got != want {
            return Err(format!("transfer {got}, expected {want}"));
        }
    }
    if let Some(want) = t.expect_hangup {
        if reply.hangup != want {
            return Err(format!("hangup {}, expected {want}", reply.hangup));
        }
    }
    for (k, want) in t.expect_vars.iter().flatten() {
        let got = c.var(k).unwrap_or_default();
        if &got != want {
            return Err(format!("variable {k} = \"{got}\", expected \"{want}\""));
        }
    }
    if let Some(want) = &t.expect_emotion {
        let want =
            Level::from_name(want).ok_or(format!("expect_emotion `{want}` is not a level"))?;
        let got = c.emotion().level;
        if got < want {
            return Err(format!(
                "emotion {}, expected at least {}",
                got.name(),
                want.name()
            ));
        }
    }
    if let Some(want) = &t.expect_faq {
        let got = c.turn().faq.clone().unwrap_or_else(|| "none".into());
        if &got != want {
            return Err(format!("faq {got}, expected {want}"));
        }
    }
    Ok(())
}

/// The test CRM: a real HTTP server on 127.0.0.1, on its own thread.
struct CrmServer {
    base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn crm_server(routes: Vec<Route>) -> Result<CrmServer, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("cases-crm".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let addr = listener
                    .local_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default();
                let routes = Arc::new(routes);
                let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let routes = Arc::clone(&routes);
                    async move {
                        let path = percent_decode(req.uri().path());
                        answer(&routes, req.method().as_str(), &path).await
                    }
                });
                let _ = tx.send(Ok(format!("http://{addr}")));
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        })
        .map_err(|e| e.to_string())?;
    let base = rx
        .recv_timeout(Duration::from_secs(5))
        .map_err(|e| format!("test CRM did not start: {e}"))??;
    Ok(CrmServer {
        base,
        _stop: stop_tx,
    })
}

/// `%2B` -> `+`: routes are written as the values were, not encoded.
pub fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn answer(routes: &[Route], method: &str, path: &str) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let Some(r) = routes.iter().find(|r| {
        r.path == path
            && r.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }) else {
        return (StatusCode::NOT_FOUND, "{\"error\":\"not found\"}").into_response();
    };
    if let Some(ms) = r.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let status = StatusCode::from_u16(r.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
    let body = match (&r.body_text, &r.body) {
        (Some(t), _) => t.clone(),
        (None, Some(b)) => serde_json::to_string(b).unwrap_or_default(),
        (None, None) => "{}".to_string(),
    };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}
