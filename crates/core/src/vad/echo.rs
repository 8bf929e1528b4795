//! The echo path of one call: how loud kefu's own audio comes back in the
//! caller's stream, and how late.
//!
//! Owns [`EchoPath`]. The carrier has no echo canceller, so the caller's
//! stream carries what kefu played, delayed by the round trip and
//! attenuated by the echo return loss (ERL). Both are unknown and differ
//! per line, so they are learnt from the frame levels: for every delay the
//! echo tail allows, the loss `played[t − d] − caller[t]` over the loud
//! frames kefu played. At the true delay the loss is nearly constant (the
//! ERL); at any other it swings with kefu's syllables. The delay is the one
//! whose loss varies least, the ERL its mean. A line without echo shows a
//! large loss at every delay (the caller's silence), so the expected echo
//! falls below anything a caller says.
//!
//! Levels are learnt only from frames the caller is not speaking in (the
//! caller's [`super::bargein::BargeIn`] decides and tells [`EchoPath::learn`]
//! nothing during their speech and for a while after it). Until every
//! delay has been seen often enough to compare (about 0.7 s of kefu
//! speaking), the expected echo is the loudest frame of the tail less
//! ITU-T G.168's planning ERL of 6 dB: cautious.
//!
//! Not here: deciding what is speech, cancelling the echo.

use std::collections::VecDeque;

use super::SILENCE_DBFS;

/// Played frames at least this loud teach the echo path.
const LOUD_DBFS: f32 = -40.0;
/// Weight of a new frame in the running statistics (~0.6 s memory).
const ALPHA: f32 = 1.0 / 32.0;
/// Frames of a delay's statistics before it can be chosen.
const MIN_FRAMES: u32 = 12;

/// Running loss statistics for one candidate delay.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    mean: f32,
    mean_sq: f32,
    n: u32,
}

impl Stats {
    fn push(&mut self, loss: f32) {
        self.n = self.n.saturating_add(1);
        // Plain averages while few frames are in, then exponential.
        let a = ALPHA.max(1.0 / self.n as f32);
        self.mean += a * (loss - self.mean);
        self.mean_sq += a * (loss * loss - self.mean_sq);
    }

    fn variance(&self) -> f32 {
        (self.mean_sq - self.mean * self.mean).max(0.0)
    }
}

/// What kefu played over the echo tail and what the line does with it.
#[derive(Debug, Clone)]
pub struct EchoPath {
    /// Levels played, oldest first; the newest is this tick's frame.
    played: VecDeque<f32>,
    stats: Vec<Stats>,
    initial_erl_db: f32,
    max_erl_db: f32,
}

impl EchoPath {
    /// A path of up to `tail` frames of delay, with the ERL assumed until
    /// it is learnt and the largest ERL it may report.
    pub fn new(tail: usize, initial_erl_db: f32, max_erl_db: f32) -> Self {
        let tail = tail.max(1);
        EchoPath {
            played: VecDeque::with_capacity(tail + 1),
            stats: vec![Stats::default(); tail],
            initial_erl_db,
            max_erl_db,
        }
    }

    /// Changes the tail and the ERL bounds (a dialplan step changed its
    /// policy); what was learnt is forgotten when the tail changes.
    pub fn configure(&mut self, tail: usize, initial_erl_db: f32, max_erl_db: f32) {
        let tail = tail.max(1);
        if tail != self.stats.len() {
            *self = EchoPath::new(tail, initial_erl_db, max_erl_db);
        } else {
            self.initial_erl_db = initial_erl_db;
            self.max_erl_db = max_erl_db;
        }
    }

    /// Records this tick's played level (`SILENCE_DBFS` when nothing).
    pub fn push_played(&mut self, dbfs: f32) {
        if self.played.len() >= self.stats.len() {
            self.played.pop_front();
        }
        self.played.push_back(dbfs);
    }

    /// The level played `d` frames ago, if still in the tail.
    fn played_ago(&self, d: usize) -> Option<f32> {
        let n = self.played.len();
        (d < n).then(|| self.played[n - 1 - d])
    }

