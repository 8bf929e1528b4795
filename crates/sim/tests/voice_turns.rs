//! Spoken turns on virtual time: kefu greets, the caller speaks, the
//! transcript (final, or the speculative one reused) comes back, kefu
//! answers. Voice-to-voice latency (end of the caller's speech to the first
//! packet of the reply with energy at the phone) is the sum of its parts,
//! to the frame; silence, failures and goodbyes end or recover the call.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_core::engine::{CallId, Config, EndReason, SignalAction, TranscribeKind};
use kefu_core::vad::endpoint::EndpointConfig;
use kefu_sim::audio::dominant;
use kefu_sim::fixture::{self, SORRY_FREQ};
use kefu_sim::net::NetConfig;
use kefu_sim::phone::ScriptedPhone;
use kefu_sim::world::SpeechRequest;
use kefu_sim::{PhoneId, World};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One-way network delay of [`NetConfig::default`].
const NET: Duration = Duration::from_millis(5);
/// First-audio delay of the scripted synthesizer.
const TTS: Duration = Duration::from_millis(100);

fn end_hangover() -> Duration {
    EndpointConfig::default().end_hangover
}

/// A speech call from a silent phone, answered, with the greeting heard.
fn greeted(speculative: bool, asr: Duration) -> (World, CallId, PhoneId) {
    let mut cfg: Config = fixture::speech_config();
    cfg.voice.speculative = speculative;
    let mut w = World::with_config(cfg, fixture::prompts(), NetConfig::default());
    w.speech_services().asr_delay = asr;
    w.speech_services().tts_first_audio = TTS;
    let p = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 30],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), ms(1000)));
    assert!(w.run_until_kefu_done(p, ms(5000)), "greeting heard");
    (w, call, p)
}

/// The transcriptions asked for since `t`: (time, utterance, kind, text).
fn transcriptions(
    w: &World,
    call: CallId,
    t: Instant,
) -> Vec<(Instant, u64, TranscribeKind, String)> {
    w.speech_requests(call)
        .into_iter()
        .filter(|(at, _)| *at >= t)
        .filter_map(|(at, r)| match r {
            SpeechRequest::Transcribe {
                utt, kind, text, ..
            } => Some((at, utt.0, kind, text.unwrap_or_default())),
            _ => None,
        })
        .collect()
}

/// The phone says `text` for `len`; runs until kefu's answer reaches it.
/// Returns the end of the caller's speech and the answer's first loud
/// packet at the phone.
fn turn(w: &mut World, call: CallId, p: PhoneId, text: &str, len: Duration) -> (Instant, Instant) {
    let end = w.say(p, text, len).expect("phone sending");
    let n = w.heard(call).len();
    assert!(
        w.run_until(|w| w.heard(call).len() > n, ms(5000)),
        "transcript"
    );
    assert!(w.run_until(
        |w| w.phone(p).first_loud_after(end, -40.0).is_some(),
        ms(3000)
    ));
    let first = w.phone(p).first_loud_after(end, -40.0).expect("answer");
    (end, first)
}

/// How long after the end of speech kefu's VAD saw its first silent frame
/// (the network, and the 3-frame jitter buffer less the phase between the
/// phone's and kefu's 20 ms clocks), from the time of the transcription
/// the endpointer asked for `after` that frame.
fn transport_in(end: Instant, transcribed: Instant, after: Duration) -> Duration {
    transcribed - end - (after - ms(20))
}

