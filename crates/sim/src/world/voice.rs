//! Scripted speech services: the world answers the engine's
//! [`Output::Transcribe`] and [`Output::Synthesize`] the way the shell's
//! worker pool would, after virtual delays, so whole spoken turns run on
//! virtual time.
//!
//! **Words are tones.** A phone "says" a word as a sine at the word's own
//! frequency ([`World::say`]); the scripted recogniser finds, frame by
//! frame, which word's frequency dominates the audio it is given, so a
//! transcript holds exactly the words in that audio: a speculative
//! transcript of the first half of an utterance has only the first words.
//! **Speech is a tone too.** A synthesis is answered with a sine at
//! [`SpeechServices::tts_freq`] lasting `tts_per_char` per character, in
//! chunks of `tts_chunk`: the first after `tts_first_audio`, the next ones
//! `tts_chunk_delay` apart, then `End`.
//!
//! Not here: real recognition or synthesis (the shell's engines).

use std::time::{Duration, Instant};

use kefu_core::engine::{
    CallEvent, CallId, Input, Output, SpeechChunk, SpeechId, TranscribeKind, UttId,
};
use kefu_core::media::g711::{self, Law};
use kefu_core::media::tone::{Tone, ToneGenerator};
use kefu_core::media::Hz;
use kefu_core::rtp::packet::RtpPacket;
use kefu_core::vad::energy::level_dbfs;

use super::World;
use crate::audio::tone_power;
use crate::phone::FRAME;
use crate::PhoneId;

/// Frequencies given to words, in order of first use (kept clear of the
/// synthesizer's tone and of the fixture's prompts).
const WORD_FREQS: [u32; 12] = [
    500, 650, 800, 1200, 1350, 1550, 1700, 1850, 2000, 2150, 2300, 2450,
];
/// Peak level of a phone's spoken words.
pub const WORD_DBFS: f32 = -9.0;
/// Frames quieter than this hold no word.
const WORD_FLOOR_DBFS: f32 = -35.0;

/// How the scripted recogniser and synthesizer behave.
#[derive(Debug, Clone)]
pub struct SpeechServices {
    /// Time from a transcription request to its answer.
    pub asr_delay: Duration,
    /// Time from a synthesis request to its first audio.
    pub tts_first_audio: Duration,
    /// Time between later chunks (faster than real time when shorter than
    /// `tts_chunk`).
    pub tts_chunk_delay: Duration,
    /// Audio per chunk.
    pub tts_chunk: Duration,
    /// Audio per character of text.
    pub tts_per_char: Duration,
    /// Frequency of synthesized speech.
    pub tts_freq: u32,
    /// Peak level of synthesized speech.
    pub tts_level_dbfs: f32,
    /// Stop sending chunks of a cancelled synthesis (false: keep sending,
    /// as a shell whose cancel raced the last chunks would).
    pub honour_cancel: bool,
}

impl Default for SpeechServices {
    /// 200 ms recognition; first audio after 100 ms, 400 ms chunks every
    /// 100 ms, 40 ms per character, 1000 Hz at −12 dBFS.
    fn default() -> Self {
        SpeechServices {
            asr_delay: Duration::from_millis(200),
            tts_first_audio: Duration::from_millis(100),
            tts_chunk_delay: Duration::from_millis(100),
            tts_chunk: Duration::from_millis(400),
            tts_per_char: Duration::from_millis(40),
            tts_freq: 1000,
            tts_level_dbfs: -12.0,
            honour_cancel: true,
        }
    }
}

/// A speech request the engine made, as the world logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpeechRequest {
    /// [`Output::Transcribe`], with the transcript the world will answer.
    Transcribe {
        /// The utterance.
        utt: UttId,
        /// Speculative or final.
        kind: TranscribeKind,
        /// Samples of audio.
        samples: usize,
        /// What the scripted recogniser made of it (`Err` when told to
        /// fail).
        text: Result<String, String>,
    },
    /// [`Output::Synthesize`].
    Synthesize {
        /// The request.
        req: SpeechId,
        /// The text.
        text: String,
    },
    /// [`Output::CancelSynthesis`].
    Cancel {
        /// The request.
        req: SpeechId,
    },
    /// [`Output::CancelTranscription`]; the scripted recogniser answers
    /// anyway (a real one may have finished already), and the engine must
    /// ignore it.
    Stale {
        /// The utterance.
        utt: UttId,
    },
}

/// An answer scheduled for the engine.
#[derive(Debug)]
pub(super) enum Answer {
    Transcript {
        call: CallId,
        utt: UttId,
        result: Result<String, String>,
    },
    Speech {
        call: CallId,
        req: SpeechId,
        chunk: SpeechChunk,
    },
}

