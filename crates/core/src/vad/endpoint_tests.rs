//! Unit tests of the endpointer and the utterance buffer.
use super::EndpointEvent::*;
use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Feeds `probs` as frames 0, 1, 2… at `t0 + 20 ms · i`.
fn feed(
    ep: &mut Endpointer,
    t0: Instant,
    from: usize,
    probs: &[f32],
) -> Vec<(usize, EndpointEvent)> {
    let mut out = Vec::new();
    for (k, &p) in probs.iter().enumerate() {
        let i = from + k;
        if let Some(e) = ep.push(at(t0, i), p) {
            out.push((i, e));
        }
    }
    out
}

fn at(t0: Instant, frame: usize) -> Instant {
    t0 + FRAME * frame as u32
}

fn frames(p: f32, n: usize) -> Vec<f32> {
    vec![p; n]
}

fn cat(parts: &[Vec<f32>]) -> Vec<f32> {
    parts.concat()
}

fn ep() -> Endpointer {
    Endpointer::new(EndpointConfig::default()).expect("defaults are valid")
}

#[test]
fn defaults_validate_and_bad_settings_are_named() {
    assert_eq!(EndpointConfig::default().validate(), Ok(()));
    let bad = |c: EndpointConfig| match c.validate() {
        Err(VadError::Config { key, .. }) => key,
        Ok(()) => "ok",
    };
    let d = EndpointConfig::default();
    assert_eq!(
        bad(EndpointConfig {
            threshold_on: 1.5,
            ..d
        }),
        "threshold_on"
    );
    assert_eq!(
        bad(EndpointConfig {
            threshold_off: f32::NAN,
            ..d
        }),
        "threshold_off"
    );
    assert_eq!(
        bad(EndpointConfig {
            threshold_off: 0.6,
            ..d
        }),
        "threshold_off"
    );
    assert_eq!(
        bad(EndpointConfig {
            start_hangover: ms(5),
            ..d
        }),
        "start_hangover"
    );
    assert_eq!(
        bad(EndpointConfig {
            pause_hangover: ms(600),
            ..d
        }),
        "pause_hangover"
    );
    assert_eq!(
        bad(EndpointConfig {
            end_hangover: ms(20_000),
            ..d
        }),
        "end_hangover"
    );
    assert_eq!(
        bad(EndpointConfig {
            max_utterance: ms(10),
            ..d
        }),
        "max_utterance"
    );
    assert_eq!(
        bad(EndpointConfig {
            no_input_timeout: Duration::MAX,
            ..d
        }),
        "no_input_timeout"
    );
    assert_eq!(
        bad(EndpointConfig {
            pre_roll: ms(5_000),
            ..d
        }),
        "pre_roll"
    );
    assert!(Endpointer::new(EndpointConfig {
        threshold_on: 0.0,
        ..d
    })
    .is_err());
}

#[test]
fn hysteresis_needs_on_to_start_and_off_to_stop() {
    let t0 = Instant::now();
    let mut e = ep();
    // 0.4 is between off and on: never starts an utterance.
    assert!(feed(&mut e, t0, 0, &frames(0.4, 50)).is_empty());
    // One frame at 0.6 then 0.4s: the run goes on at 0.4.
    let ev = feed(&mut e, t0, 50, &cat(&[frames(0.6, 1), frames(0.4, 40)]));
    assert_eq!(ev, vec![(52, SpeechStarted { at: at(t0, 50) })]);
    assert!(e.in_utterance());
    // Below off: a pause after 100 ms (5 frames), back-dated to its start.
    let ev = feed(&mut e, t0, 91, &frames(0.3, 5));
    assert_eq!(ev, vec![(95, PauseStarted { at: at(t0, 91) })]);
}

#[test]
fn start_is_back_dated_to_the_first_speech_frame() {
    let t0 = Instant::now();
    let mut e = ep();
    let ev = feed(&mut e, t0, 0, &cat(&[frames(0.0, 10), frames(0.9, 3)]));
    // Reported with the third speech frame, dated at the first.
    assert_eq!(ev, vec![(12, SpeechStarted { at: at(t0, 10) })]);
}

#[test]
fn clicks_shorter_than_the_start_hangover_are_ignored() {
    let t0 = Instant::now();
    let mut e = ep();
    let click = cat(&[frames(0.9, 2), frames(0.0, 5)]);
    let probs: Vec<f32> = (0..20).flat_map(|_| click.clone()).collect();
    assert!(feed(&mut e, t0, 0, &probs).is_empty());
    assert!(!e.in_utterance());
}

