//! The dialplan interpreter: one [`Conversation`] per call walks the step
//! graph of a [`Flow`], turn by turn.
//!
//! It works on text: the caller's transcripts, keyed digits and silences
//! come in; what kefu says, asks the shell to do (CRM requests, the LLM,
//! transfer, hang-up) and notes (emotion, tags) goes out as [`Action`]s,
//! drained with [`Conversation::poll`]. The same state machine runs a live
//! call (see [`super::plan_call`], which adds audio timing) and the
//! terminal simulator, so a dialplan behaves the same in both.
//!
//! After every caller utterance: the intent is recognised, the emotion
//! estimate updated, the global rules checked (first that holds wins),
//! then the waiting step handles the answer: a slot value, an intent
//! route, a global intent (`goto`), an FAQ answer, the LLM, or no match.
//! Failed turns (no input, no match) count in a row across steps; at the
//! plan's `max_failures` the call goes to `on_failures`, otherwise the
//! step re-prompts until its `retries` are used, then `on_failure`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::emotion::{Estimate, Estimator, Level, Observation};
use super::flow::{Flow, Surroundings, Vars};
use super::http::{HttpOutcome, HttpRequest, LlmOutcome, LlmRequest};
use super::plan::{Action as StepAction, Ask, SlotKind, Speak, StepIx, TransferPolicy};
use super::template::Escape;
use super::understand::slot_from_keys;
use crate::nlu::prosody::Prosody;
use crate::nlu::{yes_no, YesNo};

/// Steps run without waiting for anything before the interpreter decides
/// the plan loops and ends the call.
const MAX_STEPS_PER_TURN: usize = 64;

mod answers;

/// What the conversation asks of its call.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Say this text.
    Say(String),
    /// Play this recorded prompt.
    Play(String),
    /// The caller's turn: listen (and take keys when `dtmf`).
    Listen {
        /// Keys are a valid answer.
        dtmf: bool,
    },
    /// Perform this CRM request and answer with
    /// [`Conversation::http_done`].
    Http {
        /// Request id.
        id: u64,
        /// The request.
        request: HttpRequest,
    },
    /// Ask the LLM and answer with [`Conversation::llm_done`].
    Llm {
        /// Request id.
        id: u64,
        /// The request.
        request: LlmRequest,
    },
    /// Hand the call to this target (queue or URI); the bot is done.
    Transfer(String),
    /// End the call (after what was said).
    Hangup,
    /// The emotion estimate after a caller utterance (for the timeline).
    Emotion(Estimate),
    /// A customer tag was added.
    Tag(String),
    /// The plan went wrong at run time (a loop without a wait); the call
    /// ends.
    Error(String),
}

/// What the interpreter made of the last caller input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Turn {
    /// Recognised intent (above the threshold), if any.
    pub intent: Option<String>,
    /// Its confidence (of the best intent, even below the threshold).
    pub confidence: f32,
    /// FAQ entry answered, if any.
    pub faq: Option<String>,
    /// A slot value taken.
    pub slot: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started.
    Idle,
    /// The profile look-up runs before the first step.
    Profile { id: u64 },
    /// An ask step waits for the caller.
    Asking { step: StepIx },
    /// An ask-first transfer waits for yes or no.
    Confirming { step: StepIx, tries: u32 },
    /// A CRM request of this step is in flight.
    Http { step: StepIx, id: u64 },
    /// The LLM was asked while this ask step waited.
    Llm { step: StepIx, id: u64 },
    /// Transferred or hung up.
    Done,
}

/// One call's run of a dialplan.
#[derive(Debug)]
pub struct Conversation {
    flow: Arc<Flow>,
    world: Surroundings,
    vars: Vars,
    tags: Vec<String>,
    emotion: Estimator,
    state: State,
    /// Failed turns in a row.
    failures: u32,
    /// The last turns failed until the plan gave up on them (its
    /// `on_failure`/`on_failures` step runs).
    gave_up: bool,
    /// Re-prompts used in the current ask.
    retries: u32,
    turns: u32,
    intents_seen: BTreeMap<String, u32>,
    last_intent: Option<String>,
    history: Vec<(bool, String)>,
    timeline: Vec<(u32, Estimate)>,
    out: VecDeque<Action>,
    next_id: u64,
    turn: Turn,
    step: Option<StepIx>,
}

