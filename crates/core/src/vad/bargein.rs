//! Barge-in: whether the caller speaking while the agent plays should stop
//! the agent.
//!
//! Owns [`BargeIn`] and its per-dialplan [`BargeInPolicy`]. Two things look
//! like the caller speaking and are not:
//!
//! - **Echo.** The carrier has no echo canceller, so the caller's stream
//!   carries kefu's own prompt back, attenuated by the echo return loss
//!   (ERL) of the far hybrid or handset, and delayed by the round trip.
//!   A neural VAD happily calls that speech. [`EchoPath`] learns the
//!   line's echo delay and loss from the frame levels and says how loud the
//!   echo should be in each caller frame; a frame quieter than that plus
//!   `echo_margin` is echo. Nothing is learnt from the caller's stretches
//!   of speech, nor within 500 ms of one that held or stopped kefu (the
//!   quieter frames between their words are not echo).
//! - **Backchannels.** "mm", "yeah", "嗯", "对" are usually under 300 ms of
//!   voiced audio; speech must last `min_speech` (280 ms) to interrupt.
//!
//! Waiting `min_speech` before falling silent would leave the agent talking
//! over the caller for 300 ms. So the decision comes in two steps: after
//! `pause_after` (40 ms) of speech standing clearly above the expected echo
//! (`pause_margin_db`, 3 dB, more than the echo margin, so that the loudest echo
//! frames of a line whose loss was overestimated cannot stutter the agent)
//! the agent holds its playout where it is
//! ([`Decision::Pause`]); if the speech reaches `min_speech` the playout is
//! flushed ([`Decision::Interrupt`]); if it stops first (silence for
//! `resume_after`, 120 ms) it was a backchannel or a noise, and the agent
//! plays on from where it held ([`Decision::Resume`]).
//!
//! Latency: with speech starting at frame `onset`, `Pause` comes with the
//! frame at `onset + pause_after − FRAME` and the call holds its playout
//! from the next tick, so the agent falls silent by `onset + pause_after +
//! FRAME` (plus the detector's own lag); `Interrupt` comes with the frame at
//! `onset + min_speech − FRAME`.
//!
//! Not here: flushing the playout (the call does), endpointing the caller's
//! utterance (see [`super::endpoint`]), a real echo canceller.

use std::time::{Duration, Instant};

use super::echo::EchoPath;
use super::{
    check_duration, check_probability, frames_for, sanitize, VadError, FRAME, SILENCE_DBFS,
};

/// When the caller may interrupt the agent; set per dialplan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BargeInPolicy {
    /// Whether the caller can interrupt at all (off for legal notices).
    pub enabled: bool,
    /// Speech needed to interrupt (280 ms): longer than most backchannels.
    pub min_speech: Duration,
    /// Speech after which the agent holds its playout until the speech
    /// proves long enough to interrupt, or stops (40 ms). At or above
    /// `min_speech` the agent never holds, it only stops.
    pub pause_after: Duration,
    /// Silence that ends a hold without an interrupt: the agent plays on
    /// (120 ms).
    pub resume_after: Duration,
    /// How much further above the echo ceiling the caller must be for a
    /// frame to count toward `pause_after` (3 dB). Interrupting needs only
    /// the echo margin, but for `min_speech`.
    pub pause_margin_db: f32,
    /// Speech probability at which a frame counts as speech (0.5).
    pub threshold: f32,
    /// Caller frames quieter than this never interrupt (−45 dBFS).
    pub min_level_dbfs: f32,
    /// How far above the expected echo the caller must be (3 dB).
    pub echo_margin_db: f32,
    /// ERL assumed before any adaptation (6 dB, ITU-T G.168).
    pub initial_erl_db: f32,
    /// Largest ERL the estimate may reach (30 dB), so a silent line cannot
    /// make the suppression vanish entirely.
    pub max_erl_db: f32,
    /// How long after kefu played a frame its echo may still arrive
    /// (400 ms: network round trip plus the far end's jitter buffer).
    pub echo_tail: Duration,
}

impl Default for BargeInPolicy {
    fn default() -> Self {
        BargeInPolicy {
            enabled: true,
            min_speech: Duration::from_millis(280),
            pause_after: Duration::from_millis(40),
            resume_after: Duration::from_millis(120),
            pause_margin_db: 3.0,
            threshold: 0.5,
            min_level_dbfs: -45.0,
            echo_margin_db: 3.0,
            initial_erl_db: 6.0,
            max_erl_db: 30.0,
            echo_tail: Duration::from_millis(400),
        }
    }
}