#[test]
fn a_whole_turn_costs_hangover_asr_and_first_audio() {
    let asr = ms(500);
    let (mut w, call, p) = greeted(false, asr);
    assert_eq!(w.said(call), ["Hello, this is kefu. How can I help you?"]);
    let (end, first) = turn(&mut w, call, p, "parcel", ms(1500));
    assert_eq!(w.heard(call), ["parcel"]);
    assert_eq!(
        w.said(call).last().map(String::as_str),
        Some("You said: parcel. Anything else?")
    );
    let t = transcriptions(&w, call, end);
    assert_eq!(t.len(), 1, "{t:?}");
    let (at, _, kind, _) = &t[0];
    assert_eq!(*kind, TranscribeKind::Final);
    // From the final transcription to the answer at the phone: ASR, first
    // audio, the network; nothing else (the chunk lands on a tick).
    assert_eq!(first - *at, asr + TTS + NET);
    // Into kefu: the network and the jitter buffer, within its 3 frames.
    let tin = transport_in(end, *at, end_hangover());
    assert!(tin >= NET + ms(40) && tin <= NET + ms(60), "{tin:?}");
    let latency = first - end;
    println!("voice-to-voice latency, final transcript: {latency:?}");
    assert_eq!(latency, end_hangover() + asr + TTS + tin - ms(20) + NET);
    // The answer is the synthesizer's tone and lasts its text's length.
    let reply = "You said: parcel. Anything else?".chars().count() as u64 * 40;
    assert!(w.run_until_kefu_done(p, ms(5000)));
    let loud = w
        .phone(p)
        .levels()
        .iter()
        .filter(|(t, l)| *t >= first && *l > -40.0)
        .count() as u64;
    assert!(loud.abs_diff(reply / 20) <= 1, "{loud} loud frames");
}

#[test]
fn a_speculative_transcript_is_reused_at_the_end_of_the_utterance() {
    let asr = ms(300);
    let (mut w, call, p) = greeted(true, asr);
    let (end, first) = turn(&mut w, call, p, "parcel", ms(1500));
    let t = transcriptions(&w, call, end);
    // One transcription for the utterance: the speculative one at the pause.
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(
        (t[0].2, t[0].3.as_str()),
        (TranscribeKind::Speculative, "parcel")
    );
    let latency = first - end;
    println!("voice-to-voice latency, speculative reused: {latency:?}");
    // No recogniser wait at all: the hangover and the first audio. A bare
    // "parcel" (no punctuation, a word that can end a sentence) ends the
    // turn halfway between early_end and end_hangover, in whole frames.
    let pause = EndpointConfig::default().pause_hangover;
    let tin = transport_in(end, t[0].0, pause);
    assert!(tin >= NET + ms(40) && tin <= NET + ms(60), "{tin:?}");
    let cfg = EndpointConfig::default();
    let frames = |d: Duration| d.as_millis().div_ceil(20) as u32;
    let halfway = ms(20) * ((frames(cfg.early_end) + frames(cfg.end_hangover)) / 2);
    assert_eq!(latency, halfway + TTS + tin - ms(20) + NET);
    assert_eq!(w.heard(call), ["parcel"]);
}

#[test]
fn a_finished_sentence_ends_the_turn_after_early_end() {
    let asr = ms(150);
    let (mut w, call, p) = greeted(true, asr);
    let (end, first) = turn(&mut w, call, p, "Where is my parcel?", ms(1500));
    let t = transcriptions(&w, call, end);
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].2, TranscribeKind::Speculative);
    let cfg = EndpointConfig::default();
    let tin = transport_in(end, t[0].0, cfg.pause_hangover);
    let latency = first - end;
    println!("voice-to-voice latency, finished sentence: {latency:?}");
    // The pause's transcript is back (pause + 150 ms) before early_end: the
    // turn ends at early_end, not at the full hangover.
    let early = ms(20) * (cfg.early_end.as_millis().div_ceil(20) as u32);
    assert_eq!(latency, early + TTS + tin - ms(20) + NET);
    assert!(latency < end_hangover());
    assert_eq!(w.heard(call), ["where is my parcel?"]);
}

#[test]
fn a_finished_sentence_with_a_slow_recogniser_ends_when_its_text_arrives() {
    let asr = ms(400);
    let (mut w, call, p) = greeted(true, asr);
    let (end, first) = turn(&mut w, call, p, "Ten of clubs.", ms(1500));
    let t = transcriptions(&w, call, end);
    assert_eq!(t.len(), 1, "{t:?}");
    // The next tick after the answer (pause + 400 ms < end_hangover).
    let lat = first - t[0].0;
    assert!(
        lat >= asr + TTS + NET && lat <= asr + TTS + NET + ms(20),
        "{lat:?}"
    );
    assert!(
        first - end < end_hangover() + TTS + ms(80),
        "{:?}",
        first - end
    );
}

