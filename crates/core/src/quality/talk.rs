//! Talk statistics of a call: who spoke, for how long, how often both
//! spoke at once, how long nobody did and how long the caller waited on
//! hold, accumulated frame by frame from the voice activity the call
//! already measures (the caller's from the endpointer, kefu's or the
//! agent's from what was played or heard on the agent leg).
//!
//! Not here: deciding whether those figures are good (see
//! [`super::inspect()`]) or measuring speech (see [`crate::vad`]).

/// A call's talk figures, all in milliseconds except `barge_ins`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Talk {
    /// Every frame measured, hold included.
    pub total_ms: u64,
    /// The caller speaking (overlap included).
    pub caller_ms: u64,
    /// kefu or an agent speaking (overlap included).
    pub agent_ms: u64,
    /// Both at once: talk-over.
    pub overlap_ms: u64,
    /// Neither speaking, outside hold.
    pub silence_ms: u64,
    /// The longest stretch of silence (dead air).
    pub longest_silence_ms: u64,
    /// On hold.
    pub hold_ms: u64,
    /// The longest single hold.
    pub longest_hold_ms: u64,
    /// Times the caller interrupted kefu.
    pub barge_ins: u64,
}

impl Talk {
    /// Silence as a share of the time outside hold (0 when nothing was
    /// measured).
    pub fn silence_ratio(&self) -> f64 {
        let talk = self.total_ms.saturating_sub(self.hold_ms);
        if talk == 0 {
            0.0
        } else {
            self.silence_ms as f64 / talk as f64
        }
    }
}

/// Accumulates [`Talk`] from frames of equal or varying length.
#[derive(Debug, Clone, Default)]
pub struct TalkMeter {
    talk: Talk,
    silence_run_ms: u64,
    hold_run_ms: u64,
}

impl TalkMeter {
    /// A meter with nothing measured.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a frame of `ms` milliseconds. While `on_hold` the frame counts
    /// as hold only: what plays then is hold music, not conversation, and
    /// it is not silence either. A hold or any speech ends a silence run.
    pub fn frame(&mut self, ms: u32, caller_speaking: bool, agent_speaking: bool, on_hold: bool) {
        let ms = u64::from(ms);
        let t = &mut self.talk;
        t.total_ms += ms;
        if on_hold {
            t.hold_ms += ms;
            self.hold_run_ms += ms;
            t.longest_hold_ms = t.longest_hold_ms.max(self.hold_run_ms);
            self.silence_run_ms = 0;
            return;
        }
        self.hold_run_ms = 0;
        if caller_speaking {
            t.caller_ms += ms;
        }
        if agent_speaking {
            t.agent_ms += ms;
        }
        match (caller_speaking, agent_speaking) {
            (true, true) => {
                t.overlap_ms += ms;
                self.silence_run_ms = 0;
            }
            (false, false) => {
                t.silence_ms += ms;
                self.silence_run_ms += ms;
                t.longest_silence_ms = t.longest_silence_ms.max(self.silence_run_ms);
            }
            _ => self.silence_run_ms = 0,
        }
    }

    /// Counts one barge-in: the caller interrupted a prompt.
    pub fn barge_in(&mut self) {
        self.talk.barge_ins += 1;
    }

    /// The figures so far (a run still going counts as far as it went).
    pub fn talk(&self) -> Talk {
        self.talk.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` frames of 20 ms.
    fn frames(m: &mut TalkMeter, n: u32, caller: bool, agent: bool, hold: bool) {
        for _ in 0..n {
            m.frame(20, caller, agent, hold);
        }
    }

    #[test]
    fn speech_overlap_and_silence_add_up() {
        let mut m = TalkMeter::new();
        frames(&mut m, 50, false, true, false); // kefu 1 s
        frames(&mut m, 10, true, true, false); // talk-over 200 ms
        frames(&mut m, 25, true, false, false); // caller 500 ms
        frames(&mut m, 15, false, false, false); // silence 300 ms
        let t = m.talk();
        assert_eq!(t.total_ms, 2000);
        assert_eq!(t.agent_ms, 1200);
        assert_eq!(t.caller_ms, 700);
        assert_eq!(t.overlap_ms, 200);
        assert_eq!(t.silence_ms, 300);
        assert_eq!(t.longest_silence_ms, 300);
        assert_eq!(t.hold_ms, 0);
        assert!((t.silence_ratio() - 0.15).abs() < 1e-9);
    }

    #[test]
    fn longest_silence_is_the_longest_run_not_the_sum() {
        let mut m = TalkMeter::new();
        frames(&mut m, 30, false, false, false); // 600 ms
        frames(&mut m, 5, true, false, false);
        frames(&mut m, 100, false, false, false); // 2 s
        frames(&mut m, 5, false, true, false);
        frames(&mut m, 40, false, false, false); // 800 ms
        let t = m.talk();
        assert_eq!(t.silence_ms, 3400);
        assert_eq!(t.longest_silence_ms, 2000);
    }

    #[test]
    fn hold_is_neither_silence_nor_talk_and_breaks_silence_runs() {
        let mut m = TalkMeter::new();
        frames(&mut m, 10, false, false, false); // 200 ms silence
        frames(&mut m, 150, true, true, true); // 3 s hold, music heard as speech
        frames(&mut m, 10, false, false, false); // 200 ms silence
        frames(&mut m, 5, false, true, false);
        frames(&mut m, 50, false, false, true); // 1 s hold
        let t = m.talk();
        assert_eq!(t.hold_ms, 4000);
        assert_eq!(t.longest_hold_ms, 3000);
        assert_eq!(t.silence_ms, 400);
        assert_eq!(t.longest_silence_ms, 200);
        assert_eq!(t.caller_ms, 0);
        assert_eq!(t.overlap_ms, 0);
        assert_eq!(t.agent_ms, 100);
        assert_eq!(t.total_ms, 4500);
        assert!((t.silence_ratio() - 0.8).abs() < 1e-9);
    }

    #[test]
    fn barge_ins_are_counted_and_an_empty_meter_is_zero() {
        let mut m = TalkMeter::new();
        assert_eq!(m.talk(), Talk::default());
        assert_eq!(m.talk().silence_ratio(), 0.0);
        m.barge_in();
        m.barge_in();
        assert_eq!(m.talk().barge_ins, 2);
    }
}