impl BargeInPolicy {
    /// Checks every setting is in range.
    pub fn validate(&self) -> Result<(), VadError> {
        let ms = Duration::from_millis;
        check_duration("min_speech", self.min_speech, FRAME, ms(2_000))?;
        check_duration("pause_after", self.pause_after, FRAME, ms(2_000))?;
        check_duration("resume_after", self.resume_after, FRAME, ms(2_000))?;
        check_duration("echo_tail", self.echo_tail, FRAME, ms(2_000))?;
        check_probability("threshold", self.threshold)?;
        let db = |key, v: f32, lo: f32, hi: f32| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(VadError::Config {
                    key,
                    why: "out of range",
                })
            }
        };
        db("min_level_dbfs", self.min_level_dbfs, SILENCE_DBFS, 0.0)?;
        db("echo_margin_db", self.echo_margin_db, 0.0, 40.0)?;
        db("pause_margin_db", self.pause_margin_db, 0.0, 40.0)?;
        db("max_erl_db", self.max_erl_db, 0.0, 60.0)?;
        db("initial_erl_db", self.initial_erl_db, 0.0, self.max_erl_db)?;
        Ok(())
    }
}

/// One 20 ms frame as barge-in sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Speech probability of the caller's frame (NaN counts as 0).
    pub speech_prob: f32,
    /// Level of the caller's frame, in dBFS
    /// ([`super::energy::level_dbfs`]).
    pub caller_dbfs: f32,
    /// Level of the frame kefu played in the same tick, or `None` when its
    /// playout was idle. While the playout is held after a
    /// [`Decision::Pause`] it is not idle: pass [`SILENCE_DBFS`]. The echo
    /// path delay is accounted for inside.
    pub played_dbfs: Option<f32>,
}

/// How a caller frame was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not speech: quiet, or low probability.
    Silence,
    /// Speech-like, but explained by kefu's own output.
    Echo,
    /// The caller speaking over the agent.
    Speech,
}

/// What to do about the agent's playout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Hold the playout where it is (silence from the next frame): the
    /// caller may be interrupting.
    Pause {
        /// First frame of the caller's speech.
        onset: Instant,
    },
    /// The speech that caused the hold stopped short of `min_speech`: play
    /// on from where the playout was held.
    Resume {
        /// First frame of that speech.
        onset: Instant,
    },
    /// Stop playing now (flush the playout queue this tick).
    Interrupt {
        /// First frame of the caller's speech.
        onset: Instant,
        /// The frame that completed `min_speech`.
        at: Instant,
    },
}

/// Barge-in detection for one call; one [`BargeIn::push`] per tick.
#[derive(Debug, Clone)]
pub struct BargeIn {
    policy: BargeInPolicy,
    min_frames: u32,
    pause_frames: u32,
    resume_frames: u32,
    tail_frames: usize,
    echo: EchoPath,
    /// Frames since the last one of caller speech that held or stopped kefu.
    since_speech: u32,
    run: Option<Run>,
    decided: bool,
    verdict: Verdict,
}

/// The caller's current stretch of speech over the agent.
#[derive(Debug, Clone, Copy)]
struct Run {
    onset: Instant,
    /// Speech frames since `onset`.
    speech: u32,
    /// Consecutive speech frames clear of the echo by the pause margin.
    clear: u32,
    /// Non-speech frames since the last speech frame (counted while held).
    gap: u32,
    /// A `Pause` went out and neither `Resume` nor `Interrupt` yet.
    held: bool,
}

/// Frames after the caller's last speech that held or stopped kefu before
/// the line's echo is learnt from again (500 ms).
const QUIET_BEFORE_LEARNING: u32 = 25;

impl BargeIn {
    /// Barge-in detection under `policy`.
    pub fn new(policy: BargeInPolicy) -> Result<Self, VadError> {
        policy.validate()?;
        let tail_frames = frames_for(policy.echo_tail) as usize;
        Ok(BargeIn {
            policy,
            min_frames: frames_for(policy.min_speech),
            pause_frames: frames_for(policy.pause_after),
            resume_frames: frames_for(policy.resume_after),
            tail_frames,
            echo: EchoPath::new(tail_frames, policy.initial_erl_db, policy.max_erl_db),
            since_speech: u32::MAX,
            run: None,
            decided: false,
            verdict: Verdict::Silence,
        })
    }

