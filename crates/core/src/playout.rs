//! The per-call playout queue: what the agent says, one 20 ms frame at a time.
//!
//! A call owns one [`Playout`]. The dialogue queues [`Source`]s (prompt audio,
//! tones, silence); every tick of the call's 20 ms clock takes exactly one
//! frame. Because kefu, not the peer, owns this clock, [`Playout::flush`]
//! silences the agent within one frame (barge-in, DTMF interrupting a prompt).
//!
//! A [`Source::Stream`] (opened with [`Playout::open_stream`]) is audio that
//! arrives while it plays: synthesized speech, chunk by chunk. Its chunks
//! are [`Playout::append`]ed as they come; while it waits for the next one
//! the agent plays silence and the stream still counts as playing (kefu has
//! the floor, and nothing queued after it starts early). It finishes only
//! once [`Playout::close`]d and drained.
//!
//! Not here: encoding (see [`crate::media::g711`]) and RTP timing (see
//! [`crate::call`]).

use std::collections::VecDeque;
use std::sync::Arc;

use crate::media::tone::{Tone, ToneGenerator};
use crate::media::Hz;

/// Audio the agent can play, already at the call's sample rate.
#[derive(Debug)]
pub enum Source {
    /// Recorded audio (a prompt), shared between calls.
    Pcm {
        /// Prompt name, reported back in [`Finished`] for the dialogue.
        name: Arc<str>,
        /// The samples, mono, at the call's rate.
        samples: Arc<[i16]>,
    },
    /// A generated tone or silence lasting `samples` samples.
    Tone {
        /// What to generate.
        tone: Tone,
        /// How long, in samples.
        samples: usize,
    },
    /// Audio appended over time with [`Playout::append`] until
    /// [`Playout::close`]; pushing it opens the stream.
    Stream,
}

/// Reported when a queued source has been played to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The id given by [`Playout::push`].
    pub id: u64,
}

enum Active {
    Pcm { samples: Arc<[i16]>, pos: usize },
    Tone { gen: ToneGenerator, left: usize },
    Stream,
}

/// The audio of an open stream not yet played.
#[derive(Default)]
struct Stream {
    pending: VecDeque<i16>,
    closed: bool,
}

/// Queue of sources played frame by frame.
pub struct Playout {
    rate: Hz,
    queue: VecDeque<(u64, Source)>,
    current: Option<(u64, Active)>,
    next_id: u64,
    finished: Vec<Finished>,
    streams: Vec<(u64, Stream)>,
    paused: bool,
}

impl std::fmt::Debug for Playout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playout")
            .field("queued", &self.queue.len())
            .field("playing", &self.current.is_some())
            .finish()
    }
}

impl Playout {
    /// An empty queue producing audio at `rate`.
    pub fn new(rate: Hz) -> Self {
        Playout {
            rate,
            queue: VecDeque::new(),
            current: None,
            next_id: 1,
            finished: Vec::new(),
            streams: Vec::new(),
            paused: false,
        }
    }

