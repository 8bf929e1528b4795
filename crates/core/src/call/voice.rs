//! The voice side of a speech call: what the caller says (the speech
//! detector, endpointing, the utterance's audio, speculative and final transcription)
//! and what kefu says (synthesis requests streamed into the playout, and
//! barge-in stopping them).
//!
//! Only calls running a speech dialogue own a [`Voice`]; digits calls carry
//! none and pay nothing for it.
//!
//! ## One tick
//! In the call's 20 ms tick, after the playout produced kefu's frame and the
//! media session the caller's: the detector scores the caller's frame;
//! [`BargeIn`] judges it against what kefu played (a pause holds the
//! playout, a resume releases it, an interrupt flushes it and cancels
//! synthesis); frames judged to be kefu's own echo count
//! as silence for the [`Endpointer`]; the [`UtteranceBuffer`] takes the
//! frame before the endpointer's event for it is acted on.
//!
//! While kefu holds the floor (its playout is busy, or held by a pause)
//! the caller is heard only through barge-in: the endpointer gets the
//! frames of a stretch of speech barge-in is weighing, and an utterance
//! that began in a stretch which ends short of an interrupt (a
//! backchannel, a cough, echo louder than expected) is forgotten, never
//! transcribed.
//!
//! ## Transcription
//! Utterances are numbered ([`UttId`]). At a pause the audio so far goes out
//! as a `Speculative` transcription. If the caller goes on
//! (`SpeechResumed`) it is stale: the number moves on, so its late answer is
//! dropped. At the end of the utterance, if the final audio is exactly the
//! speculative audio (nothing said since the pause began):
//! - its answer already arrived: it is the transcript, at once, with no
//!   second transcription;
//! - it is still in flight: a `Final` of the same number goes out and the
//!   first answer for that number wins (both are for the same audio).
//!
//! Otherwise a `Final` goes out under a new number and the call waits.
//!
//! ## Ending a turn early
//! A speculative transcript that has arrived and [reads like a finished
//! sentence](crate::vad::turn_end::classify) ends the utterance once the
//! pause has lasted `early_end` (250 ms) instead of `end_hangover` (600
//! ms); a short answer with no punctuation ("692") halfway between (420
//! ms): the transcript is the one for exactly that audio, so the dialogue
//! gets it at once. If the caller was only drawing breath, what they say
//! next is a new utterance (and interrupts kefu's reply like any barge-in).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dialogue::Event;
use crate::engine::{CallEvent, CallId, Output, SpeechId, TranscribeKind, UttId};
use crate::playout::Playout;
use crate::vad::bargein::{self, BargeIn, BargeInPolicy, Decision, Verdict};
use crate::vad::endpoint::{EndpointConfig, EndpointEvent, Endpointer, UtteranceBuffer};
use crate::vad::energy::level_dbfs;
use crate::vad::{SpeechDetector, VadError, SILENCE_DBFS};

/// Listening and barge-in settings of speech calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceSettings {
    /// Endpointing: thresholds, hangovers, no-input timeout, pre-roll.
    pub endpoint: EndpointConfig,
    /// When the caller may interrupt kefu.
    pub barge_in: BargeInPolicy,
    /// Transcribe speculatively at pauses (costs recogniser time, saves up
    /// to `end_hangover − pause_hangover` of latency per turn).
    pub speculative: bool,
    /// A final transcript that has not arrived this long after the caller
    /// stopped counts as failed: the dialogue plays its fallback and listens
    /// again (a stalled recogniser must not leave the caller in silence).
    pub transcript_deadline: Duration,
    /// A synthesis whose next audio has not arrived this long after the
    /// request (or its last chunk) is cancelled and counts as failed.
    pub speech_deadline: Duration,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings {
            endpoint: EndpointConfig::default(),
            barge_in: BargeInPolicy::default(),
            speculative: true,
            transcript_deadline: Duration::from_secs(6),
            speech_deadline: Duration::from_secs(4),
        }
    }
}

impl VoiceSettings {
    /// Checks the endpointing and barge-in settings.
    pub fn validate(&self) -> Result<(), VadError> {
        self.endpoint.validate()?;
        self.barge_in.validate()?;
        for (key, d) in [
            ("transcript_deadline", self.transcript_deadline),
            ("speech_deadline", self.speech_deadline),
        ] {
            if d < Duration::from_millis(500) || d > Duration::from_secs(120) {
                return Err(VadError::Config {
                    key,
                    why: "must be between 0.5 s and 120 s",
                });
            }
        }
        Ok(())
    }
}

