//! Synthetic speech on a virtual clock, for the VAD state machines of
//! `kefu_core::vad`: scripted caller audio (tone bursts stand in for
//! speech, which [`EnergyVad`] cannot tell apart), kefu's prompt and its
//! echo, fed frame by frame the way a call's 20 ms tick feeds them.
//!
//! [`Script`] builds 8 kHz PCM from segments given in milliseconds (any
//! millisecond, so a segment can start in the middle of a 20 ms frame).
//! [`Line`] plays one caller script against one prompt: each tick it takes
//! the agent's frame (silence once the prompt is over or flushed), mixes
//! the caller's frame with the echo of what kefu played, runs
//! [`EnergyVad`], then [`BargeIn`] (holding the prompt on a pause,
//! playing on at a resume, flushing it on an interrupt),
//! then the [`Endpointer`] with its [`UtteranceBuffer`] on the probability
//! with frames judged to be echo zeroed: the order a `Call` tick should use.
//! Everything it saw is logged with virtual time since the start.
//!
//! Not here: RTP and the jitter buffer (the world's phones cover those).

use std::time::Duration;

use kefu_core::media::tone::{Tone, ToneGenerator};
use kefu_core::media::Hz;
use kefu_core::vad::bargein::{self, BargeIn, BargeInPolicy, Decision};
use kefu_core::vad::endpoint::{EndpointConfig, EndpointEvent, Endpointer, UtteranceAudio};
use kefu_core::vad::energy::{level_dbfs, EnergyVad};
use kefu_core::vad::{UtteranceBuffer, FRAME, FRAME_SAMPLES, SILENCE_DBFS};

use crate::clock::VirtualClock;
use crate::rng::Rng;

/// Samples per millisecond at 8 kHz.
const PER_MS: usize = 8;

/// Level of [`Script::speech`]: each of its two components peaks at this
/// many dBFS (about −18 dBFS RMS together, a talker on a PSTN line).
pub const SPEECH_DBFS: f32 = -18.0;

/// 8 kHz PCM built from timed segments.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pcm: Vec<i16>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Script::default()
    }

    /// `ms` of digital silence.
    pub fn silence(mut self, ms: u64) -> Self {
        let n = ms as usize * PER_MS;
        self.pcm.resize(self.pcm.len() + n, 0);
        self
    }

    /// `ms` of "speech": a 300 Hz + 1100 Hz dual tone at [`SPEECH_DBFS`].
    pub fn speech(self, ms: u64) -> Self {
        self.speech_at(SPEECH_DBFS, ms)
    }

    /// `ms` of "speech" whose components peak at `dbfs`.
    pub fn speech_at(self, dbfs: f32, ms: u64) -> Self {
        let tone = Tone::Dual {
            f1: 300,
            f2: 1100,
            level_dbfs: dbfs,
        };
        self.tone(tone, ms)
    }

    /// `ms` of any tone.
    pub fn tone(mut self, tone: Tone, ms: u64) -> Self {
        let start = self.pcm.len();
        self.pcm.resize(start + ms as usize * PER_MS, 0);
        ToneGenerator::new(tone, Hz(8000)).fill(&mut self.pcm[start..]);
        self
    }

    /// `ms` of uniform white noise peaking at `peak` (seeded, repeatable).
    pub fn noise(mut self, peak: i16, ms: u64, rng: &mut Rng) -> Self {
        let span = u64::from(peak.unsigned_abs()) * 2;
        for _ in 0..ms as usize * PER_MS {
            let v = rng.up_to(span) as i64 - i64::from(peak.unsigned_abs());
            self.pcm.push(v as i16);
        }
        self
    }

    /// Adds `other` sample by sample (saturating); the result is as long as
    /// the longer of the two.
    pub fn mix(mut self, other: &[i16]) -> Self {
        if other.len() > self.pcm.len() {
            self.pcm.resize(other.len(), 0);
        }
        for (a, b) in self.pcm.iter_mut().zip(other) {
            *a = a.saturating_add(*b);
        }
        self
    }

    /// The samples.
    pub fn build(self) -> Vec<i16> {
        self.pcm
    }
}

