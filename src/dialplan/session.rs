//! A conversation without a phone: the core interpreter driven with typed
//! text, its CRM and LLM requests performed for real (blocking). The
//! terminal simulator and the dialplan test cases both run on it, so they
//! exercise exactly the state machine a call runs.

use std::sync::Arc;

use kefu_core::dialogue::emotion::Level;
use kefu_core::dialogue::flow::{Flow, QueueLoad, Surroundings};
use kefu_core::dialogue::interp::{Action, Conversation};

use crate::crm::BlockingCrm;

/// One caller input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The caller said this.
    Say(String),
    /// The caller keyed these digits.
    Keys(String),
    /// The caller stayed silent for the no-input timeout.
    Silence,
}

/// What kefu did in answer to one input (or at the start).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Everything said, in order.
    pub said: Vec<String>,
    /// Recorded prompts played.
    pub played: Vec<String>,
    /// The call was handed to this target.
    pub transfer: Option<String>,
    /// kefu hung up.
    pub hangup: bool,
    /// Run-time errors of the plan.
    pub errors: Vec<String>,
    /// CRM / LLM requests made: (what, outcome) for the log.
    pub requests: Vec<(String, String)>,
}

impl Reply {
    /// What was said, as one text.
    pub fn text(&self) -> String {
        self.said.join(" ")
    }
}

/// A running text conversation.
#[derive(Debug)]
pub struct Session {
    conv: Conversation,
    crm: BlockingCrm,
}

impl Session {
    /// A conversation on `flow` for `world`, with `vars` set before the
    /// first step; returns it with the greeting.
    pub fn start(
        flow: Arc<Flow>,
        world: Surroundings,
        vars: &[(String, String)],
        crm: BlockingCrm,
    ) -> (Session, Reply) {
        let mut conv = Conversation::new(flow, world);
        for (k, v) in vars {
            conv.set_var(k, v);
        }
        conv.start();
        let mut s = Session { conv, crm };
        let r = s.drain();
        (s, r)
    }

    /// The interpreter (step, turn, emotion, variables).
    pub fn conversation(&self) -> &Conversation {
        &self.conv
    }

    /// Forces the emotion estimate.
    pub fn force_emotion(&mut self, level: Level) {
        self.conv.force_emotion(level);
    }

    /// Sets every queue idle (`true`) or busy.
    pub fn set_agents(&mut self, idle: bool) {
        self.conv.world_mut().all_queues = Some(QueueLoad {
            idle: u32::from(idle),
            waiting: 0,
        });
    }

    /// Feeds one caller input and returns what kefu did.
    pub fn input(&mut self, input: &Input) -> Reply {
        match input {
            Input::Say(t) => self.conv.heard(t, None, false),
            Input::Keys(k) => self.conv.keys(k),
            Input::Silence => self.conv.no_input(),
        }
        self.drain()
    }

    /// Performs actions until the interpreter waits for the caller.
    fn drain(&mut self) -> Reply {
        let mut r = Reply::default();
        // Each request answer may queue more actions (the next step).
        for _ in 0..256 {
            let Some(a) = self.conv.poll() else { break };
            match a {
                Action::Say(t) => r.said.push(t),
                Action::Play(p) => r.played.push(p),
                Action::Listen { .. } | Action::Emotion(_) | Action::Tag(_) => {}
                Action::Http { id, request } => {
                    let outcome = self.crm.perform_blocking(&request);
                    r.requests.push((
                        format!("{} {}", request.method, request.url),
                        match &outcome {
                            Ok(fields) => format!("ok {fields:?}"),
                            Err(e) => e.to_string(),
                        },
                    ));
                    self.conv.http_done(id, outcome);
                }
                Action::Llm { id, request } => {
                    let outcome = self.crm.chat_blocking(&request);
                    r.requests.push((
                        format!("LLM {}", request.url),
                        match &outcome {
                            Ok(_) => "ok".to_string(),
                            Err(e) => e.to_string(),
                        },
                    ));
                    self.conv.llm_done(id, outcome);
                }
                Action::Transfer(t) => r.transfer = Some(t),
                Action::Hangup => r.hangup = true,
                Action::Error(e) => r.errors.push(e),
            }
        }
        r
    }
}

/// Reads a simulator command or caller line. `/dtmf 123`, `/silence` (or
/// an empty line) are inputs; `/emotion LEVEL` and `/agents idle|busy`
/// change the world; anything else is speech.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    if line.is_empty() || line == "/silence" {
        return Ok(Line::Input(Input::Silence));
    }
    let Some(cmd) = line.strip_prefix('/') else {
        return Ok(Line::Input(Input::Say(line.to_string())));
    };
    let (name, arg) = cmd.split_once(' ').unwrap_or((cmd, ""));
    let arg = arg.trim();
    match name {
        "dtmf" => {
            if arg.is_empty()
                || !arg
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
            {
                return Err(format!("/dtmf takes keys 0-9 * #, not `{arg}`"));
            }
            Ok(Line::Input(Input::Keys(arg.to_string())))
        }
        "emotion" => Level::from_name(arg).map(Line::Emotion).ok_or_else(|| {
            format!("/emotion takes neutral, concerned, upset or angry, not `{arg}`")
        }),
        "agents" => match arg {
            "idle" | "free" | "available" => Ok(Line::Agents(true)),
            "busy" => Ok(Line::Agents(false)),
            _ => Err(format!("/agents takes idle or busy, not `{arg}`")),
        },
        "vars" => Ok(Line::Vars),
        "quit" | "exit" => Ok(Line::Quit),
        "help" => Ok(Line::Help),
        _ => Err(format!("unknown command /{name} (try /help)")),
    }
}

/// A line typed into the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A caller input.
    Input(Input),
    /// Force the emotion estimate.
    Emotion(Level),
    /// Agents idle (`true`) or busy.
    Agents(bool),
    /// Show the variables.
    Vars,
    /// Show the commands.
    Help,
    /// Leave.
    Quit,
}