/// A speculative transcription of the current utterance.
#[derive(Debug)]
struct Speculative {
    id: UttId,
    end: Instant,
    len: usize,
    result: Option<Result<String, String>>,
}

/// What a transcript amounts to for the dialogue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transcript {
    /// Text (possibly empty).
    Text(String),
    /// The recogniser failed.
    Failed,
}

/// Per-call voice state; see the module docs.
#[derive(Debug)]
pub struct Voice {
    call: CallId,
    settings: VoiceSettings,
    vad: Box<dyn SpeechDetector>,
    endpointer: Endpointer,
    utt: UtteranceBuffer,
    barge: BargeIn,
    next_utt: u64,
    spec: Option<Speculative>,
    /// Final transcriptions waited for, with their deadlines.
    awaiting: Vec<(UttId, Instant)>,
    /// Open synthesis requests, the playout stream each feeds, and when
    /// their next audio is due.
    open: Vec<(SpeechId, u64, Instant)>,
    next_speech: u64,
    held: bool,
    /// The utterance under way began while kefu had the floor and no
    /// barge-in has confirmed it yet: it is forgotten if the caller's run of
    /// speech ends short of an interrupt.
    floor_utt: bool,
    /// The last finished utterance's audio (8 kHz), for its prosody.
    last_audio: Vec<i16>,
    /// When the last finished utterance began and ended.
    last_span: Option<(Instant, Instant)>,
    /// The caller spoke in the last frame (kefu's echo excluded).
    speaking: bool,
}

impl Voice {
    /// Voice state for `call` listening with `detector`, or why its
    /// settings cannot work.
    pub fn new(
        call: CallId,
        settings: VoiceSettings,
        detector: Box<dyn SpeechDetector>,
    ) -> Result<Self, VadError> {
        let endpointer = Endpointer::new(settings.endpoint)?;
        let barge = BargeIn::new(settings.barge_in)?;
        Ok(Voice {
            call,
            vad: detector,
            utt: UtteranceBuffer::new(endpointer.config()),
            endpointer,
            barge,
            settings,
            next_utt: 0,
            spec: None,
            awaiting: Vec::new(),
            open: Vec::new(),
            next_speech: 0,
            held: false,
            floor_utt: false,
            last_audio: Vec::new(),
            last_span: None,
            speaking: false,
        })
    }

    /// Loudness, pitch and speaking rate of the last finished utterance,
    /// whose transcript is `text`.
    pub fn prosody(&self, text: &str) -> Option<crate::nlu::Prosody> {
        crate::nlu::Prosody::measure(&self.last_audio, 8000, text)
    }

    /// Whether the caller spoke in the last frame (kefu's own echo
    /// excluded).
    pub fn caller_speaking(&self) -> bool {
        self.speaking
    }

    /// When the last finished utterance began and ended.
    pub fn last_span(&self) -> Option<(Instant, Instant)> {
        self.last_span
    }

    /// Starts the no-input timer.
    pub fn listen(&mut self, now: Instant) {
        self.endpointer.arm(now);
    }

    /// Asks for `text` to be synthesized into playout stream `stream`.
    pub fn say(&mut self, text: &str, stream: u64, now: Instant, out: &mut VecDeque<Output>) {
        let req = SpeechId(self.next_speech);
        self.next_speech += 1;
        self.open
            .push((req, stream, now + self.settings.speech_deadline));
        out.push_back(Output::Synthesize {
            call: self.call,
            req,
            text: text.to_string(),
        });
        out.push_back(Output::Event {
            call: self.call,
            event: CallEvent::Said(text.to_string()),
        });
    }

    /// Cancels every open synthesis (after a flush, or at the end of the
    /// call); chunks still arriving for them are dropped.
    pub fn cancel_all(&mut self, out: &mut VecDeque<Output>) {
        for (req, _, _) in self.open.drain(..) {
            out.push_back(Output::CancelSynthesis {
                call: self.call,
                req,
            });
        }
    }

    /// A chunk of synthesized speech arrived. Returns the playout id of a
    /// stream whose synthesis failed.
    pub fn on_speech(
        &mut self,
        req: SpeechId,
        chunk: crate::engine::SpeechChunk,
        now: Instant,
        playout: &mut Playout,
    ) -> Option<u64> {
        use crate::engine::SpeechChunk;
        let i = self.open.iter().position(|(r, _, _)| *r == req)?;
        let stream = self.open[i].1;
        match chunk {
            SpeechChunk::Audio(samples) => {
                playout.append(stream, &samples);
                self.open[i].2 = now + self.settings.speech_deadline;
                None
            }
            SpeechChunk::End => {
                self.open.remove(i);
                playout.close(stream);
                None
            }
            SpeechChunk::Failed(_) => {
                self.open.remove(i);
                playout.close(stream);
                Some(stream)
            }
        }
    }