/// A prompt that sounds like speech to [`EnergyVad`]: syllables of
/// `syllable` ms at 440 Hz, −12 dBFS peak (the fixture's prompt level),
/// separated by 60 ms gaps, for `total` ms.
pub fn prompt(total: u64, syllable: u64) -> Vec<i16> {
    let mut s = Script::new();
    let mut t = 0;
    let tone = Tone::Sine {
        freq: 440,
        level_dbfs: -12.0,
    };
    while t < total {
        let on = syllable.min(total - t);
        s = s.tone(tone, on);
        t += on;
        let off = 60.min(total - t);
        s = s.silence(off);
        t += off;
    }
    s.build()
}

/// One caller line as a call's VAD sees it; see the module docs.
#[derive(Debug)]
pub struct Line {
    clock: VirtualClock,
    caller: Vec<i16>,
    prompt: Vec<i16>,
    prompt_pos: usize,
    flushed: bool,
    held: bool,
    echo: Option<(f32, usize)>,
    played: Vec<i16>,
    vad: EnergyVad,
    endpointer: Endpointer,
    buffer: UtteranceBuffer,
    barge: BargeIn,
    pos: usize,
    events: Vec<(Duration, EndpointEvent)>,
    audio: Vec<(Duration, UtteranceAudio)>,
    decisions: Vec<(Duration, Decision)>,
    verdicts: Vec<bargein::Verdict>,
    agent_stopped: Option<Duration>,
}

impl Line {
    /// A line where the caller says `caller` from time zero, kefu plays
    /// nothing and nothing echoes; default endpointing and barge-in.
    ///
    /// # Panics
    /// Never: the defaults are valid.
    pub fn new(caller: Vec<i16>) -> Self {
        Line::with(caller, EndpointConfig::default(), BargeInPolicy::default())
            .expect("defaults are valid")
    }

    /// A line with the given settings; an invalid one is returned as the
    /// core reports it.
    pub fn with(
        caller: Vec<i16>,
        cfg: EndpointConfig,
        policy: BargeInPolicy,
    ) -> Result<Self, kefu_core::vad::VadError> {
        Ok(Line {
            clock: VirtualClock::new(),
            caller,
            prompt: Vec::new(),
            prompt_pos: 0,
            flushed: false,
            held: false,
            echo: None,
            played: Vec::new(),
            vad: EnergyVad::default(),
            endpointer: Endpointer::new(cfg)?,
            buffer: UtteranceBuffer::new(&cfg),
            barge: BargeIn::new(policy)?,
            pos: 0,
            events: Vec::new(),
            audio: Vec::new(),
            decisions: Vec::new(),
            verdicts: Vec::new(),
            agent_stopped: None,
        })
    }

    /// kefu plays `prompt` from time zero.
    pub fn playing(mut self, prompt: Vec<i16>) -> Self {
        self.prompt = prompt;
        self
    }

    /// The line echoes what kefu played, `loss_db` quieter, `delay` later
    /// (rounded down to whole milliseconds).
    pub fn echo(mut self, loss_db: f32, delay: Duration) -> Self {
        let gain = 10f32.powf(-loss_db / 20.0);
        self.echo = Some((gain, delay.as_millis() as usize * PER_MS));
        self
    }

    /// Starts the no-input timer now.
    pub fn arm(&mut self) {
        self.endpointer.arm(self.clock.now());
    }

    /// Virtual time since the start.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// Runs ticks for `d` of virtual time (whole frames).
    pub fn run(&mut self, d: Duration) {
        let end = self.clock.elapsed() + d;
        while self.clock.elapsed() + FRAME <= end {
            self.tick();
        }
    }

    /// Endpointing events, with the virtual time of the frame that
    /// reported each.
    pub fn events(&self) -> &[(Duration, EndpointEvent)] {
        &self.events
    }

    /// Audio handed out for transcription, with the time it was.
    pub fn audio(&self) -> &[(Duration, UtteranceAudio)] {
        &self.audio
    }

    /// Barge-in decisions, with the time of the deciding frame.
    pub fn decisions(&self) -> &[(Duration, Decision)] {
        &self.decisions
    }

    /// How barge-in judged each frame so far.
    pub fn verdicts(&self) -> &[bargein::Verdict] {
        &self.verdicts
    }

