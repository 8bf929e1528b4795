//! What the agent says and does on a call.
//!
//! A dialogue reacts to [`Event`]s (the call was answered, a digit arrived, a
//! prompt finished, its timer expired) by acting through a [`Ctx`] (queue a
//! prompt, silence the agent, end the call). It never touches RTP or SIP.
//! Two dialogues ship: [`digits::Digits`] (greet, collect DTMF digits, read
//! them back) and [`speech::Speech`] (greet, listen, answer, repeat).
//!
//! Speech: [`Ctx::say`] asks the shell to synthesize text and queues the
//! audio as it arrives; [`Ctx::listen`] starts the no-input timer. The call
//! listens to the caller all the time (its endpointer runs whenever media
//! flows, what kefu hears of its own echo excluded) and reports what was
//! said as [`Event::Heard`]; what to do with it in each state is the
//! dialogue's business.

pub mod digits;
pub mod emotion;
pub mod expr;
pub mod flow;
pub mod http;
pub mod interp;
#[cfg(test)]
mod interp_tests;
pub mod plan;
pub mod plan_call;
pub mod speech;
pub mod syntax;
pub mod template;
pub mod understand;

use std::time::{Duration, Instant};

/// Something that happened on the call, as a dialogue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The call was answered; media flows from now on.
    Answered,
    /// The caller pressed a key (RFC 4733 event or in-band, already decoded).
    Digit(char),
    /// A prompt queued with [`Ctx::play`] played to its end.
    PlayoutFinished(u64),
    /// The deadline set with [`Ctx::set_timer`] passed.
    Timer,
    /// The caller said this (the final transcript of an utterance, never
    /// empty: an empty transcript arrives as [`Event::NoInput`]).
    Heard(String),
    /// The caller said nothing for the no-input timeout after
    /// [`Ctx::listen`], or nothing recognisable.
    NoInput,
    /// The caller spoke over kefu; the call already flushed its audio and
    /// cancelled synthesis.
    BargeIn,
    /// Synthesis of the stream with this playout id (from [`Ctx::say`])
    /// failed; what arrived of it still plays, then it finishes.
    SpeechFailed(u64),
    /// Transcription of an utterance failed (recogniser error or deadline).
    TranscriptFailed,
    /// The answer to a [`Request`] made with [`Ctx::request`].
    Reply(Reply),
}

/// Work a dialogue asks the shell to do for it (answered with
/// [`Event::Reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A CRM request.
    Http {
        /// Request id (the dialogue's).
        id: u64,
        /// The request.
        request: http::HttpRequest,
    },
    /// A question for the LLM fallback.
    Llm {
        /// Request id.
        id: u64,
        /// The request.
        request: http::LlmRequest,
    },
    /// Hand the call to `target` (a queue or a SIP URI); the shell answers
    /// only when it fails.
    Transfer {
        /// Where to.
        target: String,
    },
}

/// The shell's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A CRM request finished.
    Http {
        /// Its id.
        id: u64,
        /// What came of it.
        outcome: http::HttpOutcome,
    },
    /// The LLM answered (or did not).
    Llm {
        /// Its id.
        id: u64,
        /// What came of it.
        outcome: http::LlmOutcome,
    },
    /// The transfer could not be made (why, for the log).
    TransferFailed(String),
}

/// Something a dialogue wants on the call's record.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The emotion estimate after a caller utterance.
    Emotion(emotion::Estimate),
    /// What the caller's last input was understood as, and where the
    /// dialogue is now.
    Understood {
        /// Recognised intent.
        intent: Option<String>,
        /// Its confidence.
        confidence: f32,
        /// The step waiting now.
        step: Option<String>,
    },
    /// A customer tag was added.
    Tag(String),
    /// The dialplan failed at run time.
    Error(String),
    /// The call is about to leave the bot.
    Transfer {
        /// Where to (SIP URI or `queue:NAME`).
        target: String,
        /// Why: `emotion` (the caller is upset or angry), `asked` (the
        /// caller asked for a person), `failures` (too many turns not
        /// understood), `intent:NAME` or `step:NAME`.
        reason: String,
    },
    /// The caller's post-call survey answer (the `csat` variable, 1 to 5).
    Survey(u8),
}

/// What a dialogue may do to its call.
pub trait Ctx {
    /// Queues the named prompt after what is already queued and returns its
    /// playout id. An unknown prompt queues nothing and returns `None`.
    fn play(&mut self, prompt: &str) -> Option<u64>;
    /// Stops the agent's audio within one frame.
    fn flush(&mut self);
    /// Ends the call (kefu sends BYE).
    fn hangup(&mut self);
    /// Sets the dialogue's single timer to fire `after` from now, replacing
    /// any earlier one.
    fn set_timer(&mut self, after: Duration);
    /// Clears the dialogue's timer.
    fn cancel_timer(&mut self);
    /// The current time.
    fn now(&self) -> Instant;
    /// Asks for `text` to be synthesized and queues its audio after what is
    /// already queued, as a stream that plays as the audio arrives; returns
    /// its playout id. `None` when the call cannot speak (no speech
    /// configured) or the text is blank.
    fn say(&mut self, text: &str) -> Option<u64>;
    /// Starts waiting for the caller: [`Event::NoInput`] follows if no
    /// speech starts within the no-input timeout. No effect on calls
    /// without speech.
    fn listen(&mut self);
    /// Asks the shell for work (CRM, LLM, transfer); the answer comes as
    /// [`Event::Reply`].
    fn request(&mut self, request: Request) {
        let _ = request;
    }
    /// Puts something on the call's record.
    fn note(&mut self, note: Note) {
        let _ = note;
    }
    /// Loudness, pitch and rate of the caller's last utterance (whose
    /// transcript is `text`), when the call has its audio.
    fn prosody(&self, text: &str) -> Option<crate::nlu::Prosody> {
        let _ = text;
        None
    }
}

/// A dialogue: the behaviour behind one call.
pub trait Dialogue: std::fmt::Debug + Send {
    /// Reacts to one event.
    fn on_event(&mut self, event: Event, ctx: &mut dyn Ctx);
}