    /// Queues a source after everything already queued; returns its id.
    pub fn push(&mut self, source: Source) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        if matches!(source, Source::Stream) {
            self.streams.push((id, Stream::default()));
        }
        self.queue.push_back((id, source));
        id
    }

    /// Queues an empty [`Source::Stream`] and returns its id.
    pub fn open_stream(&mut self) -> u64 {
        self.push(Source::Stream)
    }

    /// Appends samples to open stream `id`, queued or playing. Returns
    /// false (and drops them) for a stream closed, finished or flushed.
    pub fn append(&mut self, id: u64, samples: &[i16]) -> bool {
        match self.stream_mut(id) {
            Some(s) if !s.closed => {
                s.pending.extend(samples.iter().copied());
                true
            }
            _ => false,
        }
    }

    /// Marks stream `id` complete: it finishes once what it holds has
    /// played. Returns false for an unknown (finished or flushed) stream.
    pub fn close(&mut self, id: u64) -> bool {
        match self.stream_mut(id) {
            Some(s) => {
                s.closed = true;
                true
            }
            None => false,
        }
    }

    fn stream_mut(&mut self, id: u64) -> Option<&mut Stream> {
        self.streams
            .iter_mut()
            .find(|(i, _)| *i == id)
            .map(|(_, s)| s)
    }

    /// Drops everything queued or playing, open streams included; the next
    /// frame is silence. Flushed sources are not reported as finished.
    pub fn flush(&mut self) {
        self.queue.clear();
        self.current = None;
        self.streams.clear();
        self.paused = false;
    }

    /// Holds playback where it is: frames are silence and nothing advances
    /// until [`Playout::resume`] (or a flush). Sources may still be queued
    /// and streams appended to meanwhile.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Plays on from where [`Playout::pause`] held.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// True while held by [`Playout::pause`].
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// True while anything is playing or queued.
    pub fn is_busy(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// Sources that reached their end since the last call.
    pub fn take_finished(&mut self) -> Vec<Finished> {
        std::mem::take(&mut self.finished)
    }

    /// Fills `out` with the next frame. Returns false (and writes silence)
    /// when nothing is playing, so the caller may choose not to send.
    pub fn next_frame(&mut self, out: &mut [i16]) -> bool {
        if self.paused {
            out.fill(0);
            return false;
        }
        let mut filled = 0;
        let mut any = false;
        while filled < out.len() {
            if self.current.is_none() && !self.start_next() {
                break;
            }
            any = true;
            let Some((id, active)) = self.current.as_mut() else {
                break;
            };
            let done = match active {
                Active::Pcm { samples, pos } => {
                    let n = (samples.len() - *pos).min(out.len() - filled);
                    out[filled..filled + n].copy_from_slice(&samples[*pos..*pos + n]);
                    *pos += n;
                    filled += n;
                    *pos >= samples.len()
                }
                Active::Tone { gen, left } => {
                    let n = (*left).min(out.len() - filled);
                    gen.fill(&mut out[filled..filled + n]);
                    *left -= n;
                    filled += n;
                    *left == 0
                }
                Active::Stream => {
                    let id = *id;
                    let Some(s) = self.streams.iter_mut().find(|(i, _)| *i == id) else {
                        break;
                    };
                    let s = &mut s.1;
                    let n = s.pending.len().min(out.len() - filled);
                    for (o, v) in out[filled..filled + n].iter_mut().zip(s.pending.drain(..n)) {
                        *o = v;
                    }
                    filled += n;
                    if !s.closed && s.pending.is_empty() {
                        // Waiting for the next chunk: silence, still ours.
                        break;
                    }
                    let done = s.closed && s.pending.is_empty();
                    if done {
                        self.streams.retain(|(i, _)| *i != id);
                    }
                    done
                }
            };
            if done {
                if let Some((id, _)) = self.current.take() {
                    self.finished.push(Finished { id });
                }
            }
        }
        out[filled..].fill(0);
        any
    }

    fn start_next(&mut self) -> bool {
        let Some((id, source)) = self.queue.pop_front() else {
            return false;
        };
        let active = match source {
            Source::Pcm { samples, .. } => Active::Pcm { samples, pos: 0 },
            Source::Tone { tone, samples } => Active::Tone {
                gen: ToneGenerator::new(tone, self.rate),
                left: samples,
            },
            Source::Stream => Active::Stream,
        };
        self.current = Some((id, active));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcm(n: usize, v: i16) -> Source {
        Source::Pcm {
            name: "p".into(),
            samples: vec![v; n].into(),
        }
    }

    #[test]
    fn sources_play_back_to_back_across_frames() {
        let mut p = Playout::new(Hz(8000));
        let a = p.push(pcm(100, 1));
        let b = p.push(pcm(100, 2));
        let mut f = [9i16; 160];
        assert!(p.next_frame(&mut f));
        assert_eq!(&f[..100], &[1; 100][..]);
        assert_eq!(&f[100..], &[2; 60][..]);
        assert_eq!(p.take_finished(), vec![Finished { id: a }]);
        assert!(p.next_frame(&mut f));
        assert_eq!(&f[..40], &[2; 40][..]);
        assert_eq!(&f[40..], &[0; 120][..]);
        assert_eq!(p.take_finished(), vec![Finished { id: b }]);
        assert!(!p.next_frame(&mut f));
        assert_eq!(f, [0; 160]);
    }

    #[test]
    fn pause_holds_the_position_and_resume_plays_on() {
        let mut p = Playout::new(Hz(8000));
        let ramp: Vec<i16> = (0..480).map(|i| i as i16).collect();
        p.push(Source::Pcm {
            name: "ramp".into(),
            samples: ramp.into(),
        });
        let mut f = [0i16; 160];
        assert!(p.next_frame(&mut f));
        p.pause();
        for _ in 0..5 {
            f = [7; 160];
            assert!(!p.next_frame(&mut f));
            assert_eq!(f, [0; 160]);
        }
        assert!(p.is_busy() && p.is_paused());
        p.resume();
        assert!(p.next_frame(&mut f));
        assert_eq!((f[0], f[159]), (160, 319));
        p.pause();
        p.flush();
        assert!(!p.is_paused());
    }

    #[test]
    fn flush_silences_the_next_frame() {
        let mut p = Playout::new(Hz(8000));
        p.push(pcm(8000, 5));
        let mut f = [0i16; 160];
        p.next_frame(&mut f);
        p.flush();
        assert!(!p.is_busy());
        assert!(!p.next_frame(&mut f));
        assert_eq!(f, [0; 160]);
        assert!(p.take_finished().is_empty());
    }

    #[test]
    fn a_stream_plays_chunks_as_they_come_and_finishes_when_closed() {
        let mut p = Playout::new(Hz(8000));
        let s = p.open_stream();
        let after = p.push(pcm(160, 7));
        let mut f = [9i16; 160];
        // Nothing yet: silence, but the stream holds the floor.
        assert!(p.next_frame(&mut f));
        assert_eq!(f, [0; 160]);
        assert!(p.append(s, &[3; 100]));
        assert!(p.next_frame(&mut f));
        assert_eq!(&f[..100], &[3; 100][..]);
        assert_eq!(&f[100..], &[0; 60][..]);
        assert!(p.take_finished().is_empty());
        assert!(p.append(s, &[4; 200]));
        assert!(p.close(s));
        assert!(!p.append(s, &[5; 10]), "closed streams take no more");
        assert!(p.next_frame(&mut f));
        assert_eq!(f, [4; 160]);
        assert!(p.next_frame(&mut f));
        assert_eq!(&f[..40], &[4; 40][..]);
        assert_eq!(&f[40..], &[7; 120][..]);
        assert_eq!(p.take_finished(), vec![Finished { id: s }]);
        assert!(p.next_frame(&mut f));
        assert_eq!(p.take_finished(), vec![Finished { id: after }]);
    }

    #[test]
    fn a_closed_empty_stream_finishes_at_once_and_flush_drops_streams() {
        let mut p = Playout::new(Hz(8000));
        let s = p.open_stream();
        p.close(s);
        let mut f = [0i16; 160];
        p.next_frame(&mut f);
        assert_eq!(p.take_finished(), vec![Finished { id: s }]);
        let t = p.open_stream();
        assert!(p.append(t, &[1; 500]));
        p.next_frame(&mut f);
        p.flush();
        assert!(!p.append(t, &[1; 10]));
        assert!(!p.close(t));
        assert!(!p.next_frame(&mut f));
        assert!(p.take_finished().is_empty());
    }

    #[test]
    fn tone_lasts_its_length() {
        let mut p = Playout::new(Hz(8000));
        let id = p.push(Source::Tone {
            tone: Tone::Silence,
            samples: 320,
        });
        let mut f = [0i16; 160];
        p.next_frame(&mut f);
        assert!(p.take_finished().is_empty());
        p.next_frame(&mut f);
        assert_eq!(p.take_finished(), vec![Finished { id }]);
    }
}

/// The prompts a dialogue can play, by name, at one sample rate.
#[derive(Debug, Clone, Default)]
pub struct Prompts {
    map: std::collections::HashMap<String, Arc<[i16]>>,
}

impl Prompts {
    /// An empty set.
    pub fn new() -> Self {
        Prompts::default()
    }

    /// Adds or replaces a prompt (mono samples at the call rate, 8 kHz).
    pub fn insert(&mut self, name: &str, samples: Vec<i16>) {
        self.map.insert(name.to_string(), samples.into());
    }

    /// A prompt as a playout source.
    pub fn source(&self, name: &str) -> Option<Source> {
        self.map.get_key_value(name).map(|(k, v)| Source::Pcm {
            name: k.as_str().into(),
            samples: v.clone(),
        })
    }

    /// Prompt names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.map.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Number of prompts.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
