//! Properties of the SDP layer: the parser never panics on any input, what
//! it accepts prints back to an equal value, and every answer does too.

use proptest::prelude::*;

use super::tests::{caps, local};
use super::*;

/// SDP-looking bodies: mostly well-formed lines, some broken ones.
fn soup() -> impl Strategy<Value = String> {
    let good = prop::sample::select(vec![
        "c=IN IP4 0.0.0.0",
        "c=IN IP6 ::1",
        "c=IN IP4 192.0.2.1/127",
        "t=0 0",
        "b=AS:64",
        "m=audio 4000 RTP/AVP 0 8 101",
        "m=audio 0 RTP/AVP",
        "m=video 4002 RTP/SAVP 96",
        "m=audio 4004 RTP/AVPF 96 0",
        "a=rtpmap:101 telephone-event/8000",
        "a=rtpmap:96 opus/48000/2",
        "a=fmtp:101 0-16",
        "a=rtcp:4001 IN IP4 192.0.2.2",
        "a=rtcp-mux",
        "a=sendonly",
        "a=inactive",
        "a=ptime:30",
    ]);
    let prefix = prop::sample::select(vec![
        "o=",
        "s=",
        "c=",
        "c=IN IP4 ",
        "m=",
        "m=audio ",
        "a=",
        "t=",
        "a=rtpmap:",
        "a=fmtp:",
        "a=rtcp:",
        "a=ptime:",
        "x",
    ]);
    let broken = (prefix, "[ a-zA-Z0-9/:.*=+-]{0,24}").prop_map(|(k, v)| format!("{k}{v}"));
    let line = prop_oneof![4 => good.prop_map(str::to_owned), 1 => broken];
    let head = prop_oneof![
        4 => Just("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\n"),
        1 => Just("v=0\n"),
    ];
    (head, prop::collection::vec(line, 0..16), prop::bool::ANY).prop_map(|(head, lines, lf)| {
        let body = format!("{head}{}", lines.join("\n"));
        if lf {
            body
        } else {
            body.replace('\n', "\r\n")
        }
    })
}

fn audio_offer() -> impl Strategy<Value = String> {
    let fmt = prop::sample::select(vec![
        ("0", "PCMU/8000"),
        ("8", "PCMA/8000"),
        ("18", "G729/8000"),
        ("96", "opus/48000/2"),
        ("97", "OPUS/48000"),
        ("101", "telephone-event/8000"),
        ("102", "telephone-event/48000"),
        ("9", "G722/8000"),
    ]);
    let addr = prop::sample::select(vec![
        "IN IP4 192.0.2.1",
        "IN IP4 0.0.0.0",
        "IN IP6 2001:db8::1",
    ]);
    let dir = prop::sample::select(vec![
        "",
        "a=sendonly\r\n",
        "a=recvonly\r\n",
        "a=inactive\r\n",
    ]);
    let extra = prop::sample::select(vec![
        "",
        "m=video 5000 RTP/AVP 99\r\n",
        "m=audio 0 RTP/AVP 0\r\n",
    ]);
    (
        prop::collection::vec(fmt, 1..6),
        addr,
        dir,
        extra,
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(|(fmts, addr, dir, extra, port, before)| {
            let pts: Vec<_> = fmts.iter().map(|(pt, _)| *pt).collect();
            let maps: String = fmts
                .iter()
                .map(|(pt, m)| format!("a=rtpmap:{pt} {m}\r\n"))
                .collect();
            let audio = format!("m=audio {port} RTP/AVP {}\r\n{maps}{dir}", pts.join(" "));
            let (first, second) = if before {
                (extra, audio.as_str())
            } else {
                (audio.as_str(), extra)
            };
            format!("v=0\r\no=- 7 7 {addr}\r\ns=-\r\nc={addr}\r\nt=0 0\r\n{first}{second}")
        })
}

proptest! {
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = SessionDescription::parse(&text);
    }

    #[test]
    fn parsed_soup_round_trips_and_answers_safely(text in soup()) {
        if let Ok(sdp) = SessionDescription::parse(&text) {
            prop_assert_eq!(SessionDescription::parse(&sdp.to_string()), Ok(sdp.clone()));
            for opus in [false, true] {
                if let Ok(neg) = answer(&sdp, &caps(opus), &local()) {
                    prop_assert_eq!(neg.answer.media.len(), sdp.media.len());
                }
            }
        }
    }

    #[test]
    fn answers_round_trip(text in audio_offer(), opus in any::<bool>()) {
        let offer = SessionDescription::parse(&text);
        prop_assert!(offer.is_ok(), "{}", text);
        if let Ok(offer) = offer {
            if let Ok(neg) = answer(&offer, &caps(opus), &local()) {
                prop_assert_eq!(SessionDescription::parse(&neg.answer.to_string()), Ok(neg.answer.clone()));
                prop_assert_eq!(neg.answer.media.len(), offer.media.len());
                prop_assert_eq!(neg.remote_rtp.is_none(), text.contains("0.0.0.0"));
                prop_assert!(neg.remote_rtp.is_some() || hold_state(&neg));
            }
        }
    }
}
