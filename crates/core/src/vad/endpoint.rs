//! Endpointing: where the caller's utterances start and end, from one speech
//! probability per 20 ms frame.
//!
//! Owns [`Endpointer`] (the state machine), its [`EndpointConfig`] and
//! [`UtteranceBuffer`] (the caller's audio of the current utterance, with a
//! pre-roll). It does not compute probabilities (the shell's Silero model or
//! [`super::energy::EnergyVad`]) and does not transcribe.
//!
//! ```text
//!          p >= on for start_hangover            p < off for pause_hangover
//!   Idle ------------------------------> Speaking -----------------------> Paused
//!    ^  SpeechStarted{at: first frame}     ^   PauseStarted{at: first quiet frame}
//!    |                                     |                                  |
//!    |                                     +---- speech for start_hangover ---+
//!    |                                           SpeechResumed{at}            |
//!    +------ quiet for end_hangover: UtteranceEnded{start, end} --------------+
//!    +------ utterance reaches max_utterance: MaxLengthReached{start, end} ---+
//! ```
//!
//! Hysteresis: a run of speech starts at a frame with `p >= threshold_on` and
//! goes on while `p >= threshold_off`. Speech runs shorter than
//! `start_hangover` (a click, a cough) neither start an utterance nor end a
//! pause; they count as silence. `PauseStarted` is the moment to start a
//! *speculative* transcription of the audio so far: if the caller has really
//! finished, its text is ready by the time `UtteranceEnded` arrives, which
//! takes `end_hangover` of silence. `SpeechResumed` means that transcript is
//! stale and must be discarded.
//!
//! Latency: `SpeechStarted` comes `start_hangover − FRAME` after the first
//! speech frame (but is back-dated to it); `UtteranceEnded` comes with the
//! frame `end_hangover` after the last speech frame.

use std::time::{Duration, Instant};

use super::{check_duration, check_probability, frames_for, sanitize, VadError, FRAME};

/// Settings of an [`Endpointer`]; validated by [`EndpointConfig::validate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointConfig {
    /// Probability at which a run of speech starts (0.5, Silero's default).
    pub threshold_on: f32,
    /// Probability below which a run of speech stops (0.35, Silero's
    /// `threshold − 0.15`); at most `threshold_on`.
    pub threshold_off: f32,
    /// Speech needed before an utterance starts, or a pause ends (60 ms).
    pub start_hangover: Duration,
    /// Silence after speech before `PauseStarted` (100 ms): long enough that
    /// a dip between syllables does not trigger a transcription.
    pub pause_hangover: Duration,
    /// Silence after speech that ends the utterance (600 ms); must exceed
    /// `pause_hangover`.
    pub end_hangover: Duration,
    /// Silence after which [`Endpointer::end_early`] may end the utterance
    /// (250 ms): the caller of it knows the turn is over (the speculative
    /// transcript sounds finished). At or above `end_hangover` it never
    /// ends anything early.
    pub early_end: Duration,
    /// Longest utterance (20 s): then it is cut, and still transcribed.
    pub max_utterance: Duration,
    /// With [`Endpointer::arm`], how long to wait for speech (5 s).
    pub no_input_timeout: Duration,
    /// Audio kept from before the first speech frame (200 ms), so the
    /// recogniser hears the onset that the VAD needed time to notice.
    pub pre_roll: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            threshold_on: 0.5,
            threshold_off: 0.35,
            start_hangover: Duration::from_millis(60),
            pause_hangover: Duration::from_millis(100),
            end_hangover: Duration::from_millis(600),
            early_end: Duration::from_millis(250),
            max_utterance: Duration::from_secs(20),
            no_input_timeout: Duration::from_secs(5),
            pre_roll: Duration::from_millis(200),
        }
    }
}

impl EndpointConfig {
    /// Checks every setting is in range and consistent with the others.
    pub fn validate(&self) -> Result<(), VadError> {
        check_probability("threshold_on", self.threshold_on)?;
        check_probability("threshold_off", self.threshold_off)?;
        if self.threshold_off > self.threshold_on {
            return Err(VadError::Config {
                key: "threshold_off",
                why: "must not exceed threshold_on",
            });
        }
        let ms = Duration::from_millis;
        check_duration("start_hangover", self.start_hangover, FRAME, ms(1_000))?;
        check_duration("pause_hangover", self.pause_hangover, FRAME, ms(5_000))?;
        check_duration("end_hangover", self.end_hangover, ms(100), ms(10_000))?;
        if frames_for(self.pause_hangover) >= frames_for(self.end_hangover) {
            return Err(VadError::Config {
                key: "pause_hangover",
                why: "must be shorter than end_hangover by at least one frame",
            });
        }
        check_duration("early_end", self.early_end, FRAME, ms(10_000))?;
        check_duration("max_utterance", self.max_utterance, ms(1_000), ms(120_000))?;
        check_duration(
            "no_input_timeout",
            self.no_input_timeout,
            ms(100),
            ms(600_000),
        )?;
        check_duration("pre_roll", self.pre_roll, Duration::ZERO, ms(1_000))?;
        Ok(())
    }
}

