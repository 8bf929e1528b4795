//! How upset the caller is, estimated utterance by utterance across a
//! call: a score in `0..=1` and its [`Level`], with the reasons behind the
//! latest change, for dialplans to branch on ("hand angry callers to a
//! person") and for the console.
//!
//! # Evidence
//!
//! Each utterance ([`Observation`]) gives evidence in three groups, each
//! signal a probability-like weight, combined within a group and across
//! groups as a noisy OR (`1 − Π(1 − p)`):
//!
//! | group | signal | weight |
//! |---|---|---|
//! | words ([`lexicon`]) | negative words, strength `n` | `0.55 · n^1.5` (one word 0.19, three 0.45) |
//! | | angry words, strength `a` | `0.9 · a` (one 0.45, two 0.68, three 0.79) |
//! | | profanity | 0.8 |
//! | | asks for a person | 0.2 |
//! | behaviour | the k-th repeat of a request in a row | `min(0.15 + 0.1·k, 0.4)` |
//! | | barged in | 0.15 |
//! | voice ([`Prosody`]) | louder, higher, faster than the caller's usual, z-score `z` | `0.2 · clamp((z − 1) / 2, 0, 1)` each |
//!
//! The caller's usual voice is the running mean and variance of energy,
//! pitch and rate over their first 3 calm utterances (no word or
//! behaviour evidence), compared against once it holds two; the standard
//! deviations are floored (3 dB, 8 % of the pitch or 8 Hz, 15 % of the
//! rate or 0.5 syllables/s) so a steady speaker's small changes are not
//! outliers.
//!
//! # The score
//!
//! Each group keeps a state that rises fast (a noisy OR of its state and
//! the new evidence) and decays slowly: an utterance with no evidence
//! worth the name (all groups together under 0.1) takes 15 % off every
//! group. The score is the noisy OR of the three states. The voice and
//! behaviour groups are capped at 0.45, so tone of voice or repetition
//! alone reaches at most [`Level::Concerned`]; words can reach anything
//! (an angry utterance is upset at once, profanity angry); several
//! groups together add up ("where is my parcel" three times, then asking
//! for a person, is upset).
//!
//! Levels: neutral below 0.25, concerned below 0.5, upset below 0.75,
//! angry from 0.75.
//!
//! Not here: what a dialplan does about it, reading the words
//! ([`mod@crate::nlu::lexicon`]) or measuring the voice
//! ([`crate::nlu::prosody`]).

use crate::nlu::lexicon::lexicon;
use crate::nlu::prosody::Prosody;

/// How upset the caller is, calm to angry (ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Calm (score below 0.25).
    #[default]
    Neutral,
    /// Some sign of trouble (0.25 to 0.5).
    Concerned,
    /// Clearly unhappy (0.5 to 0.75).
    Upset,
    /// Angry (0.75 and above).
    Angry,
}

impl Level {
    /// The level's name in dialplans and logs.
    pub fn name(self) -> &'static str {
        match self {
            Level::Neutral => "neutral",
            Level::Concerned => "concerned",
            Level::Upset => "upset",
            Level::Angry => "angry",
        }
    }

    /// The level a dialplan names, case-insensitive, with a few synonyms
    /// in English and Chinese ("calm" and "平静" are neutral, "frustrated"
    /// upset, "生气" angry).
    pub fn from_name(name: &str) -> Option<Level> {
        let n = name.trim().to_lowercase();
        Some(match n.as_str() {
            "neutral" | "calm" | "normal" | "none" | "平静" | "中性" => Level::Neutral,
            "concerned" | "worried" | "uneasy" | "impatient" | "担心" | "焦虑" => {
                Level::Concerned
            }
            "upset" | "frustrated" | "annoyed" | "unhappy" | "不满" | "烦躁" => Level::Upset,
            "angry" | "furious" | "irate" | "mad" | "生气" | "愤怒" => Level::Angry,
            _ => return None,
        })
    }

    /// The level of a score (NaN reads as neutral).
    pub fn from_score(score: f32) -> Level {
        if score >= 0.75 {
            Level::Angry
        } else if score >= 0.5 {
            Level::Upset
        } else if score >= 0.25 {
            Level::Concerned
        } else {
            Level::Neutral
        }
    }

    /// A score that stands for the level: 0 for neutral, the middle of its
    /// band for the others.
    pub fn score(self) -> f32 {
        match self {
            Level::Neutral => 0.0,
            Level::Concerned => 0.375,
            Level::Upset => 0.625,
            Level::Angry => 0.875,
        }
    }
}