impl Conversation {
    /// A conversation for a call in `world`; nothing happens until
    /// [`Conversation::start`].
    pub fn new(flow: Arc<Flow>, world: Surroundings) -> Conversation {
        let mut vars = Vars::default();
        for (k, v) in &flow.plan.vars {
            vars.set(k, v.clone());
        }
        let mut world = world;
        if let Some(region) = region(&flow.plan.profile.regions, &world.caller) {
            world.profile.entry("region".into()).or_insert(region);
        }
        for (field, default) in [
            ("vip", "0"),
            ("tags", ""),
            ("calls", "0"),
            ("complaints", "0"),
        ] {
            world.profile.entry(field.into()).or_insert(default.into());
        }
        Conversation {
            flow,
            world,
            vars,
            tags: Vec::new(),
            emotion: Estimator::new(),
            state: State::Idle,
            failures: 0,
            gave_up: false,
            retries: 0,
            turns: 0,
            intents_seen: BTreeMap::new(),
            last_intent: None,
            history: Vec::new(),
            timeline: Vec::new(),
            out: VecDeque::new(),
            next_id: 1,
            turn: Turn::default(),
            step: None,
        }
    }

    /// Sets a variable before the call starts (tests, campaign contacts).
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.vars.set(name, value);
    }

    /// The flow this call runs (its version stays for the whole call).
    pub fn flow(&self) -> &Arc<Flow> {
        &self.flow
    }

    /// Updates what the call knows of the world (queues, time).
    pub fn world_mut(&mut self) -> &mut Surroundings {
        &mut self.world
    }

    /// The call was answered: look the caller up, then run the first step.
    pub fn start(&mut self) {
        if self.state != State::Idle {
            return;
        }
        if let Some(spec) = self.flow.plan.profile.lookup.clone() {
            let request = self.request(&spec);
            let id = self.id();
            self.state = State::Profile { id };
            self.out.push_back(Action::Http { id, request });
        } else {
            self.run(self.flow.plan.start);
        }
    }

    /// The next action, if any.
    pub fn poll(&mut self) -> Option<Action> {
        self.out.pop_front()
    }

    /// The step the call is in (waiting or last run).
    pub fn step_name(&self) -> Option<&str> {
        self.step.map(|s| self.flow.plan.steps[s].name.as_str())
    }

    /// What was made of the last caller input.
    pub fn turn(&self) -> &Turn {
        &self.turn
    }

    /// Why the call is being transferred now, for the record: `emotion`
    /// when the caller is upset or angry, `asked` when they asked for a
    /// person, `failures` after turns not understood, else the intent or
    /// the step that led there.
    pub fn transfer_reason(&self) -> String {
        if self.emotion.current().level >= crate::dialogue::emotion::Level::Upset {
            return "emotion".into();
        }
        if self.intents_seen.contains_key("human_agent") {
            return "asked".into();
        }
        if self.gave_up {
            return "failures".into();
        }
        match (&self.last_intent, self.step_name()) {
            (Some(i), _) => format!("intent:{i}"),
            (None, Some(s)) => format!("step:{s}"),
            (None, None) => "step".into(),
        }
    }

    /// The emotion estimate now.
    pub fn emotion(&self) -> Estimate {
        self.emotion.current()
    }

    /// The estimate after each caller utterance: (turn number, estimate).
    pub fn timeline(&self) -> &[(u32, Estimate)] {
        &self.timeline
    }

    /// Customer tags added during the call.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// A variable's value as the dialplan sees it.
    pub fn var(&self, name: &str) -> Option<String> {
        self.lookup(name)
    }

    /// The conversation so far: (is the caller, text).
    pub fn history(&self) -> &[(bool, String)] {
        &self.history
    }

    /// Transferred or hung up.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Whether the interpreter waits for the caller to speak.
    pub fn is_listening(&self) -> bool {
        matches!(self.state, State::Asking { .. } | State::Confirming { .. })
    }

    /// Forces the emotion estimate (operator override, `/emotion angry`).
    pub fn force_emotion(&mut self, level: Level) {
        self.emotion.force(level);
    }

    /// The caller said `text` (a final transcript).
    pub fn heard(&mut self, text: &str, prosody: Option<Prosody>, barged_in: bool) {
        self.turn = Turn::default();
        let text = text.trim();
        if text.is_empty() {
            return self.no_input();
        }
        if self.state == State::Done {
            return;
        }
        self.turns += 1;
        self.history.push((true, text.to_string()));
        self.vars.set("last_text", text);
        let best = self.flow.intents.classify(text, None);
        let threshold = self.flow.plan.nlu.intent_threshold;
        self.turn.confidence = best.as_ref().map_or(0.0, |m| m.confidence);
        let intent = best.filter(|m| m.confidence >= threshold).map(|m| m.name);
        // Asking for the same thing again shows frustration; answering two
        // different questions alike ("yes", "yes") does not.
        let intent_ask = match self.state {
            State::Asking { step } => matches!(
                &self.flow.plan.steps[step].action,
                StepAction::Ask(a) if a.kind == SlotKind::Intent
            ),
            _ => false,
        };
        let repeated = intent_ask && intent.is_some() && intent == self.last_intent;
        if let Some(i) = &intent {
            *self.intents_seen.entry(i.clone()).or_default() += 1;
        }
        let estimate = self.emotion.observe(&Observation {
            text,
            prosody,
            intent: intent.as_deref(),
            repeated_intent: repeated,
            barged_in,
        });
        self.timeline.push((self.turns, estimate.clone()));
        self.out.push_back(Action::Emotion(estimate));
        self.vars.set("intent", intent.clone().unwrap_or_default());
        self.vars
            .set("confidence", format!("{:.2}", self.turn.confidence));
        self.turn.intent = intent.clone();
        self.last_intent = intent.clone();
        match self.state {
            State::Asking { step } => {
                if let Some(to) = self.rule() {
                    return self.run(to);
                }
                self.answer(step, text, intent);
            }
            State::Confirming { step, tries } => {
                if let Some(to) = self.rule() {
                    return self.run(to);
                }
                self.confirm(step, tries, yes_no(text));
            }
            _ => {}
        }
    }

    /// The caller keyed `keys` (collected up to `#` or a pause).
    pub fn keys(&mut self, keys: &str) {
        self.turn = Turn::default();
        match self.state {
            State::Asking { step } => {
                let Some(ask) = self.ask_of(step) else { return };
                match slot_from_keys(&ask, keys) {
                    Some(v) => self.fill(step, &ask, v),
                    None => self.failed(step, false),
                }
            }
            State::Confirming { step, tries } => {
                let answer = match keys.trim_end_matches('#') {
                    "1" => Some(YesNo::Yes),
                    "2" => Some(YesNo::No),
                    _ => None,
                };
                self.confirm(step, tries, answer);
            }
            _ => {}
        }
    }

    /// The caller said nothing for the no-input timeout.
    pub fn no_input(&mut self) {
        self.turn = Turn::default();
        match self.state {
            State::Asking { step } => self.failed(step, true),
            State::Confirming { step, tries } => self.confirm(step, tries, None),
            _ => {}
        }
    }

    /// The CRM request `id` finished.
    pub fn http_done(&mut self, id: u64, outcome: HttpOutcome) {
        match self.state {
            State::Profile { id: want } if want == id => {
                if let Ok(fields) = outcome {
                    for (k, v) in fields {
                        self.world.profile.insert(k, v);
                    }
                }
                self.run(self.flow.plan.start);
            }
            State::Http { step, id: want } if want == id => {
                let StepAction::Http { next, on_error, .. } = &self.flow.plan.steps[step].action
                else {
                    return;
                };
                let (next, on_error) = (*next, *on_error);
                match outcome {
                    Ok(fields) => {
                        for (k, v) in fields {
                            self.vars.set(&k, v);
                        }
                        self.vars.set("http_error", "");
                        self.run(next);
                    }
                    Err(e) => {
                        self.vars.set("http_error", e.to_string());
                        self.run(on_error);
                    }
                }
            }
            _ => {}
        }
    }

    /// The LLM request `id` finished.
    pub fn llm_done(&mut self, id: u64, outcome: LlmOutcome) {
        let State::Llm { step, id: want } = self.state else {
            return;
        };
        if want != id {
            return;
        }
        match outcome {
            Ok(answer) => {
                self.vars.set("llm_answer", answer.clone());
                self.say_text(&answer);
                self.ask_again(step, None);
            }
            Err(_) => self.failed(step, false),
        }
    }

    /// The transfer could not be completed (no agent, refused): back into
    /// the bot at the transfer step's `on_busy`, or an apology and the end.
    pub fn transfer_failed(&mut self, step_name: Option<&str>) {
        let step = step_name
            .and_then(|n| self.flow.plan.step_ix(n))
            .or(self.step);
        let back = step.and_then(|s| match &self.flow.plan.steps[s].action {
            StepAction::Transfer(t) => t.on_busy,
            _ => None,
        });
        match back {
            Some(to) => {
                self.state = State::Idle;
                self.run(to);
            }
            None => {
                self.state = State::Done;
                self.out.push_back(Action::Hangup);
            }
        }
    }

    fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<String> {
        match name {
            "emotion" => return Some(self.emotion.current().level.name().to_string()),
            "emotion_score" => return Some(format!("{:.2}", self.emotion.current().score)),
            "turns" => return Some(self.turns.to_string()),
            "failures" => return Some(self.failures.to_string()),
            _ => {}
        }
        if name == "profile.tags" {
            let mut tags: Vec<String> = self
                .world
                .profile
                .get("tags")
                .map(|t| {
                    t.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            tags.extend(self.tags.iter().cloned());
            return Some(tags.join(","));
        }
        self.vars.get(name, &self.world)
    }

    fn render(&self, t: &super::template::Template) -> String {
        t.render(|n| self.lookup(n), Escape::None)
    }

    fn request(&self, spec: &super::http::HttpSpec) -> HttpRequest {
        let look = |n: &str| self.lookup(n);
        HttpRequest {
            method: spec.method.clone(),
            url: spec.url.render(look, Escape::Url),
            headers: spec
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.render(look, Escape::None)))
                .collect(),
            body: spec.body.as_ref().map(|b| b.render(&look)),
            timeout: spec.timeout,
            retries: spec.retries,
            map: spec.map.clone(),
        }
    }

    fn say_text(&mut self, text: &str) {
        let text = text.trim();
        if !text.is_empty() {
            self.history.push((false, text.to_string()));
            self.out.push_back(Action::Say(text.to_string()));
        }
    }

    fn speak(&mut self, speak: &Speak) {
        match speak {
            Speak::Text(t) => {
                let text = self.render(t);
                self.say_text(&text);
            }
            Speak::Prompt(p) => self.out.push_back(Action::Play(p.clone())),
        }
    }

    fn rule(&self) -> Option<StepIx> {
        let look = |n: &str| self.lookup(n);
        self.flow
            .plan
            .rules
            .iter()
            .find(|r| r.when.eval(&look))
            .map(|r| r.goto)
    }

    fn ask_of(&self, step: StepIx) -> Option<Ask> {
        match &self.flow.plan.steps[step].action {
            StepAction::Ask(a) => Some(a.clone()),
            _ => None,
        }
    }

    /// Runs steps from `from` until one waits (ask, request, confirm) or
    /// the call ends.
    fn run(&mut self, from: StepIx) {
        let flow = Arc::clone(&self.flow);
        let plan = &flow.plan;
        let mut at = from;
        for _ in 0..MAX_STEPS_PER_TURN {
            self.step = Some(at);
            let step = &plan.steps[at];
            for (name, value) in &step.set {
                let v = self.render(value);
                self.vars.set(name, v);
            }
            for tag in &step.tags {
                if !self.tags.contains(tag) {
                    self.tags.push(tag.clone());
                    self.out.push_back(Action::Tag(tag.clone()));
                }
            }
            if let Some(s) = &step.speak {
                self.speak(s);
            }
            match &step.action {
                StepAction::Next(n) => at = *n,
                StepAction::Ask(ask) => {
                    self.retries = 0;
                    let q = self.render(&ask.prompt);
                    self.say_text(&q);
                    self.state = State::Asking { step: at };
                    self.out.push_back(Action::Listen { dtmf: ask.dtmf });
                    return;
                }
                StepAction::Branch { arms, otherwise } => {
                    let look = |n: &str| self.lookup(n);
                    at = arms
                        .iter()
                        .find(|(cond, _)| cond.eval(&look))
                        .map_or(*otherwise, |(_, to)| *to);
                }
                StepAction::Http { spec, .. } => {
                    let request = self.request(spec);
                    let id = self.id();
                    self.state = State::Http { step: at, id };
                    self.out.push_back(Action::Http { id, request });
                    return;
                }
                StepAction::Faq { next, on_miss } => {
                    let text = self.lookup("last_text").unwrap_or_default();
                    match self.faq_answer(&text) {
                        Some(answer) => {
                            self.say_text(&answer);
                            at = *next;
                        }
                        None => at = *on_miss,
                    }
                }
                StepAction::Transfer(t) => {
                    let target = self.render(&t.target);
                    self.vars.set("transfer_target", target.clone());
                    let queue = target.strip_prefix("queue:").unwrap_or(&target);
                    let busy = self.world.queue(queue).is_some_and(|q| q.idle == 0);
                    let insists = self.intents_seen.get("human_agent").copied().unwrap_or(0) >= 2;
                    if busy && !insists {
                        if let Some(back) = t.on_busy {
                            at = back;
                            continue;
                        }
                    }
                    if t.policy == TransferPolicy::AskFirst {
                        if let Some(q) = &t.confirm {
                            let q = self.render(q);
                            self.say_text(&q);
                        }
                        self.state = State::Confirming { step: at, tries: 0 };
                        self.out.push_back(Action::Listen { dtmf: true });
                        return;
                    }
                    self.state = State::Done;
                    self.out.push_back(Action::Transfer(target));
                    return;
                }
                StepAction::Hangup => {
                    self.state = State::Done;
                    self.out.push_back(Action::Hangup);
                    return;
                }
            }
        }
        self.state = State::Done;
        self.out.push_back(Action::Error(format!(
            "more than {MAX_STEPS_PER_TURN} steps without waiting for the caller (a loop in the plan?)"
        )));
        self.out.push_back(Action::Hangup);
    }
}

/// The region of `number`: the longest matching prefix.
fn region(regions: &[(String, String)], number: &str) -> Option<String> {
    let digits: String = number
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    regions
        .iter()
        .filter(|(prefix, _)| digits.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, r)| r.clone())
}