    /// The first tick at which kefu played silence because barge-in held
    /// or flushed its prompt.
    pub fn agent_stopped(&self) -> Option<Duration> {
        self.agent_stopped
    }

    /// How much of the prompt has been played, in samples.
    pub fn prompt_played(&self) -> usize {
        self.prompt_pos
    }

    /// Everything kefu played, one sample per sample of the call.
    pub fn played(&self) -> &[i16] {
        &self.played
    }

    /// The barge-in state, for its ERL estimate.
    pub fn barge_in(&self) -> &BargeIn {
        &self.barge
    }

    /// Virtual time of `t` (an instant from an event) since the start.
    pub fn since_start(&self, t: std::time::Instant) -> Duration {
        t.saturating_duration_since(self.clock.epoch())
    }

    /// One 20 ms tick, in the order a call performs it.
    fn tick(&mut self) {
        let now = self.clock.now();
        let i = self.pos;

        // kefu's frame: the prompt until it ends or is flushed; held, it
        // stays where it is.
        let mut agent = [0i16; FRAME_SAMPLES];
        let j = self.prompt_pos;
        let playing = !self.flushed && !self.held && j < self.prompt.len();
        if playing {
            let n = (self.prompt.len() - j).min(FRAME_SAMPLES);
            agent[..n].copy_from_slice(&self.prompt[j..j + n]);
            self.prompt_pos += n;
        } else if (self.flushed || self.held) && self.agent_stopped.is_none() {
            self.agent_stopped = Some(self.clock.elapsed());
        }
        self.played.extend_from_slice(&agent);

        // The caller's frame: their voice plus the echo of kefu's.
        let mut caller = [0i16; FRAME_SAMPLES];
        for (k, s) in caller.iter_mut().enumerate() {
            let voice = self.caller.get(i + k).copied().unwrap_or(0);
            let echo = match self.echo {
                Some((gain, delay)) if i + k >= delay => {
                    let e = f32::from(self.played[i + k - delay]) * gain;
                    e as i16
                }
                _ => 0,
            };
            *s = voice.saturating_add(echo);
        }

        let prob = self.vad.push(&caller);
        let played = if self.held {
            Some(SILENCE_DBFS)
        } else {
            playing.then(|| level_dbfs(&agent))
        };
        let frame = bargein::Frame {
            speech_prob: prob,
            caller_dbfs: self.vad.level(),
            played_dbfs: played,
        };
        if let Some(d) = self.barge.push(now, &frame) {
            self.decisions.push((self.clock.elapsed(), d));
            // The call acts on it in this tick: the next frame follows it.
            match d {
                Decision::Pause { .. } => self.held = true,
                Decision::Resume { .. } => self.held = false,
                Decision::Interrupt { .. } => {
                    self.held = false;
                    self.flushed = true;
                }
            }
        }
        let verdict = self.barge.verdict();
        self.verdicts.push(verdict);

        // What barge-in judged to be kefu's own echo is not the caller.
        let prob = if verdict == bargein::Verdict::Echo {
            0.0
        } else {
            prob
        };
        self.buffer.push(now, &caller);
        if let Some(ev) = self.endpointer.push(now, prob) {
            self.events.push((self.clock.elapsed(), ev));
            if let Some(a) = self.buffer.on_event(&ev) {
                self.audio.push((self.clock.elapsed(), a));
            }
        }

        self.pos += FRAME_SAMPLES;
        self.clock.advance(FRAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_have_the_lengths_asked_for() {
        let s = Script::new().silence(10).speech(25).build();
        assert_eq!(s.len(), 35 * 8);
        assert!(s[..80].iter().all(|&x| x == 0));
        assert!(s[80..].iter().any(|&x| x != 0));
        let p = prompt(1000, 200);
        assert_eq!(p.len(), 8000);
        let mut rng = Rng::new(1);
        let n = Script::new().noise(100, 20, &mut rng).build();
        assert!(n.iter().all(|x| x.unsigned_abs() <= 100));
    }

    #[test]
    fn silence_on_a_silent_line_reports_nothing() {
        let mut l = Line::new(Vec::new());
        l.run(Duration::from_secs(2));
        assert!(l.events().is_empty());
        assert!(l.decisions().is_empty());
        assert_eq!(l.played().len(), 2 * 8000);
    }
}
