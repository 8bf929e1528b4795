//! The phone's SDP offers, written the way SIPp writes them (RFC 4566,
//! RFC 3264 §5), and reading the address out of kefu's answer.

use std::net::SocketAddr;

use kefu_core::sdp::{MediaKind, SessionDescription};

use super::{ScriptedPhone, PT_EVENT, PT_PCMU};

impl ScriptedPhone {
    /// The initial offer: PCMU and telephone-event, sendrecv.
    pub fn offer(&mut self) -> Vec<u8> {
        self.offer_with(&[(PT_PCMU, "PCMU/8000")], "sendrecv")
    }

    /// A re-offer putting the call on hold (the phone only sends).
    pub fn hold_offer(&mut self) -> Vec<u8> {
        self.offer_with(&[(PT_PCMU, "PCMU/8000")], "sendonly")
    }

    /// A re-offer taking the call off hold.
    pub fn resume_offer(&mut self) -> Vec<u8> {
        self.offer_with(&[(PT_PCMU, "PCMU/8000")], "sendrecv")
    }

    /// An offer of `codecs` (payload type, rtpmap) plus telephone-event, with
    /// the direction attribute `direction`. Each call bumps the `o=` version
    /// (RFC 3264 §8).
    pub fn offer_with(&mut self, codecs: &[(u8, &str)], direction: &str) -> Vec<u8> {
        let ip = self.sdp_addr.ip();
        let version = self.sdp_version;
        self.sdp_version += 1;
        let mut pts: Vec<String> = codecs.iter().map(|(pt, _)| pt.to_string()).collect();
        pts.push(PT_EVENT.to_string());
        let mut s = format!(
            "v=0\r\no=sipp 4242 {version} IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
             m=audio {} RTP/AVP {}\r\n",
            self.sdp_addr.port(),
            pts.join(" ")
        );
        for (pt, map) in codecs {
            s.push_str(&format!("a=rtpmap:{pt} {map}\r\n"));
        }
        s.push_str(&format!(
            "a=rtpmap:{PT_EVENT} telephone-event/8000\r\na=fmtp:{PT_EVENT} 0-15\r\na={direction}\r\n"
        ));
        s.into_bytes()
    }
}

/// The RTP address of the first audio stream in `sdp`.
pub fn media_addr(sdp: &str) -> Option<SocketAddr> {
    let sd = SessionDescription::parse(sdp).ok()?;
    let m = sd
        .media
        .iter()
        .find(|m| m.kind == MediaKind::Audio && m.port != 0)?;
    let c = m.connection.as_ref().or(sd.connection.as_ref())?;
    Some(SocketAddr::new(c.ip()?, m.port))
}
