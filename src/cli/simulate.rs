//! `kefu simulate FILE`: talk to a dialplan in the terminal, typing what a
//! caller would say. Commands: `/dtmf 123`, `/silence` (or an empty line),
//! `/emotion angry`, `/agents busy`, `/vars`, `/quit`.
//!
//! With `--jsonl` it reads caller lines from stdin without prompts and
//! prints one JSON object per line read (a stable format for scripts and
//! acceptance tests):
//! `{"line", "input", "intent", "confidence", "step", "reply", "emotion",
//! "emotion_score", "transfer", "hangup", "faq", "slot", "tags", "ended",
//! "errors"}`; the first object also has `"greeting"`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kefu_core::dialogue::flow::Surroundings;
use serde_json::{json, Value};

use crate::crm::BlockingCrm;
use crate::dialplan::flow::{load, local_now};
use crate::dialplan::session::{parse_line, Input, Line, Reply, Session};

/// Arguments of `kefu simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The dialplan file.
    pub file: PathBuf,
    /// Read caller lines from stdin, print one JSON object per line.
    #[arg(long)]
    pub jsonl: bool,
    /// The caller's number (for the profile and regions).
    #[arg(long, default_value = "+10000000000")]
    pub caller: String,
    /// The number called.
    #[arg(long, default_value = "kefu")]
    pub called: String,
    /// Set a variable before the call starts: NAME=VALUE (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Start with every agent busy.
    #[arg(long)]
    pub agents_busy: bool,
}

/// Runs the simulator; exit code 2 when the dialplan does not load.
pub fn run(args: &SimulateArgs) -> ExitCode {
    let loaded = match load(&args.file) {
        Ok(l) => l,
        Err(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            return ExitCode::from(2);
        }
    };
    let mut vars = Vec::new();
    for v in &args.vars {
        match v.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => {
                vars.push((k.trim().to_string(), val.to_string()))
            }
            _ => {
                eprintln!("kefu: --var wants NAME=VALUE, not `{v}`");
                return ExitCode::from(2);
            }
        }
    }
    let crm = match BlockingCrm::new() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kefu: {e}");
            return ExitCode::FAILURE;
        }
    };
    let world = Surroundings::new(&args.caller, &args.called, local_now());
    let (mut session, greeting) = Session::start(loaded.flow, world, &vars, crm);
    if args.agents_busy {
        session.set_agents(false);
    }
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    if args.jsonl {
        jsonl(&mut session, greeting, stdin.lock(), &mut out)
    } else {
        chat(&mut session, greeting, stdin.lock(), &mut out)
    }
}

fn jsonl(
    session: &mut Session,
    greeting: Reply,
    input: impl BufRead,
    out: &mut impl Write,
) -> ExitCode {
    let mut greeting = Some(greeting);
    for (n, line) in input.lines().enumerate() {
        let Ok(line) = line else { break };
        let mut reply = Reply::default();
        let mut error = None;
        match parse_line(&line) {
            Ok(Line::Input(i)) => {
                if !session.conversation().is_done() {
                    reply = session.input(&i);
                }
            }
            Ok(Line::Emotion(level)) => session.force_emotion(level),
            Ok(Line::Agents(idle)) => session.set_agents(idle),
            Ok(Line::Vars | Line::Help) => {}
            Ok(Line::Quit) => break,
            Err(e) => error = Some(e),
        }
        let mut obj = turn_json(session, &line, n + 1, &reply, error);
        if let (Some(g), Value::Object(map)) = (greeting.take(), &mut obj) {
            map.insert("greeting".into(), Value::String(g.text()));
        }
        if writeln!(out, "{obj}").is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}

/// The JSON object for one caller line.
fn turn_json(
    session: &Session,
    line: &str,
    n: usize,
    reply: &Reply,
    error: Option<String>,
) -> Value {
    let c = session.conversation();
    let turn = c.turn();
    let emotion = c.emotion();
    let mut errors = reply.errors.clone();
    errors.extend(error);
    json!({
        "line": n,
        "input": line,
        "intent": turn.intent,
        "confidence": (f64::from(turn.confidence) * 1000.0).round() / 1000.0,
        "step": c.step_name(),
        "reply": reply.text(),
        "emotion": emotion.level.name(),
        "emotion_score": (f64::from(emotion.score) * 1000.0).round() / 1000.0,
        "transfer": reply.transfer,
        "hangup": reply.hangup,
        "faq": turn.faq,
        "slot": turn.slot.as_ref().map(|(k, v)| json!({"name": k, "value": v})),
        "tags": c.tags(),
        "ended": c.is_done(),
        "errors": errors,
    })
}

fn chat(
    session: &mut Session,
    greeting: Reply,
    input: impl BufRead,
    out: &mut impl Write,
) -> ExitCode {
    let _ = writeln!(
        out,
        "kefu simulator: type what the caller says; /help for commands."
    );
    show(out, &greeting);
    let mut lines = input.lines();
    loop {
        if session.conversation().is_done() {
            let _ = writeln!(out, "(call over)");
            return ExitCode::SUCCESS;
        }
        let _ = write!(out, "caller> ");
        let _ = out.flush();
        let Some(Ok(line)) = lines.next() else {
            let _ = writeln!(out);
            return ExitCode::SUCCESS;
        };
        match parse_line(&line) {
            Ok(Line::Input(i)) => {
                let reply = session.input(&i);
                let c = session.conversation();
                let turn = c.turn();
                if matches!(i, Input::Say(_)) {
                    let _ = writeln!(
                        out,
                        "  [intent {} ({:.2}), emotion {}, step {}]",
                        turn.intent.as_deref().unwrap_or("none"),
                        turn.confidence,
                        c.emotion().level.name(),
                        c.step_name().unwrap_or("-"),
                    );
                }
                show(out, &reply);
            }
            Ok(Line::Emotion(l)) => {
                session.force_emotion(l);
                let _ = writeln!(out, "  [emotion set to {}]", l.name());
            }
            Ok(Line::Agents(idle)) => {
                session.set_agents(idle);
                let _ = writeln!(out, "  [agents {}]", if idle { "idle" } else { "busy" });
            }
            Ok(Line::Vars) => {
                for name in [
                    "intent",
                    "emotion",
                    "last_text",
                    "faq_id",
                    "transfer_target",
                ] {
                    let v = session.conversation().var(name).unwrap_or_default();
                    let _ = writeln!(out, "  {name} = {v}");
                }
            }
            Ok(Line::Help) => {
                let _ = writeln!(
                    out,
                    "  /dtmf 123#  /silence  /emotion neutral|concerned|upset|angry  /agents idle|busy  /vars  /quit"
                );
            }
            Ok(Line::Quit) => return ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(out, "  {e}");
            }
        }
    }
}

fn show(out: &mut impl Write, r: &Reply) {
    for (what, result) in &r.requests {
        let _ = writeln!(out, "  [{what} -> {result}]");
    }
    for p in &r.played {
        let _ = writeln!(out, "kefu: <plays {p}>");
    }
    for s in &r.said {
        let _ = writeln!(out, "kefu: {s}");
    }
    for e in &r.errors {
        let _ = writeln!(out, "  [error: {e}]");
    }
    if let Some(t) = &r.transfer {
        let _ = writeln!(out, "  [transferred to {t}]");
    }
    if r.hangup {
        let _ = writeln!(out, "  [kefu hangs up]");
    }
}