#[test]
fn an_unfinished_phrase_waits_the_full_hangover() {
    let asr = ms(150);
    let (mut w, call, p) = greeted(true, asr);
    let (end, first) = turn(&mut w, call, p, "I would like to...", ms(1500));
    let t = transcriptions(&w, call, end);
    let tin = transport_in(end, t[0].0, EndpointConfig::default().pause_hangover);
    assert_eq!(first - end, end_hangover() + TTS + tin - ms(20) + NET);
}

#[test]
fn a_slow_speculative_still_beats_the_final() {
    // The speculative answer is not back at the end of the utterance: a
    // final goes out, but the speculative answer (same audio) wins.
    let asr = ms(800);
    let (mut w, call, p) = greeted(true, asr);
    let (end, first) = turn(&mut w, call, p, "parcel", ms(1500));
    let t = transcriptions(&w, call, end);
    let kinds: Vec<_> = t.iter().map(|x| (x.1, x.2)).collect();
    assert_eq!(
        kinds,
        [
            (t[0].1, TranscribeKind::Speculative),
            (t[0].1, TranscribeKind::Final)
        ]
    );
    assert_eq!(first - t[0].0, asr + TTS + NET);
    println!(
        "voice-to-voice latency, slow speculative: {:?}",
        first - end
    );
    assert!(first - end < end_hangover() + asr + TTS);
    // The final's answer arrives later and is dropped.
    w.run_for(ms(1000));
    assert_eq!(w.heard(call), ["parcel"]);
}

#[test]
fn speech_resumed_after_a_pause_discards_the_speculative_transcript() {
    let (mut w, call, p) = greeted(true, ms(200));
    let start = w.now();
    w.say(p, "parcel", ms(800));
    w.pause(p, ms(300));
    let (_, _) = turn(&mut w, call, p, "missing", ms(800));
    let t = transcriptions(&w, call, start);
    // The first pause's transcript has the first word only, and is stale.
    assert_eq!(
        (t[0].2, t[0].3.as_str()),
        (TranscribeKind::Speculative, "parcel")
    );
    assert!(t.iter().skip(1).all(|x| x.1 > t[0].1), "{t:?}");
    // The recogniser was told it is stale when the caller went on.
    let stale: Vec<u64> = w
        .speech_requests(call)
        .into_iter()
        .filter_map(|(_, r)| match r {
            SpeechRequest::Stale { utt } => Some(utt.0),
            _ => None,
        })
        .collect();
    assert_eq!(stale, [t[0].1]);
    assert_eq!(t.last().map(|x| x.3.as_str()), Some("parcel missing"));
    assert_eq!(w.heard(call), ["parcel missing"]);
    assert_eq!(
        w.said(call).last().map(String::as_str),
        Some("You said: parcel missing. Anything else?")
    );
}

#[test]
fn a_silent_caller_is_prompted_twice_then_told_goodbye() {
    let (mut w, call, _) = greeted(true, ms(200));
    assert!(w.run_until(|w| w.ended(call).is_some(), ms(30_000)));
    assert_eq!(
        w.said(call),
        [
            "Hello, this is kefu. How can I help you?",
            "Are you still there?",
            "Are you still there?",
            "Goodbye."
        ]
    );
    // Each prompt comes the no-input timeout after kefu stopped speaking
    // (the tick that sent its last frame).
    let said: Vec<Instant> = w
        .events_timed(call)
        .into_iter()
        .filter(|(_, e)| matches!(e, kefu_core::engine::CallEvent::Said(_)))
        .map(|(t, _)| t)
        .collect();
    let prompt = "Are you still there?".chars().count() as u64 * 40;
    let gap = said[2] - said[1];
    let expected = TTS + ms(prompt) - ms(20) + EndpointConfig::default().no_input_timeout;
    assert_eq!(gap, expected);
    assert_eq!(w.signals(call).last(), Some(&SignalAction::Hangup));
    assert_eq!(w.ended(call), Some(EndReason::Hangup));
    assert!(w.heard(call).is_empty());
}

