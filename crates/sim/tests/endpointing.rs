//! Endpointing on virtual time: where utterances start, pause, resume and
//! end, with what audio, and when the caller says nothing at all. Speech is
//! a tone burst judged by the deterministic energy VAD; every timing is
//! exact to the 20 ms frame, and boundaries inside a frame (10 ms) are dated
//! to the frame that holds them.

use std::time::Duration;

use kefu_core::vad::endpoint::{AudioKind, EndpointConfig, EndpointEvent};
use kefu_core::vad::BargeInPolicy;
use kefu_sim::rng::Rng;
use kefu_sim::speech::{Line, Script};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The events with every instant turned into time since the start.
#[derive(Debug, PartialEq, Eq)]
enum Ev {
    Started(u64),
    Paused(u64),
    Resumed(u64),
    Ended(u64, u64),
    Cut(u64, u64),
    NoInput,
}

fn timeline(l: &Line) -> Vec<(u64, Ev)> {
    let t = |i| l.since_start(i).as_millis() as u64;
    l.events()
        .iter()
        .map(|(when, e)| {
            let e = match *e {
                EndpointEvent::SpeechStarted { at } => Ev::Started(t(at)),
                EndpointEvent::PauseStarted { at } => Ev::Paused(t(at)),
                EndpointEvent::SpeechResumed { at } => Ev::Resumed(t(at)),
                EndpointEvent::UtteranceEnded { start, end } => Ev::Ended(t(start), t(end)),
                EndpointEvent::MaxLengthReached { start, end } => Ev::Cut(t(start), t(end)),
                EndpointEvent::NoInputTimeout => Ev::NoInput,
            };
            (when.as_millis() as u64, e)
        })
        .collect()
}

#[test]
fn utterance_end_comes_end_hangover_after_the_last_speech_frame() {
    let caller = Script::new()
        .silence(500)
        .speech(1200)
        .silence(2000)
        .build();
    let mut l = Line::new(caller);
    l.run(ms(3700));
    assert_eq!(
        timeline(&l),
        vec![
            // Confirmed after 60 ms, dated at the first speech frame.
            (540, Ev::Started(500)),
            // 100 ms of silence: start the speculative transcription.
            (1780, Ev::Paused(1700)),
            // Last speech frame at 1680; 600 ms later.
            (2280, Ev::Ended(500, 1700)),
        ]
    );
    let audio = l.audio();
    assert_eq!(audio.len(), 2);
    assert_eq!(audio[0].1.kind, AudioKind::Speculative);
    assert_eq!(audio[1].1.kind, AudioKind::Final);
    // 200 ms pre-roll plus 1.2 s of speech, both times.
    assert_eq!(audio[0].1.samples.len(), 1400 * 8);
    assert_eq!(audio[1].1.samples, audio[0].1.samples);
    let pre_roll = &audio[1].1.samples[..200 * 8];
    assert!(pre_roll.iter().all(|&s| s == 0));
    assert!(audio[1].1.samples[200 * 8..].iter().any(|&s| s != 0));
}

#[test]
fn boundaries_inside_a_frame_are_dated_to_that_frame() {
    // Speech from 510 ms to 1710 ms: both edges are mid-frame.
    let caller = Script::new()
        .silence(510)
        .speech(1200)
        .silence(1500)
        .build();
    let mut l = Line::new(caller);
    l.run(ms(3200));
    assert_eq!(
        timeline(&l),
        vec![
            (540, Ev::Started(500)),
            (1800, Ev::Paused(1720)),
            (2300, Ev::Ended(500, 1720)),
        ]
    );
    // Start at most 10 ms early, end at most 10 ms late.
    let (start, end) = match timeline(&l)[2].1 {
        Ev::Ended(s, e) => (s, e),
        _ => unreachable!(),
    };
    assert!((500..=510).contains(&start) && (1710..=1720).contains(&end));
}