/// What the endpointer noticed on a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointEvent {
    /// An utterance started; `at` is its first speech frame (back-dated by
    /// `start_hangover − FRAME`).
    SpeechStarted {
        /// Time of the first speech frame.
        at: Instant,
    },
    /// Speech stopped for `pause_hangover`: start a speculative
    /// transcription of the utterance up to `at`.
    PauseStarted {
        /// Time of the first silent frame (the end of speech so far).
        at: Instant,
    },
    /// The caller went on speaking: discard the speculative transcription.
    SpeechResumed {
        /// Time of the first frame of the resumed speech.
        at: Instant,
    },
    /// The utterance is over: silence lasted `end_hangover`.
    UtteranceEnded {
        /// Time of the first speech frame.
        start: Instant,
        /// End of the last speech frame.
        end: Instant,
    },
    /// The utterance reached `max_utterance` and was cut; transcribe it all
    /// the same. Speech going on starts a new utterance.
    MaxLengthReached {
        /// Time of the first speech frame.
        start: Instant,
        /// Where it was cut (end of the last frame taken, or of the last
        /// speech frame when it was cut in a pause).
        end: Instant,
    },
    /// No speech for `no_input_timeout` since [`Endpointer::arm`].
    NoInputTimeout,
}

/// A run of frames: when it began and how many it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    at: Instant,
    frames: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between utterances; `onset` is speech not yet long enough.
    Idle { onset: Option<Run> },
    /// In an utterance, speaking; `dip` is silence not yet a pause.
    Speaking {
        start: Instant,
        frames: u32,
        dip: Option<Run>,
    },
    /// In an utterance, pausing; `onset` is speech not yet a resumption.
    Paused {
        start: Instant,
        frames: u32,
        pause: Run,
        onset: Option<Run>,
    },
}

/// The endpointing state machine of one call; one [`Endpointer::push`] per
/// 20 ms frame of caller audio.
#[derive(Debug, Clone)]
pub struct Endpointer {
    cfg: EndpointConfig,
    start_frames: u32,
    pause_frames: u32,
    end_frames: u32,
    early_frames: u32,
    max_frames: u32,
    state: State,
    deadline: Option<Instant>,
}