    /// The policy in use.
    pub fn policy(&self) -> &BargeInPolicy {
        &self.policy
    }

    /// Replaces the policy (a dialplan step changed it); the ERL estimate
    /// and echo history are kept.
    pub fn set_policy(&mut self, policy: BargeInPolicy) -> Result<(), VadError> {
        policy.validate()?;
        self.min_frames = frames_for(policy.min_speech);
        self.pause_frames = frames_for(policy.pause_after);
        self.resume_frames = frames_for(policy.resume_after);
        self.tail_frames = frames_for(policy.echo_tail) as usize;
        self.echo
            .configure(self.tail_frames, policy.initial_erl_db, policy.max_erl_db);
        self.policy = policy;
        Ok(())
    }

    /// The current echo return loss estimate, in dB.
    pub fn erl_db(&self) -> f32 {
        self.echo.erl_db()
    }

    /// The learnt echo delay in frames, once learnt.
    pub fn echo_delay_frames(&self) -> Option<usize> {
        self.echo.estimate().map(|(d, _)| d)
    }

    /// How the last frame was judged.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// True while a stretch of the caller's speech over the agent is being
    /// weighed (from its first frame until it stops short, or for the rest
    /// of it once it interrupted).
    pub fn in_run(&self) -> bool {
        self.run.is_some()
    }

    /// True between a [`Decision::Pause`] and its `Resume` or `Interrupt`.
    pub fn holding(&self) -> bool {
        self.run.is_some_and(|r| r.held)
    }

    /// Forgets the current stretch of speech (the call went on hold); a
    /// hold in progress is over, without a decision.
    pub fn reset_run(&mut self) {
        self.run = None;
        self.decided = false;
    }

    /// Feeds one tick: the caller's frame (after the jitter buffer) and the
    /// level of what kefu played in the same tick. Returns an interrupt at
    /// most once per stretch of playout; a pause is always followed by
    /// exactly one resume or interrupt, unless the playout goes idle first.
    pub fn push(&mut self, now: Instant, frame: &Frame) -> Option<Decision> {
        let played = frame.played_dbfs.map(level);
        self.echo.push_played(played.unwrap_or(SILENCE_DBFS));

        let caller = level(frame.caller_dbfs);
        let expected = self.echo.expected_dbfs();
        let echo_ceiling = expected.map_or(SILENCE_DBFS, |e| e + self.policy.echo_margin_db);
        let speechy = sanitize(frame.speech_prob) >= self.policy.threshold
            && caller >= self.policy.min_level_dbfs;
        let explained = expected.is_some() && caller < echo_ceiling;
        let clear = expected.is_none() || caller >= echo_ceiling + self.policy.pause_margin_db;
        self.verdict = match (speechy, explained) {
            (false, _) => Verdict::Silence,
            (true, true) => Verdict::Echo,
            (true, false) => Verdict::Speech,
        };
        // Learn from frames outside the caller's stretches of speech, and
        // well after any that held or stopped kefu (the quieter frames
        // between their words are not echo). Speech-like frames that hold
        // nothing are learnt from: they may be echo the estimate got wrong.
        self.since_speech = self.since_speech.saturating_add(1);
        if self.run.is_none() && self.since_speech >= QUIET_BEFORE_LEARNING {
            self.echo.learn(caller);
        }

        if played.is_none() {
            // Nothing to interrupt; the next prompt may be interrupted again.
            self.reset_run();
            return None;
        }
        if self.verdict != Verdict::Speech || !self.policy.enabled {
            return self.quiet_frame();
        }
        let mut run = self.run.unwrap_or(Run {
            onset: now,
            speech: 0,
            clear: 0,
            gap: 0,
            held: false,
        });
        run.speech = run.speech.saturating_add(1);
        run.clear = if clear {
            run.clear.saturating_add(1)
        } else {
            0
        };
        run.gap = 0;
        let decision = if self.decided {
            None
        } else if run.speech >= self.min_frames {
            self.decided = true;
            run.held = false;
            Some(Decision::Interrupt {
                onset: run.onset,
                at: now,
            })
        } else if !run.held && run.clear >= self.pause_frames {
            run.held = true;
            Some(Decision::Pause { onset: run.onset })
        } else {
            None
        };
        if run.held || self.decided {
            // Confirmed caller speech: keep it and its tail out of learning.
            self.since_speech = 0;
        }
        self.run = Some(run);
        decision
    }

