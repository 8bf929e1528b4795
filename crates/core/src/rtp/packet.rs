//! RTP data packets: the fixed header, CSRC list, header extension and
//! padding of RFC 3550 §5.1 and §5.3.1, and RTP/RTCP demultiplexing on one
//! port (RFC 5761 §4).
//!
//! Owns parsing (zero-copy: the payload borrows the datagram) and writing of
//! the plain header kefu sends: version 2, no padding, no CSRCs, no extension.
//! It does not interpret extensions (they are skipped), keep CSRCs, decrypt
//! SRTP, or track sequence state (see [`super::jitter`] and
//! [`super::rtcp::ReceptionStats`]).

use super::{SeqNo, Ssrc};

/// Size of the fixed RTP header (RFC 3550 §5.1).
pub const HEADER_LEN: usize = 12;

/// Why a datagram is not a valid RTP packet. Always the peer's fault: drop the
/// datagram (and count it), never the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("datagram shorter than the RTP fixed header")]
    TooShort,
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("RTP version {0}, expected 2")]
    BadVersion(u8),
    /// The padding bit is set but the count is 0 or exceeds the payload
    /// (RFC 3550 §5.1, P bit).
    #[error("invalid RTP padding count")]
    BadPadding,
    /// The X bit is set but the extension header or its declared length runs
    /// past the end of the datagram (RFC 3550 §5.3.1).
    #[error("RTP header extension runs past the datagram")]
    BadExtension,
    /// The CSRC count declares more identifiers than the datagram holds.
    #[error("RTP CSRC list runs past the datagram")]
    BadCsrc,
}

/// The fields of an RTP header that kefu uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    /// The M bit; for audio, the first packet of a talkspurt (RFC 3551 §4.1).
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub seq: SeqNo,
    /// Media timestamp in clock-rate units.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: Ssrc,
}

/// A parsed RTP packet borrowing its payload from the datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The header.
    pub header: RtpHeader,
    /// The payload, without CSRCs, extension or padding.
    pub payload: &'a [u8],
}

fn be_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

impl<'a> RtpPacket<'a> {
    /// Parses one RTP datagram (RFC 3550 §5.1), skipping any CSRC list and
    /// header extension and removing padding.
    pub fn parse(buf: &'a [u8]) -> Result<RtpPacket<'a>, RtpError> {
        let (Some(&b0), Some(&b1), Some(seq), Some(timestamp), Some(ssrc)) = (
            buf.first(),
            buf.get(1),
            be_u16(buf, 2),
            be_u32(buf, 4),
            be_u32(buf, 8),
        ) else {
            return Err(RtpError::TooShort);
        };
        let version = b0 >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padding = b0 & 0x20 != 0;
        let extension = b0 & 0x10 != 0;
        let csrc_count = usize::from(b0 & 0x0F);
        let mut start = HEADER_LEN + 4 * csrc_count;
        if start > buf.len() {
            return Err(RtpError::BadCsrc);
        }
        if extension {
            let words = be_u16(buf, start + 2).ok_or(RtpError::BadExtension)?;
            start += 4 + 4 * usize::from(words);
            if start > buf.len() {
                return Err(RtpError::BadExtension);
            }
        }
        let mut end = buf.len();
        if padding {
            let count = usize::from(*buf.last().ok_or(RtpError::BadPadding)?);
            if count == 0 || count > end - start {
                return Err(RtpError::BadPadding);
            }
            end -= count;
        }
        let payload = buf.get(start..end).ok_or(RtpError::BadPadding)?;
        Ok(RtpPacket {
            header: RtpHeader {
                marker: b1 & 0x80 != 0,
                payload_type: b1 & 0x7F,
                seq: SeqNo(seq),
                timestamp,
                ssrc: Ssrc(ssrc),
            },
            payload,
        })
    }
}

/// Appends a 12-byte RTP header (version 2, no padding, CSRC or extension)
/// and `payload` to `out`. The payload type is masked to 7 bits.
pub fn write(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(HEADER_LEN + payload.len());
    out.push(0x80);
    out.push((u8::from(header.marker) << 7) | (header.payload_type & 0x7F));
    out.extend_from_slice(&header.seq.0.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.0.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Whether a datagram on a muxed port is RTCP rather than RTP (RFC 5761 §4):
/// the second byte, read as marker bit plus payload type, falls in 192..=223
/// (RTCP packet types 192-223, covering SR 200 to XR 207 and feedback).
pub fn is_rtcp(buf: &[u8]) -> bool {
    matches!(buf.get(1), Some(192..=223))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 0,
            seq: SeqNo(0x1234),
            timestamp: 0xDEAD_BEEF,
            ssrc: Ssrc(0x0102_0304),
        }
    }

    #[test]
    fn writes_the_rfc_layout() {
        let mut out = Vec::new();
        write(&header(), &[9, 9], &mut out);
        assert_eq!(
            out,
            [0x80, 0x80, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 9, 9]
        );
    }

    #[test]
    fn skips_csrcs_extension_and_padding() {
        // V=2 P=1 X=1 CC=2
        let mut buf = vec![0xB2, 0x08, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        buf.extend_from_slice(&[0xAA; 8]); // two CSRCs
        buf.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]); // one-word extension
        buf.extend_from_slice(&[7, 7, 7]); // payload
        buf.extend_from_slice(&[0, 0, 3]); // padding, count 3
        let p = RtpPacket::parse(&buf).expect("valid");
        assert_eq!(p.payload, &[7, 7, 7]);
        assert_eq!(p.header.payload_type, 8);
        assert!(!p.header.marker);
        assert_eq!(p.header.seq, SeqNo(1));
        assert_eq!(p.header.timestamp, 2);
        assert_eq!(p.header.ssrc, Ssrc(3));
    }