#[test]
fn pause_then_resume_then_end() {
    let t0 = Instant::now();
    let mut e = ep();
    let probs = cat(&[
        frames(0.9, 25), // 0..25: 500 ms of speech
        frames(0.0, 10), // 25..35: 200 ms pause
        frames(0.9, 5),  // 35..40: 100 ms more speech
        frames(0.0, 40), // 40..: silence
    ]);
    let ev = feed(&mut e, t0, 0, &probs);
    assert_eq!(
        ev,
        vec![
            (2, SpeechStarted { at: at(t0, 0) }),
            (29, PauseStarted { at: at(t0, 25) }),
            (37, SpeechResumed { at: at(t0, 35) }),
            (44, PauseStarted { at: at(t0, 40) }),
            // 600 ms after the last speech frame (39): frame 69.
            (
                69,
                UtteranceEnded {
                    start: at(t0, 0),
                    end: at(t0, 40)
                }
            ),
        ]
    );
}

#[test]
fn a_click_in_a_pause_neither_resumes_nor_extends_it() {
    let t0 = Instant::now();
    let mut e = ep();
    let probs = cat(&[
        frames(0.9, 10),
        frames(0.0, 10),
        frames(0.9, 2),
        frames(0.0, 40),
    ]);
    let ev = feed(&mut e, t0, 0, &probs);
    assert_eq!(
        ev,
        vec![
            (2, SpeechStarted { at: at(t0, 0) }),
            (14, PauseStarted { at: at(t0, 10) }),
            (
                39,
                UtteranceEnded {
                    start: at(t0, 0),
                    end: at(t0, 10)
                }
            ),
        ]
    );
}

#[test]
fn a_dip_shorter_than_the_pause_hangover_is_not_a_pause() {
    let t0 = Instant::now();
    let mut e = ep();
    let probs = cat(&[frames(0.9, 10), frames(0.1, 4), frames(0.9, 10)]);
    let ev = feed(&mut e, t0, 0, &probs);
    assert_eq!(ev, vec![(2, SpeechStarted { at: at(t0, 0) })]);
}

#[test]
fn long_speech_is_cut_at_max_length_and_goes_on_as_a_new_utterance() {
    let t0 = Instant::now();
    let mut e = ep();
    // 25 s of speech; max 20 s = 1000 frames.
    let ev = feed(&mut e, t0, 0, &frames(0.9, 1250));
    assert_eq!(
        ev,
        vec![
            (2, SpeechStarted { at: at(t0, 0) }),
            (
                999,
                MaxLengthReached {
                    start: at(t0, 0),
                    end: at(t0, 1000)
                }
            ),
            (1002, SpeechStarted { at: at(t0, 1000) }),
        ]
    );
}

#[test]
fn max_length_in_a_pause_ends_at_the_last_speech() {
    let t0 = Instant::now();
    let mut e = ep();
    let probs = cat(&[frames(0.9, 995), frames(0.0, 30)]);
    let ev = feed(&mut e, t0, 0, &probs);
    // The dip would become a pause at frame 999, but that is also the
    // utterance's 1000th frame: it is cut, ending at the last speech.
    assert_eq!(
        ev,
        vec![
            (2, SpeechStarted { at: at(t0, 0) }),
            (
                999,
                MaxLengthReached {
                    start: at(t0, 0),
                    end: at(t0, 995)
                }
            ),
        ]
    );
    assert!(!e.in_utterance());
}

#[test]
fn no_input_timeout_fires_once_after_arming() {
    let t0 = Instant::now();
    let mut e = ep();
    e.arm(t0);
    assert_eq!(e.deadline(), Some(t0 + ms(5_000)));
    let ev = feed(&mut e, t0, 0, &frames(0.0, 400));
    assert_eq!(ev, vec![(250, NoInputTimeout)]);
    assert_eq!(e.deadline(), None);
}

#[test]
fn speech_disarms_the_no_input_timer() {
    let t0 = Instant::now();
    let mut e = ep();
    e.arm(t0);
    let probs = cat(&[frames(0.0, 100), frames(0.9, 10), frames(0.0, 300)]);
    let ev = feed(&mut e, t0, 0, &probs);
    assert!(!ev.iter().any(|(_, e)| *e == NoInputTimeout), "{ev:?}");
    // Re-armed after the utterance: fires again.
    e.arm(at(t0, 410));
    let ev = feed(&mut e, t0, 410, &frames(0.0, 300));
    assert_eq!(ev, vec![(660, NoInputTimeout)]);
}