#[test]
fn speculative_transcription_at_each_pause_superseded_on_resume() {
    let caller = Script::new()
        .silence(300)
        .speech(800) // 300..1100
        .silence(300) // a pause shorter than the end hangover
        .speech(600) // 1400..2000
        .silence(1000)
        .build();
    let mut l = Line::new(caller);
    l.run(ms(3000));
    assert_eq!(
        timeline(&l),
        vec![
            (340, Ev::Started(300)),
            (1180, Ev::Paused(1100)),
            (1440, Ev::Resumed(1400)),
            (2080, Ev::Paused(2000)),
            (2580, Ev::Ended(300, 2000)),
        ]
    );
    let kinds: Vec<_> = l
        .audio()
        .iter()
        .map(|(t, a)| (t.as_millis(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (1180, AudioKind::Speculative),
            (2080, AudioKind::Speculative),
            (2580, AudioKind::Final),
        ]
    );
    let a = &l.audio()[0].1.samples;
    let b = &l.audio()[1].1.samples;
    let fin = &l.audio()[2].1.samples;
    // The first guess covers the first phrase only; the final one both.
    assert_eq!(a.len(), (200 + 800) * 8);
    assert_eq!(fin.len(), (200 + 1700) * 8);
    assert_eq!(&fin[..a.len()], &a[..]);
    assert_eq!(fin, b);
}

#[test]
fn speech_longer_than_max_utterance_is_cut_and_goes_on() {
    let caller = Script::new()
        .silence(200)
        .speech(25_000)
        .silence(1000)
        .build();
    let mut l = Line::new(caller);
    l.run(ms(26_200));
    assert_eq!(
        timeline(&l),
        vec![
            (240, Ev::Started(200)),
            // The 1000th frame of the utterance: cut at exactly 20 s.
            (20_180, Ev::Cut(200, 20_200)),
            (20_240, Ev::Started(20_200)),
            (25_280, Ev::Paused(25_200)),
            (25_780, Ev::Ended(20_200, 25_200)),
        ]
    );
    let finals: Vec<usize> = l
        .audio()
        .iter()
        .filter(|(_, a)| a.kind == AudioKind::Final)
        .map(|(_, a)| a.samples.len())
        .collect();
    // The cut utterance is transcribed whole (with its pre-roll); the rest
    // follows with the cut as its pre-roll.
    assert_eq!(finals, vec![20_200 * 8, 5_200 * 8]);
}

#[test]
fn no_input_timeout_fires_once_when_the_caller_stays_silent() {
    let mut l = Line::new(Vec::new());
    l.arm();
    l.run(ms(12_000));
    assert_eq!(timeline(&l), vec![(5_000, Ev::NoInput)]);
}

#[test]
fn speaking_before_the_timeout_cancels_it() {
    let caller = Script::new().silence(3_000).speech(500).build();
    let mut l = Line::new(caller);
    l.arm();
    l.run(ms(10_000));
    let t = timeline(&l);
    assert_eq!(t.first(), Some(&(3_040, Ev::Started(3_000))));
    assert!(!t.iter().any(|(_, e)| *e == Ev::NoInput), "{t:?}");
}

#[test]
fn a_shorter_end_hangover_ends_sooner() {
    let cfg = EndpointConfig {
        end_hangover: ms(300),
        ..EndpointConfig::default()
    };
    let caller = Script::new().silence(400).speech(700).silence(1000).build();
    let mut l = Line::with(caller, cfg, BargeInPolicy::default()).expect("valid");
    l.run(ms(2_100));
    assert_eq!(timeline(&l).last(), Some(&(1_380, Ev::Ended(400, 1_100))));
}

#[test]
fn a_noisy_line_still_endpoints() {
    let mut rng = Rng::new(3);
    let noise = Script::new().noise(300, 4_000, &mut rng).build();
    let caller = Script::new()
        .silence(1_000)
        .speech(1_000)
        .silence(2_000)
        .mix(&noise)
        .build();
    let mut l = Line::new(caller);
    l.run(ms(4_000));
    assert_eq!(
        timeline(&l),
        vec![
            (1_040, Ev::Started(1_000)),
            (2_080, Ev::Paused(2_000)),
            (2_580, Ev::Ended(1_000, 2_000)),
        ]
    );
}