    /// Learns from a caller frame with no caller speech in it.
    pub fn learn(&mut self, caller_dbfs: f32) {
        if !caller_dbfs.is_finite() {
            return;
        }
        let max = self.max_erl_db;
        for d in 0..self.stats.len() {
            match self.played_ago(d) {
                Some(x) if x >= LOUD_DBFS => self.stats[d].push((x - caller_dbfs).clamp(0.0, max)),
                _ => {}
            }
        }
    }

    /// The learnt delay (frames) and ERL (dB), once every delay has been
    /// seen enough to compare: the delay whose loss varies least.
    pub fn estimate(&self) -> Option<(usize, f32)> {
        if self.stats.iter().any(|s| s.n < MIN_FRAMES) {
            return None;
        }
        self.stats
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.variance().total_cmp(&b.1.variance()))
            .map(|(d, s)| (d, s.mean.clamp(0.0, self.max_erl_db)))
    }

    /// The current ERL estimate (the planning value until learnt).
    pub fn erl_db(&self) -> f32 {
        self.estimate().map_or(self.initial_erl_db, |(_, erl)| erl)
    }

    /// The level kefu's echo should have in this tick's caller frame, or
    /// `None` when nothing kefu played can be echoing now.
    pub fn expected_dbfs(&self) -> Option<f32> {
        let (level, erl) = match self.estimate() {
            // The learnt delay, give or take a frame of jitter.
            Some((d, erl)) => {
                let level = (d.saturating_sub(1)..=d + 1)
                    .filter_map(|k| self.played_ago(k))
                    .fold(SILENCE_DBFS, f32::max);
                (level, erl)
            }
            None => (
                self.played.iter().copied().fold(SILENCE_DBFS, f32::max),
                self.initial_erl_db,
            ),
        };
        (level > SILENCE_DBFS).then_some(level - erl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A syllable-like level pattern kefu plays.
    fn played(i: usize) -> f32 {
        [-12.0, -18.0, -25.0, -14.0, -30.0, -45.0, -16.0, -20.0][i % 8]
    }

    fn learn_line(path: &mut EchoPath, frames: usize, echo: Option<(usize, f32)>) {
        for i in 0..frames {
            path.push_played(played(i));
            let caller = match echo {
                Some((delay, erl)) if i >= delay => played(i - delay) - erl,
                _ => -70.0,
            };
            path.learn(caller);
        }
    }

    #[test]
    fn finds_the_delay_and_the_loss_of_an_echoing_line() {
        let mut p = EchoPath::new(20, 6.0, 30.0);
        learn_line(&mut p, 200, Some((7, 12.0)));
        let (d, erl) = p.estimate().expect("learnt");
        assert_eq!(d, 7);
        assert!((erl - 12.0).abs() < 0.5, "{erl}");
        // The expected echo follows what was played 7 frames ago (±1).
        let want = [played(199 - 6), played(199 - 7), played(199 - 8)]
            .into_iter()
            .fold(SILENCE_DBFS, f32::max)
            - erl;
        assert!((p.expected_dbfs().expect("playing") - want).abs() < 0.01);
    }

    #[test]
    fn a_line_without_echo_expects_none_worth_the_name() {
        let mut p = EchoPath::new(20, 6.0, 30.0);
        learn_line(&mut p, 100, None);
        assert_eq!(p.erl_db(), 30.0);
        assert!(p.expected_dbfs().expect("playing") <= -12.0 - 30.0 + 0.01);
    }

    #[test]
    fn cautious_until_learnt_and_silent_when_nothing_played() {
        let mut p = EchoPath::new(20, 6.0, 30.0);
        assert_eq!(p.expected_dbfs(), None);
        p.push_played(-12.0);
        p.push_played(-20.0);
        assert_eq!(p.expected_dbfs(), Some(-18.0));
        assert_eq!(p.erl_db(), 6.0);
        for _ in 0..20 {
            p.push_played(SILENCE_DBFS);
        }
        assert_eq!(p.expected_dbfs(), None);
    }
}
