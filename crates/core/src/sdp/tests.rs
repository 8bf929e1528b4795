//! Offer/answer scenarios with offers shaped like real user agents (SIPp,
//! baresip, Linphone, RFC 5118), hold and error cases; properties at the end.

use std::net::{IpAddr, SocketAddr};

use super::*;

const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

const BARESIP: &str = "v=0\r\no=- 1817516512 1606519376 IN IP4 192.168.1.5\r\ns=-\r\n\
    c=IN IP4 192.168.1.5\r\nt=0 0\r\nm=audio 9460 RTP/AVP 96 0 8 101\r\nb=AS:96\r\n\
    a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n\
    a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n\
    a=rtcp-mux\r\na=ptime:20\r\n";

const LINPHONE: &str = "v=0\r\no=alice 3267 1568 IN IP4 192.168.0.20\r\ns=Talk\r\n\
    c=IN IP4 192.168.0.20\r\nt=0 0\r\na=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup\r\n\
    m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100\r\na=rtpmap:96 opus/48000/2\r\n\
    a=fmtp:96 useinbandfec=1\r\na=rtpmap:97 speex/16000\r\na=rtpmap:98 speex/8000\r\n\
    a=fmtp:18 annexb=yes\r\na=rtpmap:101 telephone-event/48000\r\n\
    a=rtpmap:99 telephone-event/16000\r\na=rtpmap:100 telephone-event/8000\r\n\
    a=rtcp-fb:* trr-int 1000\r\nm=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\n\
    a=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42801F\r\n";

/// RFC 5118 §4.5 body, `rfc5118/ipv6-in-sdp.dat` (full body, not cut at
/// the fixture's short Content-Length).
const RFC5118_IPV6: &str = "v=0\r\no=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n\
    s=Live video feed for today's meeting\r\nc=IN IP6 2001:db8::20\r\n\
    t=3338481189 3370017201\r\nm=audio 6000 RTP/AVP 2\r\na=rtpmap:2 G726-32/8000\r\n\
    m=video 6024 RTP/AVP 107\r\na=rtpmap:107 H263-1998/90000\r\n";

/// RFC 5118 §4.6 body, `rfc5118/mult-ip-in-sdp.dat`; note the empty `s=`.
const RFC5118_MULT_IP: &str = "v=0\r\no=bob 280744730 28977631 IN IP4 host.example.com\r\n\
    s=\r\nt=0 0\r\nm=audio 22334 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n\
    m=video 6024 RTP/AVP 107\r\nc=IN IP6 2001:db8::1\r\na=rtpmap:107 H263-1998/90000\r\n";

pub(super) fn caps(opus: bool) -> LocalCaps {
    LocalCaps {
        codecs: vec![Codec::Opus, Codec::Pcmu, Codec::Pcma],
        opus,
        telephone_event: true,
        ptime_ms: 20,
    }
}

pub(super) fn local() -> LocalMedia {
    LocalMedia {
        address: IpAddr::from([10, 0, 0, 2]),
        rtp_port: 20000,
        session_id: 42,
        session_version: 1,
        username: "kefu".to_owned(),
    }
}

fn sock(s: &str) -> Option<SocketAddr> {
    s.parse().ok()
}

fn negotiate(offer: &str, caps: &LocalCaps) -> Result<Negotiated, SdpError> {
    let neg = answer(&SessionDescription::parse(offer)?, caps, &local())?;
    // Every answer prints to SDP that parses back to itself.
    assert_eq!(
        SessionDescription::parse(&neg.answer.to_string()).as_ref(),
        Ok(&neg.answer)
    );
    Ok(neg)
}

fn with(offer: &str, from: &str, to: &str) -> String {
    assert!(offer.contains(from), "{from}");
    offer.replacen(from, to, 1)
}