    /// A frame that is not the caller speaking: ends a run of speech, and a
    /// hold once the silence has lasted `resume_after`.
    fn quiet_frame(&mut self) -> Option<Decision> {
        let mut run = self.run?;
        if !run.held {
            self.run = None;
            return None;
        }
        run.gap += 1;
        if run.gap >= self.resume_frames || !self.policy.enabled {
            self.run = None;
            return Some(Decision::Resume { onset: run.onset });
        }
        self.run = Some(run);
        None
    }
}

/// A level from an untrusted source: NaN and anything below the floor is
/// silence, anything above 0 dBFS is clipped.
fn level(db: f32) -> f32 {
    if db.is_nan() {
        SILENCE_DBFS
    } else {
        db.clamp(SILENCE_DBFS, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: f32 = -15.0;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn at(t0: Instant, i: usize) -> Instant {
        t0 + FRAME * i as u32
    }

    /// The caller's stream while the bot plays at `BOT`: echo at `erl` dB
    /// below it, plus speech at `speech` dBFS during frames `from..to`.
    fn run(
        b: &mut BargeIn,
        t0: Instant,
        frames: usize,
        echo_loss: Option<f32>,
        speech: Option<(f32, usize, usize)>,
    ) -> Vec<(usize, Decision)> {
        let mut out = Vec::new();
        for i in 0..frames {
            let echo = echo_loss.map_or(SILENCE_DBFS, |l| BOT - l);
            let (caller, prob) = match speech {
                Some((lvl, from, to)) if (from..to).contains(&i) => (sum_db(echo, lvl), 0.95),
                // An echo of speech-like audio looks like speech to the VAD.
                _ if echo_loss.is_some() => (echo, 0.9),
                _ => (SILENCE_DBFS, 0.0),
            };
            let f = Frame {
                speech_prob: prob,
                caller_dbfs: caller,
                played_dbfs: Some(BOT),
            };
            if let Some(d) = b.push(at(t0, i), &f) {
                out.push((i, d));
            }
        }
        out
    }

    /// Level of two uncorrelated signals summed.
    fn sum_db(a: f32, b: f32) -> f32 {
        10.0 * (10f32.powf(a / 10.0) + 10f32.powf(b / 10.0)).log10()
    }

    fn interrupts(ev: &[(usize, Decision)]) -> Vec<(usize, Decision)> {
        ev.iter()
            .copied()
            .filter(|(_, d)| matches!(d, Decision::Interrupt { .. }))
            .collect()
    }

    fn barge() -> BargeIn {
        BargeIn::new(BargeInPolicy::default()).expect("defaults are valid")
    }

    #[test]
    fn validation_names_the_setting() {
        let d = BargeInPolicy::default();
        let key = |p: BargeInPolicy| match p.validate() {
            Err(VadError::Config { key, .. }) => key,
            Ok(()) => "ok",
        };
        assert_eq!(key(d), "ok");
        assert_eq!(
            key(BargeInPolicy {
                min_speech: ms(0),
                ..d
            }),
            "min_speech"
        );
        assert_eq!(
            key(BargeInPolicy {
                echo_tail: ms(9_000),
                ..d
            }),
            "echo_tail"
        );
        assert_eq!(
            key(BargeInPolicy {
                threshold: f32::NAN,
                ..d
            }),
            "threshold"
        );
        assert_eq!(
            key(BargeInPolicy {
                echo_margin_db: -1.0,
                ..d
            }),
            "echo_margin_db"
        );
        assert_eq!(
            key(BargeInPolicy {
                initial_erl_db: 40.0,
                ..d
            }),
            "initial_erl_db"
        );
        assert_eq!(
            key(BargeInPolicy {
                min_level_dbfs: f32::INFINITY,
                ..d
            }),
            "min_level_dbfs"
        );
        assert!(BargeIn::new(BargeInPolicy {
            max_erl_db: 99.0,
            ..d
        })
        .is_err());
    }

    #[test]
    fn a_200_ms_backchannel_holds_then_resumes() {
        let t0 = Instant::now();
        let mut b = barge();
        // A caller 7 dB over the agent: clear of any echo the line could
        // make before its loss is learnt.
        let ev = run(&mut b, t0, 100, None, Some((-8.0, 20, 30)));
        let onset = at(t0, 20);
        // Held on the 2nd speech frame (40 ms); resumed on the 6th quiet
        // frame (120 ms) after the last speech frame (29).
        assert_eq!(
            ev,
            vec![
                (21, Decision::Pause { onset }),
                (35, Decision::Resume { onset })
            ]
        );
        assert!(!b.holding());
    }

    #[test]
    fn a_dip_inside_speech_keeps_the_hold_and_counts_on() {
        let t0 = Instant::now();
        let mut b = barge();
        let talk = |p: f32| Frame {
            speech_prob: p,
            caller_dbfs: -15.0,
            played_dbfs: Some(SILENCE_DBFS),
        };
        let mut ev = Vec::new();
        // 5 speech frames, 3 quiet (under resume_after), 9 speech: 14.
        let probs = [[0.9; 5].as_slice(), &[0.1; 3], &[0.9; 9]].concat();
        for (i, p) in probs.iter().enumerate() {
            if let Some(d) = b.push(at(t0, i), &talk(*p)) {
                ev.push((i, d));
            }
        }
        let onset = at(t0, 0);
        assert_eq!(
            ev,
            vec![
                (1, Decision::Pause { onset }),
                (
                    16,
                    Decision::Interrupt {
                        onset,
                        at: at(t0, 16)
                    }
                )
            ]
        );
    }

    #[test]
    fn echo_just_above_the_ceiling_does_not_hold_the_agent() {
        let t0 = Instant::now();
        let mut b = barge();
        // Echo 2 dB down on a line assumed to lose 6: above the ceiling
        // (reference − 6 + 3), so it reads as speech, but not clear of it
        // by the pause margin. A 200 ms burst neither holds nor stops.
        let ev = run(&mut b, t0, 10, Some(2.0), None);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(b.verdict(), Verdict::Speech);
        assert_eq!(b.erl_db(), 6.0);
        // A caller 4 dB over the agent is clear of it, and holds it.
        let mut b = barge();
        let ev = run(&mut b, t0, 10, None, Some((BOT + 4.0, 0, 10)));
        assert!(
            matches!(ev[..], [(1, Decision::Pause { .. }), ..]),
            "{ev:?}"
        );
    }

    #[test]
    fn pause_after_at_min_speech_never_holds() {
        let t0 = Instant::now();
        let mut b = BargeIn::new(BargeInPolicy {
            pause_after: ms(280),
            ..BargeInPolicy::default()
        })
        .expect("valid");
        let ev = run(&mut b, t0, 100, None, Some((-15.0, 20, 40)));
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(matches!(ev[0].1, Decision::Interrupt { .. }));
        let ev = run(&mut b, t0, 100, None, Some((-15.0, 20, 30)));
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn speech_of_400_ms_interrupts_once_within_min_speech() {
        let t0 = Instant::now();
        let mut b = barge();
        let ev = run(&mut b, t0, 100, None, Some((-8.0, 20, 40)));
        // Held at 40 ms; 280 ms = 14 frames: decided on the 14th speech frame.
        let onset = at(t0, 20);
        let want = Decision::Interrupt {
            onset,
            at: at(t0, 33),
        };
        assert_eq!(ev, vec![(21, Decision::Pause { onset }), (33, want)]);
    }

    #[test]
    fn echo_10_db_below_the_bot_does_not_interrupt() {
        let t0 = Instant::now();
        let mut b = barge();
        let ev = run(&mut b, t0, 500, Some(10.0), None);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(b.verdict(), Verdict::Echo);
        // The estimate learnt the line: close to, never above, 10 dB.
        assert!(b.erl_db() > 9.0 && b.erl_db() <= 10.001, "{}", b.erl_db());
    }

    #[test]
    fn loud_caller_over_the_bot_and_its_echo_interrupts() {
        let t0 = Instant::now();
        let mut b = barge();
        let ev = interrupts(&run(&mut b, t0, 200, Some(10.0), Some((-12.0, 100, 150))));
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!(matches!(ev[0].1, Decision::Interrupt { onset, .. } if onset == at(t0, 100)));
    }

    #[test]
    fn a_learnt_quiet_echo_lets_quieter_callers_through() {
        let t0 = Instant::now();
        // A caller 8 dB under the bot: on a line echoing at 6 dB (G.168's
        // worst case) that is indistinguishable from echo; on a line
        // echoing at 20 dB it is clearly the caller.
        let mut loud_line = barge();
        run(&mut loud_line, t0, 300, Some(6.0), None);
        let ev = run(&mut loud_line, t0, 60, Some(6.0), Some((BOT - 8.0, 10, 60)));
        assert!(ev.is_empty(), "{ev:?}");
        let mut quiet_line = barge();
        run(&mut quiet_line, t0, 300, Some(20.0), None);
        assert!(quiet_line.erl_db() > 17.0, "{}", quiet_line.erl_db());
        let ev = interrupts(&run(
            &mut quiet_line,
            t0,
            60,
            Some(20.0),
            Some((BOT - 8.0, 10, 60)),
        ));
        assert_eq!(ev.len(), 1, "{ev:?}");
    }

    #[test]
    fn nothing_playing_nothing_to_interrupt_then_rearms() {
        let t0 = Instant::now();
        let mut b = barge();
        let talk = |played| Frame {
            speech_prob: 0.9,
            caller_dbfs: -15.0,
            played_dbfs: played,
        };
        for i in 0..30 {
            assert_eq!(b.push(at(t0, i), &talk(None)), None);
        }
        // Echo tail: a loud caller right after playback starts is judged
        // against a reference the bot's playout just set.
        let is_interrupt = |d: Option<Decision>| matches!(d, Some(Decision::Interrupt { .. }));
        let mut decisions = 0;
        for i in 30..100 {
            decisions += usize::from(is_interrupt(b.push(at(t0, i), &talk(Some(-30.0)))));
        }
        assert_eq!(decisions, 1);
        b.push(at(t0, 100), &talk(None));
        let mut again = 0;
        for i in 101..130 {
            again += usize::from(is_interrupt(b.push(at(t0, i), &talk(Some(-30.0)))));
        }
        assert_eq!(again, 1);
    }

    #[test]
    fn disabled_never_interrupts() {
        let t0 = Instant::now();
        let mut b = BargeIn::new(BargeInPolicy {
            enabled: false,
            ..BargeInPolicy::default()
        })
        .expect("valid");
        assert!(run(&mut b, t0, 200, None, Some((-6.0, 10, 200))).is_empty());
    }

    #[test]
    fn quiet_caller_below_the_floor_is_silence() {
        let t0 = Instant::now();
        let mut b = barge();
        assert!(run(&mut b, t0, 200, None, Some((-50.0, 10, 200))).is_empty());
        assert_eq!(b.verdict(), Verdict::Silence);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn frame() -> impl Strategy<Value = Frame> {
            (
                prop_oneof![Just(0.0f32), Just(0.9f32), any::<f32>()],
                prop_oneof![-96.0f32..0.0, any::<f32>()],
                prop::option::of(prop_oneof![-96.0f32..0.0, any::<f32>()]),
            )
                .prop_map(|(speech_prob, caller_dbfs, played_dbfs)| Frame {
                    speech_prob,
                    caller_dbfs,
                    played_dbfs,
                })
        }

        proptest! {
            #[test]
            fn one_interrupt_per_playout_and_only_after_min_speech(
                frames in prop::collection::vec(frame(), 0..400)
            ) {
                let t0 = Instant::now();
                let mut b = barge();
                let mut since_idle = 0usize;
                let mut held = false;
                for (i, f) in frames.iter().enumerate() {
                    let d = b.push(at(t0, i), f);
                    prop_assert!(b.erl_db().is_finite());
                    prop_assert!((0.0..=30.0).contains(&b.erl_db()));
                    if f.played_dbfs.is_none() {
                        prop_assert_eq!(d, None);
                        prop_assert!(!b.holding());
                        since_idle = 0;
                        held = false;
                        continue;
                    }
                    match d {
                        Some(Decision::Interrupt { onset, at: when }) => {
                            since_idle += 1;
                            prop_assert_eq!(since_idle, 1);
                            prop_assert_eq!(when, at(t0, i));
                            prop_assert!(when - onset >= ms(260));
                            held = false;
                        }
                        // Pauses and resumes alternate, a pause first.
                        Some(Decision::Pause { .. }) => {
                            prop_assert!(!held);
                            held = true;
                        }
                        Some(Decision::Resume { .. }) => {
                            prop_assert!(held);
                            held = false;
                        }
                        None => {}
                    }
                    prop_assert_eq!(held, b.holding());
                }
            }
        }
    }
}