/// The world's speech services state.
#[derive(Debug, Default)]
pub(super) struct Services {
    pub(super) config: SpeechServices,
    words: Vec<String>,
    fail_asr: u32,
    fail_tts: u32,
    /// Answers by due time, then order of scheduling.
    pending: std::collections::BTreeMap<(Instant, u64), Answer>,
    seq: u64,
}

impl Services {
    fn schedule(&mut self, at: Instant, a: Answer) {
        self.seq += 1;
        self.pending.insert((at, self.seq), a);
    }

    pub(super) fn next_due(&self) -> Option<Instant> {
        self.pending.keys().next().map(|k| k.0)
    }

    fn word_freq(&mut self, word: &str) -> u32 {
        let w = word.to_lowercase();
        let i = match self.words.iter().position(|x| *x == w) {
            Some(i) => i,
            None => {
                self.words.push(w);
                self.words.len() - 1
            }
        };
        WORD_FREQS[i % WORD_FREQS.len()]
    }

    /// The words in `audio`: runs of at least two frames dominated by one
    /// word's frequency, a new word at each change or after silence.
    fn recognise(&self, audio: &[i16]) -> String {
        let freqs = &WORD_FREQS[..self.words.len().min(WORD_FREQS.len())];
        let mut out: Vec<usize> = Vec::new();
        let mut run: Option<(usize, u32)> = None;
        let keep = |run: Option<(usize, u32)>, out: &mut Vec<usize>| {
            if let Some((i, n)) = run {
                if n >= 2 {
                    out.push(i);
                }
            }
        };
        for f in audio.chunks(FRAME) {
            let word = if level_dbfs(f) > WORD_FLOOR_DBFS {
                freqs
                    .iter()
                    .enumerate()
                    .map(|(i, fr)| (i, tone_power(f, *fr, 8000)))
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i)
            } else {
                None
            };
            run = match (run, word) {
                (Some((i, n)), Some(w)) if i == w => Some((i, n + 1)),
                (r, w) => {
                    keep(r, &mut out);
                    w.map(|w| (w, 1))
                }
            };
        }
        keep(run, &mut out);
        let words: Vec<&str> = out.iter().map(|&i| self.words[i].as_str()).collect();
        words.join(" ")
    }

    fn synthesize(&self, text: &str) -> Vec<i16> {
        let ms = self.config.tts_per_char.as_micros() * text.chars().count() as u128 / 1000;
        let mut pcm = vec![0; ms as usize * 8];
        let tone = Tone::Sine {
            freq: self.config.tts_freq,
            level_dbfs: self.config.tts_level_dbfs,
        };
        ToneGenerator::new(tone, Hz(8000)).fill(&mut pcm);
        pcm
    }
}

impl World {
    /// The scripted speech services, to change their delays.
    pub fn speech_services(&mut self) -> &mut SpeechServices {
        &mut self.services.config
    }

    /// The next `n` transcriptions fail.
    pub fn fail_transcriptions(&mut self, n: u32) {
        self.services.fail_asr = n;
    }

    /// The next `n` syntheses fail (with no audio).
    pub fn fail_syntheses(&mut self, n: u32) {
        self.services.fail_tts = n;
    }

    /// The tone that stands for `word` (case-insensitive).
    pub fn word_tone(&mut self, word: &str, len: Duration) -> Vec<i16> {
        let freq = self.services.word_freq(word);
        let mut pcm = vec![0; len.as_millis() as usize * 8];
        let tone = Tone::Sine {
            freq,
            level_dbfs: WORD_DBFS,
        };
        ToneGenerator::new(tone, Hz(8000)).fill(&mut pcm);
        pcm
    }