#[test]
fn garbage_probabilities_are_sanitised() {
    let t0 = Instant::now();
    let mut e = ep();
    let probs = cat(&[
        frames(f32::NAN, 10),
        frames(f32::INFINITY, 3),
        frames(-5.0, 40),
    ]);
    let ev = feed(&mut e, t0, 0, &probs);
    assert_eq!(ev[0], (12, SpeechStarted { at: at(t0, 10) }));
    assert!(matches!(ev.last(), Some((_, UtteranceEnded { .. }))));
}

fn tone(v: i16) -> Vec<i16> {
    vec![v; super::super::FRAME_SAMPLES]
}

#[test]
fn buffer_keeps_pre_roll_and_trims_at_the_end() {
    let t0 = Instant::now();
    let cfg = EndpointConfig::default();
    let mut e = Endpointer::new(cfg).expect("valid");
    let mut b = UtteranceBuffer::new(&cfg);
    // Frame i carries the value i, so the samples say which frames made it.
    let probs = cat(&[frames(0.0, 20), frames(0.9, 10), frames(0.0, 40)]);
    let mut got = Vec::new();
    for (i, &p) in probs.iter().enumerate() {
        let now = at(t0, i);
        b.push(now, &tone(i as i16));
        if let Some(ev) = e.push(now, p) {
            if let Some(a) = b.on_event(&ev) {
                got.push(a);
            }
        }
    }
    assert_eq!(got.len(), 2);
    let ids = |a: &UtteranceAudio| {
        let mut v: Vec<i16> = a.samples.iter().step_by(160).copied().collect();
        v.dedup();
        v
    };
    // Speech was frames 20..30; pre-roll 200 ms = frames 10..20.
    assert_eq!(got[0].kind, AudioKind::Speculative);
    assert_eq!(ids(&got[0]), (10..30).collect::<Vec<i16>>());
    assert_eq!(got[1].kind, AudioKind::Final);
    assert_eq!(got[1].start, at(t0, 20));
    assert_eq!(got[1].end, at(t0, 30));
    assert_eq!(ids(&got[1]), (10..30).collect::<Vec<i16>>());
    assert!(!b.is_recording());
}