    #[test]
    fn rejects_malformed() {
        let ok = [0x80u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(RtpPacket::parse(&ok[..11]), Err(RtpError::TooShort));
        let mut v1 = ok;
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
        let mut cc = ok;
        cc[0] = 0x81;
        assert_eq!(RtpPacket::parse(&cc), Err(RtpError::BadCsrc));
        let mut x = ok;
        x[0] = 0x90;
        assert_eq!(RtpPacket::parse(&x), Err(RtpError::BadExtension));
        let mut xl = x.to_vec();
        xl.extend_from_slice(&[0, 0, 0, 2, 1, 2, 3, 4]);
        assert_eq!(RtpPacket::parse(&xl), Err(RtpError::BadExtension));
        let mut p0 = ok.to_vec();
        p0[0] = 0xA0;
        p0.push(0);
        assert_eq!(RtpPacket::parse(&p0), Err(RtpError::BadPadding));
        let mut pbig = ok.to_vec();
        pbig[0] = 0xA0;
        pbig.extend_from_slice(&[1, 3]);
        assert_eq!(RtpPacket::parse(&pbig), Err(RtpError::BadPadding));
    }

    #[test]
    fn demultiplexes_rtcp() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x80, 201]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(!is_rtcp(&[0x80, 0x80 | 8])); // PCMA with marker
        assert!(!is_rtcp(&[0x80]));
    }

    proptest! {
        #[test]
        fn write_then_parse_round_trips(marker in any::<bool>(), pt in 0u8..128, seq in any::<u16>(),
                                        ts in any::<u32>(), ssrc in any::<u32>(),
                                        payload in proptest::collection::vec(any::<u8>(), 0..300)) {
            let h = RtpHeader { marker, payload_type: pt, seq: SeqNo(seq), timestamp: ts, ssrc: Ssrc(ssrc) };
            let mut buf = Vec::new();
            write(&h, &payload, &mut buf);
            let p = RtpPacket::parse(&buf).expect("own output parses");
            prop_assert_eq!(p.header, h);
            prop_assert_eq!(p.payload, payload.as_slice());
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..100)) {
            if let Ok(p) = RtpPacket::parse(&buf) {
                prop_assert!(p.payload.len() + HEADER_LEN <= buf.len());
            }
        }

        #[test]
        fn parse_never_panics_on_v2_headers(mut buf in proptest::collection::vec(any::<u8>(), 12..80),
                                            flags in 0u8..64) {
            buf[0] = 0x80 | flags;
            let _ = RtpPacket::parse(&buf);
        }
    }
}