#[test]
fn a_failed_synthesis_plays_the_fallback_prompt() {
    let mut cfg = fixture::speech_config();
    cfg.voice.speculative = false;
    let mut w = World::with_config(cfg, fixture::prompts(), NetConfig::default());
    w.fail_syntheses(1);
    let p = w.add_phone(ScriptedPhone::silent(SocketAddr::from((
        [192, 0, 2, 31],
        4000,
    ))));
    let call = w.dial(p);
    assert!(w.run_until(|w| w.answered(call), ms(1000)));
    let from = w.phone(p).levels().len();
    assert!(w.run_until_kefu_done(p, ms(3000)));
    // The greeting failed: the caller hears the recorded "sorry" instead.
    let heard = &w.phone(p).heard_samples()[from * 160..];
    assert_eq!(dominant(heard, &[1000, SORRY_FREQ]), Some(SORRY_FREQ));
    // And kefu listens: the call goes on.
    let (_, _) = turn(&mut w, call, p, "parcel", ms(1000));
    assert_eq!(w.heard(call), ["parcel"]);
}

#[test]
fn a_failed_transcription_plays_the_fallback_and_listens_again() {
    let (mut w, call, p) = greeted(false, ms(200));
    w.fail_transcriptions(1);
    let end = w.say(p, "parcel", ms(1000)).expect("sending");
    assert!(w.run_until_kefu_done(p, ms(4000)));
    assert!(w.heard(call).is_empty());
    let i = w
        .phone(p)
        .levels()
        .iter()
        .position(|(t, _)| *t >= end)
        .expect("packets");
    let heard = &w.phone(p).heard_samples()[i * 160..];
    assert_eq!(dominant(heard, &[1000, SORRY_FREQ]), Some(SORRY_FREQ));
    let (_, _) = turn(&mut w, call, p, "parcel", ms(1000));
    assert_eq!(w.heard(call), ["parcel"]);
    assert_eq!(
        w.said(call).last().map(String::as_str),
        Some("You said: parcel. Anything else?")
    );
}

#[test]
fn a_failed_speculative_is_retried_as_final() {
    let (mut w, call, p) = greeted(true, ms(200));
    w.fail_transcriptions(1);
    let start = w.now();
    let (_, _) = turn(&mut w, call, p, "parcel", ms(1000));
    let kinds: Vec<_> = transcriptions(&w, call, start)
        .iter()
        .map(|x| x.2)
        .collect();
    assert_eq!(kinds, [TranscribeKind::Speculative, TranscribeKind::Final]);
    assert_eq!(w.heard(call), ["parcel"]);
}

#[test]
fn a_goodbye_word_ends_the_call_after_the_goodbye() {
    let (mut w, call, p) = greeted(true, ms(200));
    w.say(p, "OK goodbye", ms(1000));
    assert!(w.run_until(|w| w.ended(call).is_some(), ms(10_000)));
    assert_eq!(w.heard(call), ["ok goodbye"]);
    assert_eq!(w.said(call).last().map(String::as_str), Some("Goodbye."));
    // The goodbye played to its end (its last frame went out in the tick
    // of the BYE).
    let bye = w.signals_timed(call).last().map(|s| s.0).expect("bye");
    let said = w
        .events_timed(call)
        .into_iter()
        .rev()
        .find(|(_, e)| matches!(e, kefu_core::engine::CallEvent::Said(_)))
        .map(|(t, _)| t)
        .expect("goodbye");
    let len = ms("Goodbye.".len() as u64 * 40);
    assert_eq!(bye - said, TTS + len - ms(20));
    assert_eq!(w.signals(call).last(), Some(&SignalAction::Hangup));
    assert_eq!(w.ended(call), Some(EndReason::Hangup));
}