/// One utterance of the caller, as the estimator sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observation<'a> {
    /// What was said (the transcript).
    pub text: &'a str,
    /// How it was said, when the audio was measured.
    pub prosody: Option<Prosody>,
    /// The intent recognised, if any.
    pub intent: Option<&'a str>,
    /// The caller asked again for what they already asked (the dialogue
    /// decides: the same intent again, unresolved).
    pub repeated_intent: bool,
    /// The caller spoke over kefu.
    pub barged_in: bool,
}

/// The estimate after an utterance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Estimate {
    /// How upset, `0..=1`.
    pub score: f32,
    /// The score's level.
    pub level: Level,
    /// What the latest utterance showed ("angry words", "louder than
    /// usual"…); empty for a calm one.
    pub reasons: Vec<&'static str>,
}

/// Utterances that make the caller's usual voice.
const BASELINE_UTTERANCES: u32 = 3;
/// Below this, an utterance is calm and the states decay.
const CALM: f32 = 0.1;
/// Share of each group's state a calm utterance takes off.
const DECAY: f32 = 0.15;
/// The most the voice or behaviour alone can reach (concerned).
const SOLO_CAP: f32 = 0.45;
/// A z-score from which a change in the voice is named as a reason.
const NOTABLE_Z: f32 = 1.5;

/// The per-call emotion estimate; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Estimator {
    /// Group states: words, behaviour, voice.
    words: f32,
    behaviour: f32,
    voice: f32,
    /// Requests repeated in a row.
    repeats: u32,
    baseline: Baseline,
    reasons: Vec<&'static str>,
}

impl Estimator {
    /// A new call: neutral, no baseline yet.
    pub fn new() -> Estimator {
        Estimator::default()
    }

    /// Takes in one utterance and returns the new estimate.
    pub fn observe(&mut self, obs: &Observation) -> Estimate {
        let mut reasons = Vec::new();
        let words = self.words_evidence(obs.text, &mut reasons);
        let behaviour = self.behaviour_evidence(obs, &mut reasons);
        let voice = obs
            .prosody
            .map_or(0.0, |p| self.baseline.evidence(&p, &mut reasons));
        if let Some(p) = obs.prosody {
            if any([words, behaviour]) < CALM {
                self.baseline.learn(&p);
            }
        }
        if any([words, behaviour, voice]) < CALM {
            for s in [&mut self.words, &mut self.behaviour, &mut self.voice] {
                *s *= 1.0 - DECAY;
            }
        } else {
            rise(&mut self.words, words, 1.0);
            rise(&mut self.behaviour, behaviour, SOLO_CAP);
            rise(&mut self.voice, voice, SOLO_CAP);
        }
        self.reasons = reasons;
        self.current()
    }

    /// The estimate now, with the reasons of the latest utterance.
    pub fn current(&self) -> Estimate {
        let score = any([self.words, self.behaviour, self.voice]);
        Estimate {
            score,
            level: Level::from_score(score),
            reasons: self.reasons.clone(),
        }
    }

    /// Sets the estimate to `level` (an operator's or a test's override):
    /// the score becomes [`Level::score`], later utterances move it on
    /// from there.
    pub fn force(&mut self, level: Level) {
        self.words = level.score();
        self.behaviour = 0.0;
        self.voice = 0.0;
        self.reasons = vec!["set by operator"];
    }