#[test]
fn sipp_pcmu_offer() -> Result<(), SdpError> {
    let neg = negotiate(SIPP, &caps(false))?;
    assert_eq!(
        (neg.codec, neg.payload_type, neg.clock_rate),
        (Codec::Pcmu, 0, 8000)
    );
    assert_eq!(neg.remote_rtp, sock("127.0.0.1:6000"));
    assert_eq!(neg.remote_rtcp, sock("127.0.0.1:6001"));
    assert_eq!(
        (neg.remote_direction, neg.local_direction),
        (Direction::SendRecv, Direction::SendRecv)
    );
    assert_eq!((neg.telephone_event_pt, neg.ptime_ms), (None, 20));
    assert!(!hold_state(&neg));
    assert_eq!(
        neg.answer.to_string(),
        "v=0\r\no=kefu 42 1 IN IP4 10.0.0.2\r\ns=kefu\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
         m=audio 20000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    Ok(())
}

#[test]
fn sipp_template_origin_still_parses() -> Result<(), SdpError> {
    let raw = with(
        SIPP,
        "IN IP4 127.0.0.1\r\ns",
        "IN IP[local_ip_type] [local_ip]\r\ns",
    );
    let sdp = SessionDescription::parse(&raw)?;
    assert_eq!(sdp.origin.addr_type, "IP[local_ip_type]");
    Ok(())
}

#[test]
fn baresip_follows_offerer_order() -> Result<(), SdpError> {
    let g711 = negotiate(BARESIP, &caps(false))?;
    assert_eq!((g711.codec, g711.payload_type), (Codec::Pcmu, 0));
    assert_eq!(g711.telephone_event_pt, Some(101));
    assert_eq!(
        g711.remote_rtcp,
        sock("192.168.1.5:9461"),
        "rtcp-mux declined"
    );
    let m = &g711.answer.media[0];
    assert_eq!(m.formats, ["0", "101"]);
    assert_eq!(m.fmtps, vec![(101, "0-16".to_owned())]);
    assert!(!m.rtcp_mux);
    // Local preference for PCMA does not override the offerer's order.
    let pcma_first = LocalCaps {
        codecs: vec![Codec::Pcma, Codec::Pcmu],
        ..caps(false)
    };
    assert_eq!(negotiate(BARESIP, &pcma_first)?.codec, Codec::Pcmu);
    let opus = negotiate(BARESIP, &caps(true))?;
    assert_eq!(
        (opus.codec, opus.payload_type, opus.clock_rate),
        (Codec::Opus, 96, 48000)
    );
    // Only telephone-event/8000 was offered: it cannot ride a 48 kHz stream.
    assert_eq!(opus.telephone_event_pt, None);
    assert!(opus
        .answer
        .to_string()
        .contains("a=rtpmap:96 opus/48000/2\r\n"));
    let no_dtmf = LocalCaps {
        telephone_event: false,
        ..caps(false)
    };
    assert_eq!(negotiate(BARESIP, &no_dtmf)?.telephone_event_pt, None);
    Ok(())
}

#[test]
fn linphone_audio_and_video() -> Result<(), SdpError> {
    let neg = negotiate(LINPHONE, &caps(false))?;
    assert_eq!(
        (neg.codec, neg.payload_type, neg.telephone_event_pt),
        (Codec::Pcmu, 0, Some(100))
    );
    let video = &neg.answer.media[1];
    assert_eq!((video.kind.clone(), video.port), (MediaKind::Video, 0));
    assert_eq!(video.formats, ["96", "97"]);
    assert!(video.rtpmaps.is_empty());
    let opus = negotiate(LINPHONE, &caps(true))?;
    assert_eq!(
        (opus.codec, opus.payload_type, opus.telephone_event_pt),
        (Codec::Opus, 96, Some(101))
    );
    Ok(())
}

#[test]
fn video_first_keeps_m_line_order() -> Result<(), SdpError> {
    let offer = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
        m=video 5002 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\nm=audio 5000 RTP/AVP 8\r\n\
        m=application 5004 UDP/BFCP *\r\n";
    let neg = negotiate(offer, &caps(false))?;
    assert_eq!(
        (neg.codec, neg.payload_type),
        (Codec::Pcma, 8),
        "static PT without rtpmap"
    );
    let ports: Vec<_> = neg
        .answer
        .media
        .iter()
        .map(|m| (m.kind.clone(), m.port))
        .collect();
    assert_eq!(
        ports,
        [
            (MediaKind::Video, 0),
            (MediaKind::Audio, 20000),
            (MediaKind::Application, 0)
        ]
    );
    Ok(())
}

#[test]
fn ipv6_offer_and_ipv6_answer() -> Result<(), SdpError> {
    let offer = SIPP.replace("IN IP4 127.0.0.1", "IN IP6 2001:db8::20");
    let v6 = std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
    let me = LocalMedia {
        address: v6.into(),
        ..local()
    };
    let neg = answer(&SessionDescription::parse(&offer)?, &caps(false), &me)?;
    assert_eq!(neg.remote_rtp, sock("[2001:db8::20]:6000"));
    let text = neg.answer.to_string();
    assert!(text.contains("o=kefu 42 1 IN IP6 2001:db8::10\r\n"));
    assert!(text.contains("c=IN IP6 2001:db8::10\r\n"));
    Ok(())
}

#[test]
fn rfc5118_bodies_parse() -> Result<(), SdpError> {
    let v6 = SessionDescription::parse(RFC5118_IPV6)?;
    assert_eq!(v6.origin.session_id, 971_731_711_378_798_081);
    assert_eq!(
        v6.timing,
        Timing {
            start: 3_338_481_189,
            stop: 3_370_017_201
        }
    );
    assert_eq!(
        v6.connection.as_ref().and_then(Connection::ip),
        "2001:db8::20".parse().ok()
    );
    assert_eq!(v6.media.len(), 2);
    // G.726 only: nothing in common.
    assert_eq!(
        answer(&v6, &caps(true), &local()).map(|n| n.codec),
        Err(SdpError::NoCommonCodec)
    );

    let mult = SessionDescription::parse(RFC5118_MULT_IP)?;
    assert_eq!(
        (mult.session_name.as_str(), mult.origin.address.as_str()),
        ("", "host.example.com")
    );
    let video_ip = mult.media[1].connection.as_ref().and_then(Connection::ip);
    assert_eq!(video_ip, "2001:db8::1".parse().ok());
    let neg = negotiate(RFC5118_MULT_IP, &caps(false))?;
    assert_eq!(
        neg.remote_rtp,
        sock("192.0.2.1:22334"),
        "media-level c= wins"
    );
    assert!(mult.to_string().contains("s= \r\n"));
    Ok(())
}

#[test]
fn hold_variants() -> Result<(), SdpError> {
    use Direction::*;
    let rtp = SIPP.replace("a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=");
    let cases = [
        (format!("{rtp}sendonly\r\n"), SendOnly, RecvOnly, true, true),
        (
            format!("{rtp}recvonly\r\n"),
            RecvOnly,
            SendOnly,
            false,
            true,
        ),
        (format!("{rtp}inactive\r\n"), Inactive, Inactive, true, true),
        (
            format!("{rtp}sendrecv\r\n"),
            SendRecv,
            SendRecv,
            false,
            true,
        ),
        (
            SIPP.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"),
            SendOnly,
            RecvOnly,
            true,
            false,
        ),
        (
            format!("{rtp}sendonly\r\n").replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0"),
            SendOnly,
            RecvOnly,
            true,
            false,
        ),
        (
            SIPP.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n"),
            SendOnly,
            RecvOnly,
            true,
            true,
        ),
    ];
    for (offer, remote, local_dir, held, has_rtp) in cases {
        let neg = negotiate(&offer, &caps(false))?;
        assert_eq!(
            (neg.remote_direction, neg.local_direction),
            (remote, local_dir),
            "{offer}"
        );
        assert_eq!(hold_state(&neg), held, "{offer}");
        assert_eq!(neg.remote_rtp.is_some(), has_rtp, "{offer}");
        assert_eq!(neg.answer.media[0].direction, Some(local_dir));
    }
    Ok(())
}

#[test]
fn reinvite_uses_new_version() -> Result<(), SdpError> {
    let first = negotiate(SIPP, &caps(false))?;
    let held = with(
        SIPP,
        "a=rtpmap:0 PCMU/8000\r\n",
        "a=rtpmap:0 PCMU/8000\r\na=sendonly\r\n",
    );
    let again = LocalMedia {
        session_version: 2,
        ..local()
    };
    let second = answer(&SessionDescription::parse(&held)?, &caps(false), &again)?;
    assert_eq!(
        second.answer.origin.session_id,
        first.answer.origin.session_id
    );
    assert_eq!(second.answer.origin.version, 2);
    assert!(hold_state(&second));
    Ok(())
}

#[test]
fn rejections_map_to_488() {
    let cases = [
        (
            with(SIPP, "RTP/AVP 0", "RTP/AVP 18"),
            SdpError::NoCommonCodec,
        ),
        (
            with(SIPP, "m=audio 6000", "m=video 6000"),
            SdpError::NoAudio,
        ),
        (
            with(SIPP, "m=audio 6000", "m=audio 0"),
            SdpError::AudioDisabled,
        ),
        (
            with(SIPP, "RTP/AVP", "RTP/SAVP"),
            SdpError::SrtpRequired {
                profile: "RTP/SAVP".to_owned(),
            },
        ),
        (
            with(SIPP, "RTP/AVP", "UDP/TLS/RTP/SAVPF"),
            SdpError::SrtpRequired {
                profile: "UDP/TLS/RTP/SAVPF".to_owned(),
            },
        ),
        (
            with(SIPP, "RTP/AVP", "TCP/RTP/AVP"),
            SdpError::UnsupportedProfile {
                profile: "TCP/RTP/AVP".to_owned(),
            },
        ),
        (
            with(SIPP, "c=IN IP4 127.0.0.1\r\n", ""),
            SdpError::NoConnection,
        ),
        (
            with(SIPP, "IN IP4 127.0.0.1\r\nt", "IN IP4 pbx.example.com\r\nt"),
            SdpError::UnusableAddress,
        ),
    ];
    for (offer, expected) in cases {
        let got = negotiate(&offer, &caps(true)).map(|n| n.codec);
        assert_eq!(got, Err(expected.clone()), "{offer}");
        assert_eq!(expected.status(), 488);
    }
    let g729 = with(
        SIPP,
        "RTP/AVP 0\r\na=rtpmap:0 PCMU",
        "RTP/AVP 18\r\na=rtpmap:18 G729",
    );
    assert_eq!(
        negotiate(&g729, &caps(true)).map_err(|e| e.status()).err(),
        Some(488)
    );
    let none = LocalCaps {
        codecs: vec![Codec::Opus],
        ..caps(false)
    };
    assert_eq!(
        negotiate(SIPP, &none).map_err(|e| e.status()).err(),
        Some(500)
    );
}

#[test]
fn srtp_stream_skipped_for_plain_one() -> Result<(), SdpError> {
    let offer = format!(
        "{}m=audio 6002 RTP/AVP 8\r\n",
        with(SIPP, "RTP/AVP", "RTP/SAVP")
    );
    let neg = negotiate(&offer, &caps(false))?;
    assert_eq!(
        (neg.codec, neg.remote_rtp),
        (Codec::Pcma, sock("127.0.0.1:6002"))
    );
    assert_eq!(neg.answer.media[0].port, 0);
    Ok(())
}

#[test]
fn dynamic_pt_ptime_and_rtcp_attribute() -> Result<(), SdpError> {
    let offer = with(
        SIPP,
        "RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
        "RTP/AVPF 96\r\na=rtpmap:96 pcmu/8000\r\na=ptime:30\r\na=rtcp:7000 IN IP4 192.0.2.9\r\n",
    );
    let neg = negotiate(&offer, &caps(false))?;
    assert_eq!(
        (neg.codec, neg.payload_type, neg.ptime_ms),
        (Codec::Pcmu, 96, 30)
    );
    assert_eq!(neg.remote_rtcp, sock("192.0.2.9:7000"));
    assert_eq!(neg.answer.media[0].protocol, "RTP/AVPF");
    assert_eq!(
        neg.answer.media[0].ptime,
        Some(20),
        "we still ask for our own ptime"
    );
    let odd = with(SIPP, "PCMU/8000\r\n", "PCMU/8000\r\na=ptime:7\r\n");
    assert_eq!(negotiate(&odd, &caps(false))?.ptime_ms, 20);
    Ok(())
}

#[test]
fn own_offer_answers_itself() -> Result<(), SdpError> {
    let ours = offer(&caps(true), &local());
    let text = ours.to_string();
    assert!(
        text.contains("m=audio 20000 RTP/AVP 111 0 8 101 102\r\n"),
        "{text}"
    );
    assert!(text.contains("a=rtpmap:102 telephone-event/48000\r\n"));
    assert_eq!(SessionDescription::parse(&text)?, ours);
    let neg = answer(&ours, &caps(true), &local())?;
    assert_eq!(
        (neg.codec, neg.telephone_event_pt),
        (Codec::Opus, Some(102))
    );
    let g711 = offer(&caps(false), &local()).to_string();
    assert!(g711.contains("m=audio 20000 RTP/AVP 0 8 101\r\n"), "{g711}");
    Ok(())
}

#[test]
fn garbage_is_400() {
    for junk in [
        "",
        "hello",
        "\u{0}\u{1}",
        "v=0",
        "v=0\r\no=\r\ns=-",
        "m=audio 1 RTP/AVP 0",
    ] {
        let got = SessionDescription::parse(junk).map_err(|e| e.status());
        assert_eq!(got.err(), Some(400), "{junk:?}");
    }
}