    /// A transcription answer arrived: the transcript to deliver, if it is
    /// one the call waits for.
    pub(crate) fn on_transcript(
        &mut self,
        utt: UttId,
        result: Result<String, String>,
    ) -> Option<Transcript> {
        if let Some(i) = self.awaiting.iter().position(|(u, _)| *u == utt) {
            self.awaiting.remove(i);
            if self.spec.as_ref().is_some_and(|s| s.id == utt) {
                self.spec = None;
            }
            return Some(match result {
                Ok(t) => Transcript::Text(t),
                Err(_) => Transcript::Failed,
            });
        }
        if let Some(s) = self.spec.as_mut().filter(|s| s.id == utt) {
            s.result.get_or_insert(result);
        }
        None
    }

    /// The media went on hold (`held`) or came back: while held the caller
    /// is not listened to; what was under way is forgotten.
    pub fn set_held(&mut self, held: bool, now: Instant) {
        if held == self.held {
            return;
        }
        self.held = held;
        if held {
            self.vad.reset();
            self.endpointer.reset();
            self.utt.cancel();
            if self.spec.take().is_some() {
                self.next_utt += 1;
            }
        } else if self.endpointer.deadline().is_some() {
            // The caller's silence on hold is not an answer.
            self.endpointer.arm(now);
        }
    }

    /// One tick; see the module docs. `playing` is what the playout
    /// returned for kefu's frame `agent`. Returns the events for the
    /// dialogue, in order, and transcripts ready at once.
    pub(crate) fn tick(
        &mut self,
        now: Instant,
        caller: &[i16],
        agent: &[i16],
        playing: bool,
        playout: &mut Playout,
        out: &mut VecDeque<Output>,
    ) -> Vec<VoiceEvent> {
        let mut events = Vec::new();
        self.expire(now, playout, out, &mut events);
        self.speaking = false;
        if self.held {
            if self.barge.holding() {
                self.barge.reset_run();
                playout.resume();
            }
            return events;
        }
        let prob = self.vad.push(caller);
        // A held playout is still kefu's turn: barge-in keeps judging it.
        let played = if playout.is_paused() {
            Some(SILENCE_DBFS)
        } else {
            playing.then(|| level_dbfs(agent))
        };
        let frame = bargein::Frame {
            speech_prob: prob,
            caller_dbfs: level_dbfs(caller),
            played_dbfs: played,
        };
        let decision = self.barge.push(now, &frame);
        match decision {
            Some(Decision::Pause { .. }) => playout.pause(),
            Some(Decision::Resume { .. }) => playout.resume(),
            Some(Decision::Interrupt { .. }) => {
                self.floor_utt = false;
                playout.flush();
                self.cancel_all(out);
                out.push_back(Output::Event {
                    call: self.call,
                    event: CallEvent::BargeIn,
                });
                events.push(VoiceEvent::Dialogue(Event::BargeIn));
            }
            None => {}
        }
        // What barge-in judged to be kefu's own echo is not the caller;
        // while kefu has the floor, only the speech barge-in is weighing is.
        let floor = played.is_some();
        let weighed = self.barge.in_run() || matches!(decision, Some(Decision::Interrupt { .. }));
        let prob = if self.barge.verdict() == Verdict::Echo || (floor && !weighed) {
            0.0
        } else {
            prob
        };
        self.speaking = prob >= 0.5;
        if !floor {
            self.floor_utt = false;
        } else if self.floor_utt && !weighed {
            // A backchannel, a cough, echo louder than expected: not a turn.
            self.floor_utt = false;
            self.forget_utterance(out);
        }
        self.utt.push(now, caller);
        let Some(ev) = self.endpointer.push(now, prob).or_else(|| self.early_end()) else {
            return events;
        };
        if floor && matches!(ev, EndpointEvent::SpeechStarted { .. }) {
            self.floor_utt = true;
        }
        let audio = self.utt.on_event(&ev);
        match ev {
            EndpointEvent::PauseStarted { .. } if self.settings.speculative => {
                if let Some(a) = audio {
                    let id = UttId(self.next_utt);
                    self.spec = Some(Speculative {
                        id,
                        end: a.end,
                        len: a.samples.len(),
                        result: None,
                    });
                    self.transcribe(id, TranscribeKind::Speculative, a.samples, out);
                }
            }
            // Its answer, when it comes, is for stale audio.
            EndpointEvent::SpeechResumed { .. } => {
                if let Some(stale) = self.spec.take() {
                    self.next_utt += 1;
                    out.push_back(Output::CancelTranscription {
                        call: self.call,
                        utt: stale.id,
                    });
                }
            }
            EndpointEvent::UtteranceEnded { .. } | EndpointEvent::MaxLengthReached { .. } => {
                if let Some(a) = audio {
                    if let Some(t) = self.finish(a.end, a.samples, out) {
                        events.push(VoiceEvent::Transcript(t));
                    }
                }
            }
            EndpointEvent::NoInputTimeout => events.push(VoiceEvent::Dialogue(Event::NoInput)),
            _ => {}
        }
        events
    }