#[test]
fn buffer_is_bounded_by_max_utterance() {
    let t0 = Instant::now();
    let cfg = EndpointConfig {
        max_utterance: ms(1_000),
        ..EndpointConfig::default()
    };
    let mut b = UtteranceBuffer::new(&cfg);
    b.start(t0);
    for i in 0..500 {
        b.push(at(t0, i), &tone(1));
    }
    let s = b.finish(at(t0, 500));
    assert_eq!(s.len(), 1_200 * 8);
    assert!(b.finish(t0).is_empty());
    assert!(b.snapshot(t0).is_empty());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Checks the event grammar: Idle -Started-> Speaking -Pause-> Paused
    /// -Resumed-> Speaking; Speaking|Paused -Ended|MaxLength-> Idle;
    /// NoInputTimeout only when idle; instants never run backwards.
    fn check(events: &[(usize, EndpointEvent)]) -> Result<(), TestCaseError> {
        #[derive(PartialEq, Debug)]
        enum S {
            Idle,
            Speaking,
            Paused,
        }
        let mut s = S::Idle;
        let mut start = None;
        for (i, e) in events {
            match *e {
                SpeechStarted { at } => {
                    prop_assert_eq!(&s, &S::Idle, "{} {:?}", i, e);
                    start = Some(at);
                    s = S::Speaking;
                }
                PauseStarted { at } => {
                    prop_assert_eq!(&s, &S::Speaking, "{} {:?}", i, e);
                    prop_assert!(start.is_some_and(|st| st < at));
                    s = S::Paused;
                }
                SpeechResumed { .. } => {
                    prop_assert_eq!(&s, &S::Paused, "{} {:?}", i, e);
                    s = S::Speaking;
                }
                UtteranceEnded { start: a, end: b } => {
                    prop_assert_eq!(&s, &S::Paused, "{} {:?}", i, e);
                    prop_assert_eq!(Some(a), start);
                    prop_assert!(a < b);
                    s = S::Idle;
                }
                MaxLengthReached { start: a, end: b } => {
                    prop_assert!(s != S::Idle, "{} {:?}", i, e);
                    prop_assert_eq!(Some(a), start);
                    prop_assert!(a < b);
                    s = S::Idle;
                }
                NoInputTimeout => prop_assert_eq!(&s, &S::Idle),
            }
        }
        Ok(())
    }

    fn prob() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => Just(0.0f32),
            4 => Just(0.95f32),
            2 => 0.0f32..=1.0,
            1 => any::<f32>(),
        ]
    }

    /// Runs of equal probabilities, so utterances and pauses happen.
    fn runs() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec((prob(), 1usize..60), 0..60)
            .prop_map(|rs| rs.into_iter().flat_map(|(p, n)| vec![p; n]).collect())
    }

    proptest! {
        #[test]
        fn events_are_well_ordered(probs in runs(), arm_at in prop::option::of(0usize..500)) {
            let t0 = Instant::now();
            let cfg = EndpointConfig {
                max_utterance: ms(1_000),
                no_input_timeout: ms(400),
                ..EndpointConfig::default()
            };
            let mut e = Endpointer::new(cfg).expect("valid");
            let mut b = UtteranceBuffer::new(&cfg);
            let mut events = Vec::new();
            for (i, &p) in probs.iter().enumerate() {
                if arm_at == Some(i) {
                    e.arm(at(t0, i));
                }
                b.push(at(t0, i), &tone(1));
                if let Some(ev) = e.push(at(t0, i), p) {
                    if let Some(a) = b.on_event(&ev) {
                        prop_assert!(a.samples.len() <= 1_200 * 8);
                    }
                    events.push((i, ev));
                }
            }
            check(&events)?;
        }

        #[test]
        fn arbitrary_times_and_values_never_panic(
            input in prop::collection::vec((any::<f32>(), any::<u32>()), 0..300)
        ) {
            let t0 = Instant::now();
            let mut e = ep();
            let mut b = UtteranceBuffer::new(e.config());
            e.arm(t0);
            for (p, off) in input {
                // Times jump back and forth by up to ~49 days.
                let now = t0 + ms(u64::from(off));
                b.push(now, &tone(1));
                if let Some(ev) = e.push(now, p) {
                    let _ = b.on_event(&ev);
                }
            }
        }
    }
}

#[test]
fn end_early_only_after_early_end_of_pause() {
    let t0 = Instant::now();
    let mut e = Endpointer::new(EndpointConfig {
        early_end: ms(300),
        ..EndpointConfig::default()
    })
    .expect("valid");
    // 10 speech frames, then silence: the pause starts at frame 10.
    let ev = feed(&mut e, t0, 0, &cat(&[frames(0.9, 10), frames(0.0, 5)]));
    assert_eq!(ev.last(), Some(&(14, PauseStarted { at: at(t0, 10) })));
    // 5 quiet frames (100 ms) is not yet early_end (300 ms = 15).
    assert_eq!(e.end_early(), None);
    feed(&mut e, t0, 15, &frames(0.0, 9));
    assert_eq!(e.end_early(), None);
    feed(&mut e, t0, 24, &frames(0.0, 1));
    assert_eq!(
        e.end_early(),
        Some(UtteranceEnded {
            start: at(t0, 0),
            end: at(t0, 10)
        })
    );
    assert!(!e.in_utterance());
    // Nothing more for that utterance when the full hangover passes.
    assert!(feed(&mut e, t0, 25, &frames(0.0, 40)).is_empty());
}

#[test]
fn end_early_not_while_speaking_or_with_speech_starting() {
    let t0 = Instant::now();
    let mut e = ep();
    feed(&mut e, t0, 0, &frames(0.9, 10));
    assert_eq!(e.end_early(), None);
    feed(&mut e, t0, 10, &cat(&[frames(0.0, 16), frames(0.9, 1)]));
    // A speech frame in the pause, not yet a resumption: wait.
    assert_eq!(e.end_early(), None);
    assert!(e.in_utterance());
}

#[test]
fn early_end_at_or_above_the_end_hangover_never_ends_early() {
    let t0 = Instant::now();
    let mut e = Endpointer::new(EndpointConfig {
        early_end: ms(600),
        ..EndpointConfig::default()
    })
    .expect("valid");
    feed(&mut e, t0, 0, &cat(&[frames(0.9, 10), frames(0.0, 29)]));
    assert_eq!(e.end_early(), None);
}