impl Endpointer {
    /// An idle, unarmed endpointer.
    pub fn new(cfg: EndpointConfig) -> Result<Self, VadError> {
        cfg.validate()?;
        Ok(Endpointer {
            cfg,
            start_frames: frames_for(cfg.start_hangover),
            pause_frames: frames_for(cfg.pause_hangover),
            end_frames: frames_for(cfg.end_hangover),
            early_frames: frames_for(cfg.early_end),
            max_frames: frames_for(cfg.max_utterance),
            state: State::Idle { onset: None },
            deadline: None,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Starts the no-input timer: [`EndpointEvent::NoInputTimeout`] comes
    /// with the first frame at or after `now + no_input_timeout` unless
    /// speech starts first. Arm it when the agent has finished its prompt;
    /// an utterance under way disarms it.
    pub fn arm(&mut self, now: Instant) {
        self.deadline = now.checked_add(self.cfg.no_input_timeout);
    }

    /// Stops the no-input timer.
    pub fn disarm(&mut self) {
        self.deadline = None;
    }

    /// When the no-input timer expires, if armed.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// True from `SpeechStarted` until the utterance ends.
    pub fn in_utterance(&self) -> bool {
        !matches!(self.state, State::Idle { .. })
    }

    /// Ends the utterance now if it is in a pause that has lasted
    /// `early_end` (and no speech is starting in it): the same
    /// `UtteranceEnded` the full `end_hangover` would bring, sooner. For a
    /// caller that knows the turn is over; `None` otherwise, and nothing
    /// changes.
    pub fn end_early(&mut self) -> Option<EndpointEvent> {
        self.end_after(self.early_frames)
    }

    /// Like [`Endpointer::end_early`] for a turn that is only probably
    /// over: after a pause halfway between `early_end` and `end_hangover`.
    pub fn end_probably(&mut self) -> Option<EndpointEvent> {
        self.end_after(self.early_frames.midpoint(self.end_frames))
    }

    fn end_after(&mut self, frames: u32) -> Option<EndpointEvent> {
        match self.state {
            State::Paused {
                start,
                pause,
                onset: None,
                ..
            } if pause.frames >= frames && frames < self.end_frames => {
                self.state = State::Idle { onset: None };
                Some(EndpointEvent::UtteranceEnded {
                    start,
                    end: pause.at,
                })
            }
            _ => None,
        }
    }

    /// Forgets any utterance under way (hold, transfer); no event is
    /// reported for it. The timer stays as it is.
    pub fn reset(&mut self) {
        self.state = State::Idle { onset: None };
    }

    /// Feeds the speech probability of the frame at `now` (NaN counts as 0,
    /// other values are clamped to `[0, 1]`). At most one event per frame.
    pub fn push(&mut self, now: Instant, speech_prob: f32) -> Option<EndpointEvent> {
        let p = sanitize(speech_prob);
        let (state, event) = match self.state {
            State::Idle { onset } => self.idle(now, p, onset),
            State::Speaking { start, frames, dip } => {
                self.speaking(now, p, start, frames.saturating_add(1), dip)
            }
            State::Paused {
                start,
                frames,
                pause,
                onset,
            } => self.paused(now, p, start, frames.saturating_add(1), pause, onset),
        };
        self.state = state;
        if self.in_utterance() {
            self.deadline = None;
        }
        event
    }

    /// Extends or breaks a run of speech with hysteresis.
    fn speech_run(&self, run: Option<Run>, now: Instant, p: f32) -> Option<Run> {
        match run {
            Some(r) if p >= self.cfg.threshold_off => Some(Run {
                at: r.at,
                frames: r.frames.saturating_add(1),
            }),
            _ if p >= self.cfg.threshold_on => Some(Run { at: now, frames: 1 }),
            _ => None,
        }
    }

    fn idle(&mut self, now: Instant, p: f32, onset: Option<Run>) -> (State, Option<EndpointEvent>) {
        let onset = self.speech_run(onset, now, p);
        match onset {
            Some(r) if r.frames >= self.start_frames => {
                let s = State::Speaking {
                    start: r.at,
                    frames: r.frames,
                    dip: None,
                };
                (s, Some(EndpointEvent::SpeechStarted { at: r.at }))
            }
            None if self.deadline.is_some_and(|d| now >= d) => {
                self.deadline = None;
                (State::Idle { onset }, Some(EndpointEvent::NoInputTimeout))
            }
            _ => (State::Idle { onset }, None),
        }
    }

    fn speaking(
        &self,
        now: Instant,
        p: f32,
        start: Instant,
        frames: u32,
        dip: Option<Run>,
    ) -> (State, Option<EndpointEvent>) {
        let dip = if p >= self.cfg.threshold_off {
            None
        } else {
            Some(dip.map_or(Run { at: now, frames: 1 }, |d| Run {
                at: d.at,
                frames: d.frames.saturating_add(1),
            }))
        };
        if frames >= self.max_frames {
            let end = dip.map_or(now.checked_add(FRAME).unwrap_or(now), |d| d.at);
            let ev = EndpointEvent::MaxLengthReached { start, end };
            return (State::Idle { onset: None }, Some(ev));
        }
        match dip {
            Some(d) if d.frames >= self.pause_frames => {
                let s = State::Paused {
                    start,
                    frames,
                    pause: d,
                    onset: None,
                };
                (s, Some(EndpointEvent::PauseStarted { at: d.at }))
            }
            _ => (State::Speaking { start, frames, dip }, None),
        }
    }

    fn paused(
        &self,
        now: Instant,
        p: f32,
        start: Instant,
        frames: u32,
        pause: Run,
        onset: Option<Run>,
    ) -> (State, Option<EndpointEvent>) {
        // Unconfirmed speech counts as silence, so noise cannot stretch an
        // utterance forever.
        let pause = Run {
            at: pause.at,
            frames: pause.frames.saturating_add(1),
        };
        let onset = self.speech_run(onset, now, p);
        let resumed = onset.filter(|r| r.frames >= self.start_frames);
        if let (Some(r), true) = (resumed, frames < self.max_frames) {
            let s = State::Speaking {
                start,
                frames,
                dip: None,
            };
            return (s, Some(EndpointEvent::SpeechResumed { at: r.at }));
        }
        let end = pause.at;
        if pause.frames >= self.end_frames {
            let ev = EndpointEvent::UtteranceEnded { start, end };
            return (State::Idle { onset }, Some(ev));
        }
        if frames >= self.max_frames {
            let ev = EndpointEvent::MaxLengthReached { start, end };
            return (State::Idle { onset }, Some(ev));
        }
        let s = State::Paused {
            start,
            frames,
            pause,
            onset,
        };
        (s, None)
    }
}

pub use super::utterance::{AudioKind, UtteranceAudio, UtteranceBuffer};

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