    /// Drops the utterance under way, and its speculative transcription.
    fn forget_utterance(&mut self, out: &mut VecDeque<Output>) {
        self.endpointer.reset();
        self.utt.cancel();
        if let Some(stale) = self.spec.take() {
            self.next_utt += 1;
            out.push_back(Output::CancelTranscription {
                call: self.call,
                utt: stale.id,
            });
        }
    }

    /// Ends the utterance in its pause if the speculative transcript has
    /// arrived and reads like a finished sentence (after `early_end`), or
    /// like a short answer with no mark (halfway to `end_hangover`).
    fn early_end(&mut self) -> Option<EndpointEvent> {
        use crate::vad::turn_end::{classify, TurnEnd};
        let Some(Speculative {
            result: Some(Ok(text)),
            ..
        }) = &self.spec
        else {
            return None;
        };
        match classify(text) {
            TurnEnd::Finished => self.endpointer.end_early(),
            TurnEnd::Open => self.endpointer.end_probably(),
            TurnEnd::Unfinished => None,
        }
    }

    /// The utterance ended with `samples` up to `end`: the speculative
    /// transcript if it covers exactly this audio and has arrived, else a
    /// final transcription goes out.
    fn finish(
        &mut self,
        end: Instant,
        samples: Vec<i16>,
        out: &mut VecDeque<Output>,
    ) -> Option<String> {
        self.last_audio.clone_from(&samples);
        let len = Duration::from_millis(samples.len() as u64 / 8);
        self.last_span = Some((end.checked_sub(len).unwrap_or(end), end));
        let spec = self.spec.take();
        let same = spec
            .as_ref()
            .is_some_and(|s| s.end == end && s.len == samples.len());
        if let Some(stale) = spec.as_ref().filter(|_| !same) {
            self.next_utt += 1;
            out.push_back(Output::CancelTranscription {
                call: self.call,
                utt: stale.id,
            });
        }
        let id = UttId(self.next_utt);
        self.next_utt += 1;
        if let Some(Speculative {
            result: Some(Ok(text)),
            ..
        }) = spec.as_ref().filter(|_| same)
        {
            return Some(text.clone());
        }
        // A speculative still in flight has the same id and audio: whichever
        // answer for `id` comes first is for this very audio.
        self.awaiting
            .push((id, end + self.settings.transcript_deadline));
        self.transcribe(id, TranscribeKind::Final, samples, out);
        None
    }

    /// Requests past their deadline: transcriptions count as failed;
    /// syntheses are cancelled and their streams closed. Reported as the
    /// events a failure would bring.
    fn expire(
        &mut self,
        now: Instant,
        playout: &mut Playout,
        out: &mut VecDeque<Output>,
        events: &mut Vec<VoiceEvent>,
    ) {
        let before = self.awaiting.len();
        self.awaiting.retain(|(_, due)| *due > now);
        if self.awaiting.len() < before {
            events.push(VoiceEvent::TranscriptExpired);
        }
        let call = self.call;
        self.open.retain(|(req, stream, due)| {
            if *due > now {
                return true;
            }
            out.push_back(Output::CancelSynthesis { call, req: *req });
            playout.close(*stream);
            events.push(VoiceEvent::Dialogue(Event::SpeechFailed(*stream)));
            false
        });
    }

    fn transcribe(
        &self,
        utt: UttId,
        kind: TranscribeKind,
        audio: Vec<i16>,
        out: &mut VecDeque<Output>,
    ) {
        out.push_back(Output::Transcribe {
            call: self.call,
            utt,
            kind,
            audio,
        });
    }
}

/// What a voice tick reports to its call.
#[derive(Debug)]
pub(crate) enum VoiceEvent {
    /// An event for the dialogue.
    Dialogue(Event),
    /// A transcript ready at once (speculative reuse).
    Transcript(String),
    /// A final transcript did not arrive in time.
    TranscriptExpired,
}
