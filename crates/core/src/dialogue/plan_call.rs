//! A flow dialplan on a live call: the [`Conversation`] (which works on
//! text) given the timing of audio.
//!
//! - What kefu says is queued in order; the caller's turn (listening, the
//!   no-input timer) starts when the last of it has played, or at once when
//!   the caller barges in. A hang-up or transfer also waits for the words
//!   before it ("Goodbye.") to finish.
//! - What the caller says while kefu still speaks, without interrupting, is
//!   a backchannel and ignored (as in the speech dialogue).
//! - Keys are collected until `#` or a pause of [`KEY_PAUSE`], then given to
//!   the conversation as one answer; the first key stops kefu's prompt.
//! - CRM and LLM requests and transfers go to the shell through
//!   [`Ctx::request`]; their answers come back as [`Event::Reply`].
//! - The prosody of each utterance (from the call's audio) feeds the
//!   emotion estimate; the estimate and what was understood go on the
//!   call's record through [`Ctx::note`].

use std::sync::Arc;
use std::time::Duration;

use super::flow::{Flow, Surroundings};
use super::interp::{Action, Conversation};
use super::{Ctx, Dialogue, Event, Note, Reply, Request};

/// The variable a post-call survey step saves the caller's 1-5 answer in.
pub const SURVEY_VAR: &str = "csat";

/// Keys end this long after the last one (or at `#`).
pub const KEY_PAUSE: Duration = Duration::from_secs(3);

/// What waits for kefu's words to finish.
#[derive(Debug, Clone, PartialEq, Eq)]
enum After {
    Listen,
    Hangup,
    Transfer(String),
}

/// A flow dialplan running one call.
#[derive(Debug)]
pub struct PlanCall {
    conv: Conversation,
    /// Playout id of the last thing kefu queued, until it finishes.
    speaking: Option<u64>,
    after: Option<After>,
    keys: String,
    barged: bool,
    /// The survey answer already noted.
    survey: Option<u8>,
}

impl PlanCall {
    /// A call on `flow` in `world`; it starts when the call is answered.
    pub fn new(flow: Arc<Flow>, world: Surroundings) -> PlanCall {
        PlanCall {
            conv: Conversation::new(flow, world),
            speaking: None,
            after: None,
            keys: String::new(),
            barged: false,
            survey: None,
        }
    }

    /// The conversation (for tests and the record).
    pub fn conversation(&self) -> &Conversation {
        &self.conv
    }

    /// Performs the conversation's actions.
    fn pump(&mut self, ctx: &mut dyn Ctx) {
        while let Some(a) = self.conv.poll() {
            match a {
                Action::Say(t) => {
                    if let Some(id) = ctx.say(&t) {
                        self.speaking = Some(id);
                    }
                }
                Action::Play(p) => {
                    if let Some(id) = ctx.play(&p) {
                        self.speaking = Some(id);
                    }
                }
                Action::Listen { .. } => self.after_speech(After::Listen, ctx),
                Action::Http { id, request } => ctx.request(Request::Http { id, request }),
                Action::Llm { id, request } => ctx.request(Request::Llm { id, request }),
                Action::Transfer(target) => {
                    ctx.note(Note::Transfer {
                        target: target.clone(),
                        reason: self.conv.transfer_reason(),
                    });
                    self.after_speech(After::Transfer(target), ctx)
                }
                Action::Hangup => self.after_speech(After::Hangup, ctx),
                Action::Emotion(e) => ctx.note(Note::Emotion(e)),
                Action::Tag(t) => ctx.note(Note::Tag(t)),
                Action::Error(e) => ctx.note(Note::Error(e)),
            }
        }
        self.note_survey(ctx);
    }

    /// Notes the caller's survey answer once it is set to 1..=5 (a step
    /// that saves into `csat`), and again whenever it changes.
    fn note_survey(&mut self, ctx: &mut dyn Ctx) {
        let score = self
            .conv
            .var(SURVEY_VAR)
            .and_then(|v| v.trim().parse::<u8>().ok())
            .filter(|n| (1..=5).contains(n));
        if score.is_some() && score != self.survey {
            self.survey = score;
            if let Some(n) = score {
                ctx.note(Note::Survey(n));
            }
        }
    }

    fn after_speech(&mut self, what: After, ctx: &mut dyn Ctx) {
        if self.speaking.is_some() {
            self.after = Some(what);
        } else {
            run(what, ctx);
        }
    }

    fn understood(&self, ctx: &mut dyn Ctx) {
        let t = self.conv.turn();
        ctx.note(Note::Understood {
            intent: t.intent.clone(),
            confidence: t.confidence,
            step: self.conv.step_name().map(str::to_string),
        });
    }

    fn give_keys(&mut self, ctx: &mut dyn Ctx) {
        if self.keys.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut self.keys);
        ctx.cancel_timer();
        self.conv.keys(&keys);
        self.understood(ctx);
        self.pump(ctx);
    }
}

fn run(what: After, ctx: &mut dyn Ctx) {
    match what {
        After::Listen => ctx.listen(),
        After::Hangup => ctx.hangup(),
        After::Transfer(target) => ctx.request(Request::Transfer { target }),
    }
}

impl Dialogue for PlanCall {
    fn on_event(&mut self, event: Event, ctx: &mut dyn Ctx) {
        match event {
            Event::Answered => {
                self.conv.start();
                self.pump(ctx);
            }
            Event::PlayoutFinished(id) if self.speaking == Some(id) => {
                self.speaking = None;
                if let Some(a) = self.after.take() {
                    run(a, ctx);
                }
            }
            Event::PlayoutFinished(_) | Event::SpeechFailed(_) => {}
            Event::BargeIn => {
                self.speaking = None;
                self.barged = true;
                if let Some(a) = self.after.take() {
                    run(a, ctx);
                }
            }
            Event::Heard(text) => {
                if self.speaking.is_some() || !self.conv.is_listening() {
                    return;
                }
                let prosody = ctx.prosody(&text);
                let barged = std::mem::take(&mut self.barged);
                self.conv.heard(&text, prosody, barged);
                self.understood(ctx);
                self.pump(ctx);
            }
            Event::NoInput => {
                if self.conv.is_listening() && self.speaking.is_none() {
                    self.conv.no_input();
                    self.understood(ctx);
                    self.pump(ctx);
                }
            }
            // A recogniser failure is not the caller's: listen again.
            Event::TranscriptFailed => {
                if self.conv.is_listening() && self.speaking.is_none() {
                    ctx.listen();
                }
            }
            Event::Digit(d) => {
                if !self.conv.is_listening() {
                    return;
                }
                if self.speaking.take().is_some() {
                    ctx.flush();
                    self.after = None;
                }
                self.keys.push(d);
                if d == '#' {
                    self.give_keys(ctx);
                } else {
                    ctx.set_timer(KEY_PAUSE);
                }
            }
            Event::Timer => self.give_keys(ctx),
            Event::Reply(Reply::Http { id, outcome }) => {
                self.conv.http_done(id, outcome);
                self.pump(ctx);
            }
            Event::Reply(Reply::Llm { id, outcome }) => {
                self.conv.llm_done(id, outcome);
                self.pump(ctx);
            }
            Event::Reply(Reply::TransferFailed(why)) => {
                ctx.note(Note::Error(format!("transfer failed: {why}")));
                self.conv.transfer_failed(None);
                self.pump(ctx);
            }
        }
    }
}
