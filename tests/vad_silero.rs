//! Silero VAD with the real model on real recorded speech over a telephone
//! line (16 kHz recordings resampled to 8 kHz and passed through G.711
//! µ-law), driving the core's endpointer exactly as a call does: the
//! utterances it finds must match the speech in the recordings, and noise
//! must not be speech.
//!
//! The recordings are Debian's `pocketsphinx-testdata` (BSD-2-Clause;
//! `make deps` installs it); the model comes from `make models`. Set
//! KEFU_SKIP_MODEL_TESTS=1 to skip where they cannot be had.
#![cfg(feature = "speech")]

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::recordings;
use kefu::engines::silero::{default_model_path, SileroFactory, SileroModel};
use kefu_core::media::g711::{ulaw_decode, ulaw_encode};
use kefu_core::vad::endpoint::{EndpointConfig, EndpointEvent, Endpointer};
use kefu_core::vad::{DetectorFactory, FRAME, FRAME_SAMPLES};

/// Whether the model and the recordings are here (panics with the fix
/// when not, unless KEFU_SKIP_MODEL_TESTS is set).
fn inputs_present() -> bool {
    recordings::present(&[default_model_path(), recordings::path("goforward.raw")])
}

fn factory() -> SileroFactory {
    let model = SileroModel::load(&default_model_path()).expect("Silero model loads");
    SileroFactory::new(Arc::new(model))
}

/// A 16 kHz recording as the phone line delivers it.
fn phone_audio(name: &str) -> Vec<i16> {
    recordings::phone_line(&recordings::raw_16k(name))
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 8]
}

/// First and last 20 ms frame (in ms from the start of `clip`) whose level
/// is within 26 dB of the loudest frame: where the speech is.
fn speech_span(clip: &[i16]) -> (usize, usize) {
    let rms: Vec<f64> = clip
        .chunks(FRAME_SAMPLES)
        .map(|f| (f.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / f.len() as f64).sqrt())
        .collect();
    let peak = rms.iter().copied().fold(0.0, f64::max);
    let loud = |r: &f64| *r > (peak / 20.0).max(300.0);
    let first = rms.iter().position(loud).expect("speech");
    let last = rms.iter().rposition(loud).expect("speech");
    (first * 20, (last + 1) * 20)
}

/// Utterances (start, end, in ms) the endpointer finds in `audio` when it
/// listens with `detector`, frame by frame as a call's tick does.
fn utterances(factory: &dyn DetectorFactory, audio: &[i16]) -> Vec<(u128, u128)> {
    let mut detector = factory.create();
    let mut endpointer = Endpointer::new(EndpointConfig::default()).expect("defaults");
    let t0 = Instant::now();
    let mut found = Vec::new();
    let tail = vec![0i16; 1_000 * 8];
    for (i, frame) in audio
        .chunks(FRAME_SAMPLES)
        .chain(tail.chunks(FRAME_SAMPLES))
        .enumerate()
    {
        let mut f = [0i16; FRAME_SAMPLES];
        f[..frame.len()].copy_from_slice(frame);
        let now = t0 + FRAME * i as u32;
        if let Some(EndpointEvent::UtteranceEnded { start, end }) =
            endpointer.push(now, detector.push(&f))
        {
            found.push(((start - t0).as_millis(), (end - t0).as_millis()));
        }
    }
    found
}

#[test]
fn two_recordings_with_a_pause_are_two_utterances_where_the_speech_is() {
    if !inputs_present() {
        return;
    }
    let a = phone_audio("goforward.raw");
    let b = phone_audio("numbers.raw");
    let (a0, a1) = speech_span(&a);
    let (b0, b1) = speech_span(&b);
    // 800 ms of line silence, A, 1.5 s, B.
    let lead = 800;
    let gap = 1_500;
    let mut audio = silence(lead);
    audio.extend(&a);
    audio.extend(silence(gap));
    let b_at = lead + a.len() / 8 + gap;
    audio.extend(&b);
    let found = utterances(&factory(), &audio);
    assert_eq!(found.len(), 2, "utterances {found:?}");
    let want = [(lead + a0, lead + a1), (b_at + b0, b_at + b1)];
    for ((s, e), (ws, we)) in found.iter().zip(want) {
        // Starting late or ending early would cut words off: at most 150 ms
        // (the detector's window, soft onsets under the energy cut).
        // Starting early or ending late only hands the recogniser a little
        // more audio: up to 300 ms (breaths, lip noise, the line's noise
        // starting after digital silence).
        let (s, e) = (*s as i64, *e as i64);
        let (ws, we) = (ws as i64, we as i64);
        assert!(
            (-300..=150).contains(&(s - ws)),
            "start {s} ms, speech from {ws} ms ({found:?})"
        );
        assert!(
            (-150..=300).contains(&(e - we)),
            "end {e} ms, speech until {we} ms ({found:?})"
        );
    }
}

#[test]
fn noise_on_the_line_is_not_speech() {
    if !inputs_present() {
        return;
    }
    // Three seconds of white noise at about -30 dBFS, then a 1 kHz tone:
    // loud, steady, and not a voice.
    let mut x: u32 = 12345;
    let mut audio: Vec<i16> = (0..3 * 8000)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 16) as i16 as i32 / 16) as i16
        })
        .collect();
    audio.extend((0..2 * 8000).map(|n| {
        let t = f64::from(n) / 8000.0;
        (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
    }));
    let audio: Vec<i16> = audio
        .into_iter()
        .map(|s| ulaw_decode(ulaw_encode(s)))
        .collect();
    let found = utterances(&factory(), &audio);
    assert!(found.is_empty(), "noise taken for speech: {found:?}");
}

#[test]
fn a_detector_starts_fresh_after_reset_and_costs_little() {
    if !inputs_present() {
        return;
    }
    let f = factory();
    let mut d = f.create();
    let speech = phone_audio("goforward.raw");
    let started = Instant::now();
    let probs: Vec<f32> = speech
        .chunks_exact(FRAME_SAMPLES)
        .map(|fr| d.push(fr))
        .collect();
    let per_frame = started.elapsed() / probs.len() as u32;
    assert!(probs.iter().any(|&p| p > 0.8), "no confident speech frame");
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)));
    // Mid-word, then reset: the next frames are judged afresh (silence).
    d.reset();
    let after: Vec<f32> = (0..10).map(|_| d.push(&[0; FRAME_SAMPLES])).collect();
    assert!(after.iter().all(|&p| p < 0.2), "{after:?}");
    // A figure for the log, not a pass/fail threshold.
    eprintln!("Silero VAD: {per_frame:?} per 20 ms frame");
}

#[test]
fn wideband_frames_are_scored_too() {
    if !inputs_present() {
        return;
    }
    use kefu::engines::silero::Silero;
    use kefu_core::vad::SpeechDetector;
    let model = Arc::new(SileroModel::load(&default_model_path()).expect("model"));
    assert!(Silero::with_rate(model.clone(), 44_100).is_none());
    let mut d = Silero::with_rate(model, 16_000).expect("16 kHz");
    // The 16 kHz original, 20 ms (320-sample) frames, after 1 s of silence.
    let mut pcm = vec![0i16; 16_000];
    pcm.extend(recordings::raw_16k("goforward.raw"));
    let probs: Vec<f32> = pcm.chunks_exact(320).map(|f| d.push(f)).collect();
    // Silence first, then confident speech.
    assert!(probs[..40].iter().all(|&p| p < 0.2), "{:?}", &probs[..40]);
    let speech = probs.iter().filter(|&&p| p > 0.8).count();
    assert!(speech >= 40, "{speech} confident frames of {}", probs.len());
}
