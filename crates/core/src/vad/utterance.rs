//! The caller's audio of the current utterance, with a pre-roll, handed out
//! for speculative (at a pause) and final transcription as the
//! [`super::endpoint::Endpointer`] reports events.

use super::{frames_for, RATE};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::endpoint::{EndpointConfig, EndpointEvent};

/// Which transcription a piece of [`UtteranceAudio`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioKind {
    /// The utterance so far, at a pause: may be superseded.
    Speculative,
    /// The whole utterance (ended, or cut at the maximum length).
    Final,
}

/// Caller audio handed out for transcription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtteranceAudio {
    /// Speculative or final.
    pub kind: AudioKind,
    /// Time of the utterance's first speech frame.
    pub start: Instant,
    /// End of the audio handed out.
    pub end: Instant,
    /// 8 kHz mono PCM from `start − pre_roll` (less if the call had not
    /// run that long) to `end`.
    pub samples: Vec<i16>,
}

/// The utterance being recorded.
#[derive(Debug, Clone)]
struct Recording {
    start: Instant,
    samples: Vec<i16>,
    /// Time and sample offset of each frame in `samples`.
    marks: Vec<(Instant, usize)>,
}

/// The caller's audio around the current utterance: a short history for the
/// pre-roll, and everything from `start − pre_roll` until the utterance ends,
/// bounded by `max_utterance + pre_roll`.
///
/// Push every caller frame with [`UtteranceBuffer::push`] *before* feeding
/// the same frame's event to [`UtteranceBuffer::on_event`].
#[derive(Debug, Clone)]
pub struct UtteranceBuffer {
    pre_roll: Duration,
    history: VecDeque<(Instant, Vec<i16>)>,
    history_frames: usize,
    max_samples: usize,
    rec: Option<Recording>,
}

impl UtteranceBuffer {
    /// A buffer sized for `cfg` (which [`Endpointer::new`] validates).
    pub fn new(cfg: &EndpointConfig) -> Self {
        let pre = if cfg.pre_roll.is_zero() {
            0
        } else {
            frames_for(cfg.pre_roll) as usize
        };
        // The pre-roll, the frames of the onset, and one spare.
        let history_frames = pre + frames_for(cfg.start_hangover) as usize + 1;
        let per_sec = RATE as usize;
        let max = cfg.max_utterance.saturating_add(cfg.pre_roll);
        let max_samples = (max.as_millis() as usize).saturating_mul(per_sec) / 1000;
        UtteranceBuffer {
            pre_roll: cfg.pre_roll,
            history: VecDeque::with_capacity(history_frames + 1),
            history_frames,
            max_samples,
            rec: None,
        }
    }

    /// Appends the caller's frame at `now`.
    pub fn push(&mut self, now: Instant, frame: &[i16]) {
        if let Some(rec) = self.rec.as_mut() {
            let room = self.max_samples.saturating_sub(rec.samples.len());
            let n = frame.len().min(room);
            if n > 0 {
                rec.marks.push((now, rec.samples.len()));
                rec.samples.extend_from_slice(&frame[..n]);
            }
        }
        // Reuse the oldest frame's allocation once the history is full.
        let mut buf = if self.history.len() >= self.history_frames {
            self.history.pop_front().map(|(_, v)| v).unwrap_or_default()
        } else {
            Vec::with_capacity(frame.len())
        };
        buf.clear();
        buf.extend_from_slice(frame);
        self.history.push_back((now, buf));
    }

    /// True while an utterance is being recorded.
    pub fn is_recording(&self) -> bool {
        self.rec.is_some()
    }

    /// Starts recording an utterance whose first speech frame was at `at`,
    /// with the pre-roll from the history.
    pub fn start(&mut self, at: Instant) {
        let from = at.checked_sub(self.pre_roll);
        let mut rec = Recording {
            start: at,
            samples: Vec::with_capacity(self.max_samples.min(RATE as usize * 4)),
            marks: Vec::new(),
        };
        for (t, f) in &self.history {
            if from.is_none_or(|from| *t >= from) {
                rec.marks.push((*t, rec.samples.len()));
                rec.samples.extend_from_slice(f);
            }
        }
        rec.samples.truncate(self.max_samples);
        self.rec = Some(rec);
    }

    /// The utterance so far, up to the frame that starts at `until`
    /// (exclusive); empty when not recording.
    pub fn snapshot(&self, until: Instant) -> Vec<i16> {
        self.rec
            .as_ref()
            .map(|r| r.samples[..cut(r, until)].to_vec())
            .unwrap_or_default()
    }

    /// Ends the recording and returns it up to `end`; empty when not
    /// recording.
    pub fn finish(&mut self, end: Instant) -> Vec<i16> {
        let Some(mut rec) = self.rec.take() else {
            return Vec::new();
        };
        let n = cut(&rec, end);
        rec.samples.truncate(n);
        rec.samples
    }

    /// Drops the utterance being recorded.
    pub fn cancel(&mut self) {
        self.rec = None;
    }

    /// Acts on an endpointer event: starts recording on `SpeechStarted`,
    /// hands out the audio so far on `PauseStarted` and the whole utterance
    /// on `UtteranceEnded` and `MaxLengthReached`.
    pub fn on_event(&mut self, ev: &EndpointEvent) -> Option<UtteranceAudio> {
        match *ev {
            EndpointEvent::SpeechStarted { at } => {
                self.start(at);
                None
            }
            EndpointEvent::PauseStarted { at } => {
                let start = self.rec.as_ref()?.start;
                Some(UtteranceAudio {
                    kind: AudioKind::Speculative,
                    start,
                    end: at,
                    samples: self.snapshot(at),
                })
            }
            EndpointEvent::UtteranceEnded { start, end }
            | EndpointEvent::MaxLengthReached { start, end } => {
                self.rec.as_ref()?;
                Some(UtteranceAudio {
                    kind: AudioKind::Final,
                    start,
                    end,
                    samples: self.finish(end),
                })
            }
            EndpointEvent::SpeechResumed { .. } | EndpointEvent::NoInputTimeout => None,
        }
    }
}

/// Samples of `rec` in frames that start before `until`.
fn cut(rec: &Recording, until: Instant) -> usize {
    let i = rec.marks.partition_point(|(t, _)| *t < until);
    rec.marks
        .get(i)
        .map_or(rec.samples.len(), |&(_, off)| off)
        .min(rec.samples.len())
}