    fn words_evidence(&self, text: &str, reasons: &mut Vec<&'static str>) -> f32 {
        let lex = lexicon(text);
        let mut p = Vec::new();
        if lex.negative > 0.0 {
            p.push(0.55 * lex.negative.powf(1.5));
            reasons.push("negative words");
        }
        if lex.anger > 0.0 {
            p.push(0.9 * lex.anger);
            reasons.push("angry words");
        }
        if lex.profanity {
            p.push(0.8);
            reasons.push("profanity");
        }
        if lex.wants_human {
            p.push(0.2);
            reasons.push("asks for a person");
        }
        any(p)
    }

    fn behaviour_evidence(&mut self, obs: &Observation, reasons: &mut Vec<&'static str>) -> f32 {
        let mut p = Vec::new();
        if obs.repeated_intent {
            self.repeats = self.repeats.saturating_add(1);
            p.push((0.15 + 0.1 * self.repeats as f32).min(0.4));
            reasons.push("repeated request");
        } else if obs.intent.is_some() {
            self.repeats = 0;
        }
        if obs.barged_in {
            p.push(0.15);
            reasons.push("interrupted");
        }
        any(p)
    }
}

/// Noisy OR: the chance that at least one of independent signals holds
/// (a NaN counts as no signal).
fn any(p: impl IntoIterator<Item = f32>) -> f32 {
    let none = p.into_iter().fold(1.0, |acc, p| {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        acc * (1.0 - p)
    });
    1.0 - none
}

/// Adds `evidence` to a group state, never past `cap` (a state already
/// past it, after [`Estimator::force`], stays).
fn rise(state: &mut f32, evidence: f32, cap: f32) {
    let raised = any([*state, evidence]);
    *state = raised.min(cap.max(*state));
}

/// The caller's usual voice: running mean and variance (Welford) of
/// energy, pitch and rate over their first calm utterances.
#[derive(Debug, Clone, Default)]
struct Baseline {
    utterances: u32,
    energy: Running,
    pitch: Running,
    rate: Running,
}

impl Baseline {
    fn learn(&mut self, p: &Prosody) {
        if self.utterances >= BASELINE_UTTERANCES {
            return;
        }
        self.utterances += 1;
        self.energy.push(p.energy_db);
        if let Some(hz) = p.pitch_hz {
            self.pitch.push(hz);
        }
        if p.rate > 0.0 {
            self.rate.push(p.rate);
        }
    }

    /// Voice evidence of `p` against the baseline; see the module docs.
    fn evidence(&self, p: &Prosody, reasons: &mut Vec<&'static str>) -> f32 {
        let z = [
            (self.energy.z(p.energy_db, |_| 3.0), "louder than usual"),
            (
                p.pitch_hz
                    .and_then(|hz| self.pitch.z(hz, |m| (0.08 * m).max(8.0))),
                "higher pitch",
            ),
            (
                (p.rate > 0.0)
                    .then(|| self.rate.z(p.rate, |m| (0.15 * m).max(0.5)))
                    .flatten(),
                "faster",
            ),
        ];
        let mut ps = Vec::new();
        for (z, reason) in z {
            let Some(z) = z else { continue };
            if z >= NOTABLE_Z {
                reasons.push(reason);
            }
            ps.push(0.2 * ((z - 1.0) / 2.0).clamp(0.0, 1.0));
        }
        any(ps)
    }
}

/// A running mean and variance.
#[derive(Debug, Clone, Copy, Default)]
struct Running {
    n: u32,
    mean: f32,
    m2: f32,
}

impl Running {
    fn push(&mut self, x: f32) {
        if !x.is_finite() {
            return;
        }
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f32;
        self.m2 += d * (x - self.mean);
    }

    /// How many (floored) standard deviations `x` is above the mean;
    /// `None` before two values.
    fn z(&self, x: f32, floor: impl Fn(f32) -> f32) -> Option<f32> {
        if self.n < 2 || !x.is_finite() {
            return None;
        }
        let sd = (self.m2 / (self.n - 1) as f32).sqrt().max(floor(self.mean));
        Some((x - self.mean) / sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str) -> Observation<'_> {
        Observation {
            text,
            ..Observation::default()
        }
    }