    /// The phone says `text` (whitespace-separated words, sharing `len`
    /// evenly) after whatever it has queued. Returns when its speech ends,
    /// if the phone is sending.
    pub fn say(&mut self, phone: PhoneId, text: &str, len: Duration) -> Option<Instant> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let each = len / words.len().max(1) as u32;
        let mut pcm = Vec::new();
        for w in words {
            pcm.extend(self.word_tone(w, each));
        }
        self.phone_mut(phone).say_samples(&pcm);
        self.phone(phone).queued_until()
    }

    /// The phone is silent for `len` after whatever it has queued.
    pub fn pause(&mut self, phone: PhoneId, len: Duration) -> Option<Instant> {
        let pcm = vec![0; len.as_millis() as usize * 8];
        self.phone_mut(phone).say_samples(&pcm);
        self.phone(phone).queued_until()
    }

    /// What the caller said, as reported by [`CallEvent::Heard`].
    pub fn heard(&self, call: CallId) -> Vec<String> {
        self.events(call)
            .into_iter()
            .filter_map(|e| match e {
                CallEvent::Heard { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }

    /// What kefu said, as reported by [`CallEvent::Said`].
    pub fn said(&self, call: CallId) -> Vec<String> {
        self.events(call)
            .into_iter()
            .filter_map(|e| match e {
                CallEvent::Said(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// Send time and level (dBFS) of each PCMU packet kefu sent on `call`.
    pub fn sent_levels(&self, call: CallId) -> Vec<(Instant, f32)> {
        let mut pcm = Vec::with_capacity(FRAME);
        self.sent_rtp(call)
            .iter()
            .filter_map(|s| {
                let p = RtpPacket::parse(&s.data).ok()?;
                if p.header.payload_type != crate::phone::PT_PCMU {
                    return None;
                }
                pcm.clear();
                g711::decode(Law::Mu, p.payload, &mut pcm);
                Some((s.at, level_dbfs(&pcm)))
            })
            .collect()
    }

    /// Runs until the phone has heard kefu speak (louder than −40 dBFS)
    /// since now and then 200 ms of silence; false if `max` passed first.
    pub fn run_until_kefu_done(&mut self, phone: PhoneId, max: Duration) -> bool {
        let from = self.now();
        self.run_until(
            |w| {
                let l = w.phone(phone).levels();
                let Some(i) = l.iter().position(|(t, v)| *t >= from && *v > -40.0) else {
                    return false;
                };
                let tail = &l[i..];
                tail.len() > 10 && tail[tail.len() - 10..].iter().all(|(_, v)| *v < -60.0)
            },
            max,
        )
    }

    /// Speech requests the engine made for `call`, with their times.
    pub fn speech_requests(&self, call: CallId) -> Vec<(Instant, SpeechRequest)> {
        self.calls
            .get(&call)
            .map(|l| l.speech.clone())
            .unwrap_or_default()
    }

    /// Performs a speech output of the engine: logs it and schedules the
    /// answers.
    pub(super) fn on_speech_output(&mut self, now: Instant, o: Output) {
        let (call, req) = match o {
            Output::Transcribe {
                call,
                utt,
                kind,
                audio,
            } => {
                let text = if self.services.fail_asr > 0 {
                    self.services.fail_asr -= 1;
                    Err("scripted failure".to_string())
                } else {
                    Ok(self.services.recognise(&audio))
                };
                let at = now + self.services.config.asr_delay;
                self.services.schedule(
                    at,
                    Answer::Transcript {
                        call,
                        utt,
                        result: text.clone(),
                    },
                );
                let r = SpeechRequest::Transcribe {
                    utt,
                    kind,
                    samples: audio.len(),
                    text,
                };
                (call, r)
            }
            Output::Synthesize { call, req, text } => {
                self.schedule_speech(now, call, req, &text);
                (call, SpeechRequest::Synthesize { req, text })
            }
            Output::CancelSynthesis { call, req } => {
                let keep_all = !self.services.config.honour_cancel;
                self.services.pending.retain(|_, a| {
                    keep_all
                        || !matches!(a, Answer::Speech { call: c, req: r, .. } if *c == call && *r == req)
                });
                (call, SpeechRequest::Cancel { req })
            }
            Output::CancelTranscription { call, utt } => (call, SpeechRequest::Stale { utt }),
            _ => return,
        };
        if let Some(log) = self.calls.get_mut(&call) {
            log.speech.push((now, req));
        }
    }

    fn schedule_speech(&mut self, now: Instant, call: CallId, req: SpeechId, text: &str) {
        let cfg = self.services.config.clone();
        let mut at = now + cfg.tts_first_audio;
        if self.services.fail_tts > 0 {
            self.services.fail_tts -= 1;
            let chunk = SpeechChunk::Failed("scripted failure".into());
            self.services
                .schedule(at, Answer::Speech { call, req, chunk });
            return;
        }
        let pcm = self.services.synthesize(text);
        let per = (cfg.tts_chunk.as_millis() as usize * 8).max(FRAME);
        for c in pcm.chunks(per) {
            let chunk = SpeechChunk::Audio(c.to_vec());
            self.services
                .schedule(at, Answer::Speech { call, req, chunk });
            at += cfg.tts_chunk_delay;
        }
        let chunk = SpeechChunk::End;
        self.services
            .schedule(at, Answer::Speech { call, req, chunk });
    }

    /// Feeds the engine every answer due at or before `now`.
    pub(super) fn answer_due(&mut self, now: Instant) {
        while let Some(entry) = self.services.pending.first_entry() {
            if entry.key().0 > now {
                return;
            }
            let a = entry.remove();
            let input = match a {
                Answer::Transcript { call, utt, result } => Input::Transcript {
                    now,
                    call,
                    utt,
                    result,
                },
                Answer::Speech { call, req, chunk } => Input::Speech {
                    now,
                    call,
                    req,
                    chunk,
                },
            };
            self.engine.handle_input(input);
            self.drain();
        }
    }
}