    /// `text` said with this energy, pitch and rate.
    fn voiced(text: &str, energy_db: f32, pitch: f32, rate: f32) -> Observation<'_> {
        let prosody = Some(Prosody {
            energy_db,
            pitch_hz: Some(pitch),
            rate,
        });
        Observation {
            text,
            prosody,
            ..Observation::default()
        }
    }

    #[test]
    fn levels_names_and_scores() {
        assert!(Level::Upset >= Level::Concerned && Level::Angry > Level::Upset);
        assert!(Level::Neutral < Level::Concerned);
        for l in [Level::Neutral, Level::Concerned, Level::Upset, Level::Angry] {
            assert_eq!(Level::from_name(l.name()), Some(l));
            assert_eq!(Level::from_score(l.score()), l);
        }
        for (name, level) in [
            (" Calm ", Some(Level::Neutral)),
            ("ANGRY", Some(Level::Angry)),
            ("frustrated", Some(Level::Upset)),
            ("生气", Some(Level::Angry)),
            ("happy", None),
        ] {
            assert_eq!(Level::from_name(name), level, "{name}");
        }
        for (score, level) in [
            (0.0, Level::Neutral),
            (0.25, Level::Concerned),
            (0.5, Level::Upset),
            (0.75, Level::Angry),
            (7.0, Level::Angry),
            (f32::NAN, Level::Neutral),
        ] {
            assert_eq!(Level::from_score(score), level, "{score}");
        }
    }

    #[test]
    fn a_calm_call_stays_neutral() {
        let mut e = Estimator::new();
        for (text, db, hz, rate, intent) in [
            (
                "hi, I'd like to check on my order",
                -30.0,
                120.0,
                4.0,
                Some("order_status"),
            ),
            ("it's one two three four five", -29.0, 124.0, 4.4, None),
            ("yes that's right", -31.0, 117.0, 3.8, Some("affirm")),
            (
                "when will it arrive",
                -30.5,
                126.0,
                4.2,
                Some("delivery_time"),
            ),
            ("great, thank you very much", -29.5, 122.0, 4.1, None),
            ("我想查一下订单", -30.0, 119.0, 4.3, Some("order_status")),
        ] {
            let est = e.observe(&Observation {
                intent,
                ..voiced(text, db, hz, rate)
            });
            assert_eq!(est.level, Level::Neutral, "{text}: {est:?}");
            assert!(est.reasons.is_empty(), "{text}: {est:?}");
        }
        assert_eq!(e.current().score, 0.0);
    }

    #[test]
    fn angry_words_are_upset_at_once() {
        for text in ["This is ridiculous, I want to complain", "太差了，我要投诉"] {
            let est = Estimator::new().observe(&said(text));
            assert!(est.level >= Level::Upset, "{text}: {est:?}");
            assert!(est.reasons.contains(&"angry words"), "{est:?}");
        }
        // One mild word is not.
        let est = Estimator::new().observe(&said("I have a problem"));
        assert_eq!(est.level, Level::Neutral, "{est:?}");
    }

    #[test]
    fn repeated_requests_then_asking_for_a_person_is_upset() {
        let mut e = Estimator::new();
        let ask = |repeated_intent| Observation {
            intent: Some("order_status"),
            repeated_intent,
            ..said("where is my parcel")
        };
        assert_eq!(e.observe(&ask(false)).level, Level::Neutral);
        let second = e.observe(&ask(true));
        assert!(second.reasons.contains(&"repeated request"), "{second:?}");
        let third = e.observe(&ask(true));
        assert_eq!(third.level, Level::Concerned, "{third:?}");
        // Repetition alone stays concerned.
        let mut alone = e.clone();
        assert_eq!(alone.observe(&ask(true)).level, Level::Concerned);
        let person = Observation {
            intent: Some("human_agent"),
            ..said("let me talk to a real person")
        };
        let est = e.observe(&person);
        assert!(est.level >= Level::Upset, "{est:?}");
        assert_eq!(est.reasons, vec!["asks for a person"]);
    }

    #[test]
    fn profanity_is_angry() {
        let est = Estimator::new().observe(&said("where the hell is my damn parcel"));
        assert_eq!(est.level, Level::Angry, "{est:?}");
        assert!(est.reasons.contains(&"profanity"), "{est:?}");
        assert_eq!(
            Estimator::new().observe(&said("他妈的怎么还没到")).level,
            Level::Angry
        );
    }

    #[test]
    fn voice_alone_reaches_concerned_but_not_upset() {
        let mut e = Estimator::new();
        for (db, hz, rate) in [
            (-30.0, 120.0, 4.0),
            (-29.0, 125.0, 4.3),
            (-31.0, 118.0, 3.8),
        ] {
            let est = e.observe(&voiced("where is my order", db, hz, rate));
            assert_eq!(est.level, Level::Neutral);
        }
        let mut last = Estimate::default();
        for _ in 0..6 {
            last = e.observe(&voiced("where is my order", -18.0, 170.0, 6.5));
            assert!(
                last.level >= Level::Concerned && last.level < Level::Upset,
                "{last:?}"
            );
        }
        for r in ["louder than usual", "higher pitch", "faster"] {
            assert!(last.reasons.contains(&r), "{last:?}");
        }
        // The same voice with angry words (upset alone) adds up to angry.
        let angry = voiced("this is ridiculous, I want to complain", -18.0, 170.0, 6.5);
        let est = e.observe(&Observation {
            barged_in: true,
            ..angry
        });
        assert_eq!(est.level, Level::Angry, "{est:?}");
    }

    #[test]
    fn no_baseline_no_voice_evidence() {
        let mut e = Estimator::new();
        // The first utterance is loud, but loud for whom?
        assert_eq!(e.observe(&voiced("hello", -10.0, 300.0, 8.0)).score, 0.0);
        // A pitchless, wordless utterance counts what it has.
        let prosody = Some(Prosody {
            energy_db: -10.0,
            pitch_hz: None,
            rate: 0.0,
        });
        let est = e.observe(&Observation {
            prosody,
            ..Observation::default()
        });
        assert_eq!(est.level, Level::Neutral, "{est:?}");
    }

    #[test]
    fn calm_utterances_decay_the_score() {
        let mut e = Estimator::new();
        let mut score = e
            .observe(&said("this is ridiculous, I want to complain"))
            .score;
        let mut calm = 0;
        while e.current().level > Level::Neutral {
            let est = e.observe(&said("okay, thank you"));
            assert!(est.score < score, "{est:?}");
            assert!(
                score - est.score < 0.15,
                "decays slowly: {score} -> {est:?}"
            );
            score = est.score;
            calm += 1;
            assert!(calm < 20);
        }
        assert!((4..=10).contains(&calm), "{calm}");
    }

    #[test]
    fn force_sets_the_level_and_observations_go_on_from_there() {
        let mut e = Estimator::new();
        e.force(Level::Angry);
        let now = e.current();
        assert_eq!((now.level, now.score), (Level::Angry, Level::Angry.score()));
        assert_eq!(now.reasons, vec!["set by operator"]);
        assert!(e.observe(&said("fine")).score < now.score);
        e.force(Level::Neutral);
        assert_eq!(e.current().score, 0.0);
        e.force(Level::Concerned);
        assert_eq!(e.current().level, Level::Concerned);
    }

    #[test]
    fn interruptions_and_odd_input() {
        let mut e = Estimator::new();
        let est = e.observe(&Observation {
            barged_in: true,
            ..Observation::default()
        });
        assert_eq!(est.reasons, vec!["interrupted"]);
        assert_eq!(est.level, Level::Neutral);
        let odd = Prosody {
            energy_db: f32::NAN,
            pitch_hz: Some(f32::INFINITY),
            rate: f32::NAN,
        };
        for _ in 0..10 {
            e.observe(&Observation {
                prosody: Some(odd),
                barged_in: true,
                ..Observation::default()
            });
        }
        let est = e.current();
        assert!((0.0..=1.0).contains(&est.score), "{est:?}");
        assert!(est.level <= Level::Concerned, "{est:?}");
    }
}
